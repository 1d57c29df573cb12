package filters

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/scheduler"
	"github.com/swarmlab/swarm/scheduler/schedtest"
)

// churnedSnapshot builds a snapshot the way the cluster does: nodes come,
// are replaced and go, so the indexes' removal paths are exercised.
func churnedSnapshot(r *rand.Rand, n int) *scheduler.Snapshot {
	snap := scheduler.NewSnapshot()
	for _, nd := range schedtest.RandomCluster(r, n) {
		snap.Put(nd)
	}
	for i, nd := range schedtest.RandomCluster(r, n) {
		if old, ok := snap.Node(nd.ID); ok && r.Intn(3) == 0 {
			next := evolve(r, old, nd)
			if r.Intn(2) == 0 {
				next = rebuild(r, next)
			}
			snap.Put(next)
			continue
		}
		switch r.Intn(4) {
		case 0:
			snap.Put(nd) // replace
		case 1:
			snap.Delete(nd.ID)
		case 2:
			if i%2 == 0 {
				snap.Delete(nd.ID)
				snap.Put(nd) // come back in a recycled slot
			}
		}
	}
	return snap
}

// evolve returns a new version of old the way the cluster makes one:
// unchanged containers and images shared by pointer, some containers
// dropped, some taken from other, one replaced by a changed copy (a state
// change), and sometimes other's labels or images.
func evolve(r *rand.Rand, old, other *scheduler.Node) *scheduler.Node {
	n := *old
	n.Containers = nil
	for _, c := range old.Containers {
		switch r.Intn(5) {
		case 0: // removed
		case 1:
			cp := *c
			cp.State = "exited"
			if r.Intn(2) == 0 {
				cp.Labels = map[string]string{"role": "db"}
			}
			n.Containers = append(n.Containers, &cp)
		default:
			n.Containers = append(n.Containers, c)
		}
	}
	for _, c := range other.Containers {
		if r.Intn(2) == 0 {
			n.Containers = append(n.Containers, c)
		}
	}
	if r.Intn(2) == 0 {
		// The cluster keeps containers sorted by ID: Put then diffs
		// without a map (duplicate IDs fall back to it).
		sort.SliceStable(n.Containers, func(a, b int) bool { return n.Containers[a].ID < n.Containers[b].ID })
	}
	if r.Intn(3) == 0 {
		n.Labels = other.Labels
	}
	if r.Intn(3) == 0 {
		n.Images = other.Images
	}
	if r.Intn(4) == 0 {
		n.State = other.State
	}
	return &n
}

// rebuild copies every container and image into new values, as the
// cluster does when it rebuilds a node's view, occasionally changing a
// container's ports or labels or an image's tags, and shuffling order.
func rebuild(r *rand.Rand, old *scheduler.Node) *scheduler.Node {
	n := *old
	n.Containers = nil
	for _, c := range old.Containers {
		cp := *c
		switch r.Intn(8) {
		case 0:
			cp.Ports = append(append([]scheduler.Port{}, c.Ports...), scheduler.Port{HostPort: 81, Proto: "tcp"})
		case 1:
			cp.Labels = map[string]string{"role": "web"}
		case 2:
			cp.Names = append(append([]string{}, c.Names...), "c0/link1")
		}
		n.Containers = append(n.Containers, &cp)
	}
	r.Shuffle(len(n.Containers), func(a, b int) { n.Containers[a], n.Containers[b] = n.Containers[b], n.Containers[a] })
	if r.Intn(2) == 0 {
		sort.SliceStable(n.Containers, func(a, b int) bool { return n.Containers[a].ID < n.Containers[b].ID })
	}
	n.Images = nil
	for _, img := range old.Images {
		cp := *img
		if r.Intn(6) == 0 {
			cp.RepoTags = append(append([]string{}, img.RepoTags...), "nginx:1")
		}
		n.Images = append(n.Images, &cp)
	}
	return &n
}

func sortedExclusions(es []scheduler.Exclusion) []string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%s|%s|%d", e.Filter, e.Reason, e.Nodes))
	}
	sort.Strings(out)
	return out
}

// TestFastPathMatchesReference holds Schedule (indexes, incremental
// numbers) to ScheduleReference (every filter on every node) on random
// churned clusters and random requests, for every strategy.
func TestFastPathMatchesReference(t *testing.T) {
	placed := 0
	for seed := int64(0); seed < 300; seed++ {
		r := rand.New(rand.NewSource(seed))
		size := 1 + r.Intn(60)
		if seed%10 == 0 { // multi-word node sets and dense postings
			size = 100 + r.Intn(200)
		}
		snap := churnedSnapshot(r, size)
		for _, st := range []scheduler.Strategy{scheduler.Spread, scheduler.Binpack, scheduler.Random} {
			s := scheduler.New(scheduler.Config{Filters: Default(), Strategy: st})
			for k := 0; k < 5; k++ {
				req := schedtest.RandomRequest(r, size)
				fast, err1 := s.Schedule(snap, req, rand.New(rand.NewSource(seed*7+int64(k))))
				ref, err2 := s.ScheduleReference(snap, req, rand.New(rand.NewSource(seed*7+int64(k))))
				require.Equal(t, err1, err2)
				if err1 != nil {
					continue
				}
				ctx := fmt.Sprintf("seed %d %s request %+v", seed, st, req)
				require.Equal(t, ref.Feasible, fast.Feasible, ctx)
				require.Equal(t, ref.NoResources, fast.NoResources, ctx)
				require.Equal(t, sortedExclusions(ref.Exclusions), sortedExclusions(fast.Exclusions), ctx)
				require.Equal(t, ref.IgnoredSoft, fast.IgnoredSoft, ctx)
				require.Equal(t, ref.Node, fast.Node, ctx)
				if fast.Node != nil {
					placed++
				}
			}
		}
	}
	// The generator must produce placements and refusals alike, or the
	// comparison proves little.
	assert.Greater(t, placed, 1000)
	assert.Less(t, placed, 4400)
}

// TestNoPlacementViolatesHardFilters checks every placement on random
// clusters against each filter's per-node Check and the reservation.
func TestNoPlacementViolatesHardFilters(t *testing.T) {
	for seed := int64(1000); seed < 1200; seed++ {
		r := rand.New(rand.NewSource(seed))
		size := 1 + r.Intn(40)
		snap := churnedSnapshot(r, size)
		s := scheduler.New(scheduler.Config{Filters: Default()})
		for k := 0; k < 10; k++ {
			req := schedtest.RandomRequest(r, size)
			d, err := s.Schedule(snap, req, r)
			if err != nil || d.Node == nil {
				continue
			}
			q, err := scheduler.ParseRequest(req)
			require.NoError(t, err)
			for _, f := range Default() {
				ok, reason := f.Check(q, d.Node)
				assert.True(t, ok, "seed %d: %s placed on %s despite %q", seed, f.Name(), d.Node.Name, reason)
			}
			var cpu, mem int64
			for _, c := range d.Node.Containers {
				cpu += c.NanoCPUs
				mem += c.Memory
			}
			if q.NanoCPUs > 0 {
				assert.LessOrEqual(t, float64(cpu+q.NanoCPUs), float64(d.Node.NanoCPUs)*1.05)
			}
			if q.Memory > 0 {
				assert.LessOrEqual(t, float64(mem+q.Memory), float64(d.Node.Memory)*1.05)
			}
		}
	}
}
