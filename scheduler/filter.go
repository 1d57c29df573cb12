package scheduler

import "math/bits"

// Filter excludes the nodes that cannot run a request. Implementations
// (package filters) are stateless and safe for concurrent use; all
// per-request data travels in the Query.
type Filter interface {
	// Name is the filter's name in `--filter` flags and explanations.
	Name() string
	// Check decides one node. When it refuses, reason is the condition the
	// node fails, phrased as a condition ("model==gpu", "port 80 (Bridge
	// mode)"); with several conditions it reports the first failing one in
	// the order Narrow applies them.
	Check(q *Query, n *Node) (ok bool, reason string)
}

// Narrower is the optional fast path of a Filter: it narrows the
// candidate set with the snapshot's indexes instead of visiting nodes. It
// must exclude exactly the nodes Check refuses, attributing each to the
// same reason; the tests compare the two on random clusters.
type Narrower interface {
	Narrow(q *Query, snap *Snapshot, c *Candidates)
}

// Exclusion counts the nodes one condition of one filter excluded.
type Exclusion struct {
	Filter string
	Reason string
	Nodes  int
}

// Candidates is the set of nodes still in the running while one request
// is scheduled. Filters narrow it through Keep and Drop, which count the
// nodes each reason removes. It belongs to one Schedule call.
type Candidates struct {
	set     NodeSet
	scratch NodeSet
	backup  NodeSet
	words   int
	filter  string
	record  bool
	excl    []Exclusion
	// n is the size of set, kept current so Len costs nothing.
	n int
	// ties is the strategy's buffer of equally ranked slots.
	ties []int32
}

// reset prepares c for a snapshot.
func (c *Candidates) reset(snap *Snapshot) {
	c.words = snap.words()
	c.set.copyFrom(&snap.live)
	c.n = snap.Len()
	c.excl = c.excl[:0]
	c.record = true
}

// Len returns the number of candidates left.
func (c *Candidates) Len() int { return c.n }

// Scratch returns an empty set sized to the snapshot, for a filter to
// fill with the lookups of Snapshot. Each call clears and returns the
// same set, so use it before asking for it again.
func (c *Candidates) Scratch() *NodeSet {
	c.scratch.reset(c.words)
	return &c.scratch
}

// Keep removes every candidate not in s, counting them against reason.
func (c *Candidates) Keep(s *NodeSet, reason string) {
	removed := 0
	for i := range c.set.w {
		var k uint64
		if i < len(s.w) {
			k = s.w[i]
		}
		removed += bits.OnesCount64(c.set.w[i] &^ k)
		c.set.w[i] &= k
	}
	c.n -= removed
	c.count(reason, removed)
}

// Drop removes every candidate in s, counting them against reason.
func (c *Candidates) Drop(s *NodeSet, reason string) {
	removed := 0
	n := min(len(s.w), len(c.set.w))
	for i := 0; i < n; i++ {
		removed += bits.OnesCount64(c.set.w[i] & s.w[i])
		c.set.w[i] &^= s.w[i]
	}
	c.n -= removed
	c.count(reason, removed)
}

// decision starts the Decision for the candidates: filtered nodes passed
// the filters, feasible of them also fit the reservation, and the
// exclusions counted so far explain the rest.
func (c *Candidates) decision(snap *Snapshot, filtered, feasible int) Decision {
	d := Decision{Version: snap.Version(), Nodes: snap.Len(), Feasible: feasible,
		NoResources: filtered > 0 && feasible == 0}
	if len(c.excl) > 0 {
		d.Exclusions = append([]Exclusion(nil), c.excl...)
	}
	return d
}

// removeOne drops one candidate for reason.
func (c *Candidates) removeOne(i int32, reason string) {
	c.set.remove(i)
	c.n--
	c.count(reason, 1)
}

// restore makes the candidates equal to the backup taken before a soft
// expression was tried.
func (c *Candidates) restore() {
	c.set.copyFrom(&c.backup)
	c.n = c.set.Len()
}

func (c *Candidates) count(reason string, n int) {
	if n == 0 || !c.record {
		return
	}
	c.excl = addExclusion(c.excl, c.filter, reason, n)
}

// addExclusion adds n to the (filter, reason) entry, keeping first-seen
// order so explanations read in filter order.
func addExclusion(list []Exclusion, filter, reason string, n int) []Exclusion {
	for k := range list {
		if list[k].Filter == filter && list[k].Reason == reason {
			list[k].Nodes += n
			return list
		}
	}
	return append(list, Exclusion{Filter: filter, Reason: reason, Nodes: n})
}
