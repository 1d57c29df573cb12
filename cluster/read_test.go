package cluster

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSortContainersIsTheStableSort checks the key sort and in-place
// permutation against a stable sort of the Containers themselves.
func TestSortContainersIsTheStableSort(t *testing.T) {
	for _, size := range []int{0, 1, 2, 7, 100, 1000} {
		t.Run(fmt.Sprintf("n=%d", size), func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(size)))
			cs := make([]Container, size)
			for i := range cs {
				// Few distinct times, IDs sharing long prefixes, some
				// IDs on two nodes: every tie-break is exercised.
				id := strings.Repeat("ab", rng.Intn(5)) + fmt.Sprintf("%x", rng.Intn(size+1))
				cs[i] = Container{Node: Node{Name: fmt.Sprint("node", i)}, Summary: container.Summary{ID: id, Created: int64(rng.Intn(4))}}
			}
			want := slices.Clone(cs)
			slices.SortStableFunc(want, func(a, b Container) int {
				if a.Summary.Created != b.Summary.Created {
					return cmp.Compare(b.Summary.Created, a.Summary.Created)
				}
				return strings.Compare(a.Summary.ID, b.Summary.ID)
			})
			orig := slices.Clone(cs)
			perm := sortContainers(cs)
			assert.Equal(t, want, cs)
			require.Len(t, perm, size)
			for k, src := range perm {
				assert.Equal(t, orig[src], cs[k], "position %d took element %d", k, src)
			}
		})
	}
}

// A listing reuses the last one's order while nothing that orders it
// changed; after any change it sorts again. Whatever happens in between,
// it lists what a fresh sort lists.
func TestListingOrderKeptOnlyWhileValid(t *testing.T) {
	c := bareCluster(t, 3)
	nodes := make([]*node, 0, 3)
	for _, n := range c.nodes {
		nodes = append(nodes, n)
	}
	rng := rand.New(rand.NewSource(7))
	ids := func(cs []Container) []string {
		out := make([]string, len(cs))
		for i, x := range cs {
			out[i] = fmt.Sprintf("%s %s %d", x.Node.Addr, x.Summary.ID, x.Rev)
		}
		return out
	}
	var buf []Container
	for step := range 300 {
		n := nodes[rng.Intn(len(nodes))]
		name := fmt.Sprintf("c%d", rng.Intn(40))
		c.mu.Lock()
		switch rng.Intn(4) {
		case 0, 1:
			in := inspectFixture(name, container.StateRunning, nil, nil)
			// Few distinct creation times: ties are broken by ID, then node.
			in.Created = fmt.Sprintf("2024-01-02T03:04:0%dZ", rng.Intn(3))
			e := fromInspect(in)
			e.seq = c.nextSeq()
			c.storeLocked(n, e)
		case 2:
			c.deleteContainerLocked(n, "id-"+name)
		case 3:
			// Nothing changes: the next listing may reuse the order.
		}
		c.mu.Unlock()
		buf = c.ContainersInto(buf, nil)
		got := ids(buf)
		c.mu.Lock()
		reused := c.lastListing.pos != nil && c.lastListing.gen == c.listGen
		c.lastListing = listing{}
		c.mu.Unlock()
		fresh := ids(c.ContainersInto(nil, nil))
		require.Equal(t, fresh, got, "step %d", step)
		require.True(t, reused, "step %d: a listing keeps its order", step)
	}
	c.mu.Lock()
	gen := c.listGen
	c.mu.Unlock()
	c.ContainersInto(nil, nil)
	c.mu.Lock()
	assert.Equal(t, gen, c.listGen, "listing changes nothing")
	assert.NotNil(t, c.lastListing.pos)
	c.mu.Unlock()
}

