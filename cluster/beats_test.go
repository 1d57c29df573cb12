package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster"
)

// Heartbeats run from one schedule; a daemon reload event wakes the
// node's heartbeat at once instead of at its next turn an hour away.
func TestReloadWakesTheHeartbeatScheduledLater(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2, cluster: func(cfg *cluster.Config) {
		cfg.RefreshMinInterval, cfg.RefreshMaxInterval = time.Hour, time.Hour
	}})
	infos := func(i int) int { return l.engines[i].Calls("GET /info") }
	before0, before1 := infos(0), infos(1)
	l.engines[1].SetLabels(map[string]string{"zone": "moved"})
	require.Eventually(t, func() bool { return l.node(1).Labels["zone"] == "moved" }, 5*time.Second, 5*time.Millisecond)
	assert.Greater(t, infos(1), before1, "the woken node was asked")
	assert.Equal(t, before0, infos(0), "the other node still waits for its turn")
}
