package cluster

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/filters"
	"github.com/swarmlab/swarm/scheduler"
)

// bareCluster is a cluster with hand-made nodes and no engines, for
// testing the cache rules and the placement critical section directly.
func bareCluster(t testing.TB, nodes int) *Cluster {
	c, err := New(Config{
		Scheduler: scheduler.New(scheduler.Config{Filters: filters.Default()}),
		Dial:      func(string) (Engine, error) { return nil, fmt.Errorf("no engines in this test") },
		Rand:      rand.New(rand.NewSource(1)),
	})
	require.NoError(t, err)
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range nodes {
		n := newNode(fmt.Sprintf("10.0.%d.%d:2375", i/250, i%250), time.Now())
		n.id, n.name, n.state = fmt.Sprintf("ID%d", i), fmt.Sprintf("node%d", i), scheduler.NodeHealthy
		n.ncpu, n.memory = 8, 16<<30
		n.labels = map[string]string{"zone": fmt.Sprint(i % 3)}
		n.images = []image.Summary{{ID: "sha256:bb", RepoTags: []string{"busybox:latest"}}}
		c.nodes[n.addr] = n
		c.putNodeLocked(n)
	}
	return c
}

func TestStoreKeepsNewestAndTombstones(t *testing.T) {
	c := bareCluster(t, 1)
	var n *node
	for _, n = range c.nodes {
	}
	at := func(state container.ContainerState, seq uint64) *entry {
		e := fromInspect(inspectFixture("web", state, nil, nil))
		e.seq = seq
		return e
	}
	steps := []struct {
		name      string
		do        func()
		wantState string // "" = absent
	}{
		{"first answer stored", func() { c.storeLocked(n, at(container.StateCreated, 2)) }, "created"},
		{"newer answer wins", func() { c.storeLocked(n, at(container.StateRunning, 5)) }, "running"},
		{"older answer arriving late is ignored", func() { c.storeLocked(n, at(container.StateCreated, 3)) }, "running"},
		{"removal asked before the newest data is ignored", func() { c.removeLocked(n, "id-web", 4) }, "running"},
		{"removal", func() { c.removeLocked(n, "id-web", 7) }, ""},
		{"a late inspect cannot bring back a ghost", func() { c.storeLocked(n, at(container.StateRunning, 6)) }, ""},
		{"nor a later one", func() { c.storeLocked(n, at(container.StateRunning, 9)) }, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			c.mu.Lock()
			st.do()
			e, ok := n.entry("id-web")
			_, named := c.names["web"]
			c.mu.Unlock()
			if st.wantState == "" {
				assert.False(t, ok)
				assert.False(t, named, "the name is released with the container")
				return
			}
			require.True(t, ok)
			assert.Equal(t, st.wantState, e.sched.State)
			assert.True(t, named)
		})
	}
}

func TestReservationsAreSeenBySchedulingAndReleased(t *testing.T) {
	c := bareCluster(t, 2)
	req := &scheduler.Request{Name: "web", Image: "busybox:latest", Memory: 10 << 30}
	res1, hasImage, err := c.reserve(req, nil)
	require.NoError(t, err)
	assert.True(t, hasImage)
	_, _, err = c.reserve(req, nil)
	assert.ErrorIs(t, err, ErrNameConflict, "the in-flight create holds its name")
	req2 := *req
	req2.Name = ""
	res2, _, err := c.reserve(&req2, nil)
	require.NoError(t, err)
	assert.NotEqual(t, res1.n, res2.n, "10 GiB reserved on one 16 GiB node pushes the next elsewhere")
	_, _, err = c.reserve(&req2, nil)
	var nf *NoFitError
	assert.ErrorAs(t, err, &nf, "both nodes hold a 10 GiB reservation")
	assert.Empty(t, c.Containers(), "reservations are not listed")

	c.unreserve(res1)
	c.unreserve(res2)
	for _, n := range c.Nodes() {
		assert.Zero(t, n.ReservedMemory)
	}
	_, _, err = c.reserve(req, nil)
	assert.NoError(t, err, "the name is free again")
}

// BenchmarkReserve measures the critical section of a create: name check,
// scheduling on the snapshot and recording the reservation, under the lock.
func BenchmarkReserve(b *testing.B) {
	for _, nodes := range []int{100, 1000} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			c := bareCluster(b, nodes)
			req := &scheduler.Request{Image: "busybox:latest", Env: []string{"constraint:zone==1"}}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				res, _, err := c.reserve(req, nil)
				if err != nil {
					b.Fatal(err)
				}
				c.unreserve(res)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "placements/s")
		})
	}
}

// BenchmarkLockedPerContainer measures what one `docker run` holds the
// cluster lock for at classic Swarm's size (30 containers per node): the
// reservation, storing the created container in its place, storing the
// refreshed (running) one — each with the node's snapshot Put — and,
// to keep the size steady, removing it again.
func BenchmarkLockedPerContainer(b *testing.B) {
	c := bareCluster(b, 1000)
	c.mu.Lock()
	for _, n := range c.nodes {
		for k := range 30 {
			in := inspectFixture(fmt.Sprintf("%s-c%d", n.name, k), container.StateRunning,
				&container.Config{Image: "busybox", Labels: map[string]string{"app": fmt.Sprint(k % 5), "tier": "web"}}, nil)
			in.ID = fmt.Sprintf("%064x", len(c.owners)+1)
			c.storeLocked(n, fromInspect(in))
		}
		c.putNodeLocked(n)
	}
	c.mu.Unlock()
	req := &scheduler.Request{Image: "busybox:latest", Labels: map[string]string{"app": "x"}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		res, _, err := c.reserve(req, nil)
		if err != nil {
			b.Fatal(err)
		}
		n := res.n
		id := fmt.Sprintf("%064x", 1<<40+i)
		created := fromInspect(inspectFixture("new", container.StateCreated, &container.Config{Image: "busybox"}, nil))
		created.sched.ID, created.name, created.sched.Names = id, "", nil
		running := fromInspect(inspectFixture("new", container.StateRunning, &container.Config{Image: "busybox"}, nil))
		running.sched.ID, running.name, running.sched.Names = id, "", nil
		c.mu.Lock()
		c.dropReservationLocked(res)
		res.settleLocked()
		c.storeLocked(n, created)
		c.putNodeLocked(n)
		c.storeLocked(n, running)
		c.putNodeLocked(n)
		c.removeLocked(n, id, c.nextSeqLocked())
		c.putNodeLocked(n)
		c.mu.Unlock()
	}
}