func TestContainersCarryTheCachedRevision(t *testing.T) {
	c := bareCluster(t, 1)
	var n *node
	for _, n = range c.nodes {
	}
	store := func(state container.ContainerState, seq uint64) {
		e := fromInspect(inspectFixture("web", state, nil, nil))
		e.seq = seq
		c.mu.Lock()
		c.storeLocked(n, e)
		c.mu.Unlock()
	}
	store(container.StateCreated, 3)
	first := c.Containers()
	store(container.StateRunning, 5)
	second := c.Containers()
	assert.Len(t, first, 1)
	assert.Len(t, second, 1)
	assert.NotZero(t, first[0].Rev)
	assert.NotEqual(t, first[0].Rev, second[0].Rev, "a new answer is a new revision")
	assert.Equal(t, second[0].Rev, c.Containers()[0].Rev, "unchanged data keeps its revision")
}

// A container whose revision the reader knows is listed lean, without
// NetworkSettings; the others whole.
func TestContainersIntoLean(t *testing.T) {
	c := bareCluster(t, 1)
	c.mu.Lock()
	var revs []uint64
	for _, n := range c.nodes {
		for i := range 2 {
			var in container.InspectResponse
			require.NoError(t, json.Unmarshal(inspectJSON(i, false), &in))
			e := fromInspect(in)
			e.seq = c.nextSeqLocked()
			revs = append(revs, e.seq)
			c.storeLocked(n, e)
		}
		c.putNodeLocked(n)
	}
	c.mu.Unlock()
	known := func(rev uint64) bool { return rev == revs[0] }
	cs := c.ContainersInto(nil, known)
	require.Len(t, cs, 2)
	for _, ct := range cs {
		if ct.Rev == revs[0] {
			assert.True(t, ct.Lean)
			assert.Nil(t, ct.Summary.NetworkSettings)
		} else {
			assert.False(t, ct.Lean)
			require.NotNil(t, ct.Summary.NetworkSettings)
			assert.Contains(t, ct.Summary.NetworkSettings.Networks, "bridge")
		}
		assert.NotEmpty(t, ct.Summary.Labels, "everything else is listed")
	}
	for _, ct := range c.ContainersInto(nil, nil) {
		assert.False(t, ct.Lean)
	}
}

// Listings build their summaries after releasing the cluster's lock, from
// entries that are replaced, never changed. Listing while entries are
// stored, replaced, removed and their placement views rebuilt, every
// listing must be a set of whole containers, each listed once; under
// -race (go test -race ./cluster) no listing may read what a writer
// writes.
func TestListingWhileTheCacheChanges(t *testing.T) {
	c := bareCluster(t, 3)
	nodes := make([]*node, 0, 3)
	for _, n := range c.nodes {
		nodes = append(nodes, n)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		rng := rand.New(rand.NewSource(11))
		for range 2000 {
			n := nodes[rng.Intn(len(nodes))]
			name := fmt.Sprintf("c%d", rng.Intn(30))
			c.mu.Lock()
			if rng.Intn(4) == 0 {
				c.deleteContainerLocked(n, "id-"+name)
			} else {
				state := []container.ContainerState{container.StateRunning, container.StateExited, container.StatePaused}[rng.Intn(3)]
				e := fromInspect(inspectFixture(name, state, &container.Config{Image: "redis", Labels: map[string]string{"app": name}}, nil))
				e.seq = c.nextSeq()
				c.storeLocked(n, e)
			}
			c.putNodeLocked(n) // rebuilds placement views of stored entries
			c.mu.Unlock()
		}
	}()
	var buf []Container
	evenKnown := func(rev uint64) bool { return rev%2 == 0 }
	for listings := 0; ; listings++ {
		select {
		case <-done:
			require.Positive(t, listings)
			return
		default:
		}
		known := evenKnown
		if listings%2 == 1 {
			known = nil
		}
		buf = c.ContainersInto(buf, known)
		seen := map[string]bool{}
		for _, x := range buf {
			key := x.Node.Addr + " " + x.Summary.ID
			require.False(t, seen[key], "listed twice: %s", key)
			seen[key] = true
			require.Equal(t, "id-"+strings.TrimPrefix(x.Summary.Names[0], "/"), x.Summary.ID, "a whole container")
			require.Equal(t, x.Lean, x.Summary.NetworkSettings == nil)
		}
	}
}
