package fakeengine

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
)

// ctr is one container. It is compact on purpose (the simulator holds 30,000
// of them): API shapes are built from it on demand. Guarded by Engine.mu;
// config is never mutated after create, so it may be shared with responses.
type ctr struct {
	id, name   string // name without the leading "/"
	seq        uint64 // creation order, for listings (newest first)
	created    time.Time
	image      string // as the user named it
	imageID    string
	config     *container.Config
	host       hostCfg
	links      []link
	nets       []string // IDs of the networks joined; nets[0] is the primary
	state      container.ContainerState
	pid        int
	exitCode   int
	errMsg     string
	startedAt  time.Time
	finishedAt time.Time
	restarts   int
	exits      int                   // how many times it exited, for wait?condition=next-exit
	ports      nat.PortMap           // host ports bound while running; nil otherwise
	ip         string                // address on the primary network while running
	removed    bool                  // set when removed, for wait?condition=removed
	exposed    map[nat.Port]struct{} // config, image and binding ports together
}

// hostCfg is the part of the HostConfig the engine honours and reports back.
type hostCfg struct {
	networkMode  string
	portBindings nat.PortMap
	publishAll   bool
	binds        []string
	restart      container.RestartPolicy
	autoRemove   bool
	privileged   bool
	memory       int64
	nanoCPUs     int64
	cpuShares    int64
}

// link is a legacy --link: this container sees target under alias.
type link struct {
	target string // container ID
	alias  string
}

// portKey is a host port whatever its address, to find wildcard overlaps.
type portKey struct {
	port  int
	proto string
}

// hostPort is one host address a running container holds.
type hostPort struct {
	ip    string
	port  int
	proto string
}

var validName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// newID returns 64 random hex digits, like a container or network ID.
func newID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// engineID returns an ID in the old key.json form dockerd 20.10 reports.
func engineID() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var sb strings.Builder
	for i, x := range b {
		if i > 0 && i%2 == 0 {
			sb.WriteByte(':')
		}
		sb.WriteByte(alphabet[x%32])
		sb.WriteByte(alphabet[(x/32+uint8(i))%32])
	}
	return sb.String()
}

var nameLeft = []string{"admiring", "brave", "clever", "eager", "festive", "gallant", "happy", "jolly", "keen", "lucid", "nifty", "quirky", "relaxed", "sharp", "trusting", "vigilant"}
var nameRight = []string{"albattani", "babbage", "curie", "darwin", "euclid", "fermat", "galileo", "hopper", "lovelace", "noether", "pascal", "ritchie", "shannon", "turing", "wozniak", "yonath"}

// randomNameLocked picks an unused name the way dockerd does (adjective_scientist).
func (e *Engine) randomNameLocked() string {
	for i := 0; ; i++ {
		var b [2]byte
		_, _ = rand.Read(b[:])
		n := nameLeft[int(b[0])%len(nameLeft)] + "_" + nameRight[int(b[1])%len(nameRight)]
		if i > 10 {
			n += strconv.Itoa(i)
		}
		if _, taken := e.byName[n]; !taken {
			return n
		}
	}
}

// normalizeRef turns "busybox" into "busybox:latest" and
// "docker.io/library/redis:7" into "redis:7", as dockerd stores tags.
func normalizeRef(s string) (string, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return "", errf(http.StatusBadRequest, "invalid reference format: %q: %v", s, err)
	}
	return reference.FamiliarString(reference.TagNameOnly(named)), nil
}

// findLocked resolves a full ID, a name (with or without "/") or a unique ID
// prefix, in that order, as dockerd does.
func (e *Engine) findLocked(ref string) (*ctr, error) {
	if c, ok := e.containers[ref]; ok {
		return c, nil
	}
	if c, ok := e.byName[strings.TrimPrefix(ref, "/")]; ok {
		return c, nil
	}
	var found *ctr
	if ref != "" {
		for id, c := range e.containers {
			if strings.HasPrefix(id, ref) {
				if found != nil {
					return nil, errf(http.StatusBadRequest, "multiple IDs found with provided prefix: %s", ref)
				}
				found = c
			}
		}
	}
	if found == nil {
		return nil, errf(http.StatusNotFound, "No such container: %s", ref)
	}
	return found, nil
}

// aliasesLocked maps a container ID to the "/parent/alias" names other
// containers' links give it; nil when no container has links. One pass, so a
// listing stays linear in the number of containers.
func (e *Engine) aliasesLocked() map[string][]string {
	if e.linked == 0 {
		return nil
	}
	out := make(map[string][]string)
	for _, p := range e.containers {
		for _, l := range p.links {
			out[l.target] = append(out[l.target], "/"+p.name+"/"+l.alias)
		}
	}
	return out
}

// names returns the container's names as listings show them: "/name" and
// its link aliases (from aliasesLocked).
func names(c *ctr, aliases map[string][]string) []string {
	return append([]string{"/" + c.name}, aliases[c.id]...)
}

