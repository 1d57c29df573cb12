package cluster

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/swarmlab/swarm/scheduler"
)

// Container is one cached container with the node it runs on. Summary is
// in the engine's /containers/json shape; its maps and slices are shared
// with the cache and must not be modified.
type Container struct {
	Node    Node
	Summary container.Summary
	// Rev identifies the cached data the summary was built from: it
	// changes whenever the cache stores a new answer for the container,
	// so a reader may keep work derived from Summary (an encoding) while
	// Rev stays the same. Status and Names are not covered: they are
	// derived at read time (the clock, other containers' links). 0 means
	// unknown: derive everything afresh.
	Rev uint64
	// Lean marks a summary listed without NetworkSettings: its reader said
	// it keeps what it derived from this Rev (ContainersInto's known).
	Lean bool
}

// Image is one image on one node.
type Image struct {
	Node    Node
	Summary image.Summary
}

// Network is one network on one node.
type Network struct {
	Node    Node
	Summary network.Summary
}

// Volume is one volume on one node.
type Volume struct {
	Node   Node
	Volume volume.Volume
}

// Info is the cluster-wide `docker info`.
type Info struct {
	Nodes      []Node
	Containers int
	Running    int
	Paused     int
	Stopped    int
	Images     int
	NCPU       int
	Memory     int64
	Strategy   string
	Filters    []string
}

// nodeViewLocked copies n's public state with container counts and
// reservations (in-flight creates included), from the totals the cache
// keeps (counts.go), without walking the containers.
func (c *Cluster) nodeViewLocked(n *node) Node {
	v := Node{
		ID: n.id, Name: n.name, Addr: n.addr, IP: n.ip, State: n.state, Labels: n.labels,
		NCPU: n.ncpu, Memory: n.memory, ServerVersion: n.serverVersion, APIVersion: n.apiVersion,
		Err: n.err, UpdatedAt: n.updated,
	}
	if n.lost != "" {
		// Why it is out of placement matters more than its engine's last error.
		v.Err = n.lost
	}
	k := &n.counts
	v.Containers, v.Running, v.Paused, v.Stopped = k.containers, k.running, k.paused, k.stopped
	v.ReservedCPUs = float64(k.nanoCPUs) / 1e9
	v.ReservedMemory = k.memory
	return v
}

// sortedNodesLocked lists nodes by name, then address.
func (c *Cluster) sortedNodesLocked() []*node {
	out := make([]*node, 0, len(c.nodes))
	for _, n := range c.nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].name != out[j].name {
			return out[i].name < out[j].name
		}
		return out[i].addr < out[j].addr
	})
	return out
}

// Nodes lists every engine, whatever its state, sorted by name.
func (c *Cluster) Nodes() []Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Node
	for _, n := range c.sortedNodesLocked() {
		out = append(out, c.nodeViewLocked(n))
	}
	return out
}

// Containers lists every container on every node (unhealthy ones too),
// newest first. In-flight creates are not listed.
func (c *Cluster) Containers() []Container { return c.ContainersInto(nil, nil) }

