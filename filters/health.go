package filters

import "github.com/swarmlab/swarm/scheduler"

// reasonHealthy is the condition the health filter enforces.
const reasonHealthy = "healthy node"

// Health keeps only healthy nodes: not pending, unhealthy, disconnected
// or drained.
type Health struct{}

// Name implements scheduler.Filter.
func (Health) Name() string { return "health" }

// Check implements scheduler.Filter.
func (Health) Check(_ *scheduler.Query, n *scheduler.Node) (bool, string) {
	if n.State != scheduler.NodeHealthy {
		return false, reasonHealthy
	}
	return true, ""
}

// Narrow implements scheduler.Narrower.
func (Health) Narrow(_ *scheduler.Query, snap *scheduler.Snapshot, c *scheduler.Candidates) {
	c.Keep(snap.HealthyNodes(), reasonHealthy)
}
