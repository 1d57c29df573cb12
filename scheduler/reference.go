package scheduler

import (
	"math/rand"
	"sort"
)

// ScheduleReference is the naive twin of Schedule: every filter's Check
// on every node, resources summed from the containers, every score
// computed into a list. It ignores the indexes entirely and exists so
// tests can hold the fast path to the same answers: the same feasible
// set, the same exclusion counts and, given equally seeded random
// sources, the same node. It is far too slow for production use.
func (s *Scheduler) ScheduleReference(snap *Snapshot, req *Request, rnd *rand.Rand) (Decision, error) {
	q, err := ParseRequest(req)
	if err != nil {
		return Decision{}, err
	}
	nodes := snap.Nodes()
	d := Decision{Version: snap.Version(), Nodes: len(nodes)}
	order := map[string]int{}
	for i, f := range s.filters {
		order[f.Name()] = i
	}
	pass, excl := s.referenceFilter(nodes, q, true)
	d.Exclusions = excl
	sort.SliceStable(d.Exclusions, func(a, b int) bool {
		return order[d.Exclusions[a].Filter] < order[d.Exclusions[b].Filter]
	})
	if len(pass) > 0 && (q.NanoCPUs > 0 || q.Memory > 0) {
		var fit []*Node
		for _, n := range pass {
			var cpu, mem int64
			for _, c := range n.Containers {
				cpu += c.NanoCPUs
				mem += c.Memory
			}
			if fits(cpu, q.NanoCPUs, n.NanoCPUs, s.overcommit) && fits(mem, q.Memory, n.Memory, s.overcommit) {
				fit = append(fit, n)
			} else {
				d.Exclusions = addExclusion(d.Exclusions, resourcesFilter, resourceCondition(q.NanoCPUs, q.Memory), 1)
			}
		}
		pass = fit
		d.NoResources = len(pass) == 0
	}
	if d.Feasible = len(pass); d.Feasible == 0 {
		return d, nil
	}
	for _, e := range q.Soft {
		if next, _ := s.referenceFilter(pass, softQuery(e), false); len(next) > 0 {
			pass = next
		} else {
			d.IgnoredSoft = append(d.IgnoredSoft, e.String())
		}
	}
	d.Node = s.referencePick(pass, q, rnd)
	return d, nil
}

// referenceFilter returns the nodes every filter accepts and, per node
// refused, the first refusing filter's reason.
func (s *Scheduler) referenceFilter(nodes []*Node, q *Query, record bool) ([]*Node, []Exclusion) {
	var pass []*Node
	var excl []Exclusion
	for _, n := range nodes {
		ok := true
		for _, f := range s.filters {
			if accepted, reason := f.Check(q, n); !accepted {
				if record {
					excl = addExclusion(excl, f.Name(), reason, 1)
				}
				ok = false
				break
			}
		}
		if ok {
			pass = append(pass, n)
		}
	}
	return pass, excl
}

// referencePick scores every node and draws among the best.
func (s *Scheduler) referencePick(nodes []*Node, q *Query, rnd *rand.Rand) *Node {
	type ranked struct {
		n     *Node
		score float64
		count int32
	}
	list := make([]ranked, len(nodes))
	for k, n := range nodes {
		var cpu, mem int64
		for _, c := range n.Containers {
			cpu += c.NanoCPUs
			mem += c.Memory
		}
		list[k] = ranked{n, score(cpu, q.NanoCPUs, inverse(n.NanoCPUs), mem, q.Memory, inverse(n.Memory)), int32(len(n.Containers))}
	}
	best := list[0]
	for _, r := range list[1:] {
		if s.strategy.compare(r.score, r.count, best.score, best.count) < 0 {
			best = r
		}
	}
	var ties []*Node
	for _, r := range list {
		if s.strategy.compare(r.score, r.count, best.score, best.count) == 0 {
			ties = append(ties, r.n)
		}
	}
	if len(ties) > 1 && rnd != nil {
		return ties[rnd.Intn(len(ties))]
	}
	return ties[0]
}

// compare ranks candidate a against b the plain way: negative if a is
// better, zero on a tie the random source breaks.
func (st Strategy) compare(scoreA float64, countA int32, scoreB float64, countB int32) int {
	switch st {
	case Random:
		return 0
	case Binpack:
		scoreA, scoreB = -scoreA, -scoreB
		countA, countB = -countA, -countB
	}
	switch {
	case scoreA < scoreB:
		return -1
	case scoreA > scoreB:
		return 1
	case countA < countB:
		return -1
	case countA > countB:
		return 1
	}
	return 0
}
