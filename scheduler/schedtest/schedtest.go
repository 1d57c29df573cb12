// Package schedtest builds scheduler fixtures for tests and benchmarks:
// fluent node and container builders, and random clusters and requests
// whose small value spaces make filters match often, so that the fast
// path and the reference implementation disagree loudly if they differ.
package schedtest

import (
	"fmt"
	"math/rand"

	"github.com/swarmlab/swarm/scheduler"
)

// NodeBuilder builds a *scheduler.Node.
type NodeBuilder struct{ n *scheduler.Node }

// Node starts a healthy node named name with ID "id-"+name, 4 CPUs and
// 8 GiB of memory.
func Node(name string) *NodeBuilder {
	return &NodeBuilder{n: &scheduler.Node{
		ID: "id-" + name, Name: name, Addr: name + ":2375", IP: name,
		State: scheduler.NodeHealthy, Labels: map[string]string{},
		NanoCPUs: 4e9, Memory: 8 << 30,
	}}
}

// ID sets the node ID.
func (b *NodeBuilder) ID(id string) *NodeBuilder { b.n.ID = id; return b }

// State sets the health state.
func (b *NodeBuilder) State(s scheduler.NodeState) *NodeBuilder { b.n.State = s; return b }

// Label sets an engine label.
func (b *NodeBuilder) Label(k, v string) *NodeBuilder { b.n.Labels[k] = v; return b }

// CPUs sets the total CPUs.
func (b *NodeBuilder) CPUs(n float64) *NodeBuilder { b.n.NanoCPUs = int64(n * 1e9); return b }

// Memory sets the total memory in bytes.
func (b *NodeBuilder) Memory(bytes int64) *NodeBuilder { b.n.Memory = bytes; return b }

// Containers adds containers.
func (b *NodeBuilder) Containers(cs ...*scheduler.Container) *NodeBuilder {
	b.n.Containers = append(b.n.Containers, cs...)
	return b
}

// Image adds an image with the given ID and tags.
func (b *NodeBuilder) Image(id string, tags ...string) *NodeBuilder {
	b.n.Images = append(b.n.Images, &scheduler.Image{ID: id, RepoTags: tags})
	return b
}

// Build returns the node.
func (b *NodeBuilder) Build() *scheduler.Node { return b.n }

// ContainerBuilder builds a *scheduler.Container.
type ContainerBuilder struct{ c *scheduler.Container }

// Container starts a running container named name with ID
// "c0ffee"+name, image "busybox" and the default network.
func Container(name string) *ContainerBuilder {
	return &ContainerBuilder{c: &scheduler.Container{
		ID: "c0ffee" + name, Names: []string{name}, Image: "busybox",
		Labels: map[string]string{}, State: "running", NetworkMode: "default",
	}}
}

// ID sets the container ID.
func (b *ContainerBuilder) ID(id string) *ContainerBuilder { b.c.ID = id; return b }

// Alias adds a name (a link alias such as "web/db").
func (b *ContainerBuilder) Alias(name string) *ContainerBuilder {
	b.c.Names = append(b.c.Names, name)
	return b
}

// Image sets the image.
func (b *ContainerBuilder) Image(ref string) *ContainerBuilder { b.c.Image = ref; return b }

// Label sets a container label.
func (b *ContainerBuilder) Label(k, v string) *ContainerBuilder { b.c.Labels[k] = v; return b }

// State sets the state ("exited", "creating"…).
func (b *ContainerBuilder) State(s string) *ContainerBuilder { b.c.State = s; return b }

// Net sets the network mode.
func (b *ContainerBuilder) Net(mode string) *ContainerBuilder { b.c.NetworkMode = mode; return b }

// Port adds a host port in ParsePort's syntax; it panics on a bad spec,
// which is a bug in the test.
func (b *ContainerBuilder) Port(spec string) *ContainerBuilder {
	p, err := scheduler.ParsePort(spec)
	if err != nil {
		panic(err)
	}
	b.c.Ports = append(b.c.Ports, p)
	return b
}

// RawPort adds a port exactly as given (e.g. HostIP "0.0.0.0").
func (b *ContainerBuilder) RawPort(p scheduler.Port) *ContainerBuilder {
	b.c.Ports = append(b.c.Ports, p)
	return b
}

// Reserve sets the reserved CPUs and memory.
func (b *ContainerBuilder) Reserve(cpus float64, memory int64) *ContainerBuilder {
	b.c.NanoCPUs, b.c.Memory = int64(cpus*1e9), memory
	return b
}

// Build returns the container.
func (b *ContainerBuilder) Build() *scheduler.Container { return b.c }

// Snapshot returns a snapshot holding nodes.
func Snapshot(nodes ...*scheduler.Node) *scheduler.Snapshot {
	s := scheduler.NewSnapshot()
	for _, n := range nodes {
		s.Put(n)
	}
	return s
}

// Small value spaces so that random expressions often match.
var (
	zones   = []string{"a", "b", "c", "d"}
	disks   = []string{"ssd", "hdd"}
	images  = []string{"redis", "nginx", "postgres", "localhost:5000/app"}
	roles   = []string{"web", "db", "cache"}
	states  = []string{"running", "exited", "creating", "created"}
	ips     = []string{"", "0.0.0.0", "10.0.0.1", "10.0.0.2"}
	protos  = []string{"tcp", "tcp", "udp"}
	nstates = []scheduler.NodeState{scheduler.NodeHealthy, scheduler.NodeHealthy, scheduler.NodeHealthy,
		scheduler.NodeUnhealthy, scheduler.NodePending, scheduler.NodeDrained}
)

