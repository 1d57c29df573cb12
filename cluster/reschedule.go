package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/container"

	"github.com/swarmlab/swarm/scheduler"
)

// A container's rescheduling policy, named as classic Swarm named it: the
// label holds a JSON array of policies; `docker run -e
// reschedule:POLICY` sets it too.
const (
	reschedulePolicyLabel = "com.docker.swarm.reschedule-policies"
	rescheduleEnvPrefix   = "reschedule:"
	// PolicyOnNodeFailure creates the container again on another node
	// when its node fails (turns unhealthy), and removes the original
	// from that node when it comes back.
	PolicyOnNodeFailure = "on-node-failure"
	// PolicyOff, the default, leaves the container where it was.
	PolicyOff = "off"
)

// moveReschedulePolicy moves the reschedule:POLICY entries of a create's
// environment into the policy label, after the policies the label holds
// already, and checks them all. The inputs are not modified; the map
// returned is a copy when anything moved.
func moveReschedulePolicy(env []string, labels map[string]string) ([]string, map[string]string, error) {
	policies, err := reschedulePolicies(labels)
	if err != nil {
		return nil, nil, err
	}
	var rest []string
	moved := false
	for _, e := range env {
		p, ok := strings.CutPrefix(e, rescheduleEnvPrefix)
		if !ok {
			rest = append(rest, e)
			continue
		}
		moved = true
		if p != PolicyOnNodeFailure && p != PolicyOff {
			return nil, nil, errorf(ErrInvalidRequest, "create container: unknown rescheduling policy %q in %q: use %s or %s",
				p, e, PolicyOnNodeFailure, PolicyOff)
		}
		if !slices.Contains(policies, p) {
			policies = append(policies, p)
		}
	}
	if slices.Contains(policies, PolicyOff) && slices.Contains(policies, PolicyOnNodeFailure) {
		return nil, nil, errorf(ErrInvalidRequest, "create container: rescheduling policies %q and %q contradict each other: give one",
			PolicyOff, PolicyOnNodeFailure)
	}
	if !moved {
		return env, labels, nil
	}
	raw, err := json.Marshal(policies)
	if err != nil {
		return nil, nil, err // a []string always encodes
	}
	out := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		out[k] = v
	}
	out[reschedulePolicyLabel] = string(raw)
	if rest == nil {
		rest = []string{}
	}
	return rest, out, nil
}

// reschedulePolicies reads and checks the policy label.
func reschedulePolicies(labels map[string]string) ([]string, error) {
	raw, ok := labels[reschedulePolicyLabel]
	if !ok || strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var policies []string
	if err := json.Unmarshal([]byte(raw), &policies); err != nil {
		return nil, errorf(ErrInvalidRequest, "create container: label %s=%s: want a JSON array of policies, e.g. [%q]: %v",
			reschedulePolicyLabel, raw, PolicyOnNodeFailure, err)
	}
	for _, p := range policies {
		if p != PolicyOnNodeFailure && p != PolicyOff {
			return nil, errorf(ErrInvalidRequest, "create container: label %s=%s: unknown policy %q: use %s or %s",
				reschedulePolicyLabel, raw, p, PolicyOnNodeFailure, PolicyOff)
		}
	}
	return policies, nil
}

// movesOnNodeFailure reports whether a container with these labels is to
// be created again elsewhere when its node fails.
func movesOnNodeFailure(labels map[string]string) bool {
	policies, err := reschedulePolicies(labels)
	return err == nil && slices.Contains(policies, PolicyOnNodeFailure)
}

// wantBodyLocked starts reading, in the background, how to create e again
// when e moves on node failure and that is not known yet: once its node
// has failed, nothing can be read from it. Callers hold c.mu.
func (c *Cluster) wantBodyLocked(n *node, e *entry) {
	id := e.sched.ID
	if e.reservation || c.stopped || !movesOnNodeFailure(e.sched.Labels) {
		return
	}
	if _, ok := c.bodies[id]; ok || c.readingBody[id] {
		return
	}
	c.readingBody[id] = true
	c.wg.Add(1)
	go c.readCreateBody(n, id)
}

// readCreateBody keeps the create body that makes container id again.
func (c *Cluster) readCreateBody(n *node, id string) {
	defer c.wg.Done()
	ctx, cancel := c.callCtx(c.ctx)
	body, err := n.eng.CreateBodyOf(ctx, id)
	cancel()
	c.mu.Lock()
	delete(c.readingBody, id)
	_, cached := n.entry(id)
	if err == nil && cached {
		c.bodies[id] = body
	}
	c.mu.Unlock()
	if err != nil && c.ctx.Err() == nil {
		c.log.Warn("reading a container's config for rescheduling failed; it is read again on its next change",
			"node", n.addr, "container", id, "err", err)
	}
}

