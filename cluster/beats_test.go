package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
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

// slowStream is an engine whose event stream takes a while to open, as
// one behind a slow network does while its listings are already fast.
type slowStream struct {
	cluster.Engine
	delay time.Duration
}

func (s slowStream) Events(ctx context.Context, since time.Time, opened func(), fn func(events.Message)) error {
	time.Sleep(s.delay)
	return s.Engine.Events(ctx, since, opened, fn)
}

// A node counts as synced only once its event stream is open: a change
// made right after it turned healthy reaches the cache through the stream
// (the CI run of 2026-12-06 lost a reload made in that window, and the
// labels stayed stale until the next heartbeat an hour later).
func TestChangeRightAfterHealthyIsNotLost(t *testing.T) {
	l := newLab(t, labOptions{nodes: 1, cluster: func(cfg *cluster.Config) {
		cfg.RefreshMinInterval, cfg.RefreshMaxInterval = time.Hour, time.Hour
		dial := cfg.Dial
		cfg.Dial = func(addr string) (cluster.Engine, error) {
			e, err := dial(addr)
			return slowStream{e, 300 * time.Millisecond}, err
		}
	}})
	l.engines[0].SetLabels(map[string]string{"zone": "moved"})
	require.Eventually(t, func() bool { return l.node(0).Labels["zone"] == "moved" }, 5*time.Second, 5*time.Millisecond)
}
