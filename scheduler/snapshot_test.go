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

func feasibleNames(t *testing.T, snap *scheduler.Snapshot, req *scheduler.Request) []string {
	t.Helper()
	nodes, _, err := scheduler.New(scheduler.Config{Filters: filters.Default()}).Feasible(snap, req)
	require.NoError(t, err)
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	return out
}

func TestSnapshotPutDelete(t *testing.T) {
	snap := scheduler.NewSnapshot()
	assert.Zero(t, snap.Len())
	v0 := snap.Version()

	a := node("a").Label("zone", "x").Build()
	snap.Put(a)
	snap.Put(node("b").Label("zone", "y").Build())
	assert.Equal(t, 2, snap.Len())
	assert.Greater(t, snap.Version(), v0)
	got, ok := snap.Node("id-a")
	require.True(t, ok)
	assert.Same(t, a, got)
	assert.Equal(t, []string{"a"}, feasibleNames(t, snap, withEnv("constraint:zone==x")))

	t.Run("replace moves the node in the indexes", func(t *testing.T) {
		v := snap.Version()
		snap.Put(node("a").Label("zone", "y").Containers(ctr("web").Build()).Build())
		assert.Greater(t, snap.Version(), v)
		assert.Equal(t, 2, snap.Len())
		assert.Empty(t, feasibleNames(t, snap, withEnv("constraint:zone==x")))
		assert.Equal(t, []string{"a"}, feasibleNames(t, snap, withEnv("affinity:container==web")))
	})
	t.Run("delete forgets the node", func(t *testing.T) {
		v := snap.Version()
		snap.Delete("id-a")
		snap.Delete("id-missing")
		assert.Greater(t, snap.Version(), v)
		assert.Equal(t, 1, snap.Len())
		_, ok := snap.Node("id-a")
		assert.False(t, ok)
		assert.Empty(t, feasibleNames(t, snap, withEnv("affinity:container==web")))
		assert.Equal(t, []string{"b"}, feasibleNames(t, snap, withEnv("constraint:zone==y")))
	})
	t.Run("a recycled slot starts clean", func(t *testing.T) {
		snap.Put(node("c").Build())
		assert.Equal(t, 2, snap.Len())
		assert.Empty(t, feasibleNames(t, snap, withEnv("constraint:zone==y", "constraint:node==c")))
		assert.Equal(t, []string{"b"}, feasibleNames(t, snap, withEnv("constraint:zone!=/^$/")))
		assert.ElementsMatch(t, []string{"b", "c"}, feasibleNames(t, snap, withEnv()))
	})
}

func TestSnapshotSharedContainersStayIndexed(t *testing.T) {
	shared := ctr("db").Label("role", "db").Port("5432").Build()
	other := ctr("db2").Alias("db").Label("role", "db").Port("5432").Build()
	snap := scheduler.NewSnapshot()
	snap.Put(node("n").Containers(shared, other).Build())
	// Drop one of two containers that share a name, a label value and a
	// port: the node must stay indexed under all three.
	snap.Put(node("n").Containers(other).Build())
	assert.Equal(t, []string{"n"}, feasibleNames(t, snap, withEnv("affinity:container==db")))
	assert.Equal(t, []string{"n"}, feasibleNames(t, snap, withEnv("affinity:role==db")))
	assert.Empty(t, feasibleNames(t, snap, &scheduler.Request{
		PortBindings: map[string][]scheduler.PortBinding{"5432/tcp": {{HostPort: "5432"}}}}))
	snap.Put(node("n").Build())
	assert.Empty(t, feasibleNames(t, snap, withEnv("affinity:container==db")))
	assert.Equal(t, []string{"n"}, feasibleNames(t, snap, &scheduler.Request{
		PortBindings: map[string][]scheduler.PortBinding{"5432/tcp": {{HostPort: "5432"}}}}))
}

func TestHealthyNodeHasImage(t *testing.T) {
	for seed := int64(0); seed < 200; seed++ {
		r := rand.New(rand.NewSource(seed))
		nodes := schedtest.RandomCluster(r, 1+r.Intn(80))
		snap := schedtest.Snapshot(nodes...)
		for _, ref := range []string{"redis", "redis:latest", "nginx", "localhost:5000/app", "*ginx", "postgres:9", "sha256:0001*"} {
			e, err := scheduler.ParseExpr(scheduler.KindAffinity, "image=="+ref)
			require.NoError(t, err)
			want := false
			for _, n := range nodes {
				want = want || (n.State == scheduler.NodeHealthy && e.MatchImages(n))
			}
			assert.Equal(t, want, snap.HealthyNodeHasImage(e), "seed %d ref %s", seed, ref)
		}
	}
}
