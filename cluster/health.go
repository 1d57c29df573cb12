package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/events"

	"github.com/swarmlab/swarm/scheduler"
)

// heartbeat re-reads the engine's info and version, validates them and
// drives the node's state machine. It reports whether the engine answered
// and was accepted.
func (c *Cluster) heartbeat(ctx context.Context, n *node) bool {
	cctx, cancel := c.callCtx(ctx)
	info, err := n.eng.Info(cctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			c.failNode(n, err)
		}
		return false
	}
	if err := validateInfo(n.addr, info); err != nil {
		c.refuseNode(n, err)
		return false
	}
	cctx, cancel = c.callCtx(ctx)
	version, err := n.eng.Version(cctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			c.failNode(n, err)
		}
		return false
	}
	_, _, apiVersion := n.eng.Target()
	now := c.cfg.Now()

	c.mu.Lock()
	if c.nodes[n.addr] != n {
		c.mu.Unlock()
		return false
	}
	if other := c.engines[info.ID]; other != nil && other != n {
		err := fmt.Errorf(reasonDuplicateID, n.addr, info.ID, other.addr, n.addr)
		c.mu.Unlock()
		c.refuseNode(n, err)
		return false
	}
	oldID := n.id
	if oldID != "" && oldID != info.ID {
		// A different engine now answers at this address: forget the
		// old one's cache rather than mixing the two.
		c.resetNodeLocked(n)
	} else {
		oldID = ""
	}
	if n.id != info.ID && c.engines[n.id] == n {
		delete(c.engines, n.id)
	}
	n.id = info.ID
	c.engines[n.id] = n
	if n.name != info.Name {
		n.name = info.Name
		c.listGen++ // the listing orders nodes by name
	}
	n.labels = nodeLabels(info)
	n.ncpu = info.NCPU
	n.memory = info.MemTotal
	n.serverVersion = version.Version
	n.setAPIVersion(apiVersion)
	if t, err := time.Parse(time.RFC3339Nano, info.SystemTime); err == nil {
		n.skew = t.Sub(now)
	}
	n.failures = 0
	n.err = ""
	n.updated = now
	var evs []Event
	switch {
	case n.lost != "":
		// Its engine answers, but discovery lost the node: stay out.
	case n.state == scheduler.NodeUnhealthy:
		n.state = scheduler.NodeHealthy
		evs = append(evs, c.engineEventLocked(n, ActionEngineReconnect))
	case n.state == scheduler.NodePending && n.synced:
		// Synced while refused or lost, so markSynced left it pending and
		// will not be called again.
		n.state = scheduler.NodeHealthy
		evs = append(evs, c.engineEventLocked(n, ActionEngineConnect))
	}
	startWatch := !n.watching
	n.watching = true
	if startWatch {
		c.wg.Add(1)
	}
	c.putNodeLocked(n)
	c.mu.Unlock()

	if oldID != "" {
		c.log.Warn("engine ID changed at address; its cache was reset", "addr", n.addr, "old", oldID, "new", info.ID)
	}
	c.publish(evs...)
	if startWatch {
		go c.watch(ctx, n)
	}
	if len(evs) > 0 {
		c.log.Info("engine reconnected", "node", info.Name, "addr", n.addr)
		c.removeMovedAway(ctx, n)
		// Back from the dead: re-list everything now rather than trust
		// whatever the event stream did meanwhile.
		c.resync(n)
	}
	return true
}

// failNode records a failed call. FailureRetry consecutive failures make a
// healthy node unhealthy (engine_disconnect).
func (c *Cluster) failNode(n *node, err error) {
	c.mu.Lock()
	if c.nodes[n.addr] != n {
		c.mu.Unlock()
		return
	}
	n.failures++
	n.err = err.Error()
	n.updated = c.cfg.Now()
	var evs []Event
	if n.state == scheduler.NodeHealthy && n.failures >= c.cfg.FailureRetry {
		n.state = scheduler.NodeUnhealthy
		c.putNodeLocked(n)
		evs = append(evs, c.engineEventLocked(n, ActionEngineDisconnect))
		c.rescheduleFromLocked(n)
	}
	name, failures := n.name, n.failures
	c.mu.Unlock()
	if len(evs) > 0 {
		c.log.Warn("engine unhealthy", "node", name, "addr", n.addr, "failures", failures, "err", err)
	}
	c.publish(evs...)
}