// move is one container to create again on another node.
type move struct {
	id, name string
	body     []byte
	running  bool
}

// rescheduleFromLocked takes every container that moves on node failure
// off n, which has just turned unhealthy (tombstoned, so that no late
// listing of n brings them back), and creates them again on other nodes
// in the background. Callers hold c.mu.
func (c *Cluster) rescheduleFromLocked(n *node) {
	var moves []move
	for i, id := range n.ids {
		e := n.entries[i]
		if body, ok := c.bodies[id]; ok && !e.reservation {
			moves = append(moves, move{id: id, name: e.name, body: body, running: e.sched.State == string(container.StateRunning)})
		}
	}
	if len(moves) == 0 || c.stopped {
		return
	}
	seq := c.nextSeqLocked()
	for _, m := range moves {
		c.removeLocked(n, m.id, seq)
	}
	c.putNodeLocked(n)
	c.wg.Add(1)
	go c.reschedule(n, moves)
}

// reschedule creates each container of moves again, with its name and
// configuration, wherever placement puts it now, and starts it if it
// was running. An original whose copy was made is removed from n when n
// comes back (removeMovedAway), or at once if it is back already; one
// whose copy failed is listed on n again.
func (c *Cluster) reschedule(n *node, moves []move) {
	defer c.wg.Done()
	from := n.addr
	for _, m := range moves {
		to, id, err := c.recreate(m)
		c.mu.Lock()
		from = n.name
		back := n.state == scheduler.NodeHealthy && c.nodes[n.addr] == n
		switch {
		case err != nil:
			delete(n.tombs, m.id)
		case !back:
			if n.movedAway == nil {
				n.movedAway = make(map[string]bool)
			}
			n.movedAway[m.id] = true
		}
		c.mu.Unlock()
		if err != nil {
			if c.ctx.Err() == nil {
				c.log.Error("rescheduling a container failed; it stays on its node", "container", m.id, "name", m.name, "from", from, "err", err)
				c.resync(n)
			}
			continue
		}
		c.log.Info("rescheduled container", "container", m.id, "name", m.name, "from", from, "to", to, "as", id, "started", m.running)
		if back {
			c.removeOriginal(c.ctx, n, from, m.id)
		}
	}
}

func (c *Cluster) recreate(m move) (node, id string, err error) {
	var req container.CreateRequest
	if err := json.Unmarshal(m.body, &req); err != nil {
		return "", "", fmt.Errorf("decode its create body: %w", err)
	}
	created, err := c.CreateContainer(c.ctx, CreateRequest{Name: m.name, Config: req.Config, HostConfig: req.HostConfig,
		Networking: req.NetworkingConfig, Body: m.body})
	if err != nil {
		return "", "", err
	}
	node, id = created.Node.Name, created.Summary.ID
	if !m.running {
		return node, id, nil
	}
	c.mu.Lock()
	n := c.nodeByIDLocked(created.Node.ID)
	c.mu.Unlock()
	if n == nil {
		return node, id, fmt.Errorf("node %s left before the start of %s", node, id)
	}
	if err := n.eng.StartContainer(c.ctx, id); err != nil {
		return node, id, fmt.Errorf("start %s on %s: %w", id, node, err)
	}
	return node, id, c.inspect(c.ctx, n, id)
}

// removeMovedAway removes from n, back from a failure, the containers
// created again elsewhere meanwhile, so that each runs once.
func (c *Cluster) removeMovedAway(ctx context.Context, n *node) {
	c.mu.Lock()
	ids := make([]string, 0, len(n.movedAway))
	for id := range n.movedAway {
		ids = append(ids, id)
	}
	n.movedAway = nil
	name := n.name
	c.mu.Unlock()
	for _, id := range ids {
		c.removeOriginal(ctx, n, name, id)
	}
}

// removeOriginal removes from n the original of a rescheduled container.
func (c *Cluster) removeOriginal(ctx context.Context, n *node, name, id string) {
	if err := n.eng.RemoveContainer(ctx, id, true, false); err != nil {
		c.log.Warn("removing a rescheduled container's original failed", "node", name, "container", id, "err", err)
		return
	}
	c.log.Info("removed a rescheduled container's original", "node", name, "container", id)
}
