package cluster

import (
	"encoding/hex"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unique"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	units "github.com/docker/go-units"

	"github.com/swarmlab/swarm/scheduler"
)

// entry is one cached container: what the engine's listing shows (names
// and status are derived when read), what placement needs, and the link
// aliases this container gives to others. 30,000 of them live in a
// manager at classic Swarm's scale, so it is kept small (a 320-byte
// struct, ≈ 610 bytes with what it alone holds, see BenchmarkEntryMemory):
// no container.Summary (240
// bytes, mostly empty), fields placement also reads (ID, image, image ID,
// labels, state) live only in sched and are copied into the summary when
// it is read (summaryAt), network endpoints are a compact slice instead of
// a map of pointers, and strings and label sets many containers share are
// interned.
//
// Once stored in a node's cache an entry is never changed: new data
// replaces it whole (stateEventsLocked copies it first). ContainersInto
// builds summaries from stored entries without the lock, relying on this;
// the one field set later, view, is written under the lock and not read
// there. TestListingWhileTheCacheChanges catches a change in place under
// -race.
type entry struct {
	// sched is what placement sees; Names holds the own name only (link
	// aliases are added in view).
	sched scheduler.Container
	name  string // own name without "/"
	// rare holds what most containers lack (nil then): the link aliases
	// this one gives others, its mounts. Inline they made every entry
	// 32 bytes bigger (the next size class).
	rare *rareFields
	// view is sched with the container's names for the scheduler
	// (viewLocked): &sched itself unless links give it aliases; guarded by
	// Cluster.mu, and only ever replaced.
	view *scheduler.Container
	// labels keeps sched.Labels, a map shared with every container that
	// has the same labels, in sharedLabels while this entry is cached.
	labels *labelSet

	// What only the listing shows.
	command string // interned
	created int64  // Unix seconds
	ports   []container.Port
	nets    []endpoint // sorted by network name

	// seq is the cluster sequence number at which the data was requested:
	// a response requested earlier never overwrites a later one.
	seq uint64
	// startedAt and finishedAt are Unix nanoseconds, 0 for never (parseNano).
	startedAt, finishedAt int64
	exitCode              int32
	health                healthState
	// reservation marks an in-flight create (state "creating").
	reservation bool
	// partial marks an entry built from the create request alone (the
	// engine could not be inspected): an event for it is never skipped.
	partial bool
}

// rareFields are an entry's fields most containers leave empty.
type rareFields struct {
	links  []link
	mounts []container.MountPoint
}

// links are the link aliases e gives other containers.
func (e *entry) links() []link {
	if e.rare == nil {
		return nil
	}
	return e.rare.links
}

// mounts are e's mounts as the listing shows them.
func (e *entry) mounts() []container.MountPoint {
	if e.rare == nil {
		return nil
	}
	return e.rare.mounts
}

// setRare sets e's links and mounts, keeping no struct for neither.
func (e *entry) setRare(links []link, mounts []container.MountPoint) {
	if len(links) == 0 && len(mounts) == 0 {
		e.rare = nil
		return
	}
	e.rare = &rareFields{links: links, mounts: mounts}
}

// healthState is a container's health check status in one byte.
type healthState uint8

const (
	healthNone healthState = iota
	healthStarting
	healthHealthy
	healthUnhealthy
)

func healthOf(s container.HealthStatus) healthState {
	switch s {
	case container.Starting:
		return healthStarting
	case container.Healthy:
		return healthHealthy
	case container.Unhealthy:
		return healthUnhealthy
	}
	return healthNone
}

// endpoint is a container's attachment to one network, as the listing
// shows it, in 160 bytes with nothing else allocated: the endpoint ID,
// address and MAC address are kept as bytes (the engine's 64 hex digits,
// dotted quad and colon form come back exactly from them), the strings
// networks share are interned, and the rarely set fields (IPAM config,
// links, aliases, driver options, DNS names, gateway priority) stay in
// rare, nil for most containers. An ID, address or MAC in another form
// is kept verbatim in rare instead.
type endpoint struct {
	name, networkID, gateway, ipv6Gateway string // interned
	globalIPv6                            string
	ip                                    netip.Addr // invalid for ""
	id                                    [32]byte
	mac                                   [6]byte
	flags                                 endpointFlags
	ipPrefixLen, globalIPv6PrefixLen      int32
	rare                                  *network.EndpointSettings
}

