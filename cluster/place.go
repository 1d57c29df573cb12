package cluster

import (
	"errors"
	"fmt"

	"github.com/swarmlab/swarm/scheduler"
)

// PlaceObject picks the node for something that is not a container (a
// network or volume created without "node/"), the way classic Swarm did:
// through the scheduler, as a container with no image, ports or resources
// would be placed, so the health filter, constraint expressions (e.g.
// "zone==east") and the strategy apply. Errors: *scheduler.ExprError
// (400) for a bad expression, ErrNodeUnavailable when no node is healthy,
// *NoFitError when none of the healthy ones qualifies.
func (c *Cluster) PlaceObject(constraints []string) (Node, error) {
	if c.cfg.Scheduler == nil {
		return Node{}, errors.New("place: the cluster has no scheduler configured (Config.Scheduler is nil)")
	}
	env := make([]string, 0, len(constraints))
	for _, e := range constraints {
		env = append(env, "constraint:"+e)
	}
	env, labels, err := scheduler.MoveExpressions(env, nil)
	if err != nil {
		return Node{}, fmt.Errorf("place: %w", err)
	}
	q, err := scheduler.ParseRequest(&scheduler.Request{Env: env, Labels: labels})
	if err != nil {
		return Node{}, fmt.Errorf("place: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.cfg.Scheduler.ScheduleQuery(c.snap, q, c.cfg.Rand)
	if d.Node == nil {
		if c.snap.HealthyNodes().Len() == 0 {
			return Node{}, fmt.Errorf("place: no healthy node: %w", ErrNodeUnavailable)
		}
		return Node{}, &NoFitError{Explanation: d.Explain()}
	}
	n := c.nodeByIDLocked(d.Node.ID)
	if n == nil {
		return Node{}, fmt.Errorf("place: scheduler chose unknown node %s: %w", d.Node.ID, ErrNodeUnavailable)
	}
	return c.nodeViewLocked(n), nil
}
