package scheduler

import (
	"math/bits"
	"math/rand"
	"sync"
)

// DefaultOvercommit is classic Swarm's default overcommit ratio: a node
// with 8 GiB accepts reservations up to 8.4 GiB.
const DefaultOvercommit = 0.05

// Config configures a Scheduler.
type Config struct {
	// Filters run in order; filters.Default() is the classic chain. A nil
	// slice means no filters.
	Filters []Filter
	// Strategy ranks the nodes that pass; the zero value is Spread.
	Strategy Strategy
	// Overcommit is the fraction by which reservations may exceed a
	// node's totals. 0 means DefaultOvercommit; a negative value means no
	// overcommit at all.
	Overcommit float64
}

// Scheduler places requests on snapshots. It holds no mutable state of
// its own and is safe for concurrent use; each call brings its snapshot
// and random source.
type Scheduler struct {
	filters    []Filter
	strategy   Strategy
	overcommit float64
	// pool recycles candidate sets so a decision allocates little.
	pool sync.Pool
}

// New returns a Scheduler for cfg.
func New(cfg Config) *Scheduler {
	oc := cfg.Overcommit
	switch {
	case oc == 0:
		oc = DefaultOvercommit
	case oc < 0:
		oc = 0
	}
	s := &Scheduler{
		filters:    append([]Filter(nil), cfg.Filters...),
		strategy:   cfg.Strategy,
		overcommit: oc,
	}
	s.pool.New = func() any { return &Candidates{} }
	return s
}

// Strategy returns the configured strategy.
func (s *Scheduler) Strategy() Strategy { return s.strategy }

// Filters returns the names of the configured filters, in order.
func (s *Scheduler) Filters() []string {
	out := make([]string, len(s.filters))
	for i, f := range s.filters {
		out[i] = f.Name()
	}
	return out
}

// Schedule picks a node for req on snap. The error is only for user
// errors in the request (an *ExprError, for HTTP 400); "nothing fits" is
// a Decision whose Node is nil, explained by Explain. rnd breaks ties; nil
// means the first tied node in slot order. Schedule only reads snap: the
// caller must keep Put and Delete out while it runs (see Snapshot). It
// uses the snapshot's indexes for every filter that implements Narrower.
func (s *Scheduler) Schedule(snap *Snapshot, req *Request, rnd *rand.Rand) (Decision, error) {
	q, err := ParseRequest(req)
	if err != nil {
		return Decision{}, err
	}
	return s.ScheduleQuery(snap, q, rnd), nil
}

// ScheduleQuery is Schedule for an already parsed request.
func (s *Scheduler) ScheduleQuery(snap *Snapshot, q *Query, rnd *rand.Rand) Decision {
	c := s.pool.Get().(*Candidates)
	defer s.pool.Put(c)
	filtered := s.hardFilter(snap, q, c)
	var best int32
	var feasible int
	var ignored []string
	if len(q.Soft) == 0 {
		// The reservation check rides along with the strategy's pass
		// over the candidates.
		best = s.pick(snap, q, c, rnd, true)
		feasible = c.Len()
	} else {
		// Soft expressions narrow the set that fits, so the reservation
		// check comes first.
		s.applyFit(snap, q, c)
		feasible = c.Len()
		if feasible > 0 {
			ignored = s.applySoft(snap, q, c)
		}
		best = s.pick(snap, q, c, rnd, false)
	}
	d := c.decision(snap, filtered, feasible)
	d.IgnoredSoft = ignored
	if best >= 0 {
		d.Node = snap.nodes[best]
	}
	return d
}

// Feasible returns, in slot order, the nodes that pass every hard filter
// and have room for the reservation, before soft expressions and the
// strategy narrow them; the Decision (Node nil) counts the exclusions.
// Only tests call it: the filters' tests hold each Check to its Narrow
// through it.
func (s *Scheduler) Feasible(snap *Snapshot, req *Request) ([]*Node, Decision, error) {
	q, err := ParseRequest(req)
	if err != nil {
		return nil, Decision{}, err
	}
	c := s.pool.Get().(*Candidates)
	defer s.pool.Put(c)
	filtered := s.hardFilter(snap, q, c)
	s.applyFit(snap, q, c)
	d := c.decision(snap, filtered, c.Len())
	out := make([]*Node, 0, d.Feasible)
	c.set.each(func(i int32) bool {
		out = append(out, snap.nodes[i])
		return true
	})
	return out, d, nil
}

// hardFilter narrows c to the nodes that pass every hard filter and
// returns how many do.
func (s *Scheduler) hardFilter(snap *Snapshot, q *Query, c *Candidates) int {
	c.reset(snap)
	s.applyFilters(snap, q, c)
	return c.Len()
}