type endpointFlags uint8

const (
	hasID    endpointFlags = 1 << iota // id holds the endpoint ID
	hasMAC                             // mac holds the MAC address
	verbatim                           // rare holds ID, address and MAC as given
)

// compactEndpoint keeps what the listing shows of one endpoint.
func compactEndpoint(name string, ep *network.EndpointSettings) endpoint {
	out := endpoint{
		name: intern(name), networkID: intern(ep.NetworkID), gateway: intern(ep.Gateway), ipv6Gateway: intern(ep.IPv6Gateway),
		globalIPv6:  ep.GlobalIPv6Address,
		ipPrefixLen: int32(ep.IPPrefixLen), globalIPv6PrefixLen: int32(ep.GlobalIPv6PrefixLen),
	}
	exact := true
	if ep.EndpointID != "" {
		if id, ok := hexID(ep.EndpointID); ok {
			out.id, out.flags = id, out.flags|hasID
		} else {
			exact = false
		}
	}
	if ep.IPAddress != "" {
		if ip, err := netip.ParseAddr(ep.IPAddress); err == nil && ip.String() == ep.IPAddress {
			out.ip = ip
		} else {
			exact = false
		}
	}
	if ep.MacAddress != "" {
		if hw, err := net.ParseMAC(ep.MacAddress); err == nil && len(hw) == 6 && hw.String() == ep.MacAddress {
			copy(out.mac[:], hw)
			out.flags |= hasMAC
		} else {
			exact = false
		}
	}
	if !exact || ep.IPAMConfig != nil || len(ep.Links) > 0 || len(ep.Aliases) > 0 || len(ep.DriverOpts) > 0 || len(ep.DNSNames) > 0 || ep.GwPriority != 0 {
		out.rare = &network.EndpointSettings{
			IPAMConfig: ep.IPAMConfig, Links: ep.Links, Aliases: ep.Aliases,
			DriverOpts: internMap(ep.DriverOpts), DNSNames: ep.DNSNames, GwPriority: ep.GwPriority,
		}
		if !exact {
			out.flags = verbatim
			out.rare.EndpointID, out.rare.IPAddress, out.rare.MacAddress = ep.EndpointID, ep.IPAddress, ep.MacAddress
		}
	}
	return out
}

// hexID is a 64-hex-digit lower-case ID as bytes.
func hexID(s string) ([32]byte, bool) {
	var id [32]byte
	if len(s) != 64 {
		return id, false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return id, false
		}
	}
	_, err := hex.Decode(id[:], []byte(s))
	return id, err == nil
}

// settings is the endpoint in the engine's shape.
func (ep *endpoint) settings() *network.EndpointSettings {
	out := &network.EndpointSettings{}
	if ep.rare != nil {
		*out = *ep.rare
	}
	out.NetworkID, out.Gateway, out.IPv6Gateway = ep.networkID, ep.gateway, ep.ipv6Gateway
	out.GlobalIPv6Address = ep.globalIPv6
	out.IPPrefixLen, out.GlobalIPv6PrefixLen = int(ep.ipPrefixLen), int(ep.globalIPv6PrefixLen)
	if ep.flags&verbatim != 0 {
		return out // ID, address and MAC as rare has them
	}
	out.EndpointID, out.IPAddress, out.MacAddress = "", "", ""
	if ep.flags&hasID != 0 {
		out.EndpointID = hex.EncodeToString(ep.id[:])
	}
	if ep.ip.IsValid() {
		out.IPAddress = ep.ip.String()
	}
	if ep.flags&hasMAC != 0 {
		out.MacAddress = net.HardwareAddr(ep.mac[:]).String()
	}
	return out
}

// compactNetworks is a container's endpoints sorted by network name.
func compactNetworks(nets map[string]*network.EndpointSettings) []endpoint {
	if len(nets) == 0 {
		return nil
	}
	out := make([]endpoint, 0, len(nets))
	for name, ep := range nets {
		if ep == nil {
			ep = &network.EndpointSettings{}
		}
		out = append(out, compactEndpoint(name, ep))
	}
	slices.SortFunc(out, func(a, b endpoint) int { return strings.Compare(a.name, b.name) })
	return out
}