// refuseNode keeps a node that answered but cannot be accepted out of
// placement with the reason as its error.
func (c *Cluster) refuseNode(n *node, err error) {
	c.mu.Lock()
	if c.nodes[n.addr] != n {
		c.mu.Unlock()
		return
	}
	first := n.err != err.Error()
	n.err = err.Error()
	n.failures++
	n.updated = c.cfg.Now()
	var evs []Event
	switch n.state {
	case scheduler.NodeHealthy:
		n.state = scheduler.NodeUnhealthy
		c.putNodeLocked(n)
		evs = append(evs, c.engineEventLocked(n, ActionEngineDisconnect))
	case scheduler.NodeUnhealthy:
	default:
		n.state = scheduler.NodePending
	}
	c.mu.Unlock()
	c.publish(evs...)
	if first {
		c.log.Error("engine refused", "addr", n.addr, "err", err)
	}
}

// markSynced makes a pending node healthy once its cache was filled by a
// first full listing, so placement never sees a node with an empty cache.
func (c *Cluster) markSynced(n *node) {
	c.mu.Lock()
	if c.nodes[n.addr] != n || n.synced {
		c.mu.Unlock()
		return
	}
	n.synced = true
	var evs []Event
	if n.state == scheduler.NodePending && n.err == "" && n.lost == "" {
		n.state = scheduler.NodeHealthy
		evs = append(evs, c.engineEventLocked(n, ActionEngineConnect))
	}
	c.putNodeLocked(n)
	name := n.name
	c.mu.Unlock()
	c.publish(evs...)
	if len(evs) > 0 {
		c.log.Info("engine connected", "node", name, "addr", n.addr)
	}
}

// resetNodeLocked forgets a node's cache and snapshot entry.
func (c *Cluster) resetNodeLocked(n *node) {
	ids, old := n.ids, n.entries
	n.ids, n.entries, n.views, n.viewsOK, n.aliases, n.aliasesOK = nil, nil, nil, false, nil, false
	n.counts = nodeCounts{}
	for i, e := range old {
		c.releaseNameLocked(e.name, e.sched.ID)
		c.unownLocked(n, ids[i])
		delete(c.bodies, ids[i])
	}
	n.images, n.networks, n.volumes = nil, nil, nil
	if n.id != "" {
		c.snap.Delete(n.id)
	}
	n.synced = false
	n.state = scheduler.NodePending
	c.resync(n)
}

// engineEventLocked builds one of the cluster's own engine_* events for n.
func (c *Cluster) engineEventLocked(n *node, action events.Action) Event {
	now := c.cfg.Now()
	return Event{
		Message: events.Message{
			Status: string(action),
			ID:     n.id,
			From:   "swarm",
			Type:   EngineEventType,
			Action: action,
			Actor: events.Actor{ID: n.id, Attributes: map[string]string{
				"name": n.name,
				"addr": n.addr,
			}},
			Time:     now.Unix(),
			TimeNano: now.UnixNano(),
		},
		Node: c.nodeViewLocked(n),
	}
}

// publish hands events to the hub. Callers must not hold c.mu.
func (c *Cluster) publish(evs ...Event) {
	for _, ev := range evs {
		c.hub.publish(ev)
	}
}

// isEngineFailure tells failures of the engine (down, timing out) from
// answers it gave (no such container, conflict, bad request), which say
// nothing about its health.
func isEngineFailure(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	return !isAnswer(err)
}
