package filters

import "github.com/swarmlab/swarm/scheduler"

// Dependency keeps the nodes that hold every container the request
// depends on: --volumes-from X, --link X[:alias] on the default bridge
// (so a link implies affinity, as in classic Swarm), --net=container:X,
// --pid=container:X and --ipc=container:X. Links on user-defined
// networks resolve through DNS and do not pin placement. The reason is
// the dependency as the user asked for it ("link=redis").
type Dependency struct{}

// Name implements scheduler.Filter.
func (Dependency) Name() string { return "dependency" }

// Check implements scheduler.Filter.
func (Dependency) Check(q *scheduler.Query, n *scheduler.Node) (bool, string) {
	for _, d := range q.Dependencies {
		if !scheduler.HoldsContainer(n, d.Ref) {
			return false, d.Condition
		}
	}
	return true, ""
}

// Narrow implements scheduler.Narrower.
func (Dependency) Narrow(q *scheduler.Query, snap *scheduler.Snapshot, c *scheduler.Candidates) {
	for _, d := range q.Dependencies {
		set := c.Scratch()
		snap.NodesHoldingContainer(set, d.Ref)
		c.Keep(set, d.Condition)
	}
}