// intern returns the canonical copy of s, so that the same image name,
// label or network ID held by thousands of containers is stored once
// (decoded JSON gives every container its own copy).
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

// internMap rebuilds m with interned keys and values.
func internMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[intern(k)] = intern(v)
	}
	return out
}

// internMounts interns the fields mounts of many containers share.
func internMounts(ms []container.MountPoint) []container.MountPoint {
	for i := range ms {
		m := &ms[i]
		m.Type = mount.Type(intern(string(m.Type)))
		m.Name, m.Driver, m.Mode = intern(m.Name), intern(m.Driver), intern(m.Mode)
		m.Destination, m.Propagation = intern(m.Destination), mount.Propagation(intern(string(m.Propagation)))
	}
	if len(ms) == 0 {
		return nil
	}
	return ms
}

// link is one HostConfig.Links entry: the target container's name gets the
// alias "<linker>/<alias>".
type link struct {
	target string // target name without "/"
	alias  string // full alias name without "/", e.g. "web/db"
}

// fromInspect converts an inspected container into a cache entry.
func fromInspect(in container.InspectResponse) *entry {
	e := &entry{}
	var id string // in.ID dereferences ContainerJSONBase
	cfg := in.Config
	if cfg == nil {
		cfg = &container.Config{}
	}
	host := &container.HostConfig{}
	state := &container.State{}
	if in.ContainerJSONBase != nil {
		if in.HostConfig != nil {
			host = in.HostConfig
		}
		if in.State != nil {
			state = in.State
		}
		id = in.ID
		e.name = strings.TrimPrefix(in.Name, "/")
		e.command = intern(strings.TrimSpace(in.Path + " " + strings.Join(in.Args, " ")))
		if t, err := time.Parse(time.RFC3339Nano, in.Created); err == nil {
			e.created = t.Unix()
		}
	}
	if in.NetworkSettings != nil {
		e.nets = compactNetworks(in.NetworkSettings.Networks)
	}
	e.ports = listPorts(in)
	e.startedAt, e.finishedAt = parseNano(state.StartedAt), parseNano(state.FinishedAt)
	e.exitCode = int32(state.ExitCode)
	if state.Health != nil {
		e.health = healthOf(state.Health.Status)
	}
	var links []link
	for _, l := range host.Links {
		// The engine stores links as "/target:/linker/alias".
		target, alias, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		links = append(links, link{target: strings.TrimPrefix(target, "/"), alias: strings.TrimPrefix(alias, "/")})
	}
	e.setRare(links, internMounts(in.Mounts))
	var names []string
	if e.name != "" {
		names = []string{e.name}
	}
	e.sched = scheduler.Container{
		ID:          id,
		Names:       names,
		Image:       intern(cfg.Image),
		ImageID:     intern(in.Image),
		Labels:      e.labelMap(cfg.Labels),
		State:       intern(string(state.Status)),
		Ports:       hostPorts(cfg, host),
		NetworkMode: intern(string(host.NetworkMode)),
		NanoCPUs:    reservedNanoCPUs(host.NanoCPUs, host.CPUShares),
		Memory:      host.Memory,
	}
	return e
}

// labelMap sets e's labels to the shared set equal to m and returns its
// map (nil for none).
func (e *entry) labelMap(m map[string]string) map[string]string {
	e.labels = sharedLabels.share(m)
	if e.labels == nil {
		return nil
	}
	return e.labels.m
}

// reservedNanoCPUs follows classic Swarm: --cpus reserves that many CPUs,
// and --cpu-shares N (without --cpus) reserves N whole CPUs.
func reservedNanoCPUs(nano, shares int64) int64 {
	if nano > 0 {
		return nano
	}
	return shares * 1e9
}

