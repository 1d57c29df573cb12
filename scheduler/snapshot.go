package scheduler

import "slices"

// Snapshot is the placement state: every node plus the indexes that let
// Schedule answer a request without looking at every node.
//
// Contract: the owner (the cluster) maintains one Snapshot incrementally.
// Put and Delete cost time proportional to the size of the node touched,
// never to the size of the cluster. A Snapshot is NOT safe for concurrent
// use: the owner serializes Put and Delete against Schedule with its own
// lock (Schedule only reads, so many Schedule calls may share a read
// lock). Node values are immutable once Put: to change a node, build a new
// *Node and Put it; never modify a Node or its containers in place, or
// the indexes go stale. Version changes on every Put and Delete, so a
// caller can commit a decision optimistically and retry on a stale one.
type Snapshot struct {
	version uint64
	// nodes holds each node at its slot; free slots are nil and listed in
	// free for reuse, so NodeSets stay as small as the cluster.
	nodes []*Node
	free  []int32
	byID  map[string]int32

	live    NodeSet
	healthy NodeSet
	full    NodeSet // containerslots reached: one more would exceed
	nonzero NodeSet // nodes with at least one container
	// inOrder holds the slots whose containers diffSorted last found
	// sorted by ID (a first Put is not checked).
	inOrder NodeSet

	// stats holds per-slot numbers for ranking without touching the
	// Node, one cache line per node for the strategy's scan.
	stats []slotStat

	names      *valueIndex // node name → slots
	nodeIDText *textIndex  // node IDs, for globs
	labels     map[string]*labelIndex
	cnames     *valueIndex // container name → slots
	cids       *valueIndex // container full ID → slots
	cidPrefix  postings    // first minIDPrefix characters of an ID → slots
	clabels    map[string]*clabelIndex
	images     *valueIndex // every image ref (see imageRefs) → slots
	ports      map[portKey]*portIndex
	hostPorts  map[portKey]*posting

	// keys counts, per slot, the node's containers holding each container
	// label key, so that allHave follows a container change without a
	// walk of every container's labels (indexAllHave).
	keys [][]keyCount

	// scratch for Put; the snapshot has a single writer.
	byCID   map[string]*Container
	byImage map[string]*Image
	added   []*Container
	removed []*Container
}

// slotStat is what ranking reads about one node.
type slotStat struct {
	usedCPU, usedMem int64
	totCPU, totMem   int64
	invCPU, invMem   float64
	count            int32
}

// fits reports whether the reservation fits the node with overcommit.
func (st *slotStat) fits(reqCPU, reqMem int64, overcommit float64) bool {
	return fits(st.usedCPU, reqCPU, st.totCPU, overcommit) && fits(st.usedMem, reqMem, st.totMem, overcommit)
}

// rank is the strategy's key for the node: lower is better.
func (st *slotStat) rank(strategy Strategy, reqCPU, reqMem int64) (float64, int32) {
	sc := score(st.usedCPU, reqCPU, st.invCPU, st.usedMem, reqMem, st.invMem)
	if strategy == Binpack {
		return -sc, -st.count
	}
	return sc, st.count
}

// labelIndex indexes one engine label key.
type labelIndex struct {
	vals postings
	has  posting // nodes that have the key at all
}

// clabelIndex indexes one container label key.
type clabelIndex struct {
	vals    postings
	allHave posting // nodes whose every container has the key
}

type portKey struct {
	port  uint16
	proto string
}

// portIndex indexes one port and protocol by host IP ("" = all).
type portIndex struct {
	any  posting
	byIP postings
}

// NewSnapshot returns an empty snapshot.
func NewSnapshot() *Snapshot {
	return &Snapshot{
		byID:       map[string]int32{},
		names:      newValueIndex(),
		nodeIDText: newTextIndex(),
		labels:     map[string]*labelIndex{},
		cnames:     newValueIndex(),
		cids:       newValueIndex(),
		cidPrefix:  postings{},
		clabels:    map[string]*clabelIndex{},
		images:     newValueIndex(),
		ports:      map[portKey]*portIndex{},
		hostPorts:  map[portKey]*posting{},
		byCID:      map[string]*Container{},
		byImage:    map[string]*Image{},
	}
}

// Version returns a number that changes on every Put and Delete.
func (s *Snapshot) Version() uint64 { return s.version }

// Len returns the number of nodes.
func (s *Snapshot) Len() int { return len(s.byID) }

// Node returns the node with the given ID.
func (s *Snapshot) Node(id string) (*Node, bool) {
	i, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	return s.nodes[i], true
}

