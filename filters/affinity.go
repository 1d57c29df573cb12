package filters

import "github.com/swarmlab/swarm/scheduler"

// Keys with a meaning of their own in affinities; any other key matches
// the labels of the containers on the node.
const (
	keyContainer = "container"
	keyImage     = "image"
)

// Affinity keeps the nodes that satisfy every hard affinity:
// container==X (a container's name, ID, ID prefix, glob or regex),
// image==X (image ID, name, name:tag, registry/name, digest) or
// label==X (a label of some container on the node). != inverts. The
// reason is the expression ("container==redis").
type Affinity struct{}

// Name implements scheduler.Filter.
func (Affinity) Name() string { return "affinity" }

// Check implements scheduler.Filter.
func (Affinity) Check(q *scheduler.Query, n *scheduler.Node) (bool, string) {
	for _, e := range q.Affinities {
		var matched bool
		switch e.Key {
		case keyContainer:
			matched = e.MatchContainers(n)
		case keyImage:
			matched = e.MatchImages(n)
		default:
			matched = e.MatchContainerLabels(n)
		}
		if !e.Holds(matched) {
			return false, e.String()
		}
	}
	return true, ""
}

// Narrow implements scheduler.Narrower.
func (Affinity) Narrow(q *scheduler.Query, snap *scheduler.Snapshot, c *scheduler.Candidates) {
	for _, e := range q.Affinities {
		set := c.Scratch()
		switch e.Key {
		case keyContainer:
			snap.NodesMatchingContainer(set, e)
		case keyImage:
			snap.NodesMatchingImage(set, e)
		default:
			snap.NodesMatchingContainerLabel(set, e)
		}
		apply(c, e, set)
	}
}

// apply keeps the matching nodes for == and drops them for !=.
func apply(c *scheduler.Candidates, e *scheduler.Expr, matching *scheduler.NodeSet) {
	if e.Op == scheduler.OpNe {
		c.Drop(matching, e.String())
		return
	}
	c.Keep(matching, e.String())
}