// hostPorts lists the fixed host ports a container binds: its port
// bindings with a non-zero host port, or in host network mode every
// exposed port. Random host ports are left out: they never conflict.
func hostPorts(cfg *container.Config, host *container.HostConfig) []scheduler.Port {
	var out []scheduler.Port
	if host.NetworkMode.IsHost() {
		for p := range cfg.ExposedPorts {
			if n := p.Int(); n > 0 {
				out = append(out, scheduler.Port{HostPort: uint16(n), Proto: p.Proto()})
			}
		}
	}
	for p, bindings := range host.PortBindings {
		for _, b := range bindings {
			n, err := strconv.ParseUint(b.HostPort, 10, 16)
			if err != nil || n == 0 {
				continue
			}
			out = append(out, scheduler.Port{HostIP: b.HostIP, HostPort: uint16(n), Proto: p.Proto()})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].HostPort != out[j].HostPort {
			return out[i].HostPort < out[j].HostPort
		}
		if out[i].Proto != out[j].Proto {
			return out[i].Proto < out[j].Proto
		}
		return out[i].HostIP < out[j].HostIP
	})
	return out
}

// listPorts renders ports the way /containers/json does: the live mapping
// when the container runs, otherwise its exposed ports.
func listPorts(in container.InspectResponse) []container.Port {
	var out []container.Port
	if in.NetworkSettings != nil && len(in.NetworkSettings.Ports) > 0 {
		for p, bindings := range in.NetworkSettings.Ports {
			priv := uint16(p.Int())
			if len(bindings) == 0 {
				out = append(out, container.Port{PrivatePort: priv, Type: p.Proto()})
			}
			for _, b := range bindings {
				pub, _ := strconv.ParseUint(b.HostPort, 10, 16)
				out = append(out, container.Port{IP: b.HostIP, PrivatePort: priv, PublicPort: uint16(pub), Type: p.Proto()})
			}
		}
	} else if in.Config != nil {
		for p := range in.Config.ExposedPorts {
			out = append(out, container.Port{PrivatePort: uint16(p.Int()), Type: p.Proto()})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.PrivatePort != b.PrivatePort {
			return a.PrivatePort < b.PrivatePort
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.IP != b.IP {
			return a.IP < b.IP
		}
		return a.PublicPort < b.PublicPort
	})
	return out
}

// status renders the human status `docker ps` shows, as the engine does,
// at read time so that "Up 5 minutes" does not go stale in the cache.
func (e *entry) status(now time.Time) string {
	state := container.ContainerState(e.sched.State)
	switch state {
	case container.StateRunning, container.StatePaused:
		s := "Up " + units.HumanDuration(now.Sub(time.Unix(0, e.startedAt)))
		if state == container.StatePaused {
			return s + " (Paused)"
		}
		switch e.health {
		case healthHealthy:
			s += " (healthy)"
		case healthUnhealthy:
			s += " (unhealthy)"
		case healthStarting:
			s += " (health: starting)"
		}
		return s
	case container.StateRestarting:
		return "Restarting (" + strconv.Itoa(int(e.exitCode)) + ") " + units.HumanDuration(now.Sub(time.Unix(0, e.finishedAt))) + " ago"
	case container.StateRemoving:
		return "Removal In Progress"
	case container.StateDead:
		return "Dead"
	case container.StateExited:
		if e.finishedAt == 0 {
			return "Created"
		}
		return "Exited (" + strconv.Itoa(int(e.exitCode)) + ") " + units.HumanDuration(now.Sub(time.Unix(0, e.finishedAt))) + " ago"
	case container.StateCreated:
		return "Created"
	}
	return e.sched.State
}

// samePlacement reports whether a and b look the same to placement: the
// scheduler's container fields that filters and indexes read, the name and
// the link aliases it gives. An answer that changes none of them needs no
// new snapshot Put. State, Image and ImageID are not among them (no filter
// reads them; see scheduler.Container), so a start or a stop alone does
// not re-Put the node, and the snapshot's copy of them may lag the cache.
func samePlacement(a, b *entry) bool {
	x, y := &a.sched, &b.sched
	return a.name == b.name && slices.Equal(a.links(), b.links()) &&
		x.ID == y.ID && x.NetworkMode == y.NetworkMode && x.NanoCPUs == y.NanoCPUs && x.Memory == y.Memory &&
		slices.Equal(x.Ports, y.Ports) && slices.Equal(x.Names, y.Names) && maps.Equal(x.Labels, y.Labels)
}
