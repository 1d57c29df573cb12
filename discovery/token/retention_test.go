package token

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/swarmlab/swarm/discovery"
)

func (w *watcher) downAddrs() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.down
}

func (w *watcher) wasDown(addr string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.everDown[addr]
}

// isDown waits until Update.Down equals want, within bound.
func (w *watcher) isDown(t *testing.T, bound time.Duration, want ...string) {
	t.Helper()
	assert.Eventually(t, func() bool { return slices.Equal(w.downAddrs(), discovery.Normalize(want)) },
		bound, 10*time.Millisecond, "want down %v, have %v", want, w.downAddrs())
}

func TestLostEngineIsDownUntilRetentionEnds(t *testing.T) {
	tests := []struct {
		name string
		lose func(a *Agent, stop func())
	}{
		{name: "killed", lose: func(a *Agent, _ func()) { a.kill() }},
		{name: "stopped", lose: func(_ *Agent, stop func()) { stop() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const retention = 1500 * time.Millisecond
			c := newClusterWith(t, ManagerConfig{Timing: fast, Retention: retention})
			a, stop := startAgent(t, c.token, "10.0.0.1:2375")
			startAgent(t, c.token, "10.0.0.2:2375")
			c.w.is(t, slack, "10.0.0.1:2375", "10.0.0.2:2375")
			c.w.isDown(t, slack)

			tt.lose(a, stop)
			c.w.is(t, fast.TTL+slack, "10.0.0.2:2375")
			c.w.isDown(t, slack, "10.0.0.1:2375")

			// The retention ends with no gossip event: the manager's own
			// timer must report it.
			c.w.isDown(t, retention+slack)
			c.w.is(t, slack, "10.0.0.2:2375")
		})
	}
}

func TestRestartedAgentEndsRetention(t *testing.T) {
	c := newClusterWith(t, ManagerConfig{Timing: fast, Retention: time.Hour})
	a, _ := startAgent(t, c.token, "10.0.0.1:2375")
	c.w.is(t, slack, "10.0.0.1:2375")

	a.kill()
	c.w.isDown(t, fast.TTL+slack, "10.0.0.1:2375")
	assert.Empty(t, c.w.addrs())

	// A new agent for the same engine is a new member (new name).
	startAgent(t, c.token, "10.0.0.1:2375")
	c.w.is(t, slack, "10.0.0.1:2375")
	c.w.isDown(t, slack)
}

func TestNegativeRetentionDropsAtOnce(t *testing.T) {
	c := newClusterWith(t, ManagerConfig{Timing: fast, Retention: -1})
	_, stop := startAgent(t, c.token, "10.0.0.1:2375")
	startAgent(t, c.token, "10.0.0.2:2375")
	c.w.is(t, slack, "10.0.0.1:2375", "10.0.0.2:2375")

	stop()
	c.w.is(t, slack, "10.0.0.2:2375")
	assert.False(t, c.w.wasDown("10.0.0.1:2375"), "never reported down")
	assert.Empty(t, c.w.downAddrs())
}