// applyFilters runs the chain, through the indexes where a filter has
// them and node by node where it does not.
func (s *Scheduler) applyFilters(snap *Snapshot, q *Query, c *Candidates) {
	for _, f := range s.filters {
		if c.Len() == 0 {
			return
		}
		c.filter = f.Name()
		if n, ok := f.(Narrower); ok {
			n.Narrow(q, snap, c)
			continue
		}
		c.set.each(func(i int32) bool {
			if ok, reason := f.Check(q, snap.nodes[i]); !ok {
				c.removeOne(i, reason)
			}
			return true
		})
	}
}

// applyFit drops the candidates without room for the reservation.
func (s *Scheduler) applyFit(snap *Snapshot, q *Query, c *Candidates) {
	if c.Len() == 0 || (q.NanoCPUs <= 0 && q.Memory <= 0) {
		return
	}
	c.filter = resourcesFilter
	reason := "" // formatted on the first exclusion only
	for wi, w := range c.set.w {
		for w != 0 {
			i := int32(wi*64 + bits.TrailingZeros64(w))
			w &= w - 1
			if snap.stats[i].fits(q.NanoCPUs, q.Memory, s.overcommit) {
				continue
			}
			if reason == "" {
				reason = resourceCondition(q.NanoCPUs, q.Memory)
			}
			c.removeOne(i, reason)
		}
	}
}

// applySoft applies each soft expression in turn, as if it were hard,
// unless it would leave no candidate; it returns those it ignored.
func (s *Scheduler) applySoft(snap *Snapshot, q *Query, c *Candidates) []string {
	var ignored []string
	for _, e := range q.Soft {
		c.backup.copyFrom(&c.set)
		c.record = false
		s.applyFilters(snap, softQuery(e), c)
		c.record = true
		if c.Len() == 0 {
			c.restore()
			ignored = append(ignored, e.String())
		}
	}
	return ignored
}

// softQuery is a query holding only e, made hard.
func softQuery(e *Expr) *Query {
	q := &Query{}
	h := e.Hard()
	switch e.Kind {
	case KindConstraint:
		q.Constraints = []*Expr{h}
	case KindAffinity:
		q.Affinities = []*Expr{h}
	default:
		q.Whitelist = []*Expr{h}
	}
	return q
}

// pick returns the strategy's choice among the candidates, or -1 if
// none is left: the best rank, ties broken by rnd.Intn over the tied
// nodes in slot order. With fit set it also drops, in the same pass, the
// candidates without room for the reservation (only valid when no soft
// expression has to see the fitted set first). Tied slots are collected
// in a recycled buffer, so a decision makes one pass and allocates
// nothing.
func (s *Scheduler) pick(snap *Snapshot, q *Query, c *Candidates, rnd *rand.Rand, fit bool) int32 {
	st := s.strategy
	reqCPU, reqMem := q.NanoCPUs, q.Memory
	fit = fit && (reqCPU > 0 || reqMem > 0)
	if st == Random && !fit {
		return pickUniform(&c.set, c.n, rnd)
	}
	reason := ""
	ties := c.ties[:0]
	var bestScore float64
	var bestCount int32
	for wi, w := range c.set.w {
		for w != 0 {
			i := int32(wi*64 + bits.TrailingZeros64(w))
			w &= w - 1
			stat := &snap.stats[i]
			if fit && !stat.fits(reqCPU, reqMem, s.overcommit) {
				if reason == "" {
					c.filter = resourcesFilter
					reason = resourceCondition(reqCPU, reqMem)
				}
				c.removeOne(i, reason)
				continue
			}
			if st == Random {
				ties = append(ties, i)
				continue
			}
			sc, cnt := stat.rank(st, reqCPU, reqMem)
			switch {
			case len(ties) == 0 || sc < bestScore || (sc == bestScore && cnt < bestCount):
				bestScore, bestCount = sc, cnt
				ties = append(ties[:0], i)
			case sc == bestScore && cnt == bestCount:
				ties = append(ties, i)
			}
		}
	}
	c.ties = ties
	switch {
	case len(ties) == 0:
		return -1
	case len(ties) == 1 || rnd == nil:
		return ties[0]
	}
	return ties[rnd.Intn(len(ties))]
}

// pickUniform draws one of the n members of set: rnd.Intn(n) over the
// members in slot order, located by popcounts instead of a pass over
// every node. It returns -1 for an empty set.
func pickUniform(set *NodeSet, n int, rnd *rand.Rand) int32 {
	if n == 0 {
		return -1
	}
	r := 0
	if n > 1 && rnd != nil {
		r = rnd.Intn(n)
	}
	for wi, w := range set.w {
		if k := bits.OnesCount64(w); r >= k {
			r -= k
			continue
		}
		for ; r > 0; r-- {
			w &= w - 1
		}
		return int32(wi*64 + bits.TrailingZeros64(w))
	}
	return -1
}