// ContainersInto is Containers reusing buf's memory: buf's elements are
// overwritten, and the result may share buf's array. A caller listing
// 30,000 containers again and again (the API) saves allocating and
// collecting 17 MB per listing. A container whose Rev known reports
// (nil: none) is listed Lean, without NetworkSettings: building the
// endpoint map of 30,000 containers the caller had already encoded
// doubled a listing's time. known is called without the cluster's lock.
//
// The lock is held only to pick the entries: a cached entry is never
// changed once stored (new data replaces it whole; only its placement
// view is set later, under the lock, and summaryAt does not read it), so
// the summaries are built after it is released. Built under it, they held up every create
// and event for 20 ms (lean) to 60 ms (whole) per listing of 30,000
// (BenchmarkContainersList), and docker-gen lists on every event.
func (c *Cluster) ContainersInto(buf []Container, known func(rev uint64) bool) []Container {
	c.mu.Lock()
	now := c.cfg.Now()
	nodes := c.sortedNodesLocked()
	total := 0
	for _, n := range nodes {
		total += len(n.entries)
	}
	views := make([]Node, len(nodes))
	aliases := make([]map[string][]string, len(nodes))
	for i, n := range nodes {
		views[i], aliases[i] = c.nodeViewLocked(n), linkAliases(n)
	}
	gen := c.listGen
	// Nothing that orders the listing changed: list in the same order.
	pos, kept := c.lastListing.pos, c.lastListing.pos != nil && c.lastListing.gen == gen
	if !kept {
		pos = make([]listPos, 0, total)
		for i, n := range nodes {
			for k, e := range n.entries {
				if !e.reservation {
					pos = append(pos, listPos{node: int32(i), entry: int32(k)})
				}
			}
		}
	}
	entries := make([]*entry, len(pos))
	for k, p := range pos {
		entries[k] = nodes[p.node].entries[p.entry]
	}
	c.mu.Unlock()

	out := buf[:0]
	if cap(out) < len(pos) {
		out = make([]Container, 0, len(pos))
	}
	for k, e := range entries {
		i := pos[k].node
		lean := known != nil && known(e.seq)
		out = append(out, Container{Node: views[i], Summary: e.summaryAt(aliases[i], now, !lean), Rev: e.seq, Lean: lean})
	}
	if kept {
		return out
	}
	perm := sortContainers(out)
	sorted := make([]listPos, len(pos))
	for k, src := range perm {
		sorted[k] = pos[src]
	}
	c.mu.Lock()
	if c.listGen == gen {
		c.lastListing = listing{gen: gen, pos: sorted}
	}
	c.mu.Unlock()
	return out
}

// listing is the order of the last full listing, kept to list again
// without sorting while nothing that orders it changed: sorting was half
// of a lean listing's time at 30,000 containers (BenchmarkContainersList).
// Each position indexes sortedNodesLocked and that node's entries: 8
// bytes and no pointer for the collector to follow. Cluster.listGen counts
// what can move them (setContainerLocked, deleteContainerLocked, a node
// added, dropped or renamed).
type listing struct {
	gen uint64
	pos []listPos // nil: none kept
}

type listPos struct{ node, entry int32 }

