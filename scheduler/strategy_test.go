package scheduler_test

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/filters"
	"github.com/swarmlab/swarm/scheduler"
	"github.com/swarmlab/swarm/scheduler/schedtest"
)

const gib = int64(1) << 30

func node(name string) *schedtest.NodeBuilder { return schedtest.Node(name) }

func ctr(name string) *schedtest.ContainerBuilder { return schedtest.Container(name) }

// place schedules req with a fixed seed and returns the chosen node's
// name ("" for none).
func place(t *testing.T, st scheduler.Strategy, req *scheduler.Request, nodes ...*scheduler.Node) (string, scheduler.Decision) {
	t.Helper()
	s := scheduler.New(scheduler.Config{Filters: filters.Default(), Strategy: st})
	d, err := s.Schedule(schedtest.Snapshot(nodes...), req, rand.New(rand.NewSource(1)))
	require.NoError(t, err)
	if d.Node == nil {
		return "", d
	}
	return d.Node.Name, d
}

func TestParseStrategy(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want scheduler.Strategy
	}{{"spread", scheduler.Spread}, {"binpack", scheduler.Binpack}, {"random", scheduler.Random}, {" BinPack ", scheduler.Binpack}} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := scheduler.ParseStrategy(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.want, must(scheduler.ParseStrategy(got.String())))
		})
	}
	_, err := scheduler.ParseStrategy("fastest")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"fastest"`)
	assert.Contains(t, err.Error(), "spread, binpack, random")
}

func must(st scheduler.Strategy, err error) scheduler.Strategy {
	if err != nil {
		panic(err)
	}
	return st
}

func TestSpread(t *testing.T) {
	half := &scheduler.Request{NanoCPUs: 5e8, Memory: gib / 2}
	tests := []struct {
		name  string
		req   *scheduler.Request
		nodes []*scheduler.Node
		want  string
	}{
		{"least reserved wins", half, []*scheduler.Node{
			node("busy").Containers(ctr("a").Reserve(2, 4*gib).Build()).Build(),
			node("idle").Containers(ctr("b").Reserve(1, 1*gib).Build()).Build(),
		}, "idle"},
		{"stopped containers keep their reservation", half, []*scheduler.Node{
			node("stopped").Containers(ctr("a").State("exited").Reserve(2, 4*gib).Build()).Build(),
			node("running").Containers(ctr("b").Reserve(1, 1*gib).Build()).Build(),
		}, "running"},
		{"in-flight containers reserve", half, []*scheduler.Node{
			node("creating").Containers(ctr("a").State("creating").Reserve(2, 4*gib).Build()).Build(),
			node("running").Containers(ctr("b").Reserve(1, 1*gib).Build()).Build(),
		}, "running"},
		{"after placement: a bigger node absorbs more", &scheduler.Request{NanoCPUs: 2e9}, []*scheduler.Node{
			node("small").CPUs(2).Build(),
			node("big").CPUs(16).Containers(ctr("a").Reserve(2, 0).Build()).Build(),
		}, "big"},
		{"equal reservations: fewest containers", &scheduler.Request{}, []*scheduler.Node{
			node("three").Containers(ctr("a").Build(), ctr("b").State("exited").Build(), ctr("c").State("creating").Build()).Build(),
			node("one").Containers(ctr("d").Build()).Build(),
			node("two").Containers(ctr("e").Build(), ctr("f").Build()).Build(),
		}, "one"},
		{"a node that does not fit is skipped", &scheduler.Request{Memory: 6 * gib}, []*scheduler.Node{
			node("empty-small").Memory(4 * gib).Build(),
			node("half-full").Memory(16 * gib).Containers(ctr("a").Reserve(0, 8*gib).Build()).Build(),
		}, "half-full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := place(t, scheduler.Spread, tt.req, tt.nodes...)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSpreadBreaksTiesRandomly(t *testing.T) {
	snap := schedtest.Snapshot(node("a").Build(), node("b").Build(), node("c").Build())
	s := scheduler.New(scheduler.Config{Filters: filters.Default()})
	rnd := rand.New(rand.NewSource(42))
	seen := map[string]int{}
	for i := 0; i < 300; i++ {
		d, err := s.Schedule(snap, &scheduler.Request{}, rnd)
		require.NoError(t, err)
		seen[d.Node.Name]++
	}
	require.Len(t, seen, 3)
	for name, n := range seen {
		assert.Greater(t, n, 60, "node %s chosen %d times of 300", name, n)
	}
	d1, _ := s.Schedule(snap, &scheduler.Request{}, rand.New(rand.NewSource(7)))
	d2, _ := s.Schedule(snap, &scheduler.Request{}, rand.New(rand.NewSource(7)))
	assert.Equal(t, d1.Node, d2.Node, "same seed, same choice")
}

// TestSpreadKeepsCountsEven places one container after another on a
// uniform cluster, committing each as the cluster does, and checks that
// per-node counts never differ by more than one.
func TestSpreadKeepsCountsEven(t *testing.T) {
	for _, withReservation := range []bool{false, true} {
		nodes := make([]*scheduler.Node, 7)
		for i := range nodes {
			nodes[i] = node(string(rune('a' + i))).CPUs(64).Memory(256 * gib).Build()
		}
		snap := schedtest.Snapshot(nodes...)
		s := scheduler.New(scheduler.Config{Filters: filters.Default()})
		rnd := rand.New(rand.NewSource(3))
		req := &scheduler.Request{}
		if withReservation {
			req = &scheduler.Request{NanoCPUs: 1e8, Memory: 64 << 20}
		}
		for k := 0; k < 100; k++ {
			d, err := s.Schedule(snap, req, rnd)
			require.NoError(t, err)
			require.NotNil(t, d.Node)
			next := *d.Node
			cpu, mem := req.Reservation()
			next.Containers = append(append([]*scheduler.Container{}, next.Containers...),
				&scheduler.Container{ID: "x" + string(rune(k)), State: "creating", NanoCPUs: cpu, Memory: mem})
			snap.Put(&next)
			lo, hi := 1<<30, 0
			for _, n := range snap.Nodes() {
				lo, hi = min(lo, len(n.Containers)), max(hi, len(n.Containers))
			}
			require.LessOrEqual(t, hi-lo, 1, "after %d placements", k+1)
		}
	}
}

func TestBinpack(t *testing.T) {
	req := &scheduler.Request{NanoCPUs: 1e9, Memory: gib}
	tests := []struct {
		name  string
		req   *scheduler.Request
		nodes []*scheduler.Node
		want  string
	}{
		{"fullest that fits", req, []*scheduler.Node{
			node("empty").Build(),
			node("fuller").Containers(ctr("a").Reserve(2, 4*gib).Build()).Build(),
			node("full").Containers(ctr("b").Reserve(4, 8*gib).Build()).Build(),
		}, "fuller"},
		{"ties go to more containers", &scheduler.Request{}, []*scheduler.Node{
			node("one").Containers(ctr("a").Build()).Build(),
			node("two").Containers(ctr("b").Build(), ctr("c").State("exited").Build()).Build(),
		}, "two"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := place(t, scheduler.Binpack, tt.req, tt.nodes...)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRandomIsUniform(t *testing.T) {
	snap := schedtest.Snapshot(
		node("a").Containers(ctr("x").Reserve(3, 6*gib).Build()).Build(),
		node("b").Build(),
		node("c").Build(),
		node("down").State(scheduler.NodeUnhealthy).Build(),
	)
	s := scheduler.New(scheduler.Config{Filters: filters.Default(), Strategy: scheduler.Random})
	rnd := rand.New(rand.NewSource(9))
	seen := map[string]int{}
	for i := 0; i < 3000; i++ {
		d, err := s.Schedule(snap, &scheduler.Request{}, rnd)
		require.NoError(t, err)
		seen[d.Node.Name]++
	}
	assert.Zero(t, seen["down"])
	for _, name := range []string{"a", "b", "c"} {
		assert.InDelta(t, 1000, seen[name], 150, "%s chosen %d times", name, seen[name])
	}
}

func TestReservations(t *testing.T) {
	full := node("n").CPUs(1).Memory(8 * gib).Containers(ctr("a").Reserve(0, 8*gib).Build()).Build()
	tests := []struct {
		name       string
		overcommit float64
		req        *scheduler.Request
		fits       bool
	}{
		{"default overcommit admits 5%", 0, &scheduler.Request{Memory: gib / 4}, true},
		{"beyond overcommit", 0, &scheduler.Request{Memory: gib / 2}, false},
		{"no overcommit", -1, &scheduler.Request{Memory: gib / 4}, false},
		{"larger overcommit", 0.5, &scheduler.Request{Memory: 3 * gib}, true},
		{"nothing asked always fits", -1, &scheduler.Request{}, true},
		{"cpu-shares are whole CPUs", 0, &scheduler.Request{CPUShares: 2}, false},
		{"one CPU fits", 0, &scheduler.Request{CPUShares: 1}, true},
		{"cpus as NanoCPUs", 0, &scheduler.Request{NanoCPUs: 1.5e9}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := scheduler.New(scheduler.Config{Filters: filters.Default(), Overcommit: tt.overcommit})
			d, err := s.Schedule(schedtest.Snapshot(full), tt.req, nil)
			require.NoError(t, err)
			assert.Equal(t, tt.fits, d.Node != nil)
			if !tt.fits {
				assert.True(t, d.NoResources)
				assert.Regexp(t, "^no resources available to schedule container\n", d.Explain())
			}
		})
	}
}
