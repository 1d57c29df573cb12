package cluster

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/scheduler"
)

// TestCountsMatchAWalk drives the cache through random stores, removals,
// reservations and resets and checks after every step that each node's
// kept totals equal a walk of its containers (the reference).
func TestCountsMatchAWalk(t *testing.T) {
	states := []container.ContainerState{container.StateCreated, container.StateRunning, container.StatePaused,
		container.StateRestarting, container.StateExited, container.StateDead}
	c := bareCluster(t, 3)
	var nodes []*node
	for _, n := range c.sortedNodesLocked() {
		nodes = append(nodes, n)
	}
	rng := rand.New(rand.NewSource(7))
	var seq uint64 = 1
	var reservations []*reservation
	check := func(step string) {
		t.Helper()
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, n := range nodes {
			require.Equal(t, countContainers(n), n.counts, "%s: node %s", step, n.name)
		}
	}
	for i := range 2000 {
		n := nodes[rng.Intn(len(nodes))]
		name := fmt.Sprintf("c%d", rng.Intn(40))
		seq++
		var step string
		switch op := rng.Intn(10); {
		case op < 6:
			host := &container.HostConfig{Resources: container.Resources{NanoCPUs: int64(rng.Intn(3)) * 5e8, Memory: int64(rng.Intn(3)) << 20}}
			e := fromInspect(inspectFixture(name, states[rng.Intn(len(states))], nil, host))
			e.seq = seq
			step = fmt.Sprintf("%d store %s %s", i, name, e.sched.State)
			c.mu.Lock()
			c.storeLocked(n, e)
			c.mu.Unlock()
		case op < 8:
			step = fmt.Sprintf("%d remove %s", i, name)
			c.mu.Lock()
			c.removeLocked(n, "id-"+name, seq)
			delete(n.tombs, "id-"+name) // let it come back later
			c.mu.Unlock()
		case op < 9:
			step = fmt.Sprintf("%d reserve", i)
			res, _, err := c.reserve(&scheduler.Request{Image: "busybox:latest", Memory: 1 << 20, NanoCPUs: 5e8}, nil)
			var nf *NoFitError
			// Full nodes, or reset ones without the image, refuse it: fine.
			if !errors.As(err, &nf) && !errors.Is(err, ErrImageNotFound) {
				require.NoError(t, err)
				reservations = append(reservations, res)
			}
		case len(reservations) > 0:
			step = fmt.Sprintf("%d unreserve", i)
			c.unreserve(reservations[0])
			reservations = reservations[1:]
		default:
			step = fmt.Sprintf("%d reset %s", i, n.name)
			c.mu.Lock()
			c.resetNodeLocked(n)
			c.putNodeLocked(n)
			c.mu.Unlock()
		}
		check(step)
	}
	var total int
	for _, v := range c.Nodes() {
		total += v.Containers
	}
	assert.Len(t, c.Containers(), total, "views count what is listed")
}
