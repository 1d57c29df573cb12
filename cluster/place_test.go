package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/scheduler"
)

func TestPlaceObjectGoesThroughTheScheduler(t *testing.T) {
	c := bareCluster(t, 6) // labels zone=0,1,2,0,1,2
	c.mu.Lock()
	for _, n := range c.nodes {
		if n.name == "node1" {
			n.state = scheduler.NodeUnhealthy
			c.putNodeLocked(n)
		}
	}
	c.mu.Unlock()

	n, err := c.PlaceObject([]string{"zone==1"})
	require.NoError(t, err)
	assert.Equal(t, "node4", n.Name, "node1 is in zone 1 too but unhealthy")

	_, err = c.PlaceObject([]string{"zone==9"})
	var noFit *NoFitError
	require.ErrorAs(t, err, &noFit)
	assert.Contains(t, noFit.Error(), "zone==9")

	_, err = c.PlaceObject([]string{"zone=~("})
	var bad *scheduler.ExprError
	assert.ErrorAs(t, err, &bad, "a bad expression is the caller's error (400)")

	seen := map[string]bool{}
	for range 30 {
		n, err := c.PlaceObject(nil)
		require.NoError(t, err)
		seen[n.Name] = true
	}
	assert.NotContains(t, seen, "node1", "never the unhealthy node")
	assert.Greater(t, len(seen), 1, "spread ties are drawn, not always the first node")

	c.mu.Lock()
	for _, n := range c.nodes {
		n.state = scheduler.NodeUnhealthy
		c.putNodeLocked(n)
	}
	c.mu.Unlock()
	_, err = c.PlaceObject(nil)
	assert.ErrorIs(t, err, ErrNodeUnavailable, "no healthy node at all: 503, not a placement refusal")
}