func pick[T any](r *rand.Rand, list []T) T { return list[r.Intn(len(list))] }

// RandomCluster returns n nodes with random labels, states, containers
// (names c<k> unique across the cluster, IDs with shared prefixes),
// images, ports, reservations and containerslots caps.
func RandomCluster(r *rand.Rand, n int) []*scheduler.Node {
	nodes := make([]*scheduler.Node, n)
	k := 0
	for i := range nodes {
		b := Node(fmt.Sprintf("n%d", i)).State(pick(r, nstates)).CPUs(float64(1 + r.Intn(8))).
			Memory(int64(1+r.Intn(16)) << 30)
		if r.Intn(4) > 0 {
			b.Label("zone", pick(r, zones))
		}
		if r.Intn(2) == 0 {
			b.Label("disk", pick(r, disks))
		}
		if r.Intn(8) == 0 {
			b.Label(scheduler.LabelContainerSlots, pick(r, []string{"0", "1", "2", "3", "many"}))
		}
		for j := r.Intn(4); j > 0; j-- {
			img := pick(r, images)
			b.Image(fmt.Sprintf("sha256:%04x%060d", r.Intn(8), j), img+":latest")
		}
		for j := r.Intn(5); j > 0; j-- {
			c := Container(fmt.Sprintf("c%d", k)).ID(fmt.Sprintf("%04x%060d", r.Intn(16), k)).
				Image(pick(r, images)).State(pick(r, states)).Reserve(float64(r.Intn(3))/2, int64(r.Intn(3))<<29)
			k++
			if r.Intn(2) == 0 {
				c.Label("role", pick(r, roles))
			}
			if r.Intn(4) == 0 {
				c.Alias(fmt.Sprintf("c%d/link%d", r.Intn(k), r.Intn(3)))
			}
			if r.Intn(5) == 0 {
				c.Net("host").RawPort(scheduler.Port{HostPort: uint16(80 + r.Intn(3)), Proto: pick(r, protos)})
			} else if r.Intn(2) == 0 {
				c.RawPort(scheduler.Port{HostIP: pick(r, ips), HostPort: uint16(80 + r.Intn(3)), Proto: pick(r, protos)})
			}
			b.Containers(c.Build())
		}
		nodes[i] = b.Build()
	}
	return nodes
}

// RandomRequest returns a request with random expressions (hard and
// soft, every operator and pattern form), port bindings, dependencies
// and reservations, referring to names that exist in a cluster of about
// nodes nodes.
func RandomRequest(r *rand.Rand, nodes int) *scheduler.Request {
	req := &scheduler.Request{Image: pick(r, images), Labels: map[string]string{}}
	op := func() string { return pick(r, []string{"==", "!=", "==", "==~", "!=~"}) }
	node := func() string { return fmt.Sprintf("n%d", r.Intn(nodes+1)) }
	ctr := func() string { return fmt.Sprintf("c%d", r.Intn(nodes*2+1)) }
	exprs := []func() string{
		func() string {
			return "constraint:zone" + op() + pick(r, append(zones, "a|b", "*", "/^[ab]$/", "/^$/"))
		},
		func() string { return "constraint:disk" + op() + pick(r, append(disks, "s*", "/d$/")) },
		func() string {
			return "constraint:node" + op() + pick(r, []string{node(), node() + "|" + node(), "n1*", "id-" + node(), "id-n2*", "*3"})
		},
		func() string {
			return "affinity:container" + op() + pick(r, []string{ctr(), "c1*", "*/link1", "/^c2/", "000", "*01", "*0005*|c3"})
		},
		func() string { return fmt.Sprintf("affinity:container%s%04x", op(), r.Intn(16)) },
		func() string {
			return "affinity:image" + op() + pick(r, append(images, "redis:latest", "*ginx", "sha256:0001*"))
		},
		func() string { return "affinity:role" + op() + pick(r, append(roles, "/^$/", "*")) },
		func() string { return "whitelist:node" + op() + node() + "|" + node() + "|" + node() },
	}
	for i := r.Intn(4); i > 0; i-- {
		req.Env = append(req.Env, pick(r, exprs)())
	}
	if r.Intn(3) == 0 {
		req.NetworkMode = "host"
		req.ExposedPorts = []string{fmt.Sprintf("%d/%s", 80+r.Intn(3), pick(r, protos))}
	} else if r.Intn(2) == 0 {
		key := fmt.Sprintf("%d/%s", 80+r.Intn(3), pick(r, protos))
		req.PortBindings = map[string][]scheduler.PortBinding{
			key: {{HostIP: pick(r, ips), HostPort: fmt.Sprint(80 + r.Intn(3))}},
		}
	}
	if r.Intn(5) == 0 {
		req.Links = []string{ctr() + ":alias"}
	}
	if r.Intn(8) == 0 {
		req.VolumesFrom = []string{ctr()}
	}
	if r.Intn(2) == 0 {
		req.NanoCPUs = int64(r.Intn(4)) * 5e8
		req.Memory = int64(r.Intn(4)) << 29
	}
	return req
}
