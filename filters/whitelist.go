package filters

import "github.com/swarmlab/swarm/scheduler"

// Whitelist keeps the nodes a whitelist:node==n1|n2 expression names (by
// name or ID); node!=… excludes them instead. The parser accepts only the
// key node here. The reason is the expression.
type Whitelist struct{}

// Name implements scheduler.Filter.
func (Whitelist) Name() string { return "whitelist" }

// Check implements scheduler.Filter.
func (Whitelist) Check(q *scheduler.Query, n *scheduler.Node) (bool, string) {
	return checkNodeExprs(q.Whitelist, n)
}

// Narrow implements scheduler.Narrower.
func (Whitelist) Narrow(q *scheduler.Query, snap *scheduler.Snapshot, c *scheduler.Candidates) {
	narrowNodeExprs(q.Whitelist, snap, c)
}