// sortContainers orders cs newest first, then by ID, then by their current
// order (the node order for one ID on two nodes), the order a stable sort
// gives, and returns the permutation it applied: position k took the
// element that was at perm[k]. It sorts small keys and moves each
// Container once: a Container is over 500 bytes, and sorting 30,000 of
// them directly (or under c.mu, as this once did) took hundreds of
// milliseconds.
func sortContainers(cs []Container) (perm []int) {
	type key struct {
		created int64
		head    uint64 // the ID's first 8 bytes, big-endian: most ties end here
		id      string
		i       int
	}
	keys := make([]key, len(cs))
	for i := range cs {
		id := cs[i].Summary.ID
		var head [8]byte
		copy(head[:], id)
		keys[i] = key{cs[i].Summary.Created, binary.BigEndian.Uint64(head[:]), id, i}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.created != b.created {
			return cmp.Compare(b.created, a.created)
		}
		if a.head != b.head {
			return cmp.Compare(a.head, b.head)
		}
		if c := strings.Compare(a.id, b.id); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	perm = make([]int, len(keys))
	for k := range keys {
		perm[k] = keys[k].i
	}
	// Apply the permutation in place, cycle by cycle: position j takes the
	// element that was at keys[j].i.
	for start := range keys {
		if keys[start].i < 0 || keys[start].i == start {
			continue
		}
		tmp := cs[start]
		j := start
		for {
			src := keys[j].i
			keys[j].i = -1
			if src == start {
				cs[j] = tmp
				break
			}
			cs[j] = cs[src]
			j = src
		}
	}
	return perm
}

// Container finds one container by full ID, name ("web" or "/web"),
// "node/name", link alias or unique ID prefix. It returns an error
// wrapping ErrNotFound, or an *AmbiguousError.
func (c *Cluster) Container(ref string) (Container, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, e, err := c.findLocked(ref)
	if err != nil {
		return Container{}, err
	}
	return Container{Node: c.nodeViewLocked(n), Summary: e.summaryAt(linkAliases(n), c.cfg.Now(), true), Rev: e.seq}, nil
}

type match struct {
	n *node
	e *entry
}

// findLocked resolves a container reference; see Container.
func (c *Cluster) findLocked(ref string) (*node, *entry, error) {
	name := strings.TrimPrefix(ref, "/")
	if name == "" {
		return nil, nil, fmt.Errorf("container reference is empty: give an ID or a name: %w", ErrNotFound)
	}
	// A full ID (what the CLI sends after create) resolves with one lookup
	// in the ID index (c.owners) instead of a scan of every cached
	// container, which at 30,000 containers made each forwarded call hold
	// c.mu for a millisecond; even a map lookup in each of 1,000 nodes was
	// 11% of the manager's CPU during create+start. An ID match wins over
	// every other kind, so a single one is the answer; an ID on several
	// nodes falls through to the scan's ambiguity error.
	if n := c.ownerLocked(name); n != nil {
		if e, ok := n.entry(name); ok && !e.reservation {
			return n, e, nil
		}
	}
	var byID []match
	var byName, byNodeName, byAlias, byPrefix []match
	nodeName, rest, hasSlash := strings.Cut(name, "/")
	for _, n := range c.nodes {
		var aliases map[string][]string
		for i, e := range n.entries {
			if e.reservation {
				continue
			}
			switch id := n.ids[i]; {
			case id == name:
				byID = append(byID, match{n, e})
			case e.name == name:
				byName = append(byName, match{n, e})
			case hasSlash && n.name == nodeName && e.name == rest:
				byNodeName = append(byNodeName, match{n, e})
			case strings.HasPrefix(id, name):
				byPrefix = append(byPrefix, match{n, e})
			}
			if hasSlash {
				if aliases == nil {
					aliases = linkAliases(n)
				}
				for _, a := range aliases[e.name] {
					if a == name {
						byAlias = append(byAlias, match{n, e})
					}
				}
			}
		}
	}
	for _, ms := range [][]match{byID, byName, byNodeName, byAlias, byPrefix} {
		switch len(ms) {
		case 0:
			continue
		case 1:
			return ms[0].n, ms[0].e, nil
		}
		amb := &AmbiguousError{Ref: ref}
		for _, m := range ms {
			amb.Candidates = append(amb.Candidates, fmt.Sprintf("%s/%s (%.12s)", m.n.name, m.e.name, m.e.sched.ID))
		}
		sort.Strings(amb.Candidates)
		return nil, nil, amb
	}
	return nil, nil, fmt.Errorf("no such container: %s: %w", ref, ErrNotFound)
}

// perNode collects, under the lock, what each node holds (add appends
// node n's items, given its public view), nodes in name order.
func perNode[T any](c *Cluster, add func(out []T, n *node, view Node) []T) []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []T
	for _, n := range c.sortedNodesLocked() {
		out = add(out, n, c.nodeViewLocked(n))
	}
	return out
}

// Images lists every image on every node.
func (c *Cluster) Images() []Image {
	return perNode(c, func(out []Image, n *node, view Node) []Image {
		for _, img := range n.images {
			out = append(out, Image{Node: view, Summary: img})
		}
		return out
	})
}

// Networks lists every network on every node.
func (c *Cluster) Networks() []Network {
	return perNode(c, func(out []Network, n *node, view Node) []Network {
		for _, nw := range n.networks {
			out = append(out, Network{Node: view, Summary: nw})
		}
		return out
	})
}

// Volumes lists every volume on every node.
func (c *Cluster) Volumes() []Volume {
	return perNode(c, func(out []Volume, n *node, view Node) []Volume {
		for _, v := range n.volumes {
			if v != nil {
				out = append(out, Volume{Node: view, Volume: *v})
			}
		}
		return out
	})
}

// Info totals the healthy nodes' resources and every node's containers.
func (c *Cluster) Info() Info {
	nodes := c.Nodes()
	info := Info{Nodes: nodes}
	for _, n := range nodes {
		info.Containers += n.Containers
		info.Running += n.Running
		info.Paused += n.Paused
		info.Stopped += n.Stopped
		if n.State == scheduler.NodeHealthy {
			info.NCPU += n.NCPU
			info.Memory += n.Memory
		}
	}
	c.mu.Lock()
	for _, n := range c.nodes {
		info.Images += len(n.images)
	}
	c.mu.Unlock()
	if c.cfg.Scheduler != nil {
		info.Strategy = c.cfg.Scheduler.Strategy().String()
		info.Filters = c.cfg.Scheduler.Filters()
	}
	return info
}
