package cluster

import (
	"maps"
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

// entry is one cached container: the engine's list shape (names and status
// are derived when read), what placement needs, and the link aliases this
// container gives to others. 30,000 of them live in a manager at classic
// Swarm's scale, so it is kept small: fields placement also reads (ID,
// image, image ID, labels, state) live only in sched and are copied into
// the summary when it is read (summaryAt), and strings many containers
// share (images, label keys and values, network IDs) are interned.
type entry struct {
	// summary lacks ID, Image, ImageID, Labels and State: see sched.
	summary container.Summary
	// sched is what placement sees; Names holds the own name only (link
	// aliases are added in view).
	sched scheduler.Container
	name  string // own name without "/"
	links []link
	// seq is the cluster sequence number at which the data was requested:
	// a response requested earlier never overwrites a later one.
	seq uint64
	// reservation marks an in-flight create (state "creating").
	reservation bool
	// view is sched with the container's names for the scheduler
	// (viewLocked): &sched itself unless links give it aliases; guarded by
	// Cluster.mu, and only ever replaced.
	view *scheduler.Container
	// partial marks an entry built from the create request alone (the
	// engine could not be inspected): an event for it is never skipped.
	partial bool

	startedAt, finishedAt time.Time
	exitCode              int
	health                container.HealthStatus
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

// internNetworks interns what containers on one network share in their
// endpoint settings; per-container values (endpoint ID, address) are kept.
func internNetworks(nets map[string]*network.EndpointSettings) map[string]*network.EndpointSettings {
	if len(nets) == 0 {
		return nil
	}
	out := make(map[string]*network.EndpointSettings, len(nets))
	for name, ep := range nets {
		if ep != nil {
			ep.NetworkID, ep.Gateway, ep.IPv6Gateway = intern(ep.NetworkID), intern(ep.Gateway), intern(ep.IPv6Gateway)
			ep.DriverOpts = internMap(ep.DriverOpts)
		}
		out[intern(name)] = ep
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
		e.summary.Command = intern(strings.TrimSpace(in.Path + " " + strings.Join(in.Args, " ")))
		if t, err := time.Parse(time.RFC3339Nano, in.Created); err == nil {
			e.summary.Created = t.Unix()
		}
	}
	e.summary.HostConfig.NetworkMode = intern(string(host.NetworkMode))
	e.summary.Mounts = internMounts(in.Mounts)
	if in.NetworkSettings != nil {
		e.summary.NetworkSettings = &container.NetworkSettingsSummary{Networks: internNetworks(in.NetworkSettings.Networks)}
	}
	e.summary.Ports = listPorts(in)
	e.startedAt, _ = time.Parse(time.RFC3339Nano, state.StartedAt)
	e.finishedAt, _ = time.Parse(time.RFC3339Nano, state.FinishedAt)
	e.exitCode = state.ExitCode
	if state.Health != nil {
		e.health = state.Health.Status
	}
	for _, l := range host.Links {
		// The engine stores links as "/target:/linker/alias".
		target, alias, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		e.links = append(e.links, link{target: strings.TrimPrefix(target, "/"), alias: strings.TrimPrefix(alias, "/")})
	}
	var names []string
	if e.name != "" {
		names = []string{e.name}
	}
	e.sched = scheduler.Container{
		ID:          id,
		Names:       names,
		Image:       intern(cfg.Image),
		ImageID:     intern(in.Image),
		Labels:      internMap(cfg.Labels),
		State:       intern(string(state.Status)),
		Ports:       hostPorts(cfg, host),
		NetworkMode: e.summary.HostConfig.NetworkMode,
		NanoCPUs:    reservedNanoCPUs(host.NanoCPUs, host.CPUShares),
		Memory:      host.Memory,
	}
	return e
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
		s := "Up " + units.HumanDuration(now.Sub(e.startedAt))
		if state == container.StatePaused {
			return s + " (Paused)"
		}
		switch e.health {
		case container.Healthy:
			s += " (healthy)"
		case container.Unhealthy:
			s += " (unhealthy)"
		case container.Starting:
			s += " (health: starting)"
		}
		return s
	case container.StateRestarting:
		return "Restarting (" + strconv.Itoa(e.exitCode) + ") " + units.HumanDuration(now.Sub(e.finishedAt)) + " ago"
	case container.StateRemoving:
		return "Removal In Progress"
	case container.StateDead:
		return "Dead"
	case container.StateExited:
		if e.finishedAt.IsZero() || e.finishedAt.Year() < 2 {
			return "Created"
		}
		return "Exited (" + strconv.Itoa(e.exitCode) + ") " + units.HumanDuration(now.Sub(e.finishedAt)) + " ago"
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
	return a.name == b.name && slices.Equal(a.links, b.links) &&
		x.ID == y.ID && x.NetworkMode == y.NetworkMode && x.NanoCPUs == y.NanoCPUs && x.Memory == y.Memory &&
		slices.Equal(x.Ports, y.Ports) && slices.Equal(x.Names, y.Names) && maps.Equal(x.Labels, y.Labels)
}
