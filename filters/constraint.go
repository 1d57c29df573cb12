package filters

import "github.com/swarmlab/swarm/scheduler"

// keyNode matches a node's name or ID in constraints and whitelists.
const keyNode = "node"

// Constraint keeps the nodes that satisfy every hard constraint: node==X
// matches the node's name or ID; any other key matches the engine label
// of that name, including the built-ins storagedriver, kernelversion,
// operatingsystem and ostype. A missing label matches as "". The reason
// is the expression ("model==gpu").
type Constraint struct{}

// Name implements scheduler.Filter.
func (Constraint) Name() string { return "constraint" }

// Check implements scheduler.Filter.
func (Constraint) Check(q *scheduler.Query, n *scheduler.Node) (bool, string) {
	return checkNodeExprs(q.Constraints, n)
}

// Narrow implements scheduler.Narrower.
func (Constraint) Narrow(q *scheduler.Query, snap *scheduler.Snapshot, c *scheduler.Candidates) {
	narrowNodeExprs(q.Constraints, snap, c)
}

func checkNodeExprs(list []*scheduler.Expr, n *scheduler.Node) (bool, string) {
	for _, e := range list {
		var matched bool
		if e.Key == keyNode {
			matched = e.MatchNodeName(n)
		} else {
			matched = e.MatchNodeLabel(n)
		}
		if !e.Holds(matched) {
			return false, e.String()
		}
	}
	return true, ""
}

func narrowNodeExprs(list []*scheduler.Expr, snap *scheduler.Snapshot, c *scheduler.Candidates) {
	for _, e := range list {
		set := c.Scratch()
		if e.Key == keyNode {
			snap.NodesMatchingName(set, e)
		} else {
			snap.NodesMatchingLabel(set, e)
		}
		apply(c, e, set)
	}
}