// portTakenLocked reports whether hp, or a wildcard overlap with it, is
// held. It is two map lookups, not a walk of every bound port: a start with
// random ports asks it once per candidate port.
func (e *Engine) portTakenLocked(hp hostPort) bool {
	if hp.ip == "0.0.0.0" {
		return e.portUse[portKey{hp.port, hp.proto}] > 0
	}
	_, exact := e.boundPorts[hp]
	_, wildcard := e.boundPorts[hostPort{"0.0.0.0", hp.port, hp.proto}]
	return exact || wildcard
}

// holdPortLocked and dropPortLocked keep boundPorts and portUse in step.
func (e *Engine) holdPortLocked(hp hostPort, id string) {
	e.boundPorts[hp] = id
	e.portUse[portKey{hp.port, hp.proto}]++
}

func (e *Engine) dropPortLocked(hp hostPort) {
	if _, ok := e.boundPorts[hp]; !ok {
		return
	}
	delete(e.boundPorts, hp)
	k := portKey{hp.port, hp.proto}
	if e.portUse[k]--; e.portUse[k] <= 0 {
		delete(e.portUse, k)
	}
}

// randomPortLocked returns the next free port of the ephemeral range, going
// round it as dockerd's allocator does.
func (e *Engine) randomPortLocked(ip, proto string) (int, error) {
	for range lastRandomPort - firstRandomPort + 1 {
		p := e.nextPort
		e.nextPort++
		if e.nextPort > lastRandomPort {
			e.nextPort = firstRandomPort
		}
		if !e.portTakenLocked(hostPort{ip, p, proto}) {
			return p, nil
		}
	}
	return 0, errf(http.StatusInternalServerError, "no available ports in range %d-%d", firstRandomPort, lastRandomPort)
}

// bindPortsLocked binds c's published ports for a start. On a conflict
// nothing is bound and the error is dockerd's.
func (e *Engine) bindPortsLocked(c *ctr) error {
	bound := nat.PortMap{}
	var held []hostPort
	release := func() {
		for _, hp := range held {
			e.dropPortLocked(hp)
		}
	}
	for _, p := range sortedPorts(c.exposed) {
		bindings, explicit := c.host.portBindings[p]
		if !explicit && !c.host.publishAll {
			bound[p] = nil
			continue
		}
		if !explicit || len(bindings) == 0 {
			bindings = []nat.PortBinding{{}}
		}
		for _, b := range bindings {
			hp := hostPort{ip: b.HostIP, proto: p.Proto()}
			if hp.ip == "" {
				hp.ip = "0.0.0.0"
			}
			if b.HostPort == "" || b.HostPort == "0" {
				n, err := e.randomPortLocked(hp.ip, hp.proto)
				if err != nil {
					release()
					return err
				}
				hp.port = n
			} else {
				n, err := strconv.Atoi(b.HostPort)
				if err != nil || n < 1 || n > 65535 {
					release()
					return errf(http.StatusBadRequest, "invalid host port %q for %s: use a number from 1 to 65535", b.HostPort, p)
				}
				hp.port = n
				if e.portTakenLocked(hp) {
					release()
					return errf(http.StatusInternalServerError, "driver failed programming external connectivity on endpoint %s (%s): Bind for %s:%d failed: port is already allocated", c.name, c.id[:12], hp.ip, hp.port)
				}
			}
			e.holdPortLocked(hp, c.id)
			held = append(held, hp)
			bound[p] = append(bound[p], nat.PortBinding{HostIP: hp.ip, HostPort: strconv.Itoa(hp.port)})
		}
	}
	c.ports = bound
	return nil
}

// releasePortsLocked frees the host ports c holds, found from c.ports (which
// bindPortsLocked filled from the same hostPorts) rather than by a walk.
func (e *Engine) releasePortsLocked(c *ctr) {
	for p, bindings := range c.ports {
		for _, b := range bindings {
			n, _ := strconv.Atoi(b.HostPort)
			hp := hostPort{ip: b.HostIP, port: n, proto: p.Proto()}
			if e.boundPorts[hp] == c.id {
				e.dropPortLocked(hp)
			}
		}
	}
	c.ports = nil
}

func sortedPorts(m map[nat.Port]struct{}) []nat.Port {
	ps := make([]nat.Port, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Int() != ps[j].Int() {
			return ps[i].Int() < ps[j].Int()
		}
		return ps[i].Proto() < ps[j].Proto()
	})
	return ps
}

// attrs are the event attributes of a container event (caller holds e.mu): its labels,
// then image and name (which win over labels of the same key, as in dockerd).
func (e *Engine) attrs(c *ctr, extra ...string) map[string]string {
	a := make(map[string]string, len(c.config.Labels)+2+len(extra)/2)
	maps.Copy(a, c.config.Labels)
	a["image"] = c.image
	a["name"] = c.name
	for i := 0; i+1 < len(extra); i += 2 {
		a[extra[i]] = extra[i+1]
	}
	return a
}

// command is the COMMAND column of `docker ps`.
func (c *ctr) command() string {
	parts := append(append([]string{}, c.config.Entrypoint...), c.config.Cmd...)
	return strings.Join(parts, " ")
}

// allocIPLocked returns the next address on network n.
func (e *Engine) allocIPLocked(n *netw) string {
	e.nextIP++
	k := e.nextIP % (254 * 250)
	return fmt.Sprintf("%s.%d.%d", n.prefix, k/254, k%254+2)
}

func labelList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