// Nodes returns every node in slot order, the order Schedule breaks ties
// in. The slice is new; the nodes are shared and must not be modified.
func (s *Snapshot) Nodes() []*Node {
	out := make([]*Node, 0, len(s.byID))
	for _, n := range s.nodes {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

// words is the size of a NodeSet covering every slot.
func (s *Snapshot) words() int { return (len(s.nodes) + 63) / 64 }

// Put adds n or replaces the node with the same ID. The snapshot keeps n:
// the caller must not modify it afterwards.
func (s *Snapshot) Put(n *Node) {
	s.version++
	i, ok := s.byID[n.ID]
	if ok {
		old := s.nodes[i]
		s.nodes[i] = n
		s.update(i, old, n)
		return
	}
	i = s.allocSlot()
	s.byID[n.ID] = i
	s.nodes[i] = n
	s.index(i, n)
}

// Delete removes the node with the given ID, if present.
func (s *Snapshot) Delete(nodeID string) {
	i, ok := s.byID[nodeID]
	if !ok {
		return
	}
	s.version++
	s.unindex(i, s.nodes[i])
	s.nodes[i] = nil
	delete(s.byID, nodeID)
	s.free = append(s.free, i)
}

func (s *Snapshot) allocSlot() int32 {
	if k := len(s.free); k > 0 {
		i := s.free[k-1]
		s.free = s.free[:k-1]
		return i
	}
	i := int32(len(s.nodes))
	s.nodes = append(s.nodes, nil)
	s.stats = append(s.stats, slotStat{})
	s.keys = append(s.keys, nil)
	for _, set := range []*NodeSet{&s.live, &s.healthy, &s.full, &s.nonzero, &s.inOrder} {
		set.grow(s.words())
	}
	return i
}

func inverse(total int64) float64 {
	if total <= 0 {
		return 0
	}
	return 1 / float64(total)
}

// index adds node n at slot i to every index.
func (s *Snapshot) index(i int32, n *Node) {
	s.live.add(i)
	s.inOrder.remove(i)
	s.indexNumbers(i, n)
	s.names.add(n.Name, i)
	s.nodeIDText.add(n.ID)
	s.indexLabels(i, n, true)
	for _, c := range n.Containers {
		s.indexContainer(i, c, true)
	}
	s.indexAllHave(i, n)
	s.indexImages(i, n, true)
}

// indexNumbers records the per-slot sets and numbers derived from n.
func (s *Snapshot) indexNumbers(i int32, n *Node) {
	setIf(&s.healthy, i, n.State == NodeHealthy)
	setIf(&s.full, i, SlotsFull(n))
	setIf(&s.nonzero, i, len(n.Containers) > 0)
	var cpu, mem int64
	for _, c := range n.Containers {
		cpu += c.NanoCPUs
		mem += c.Memory
	}
	s.stats[i] = slotStat{
		usedCPU: cpu, usedMem: mem, totCPU: n.NanoCPUs, totMem: n.Memory,
		invCPU: inverse(n.NanoCPUs), invMem: inverse(n.Memory), count: int32(len(n.Containers)),
	}
}

func setIf(set *NodeSet, i int32, on bool) {
	if on {
		set.add(i)
	} else {
		set.remove(i)
	}
}

// indexLabels adds (or removes) the node's engine labels at slot i.
func (s *Snapshot) indexLabels(i int32, n *Node, add bool) {
	for k, v := range n.Labels {
		li := s.labels[k]
		if add {
			if li == nil {
				li = &labelIndex{vals: postings{}}
				s.labels[k] = li
			}
			li.vals.add(v, i)
			li.has.add(i)
			continue
		}
		if li != nil {
			li.vals.remove(v, i)
			li.has.remove(i)
			if li.has.n == 0 {
				delete(s.labels, k)
			}
		}
	}
}

// keyCount is how many of a node's containers have a label key.
type keyCount struct {
	key string
	n   int32
}

// countKeys adds delta to slot i's count of each of c's label keys; a
// count that reaches zero is dropped.
func (s *Snapshot) countKeys(i int32, c *Container, delta int32) {
	ks := s.keys[i]
	for k := range c.Labels {
		j := slices.IndexFunc(ks, func(kc keyCount) bool { return kc.key == k })
		switch {
		case j < 0 && delta > 0:
			ks = append(ks, keyCount{key: k, n: delta})
		case j >= 0:
			ks[j].n += delta
			if ks[j].n <= 0 {
				ks = slices.Delete(ks, j, j+1)
			}
		}
	}
	s.keys[i] = ks
}

// indexAllHave records, per container label key of n, whether every
// container of n has it, from the kept counts. A key no container has
// left was withdrawn as its last holder went.
func (s *Snapshot) indexAllHave(i int32, n *Node) {
	for _, kc := range s.keys[i] {
		if ci := s.clabels[kc.key]; ci != nil {
			if int(kc.n) == len(n.Containers) {
				ci.allHave.add(i)
			} else {
				ci.allHave.remove(i)
			}
		}
	}
}

// indexImages adds (or removes) every ref of the node's images.
func (s *Snapshot) indexImages(i int32, n *Node, add bool) {
	op := s.images.remove
	if add {
		op = s.images.add
	}
	for _, img := range n.Images {
		imageRefs(img, func(ref string) { op(ref, i) })
	}
}

// unindex removes node n at slot i from every index. Removal is
// idempotent per (value, slot), so values shared by several containers of
// the node need no reference counts.
func (s *Snapshot) unindex(i int32, n *Node) {
	for _, set := range []*NodeSet{&s.live, &s.healthy, &s.full, &s.nonzero, &s.inOrder} {
		set.remove(i)
	}
	s.stats[i] = slotStat{}

	s.names.remove(n.Name, i)
	s.nodeIDText.remove(n.ID)
	s.indexLabels(i, n, false)
	for _, c := range n.Containers {
		s.indexContainer(i, c, false)
	}
	s.dropEmptyLabels(n.Containers)
	s.indexImages(i, n, false)
	s.keys[i] = nil
}

// dropEmptyLabels forgets container label keys no container has any more.
func (s *Snapshot) dropEmptyLabels(cs []*Container) {
	for _, c := range cs {
		for k := range c.Labels {
			if ci := s.clabels[k]; ci != nil && len(ci.vals) == 0 {
				delete(s.clabels, k)
			}
		}
	}
}
