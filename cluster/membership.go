package cluster

import (
	"fmt"
	"sort"

	"github.com/swarmlab/swarm/scheduler"
)

// reasonAgentGone is a lost node's error, as `docker info` shows it.
const reasonAgentGone = "the swarm join agent advertising %s is gone (stopped, or its host is unreachable); " +
	"the node is kept out of placement until the agent runs again"

// SetMembership makes up the full membership, like SetMembers, except for
// the addresses in down: engines the discovery source lost but retains for a
// while (token://: the node's join agent left or stopped answering). A known
// node listed in down keeps its cache, so its containers still show, but it
// turns Unhealthy at once (engine_disconnect), leaves placement and reports
// the lost agent as its error; listed in up again, it is re-validated at
// once and turns Healthy when its engine answers (engine_reconnect). Down
// addresses the cluster does not know are ignored, and an address in both
// lists counts as up. It does not block on the network.
func (c *Cluster) SetMembership(up, down []string) {
	want := make(map[string]bool, len(up))
	for _, a := range up {
		want[a] = true
	}
	lost := make(map[string]bool, len(down))
	for _, a := range down {
		lost[a] = !want[a]
	}
	var gone, added, back, newlyLost []*node
	var evs []Event
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	for addr, n := range c.nodes {
		switch {
		case want[addr]:
			if n.lost != "" {
				n.lost = ""
				back = append(back, n)
			}
		case lost[addr]:
			if n.lost == "" {
				newlyLost = append(newlyLost, n)
				evs = append(evs, c.loseNodeLocked(n)...)
			}
		default:
			gone = append(gone, n)
			evs = append(evs, c.dropNodeLocked(n)...)
		}
	}
	for addr := range want {
		if _, ok := c.nodes[addr]; ok {
			continue
		}
		n := newNode(addr, c.cfg.Now())
		c.nodes[addr] = n
		c.listGen++
		added = append(added, n)
	}
	c.mu.Unlock()

	c.publish(evs...)
	for _, n := range newlyLost {
		c.log.Warn("engine's join agent gone; node unhealthy until it returns", "addr", n.addr)
	}
	for _, n := range gone {
		c.stopNode(n)
	}
	sort.Slice(added, func(i, j int) bool { return added[i].addr < added[j].addr })
	for _, n := range added {
		c.startNode(n)
	}
	for _, n := range back {
		c.log.Info("engine's join agent is back; re-validating the node", "addr", n.addr)
		// Heartbeat now rather than at the next refresh: the node must not
		// stay out of placement longer than one round trip to its engine.
		c.beats.wake(n)
	}
}

// loseNodeLocked marks n as lost by discovery: out of placement with the
// lost agent as its error, cache kept. It returns the engine_disconnect
// event to publish once c.mu is released, if the node was healthy.
func (c *Cluster) loseNodeLocked(n *node) []Event {
	n.lost = fmt.Sprintf(reasonAgentGone, n.addr)
	n.updated = c.cfg.Now()
	if n.state != scheduler.NodeHealthy {
		return nil
	}
	n.state = scheduler.NodeUnhealthy
	c.putNodeLocked(n)
	c.rescheduleFromLocked(n)
	return []Event{c.engineEventLocked(n, ActionEngineDisconnect)}
}
