package cluster

import (
	"context"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
)

// container actions that change nothing the cache holds.
var passiveActions = map[events.Action]bool{
	events.ActionAttach: true, events.ActionDetach: true, events.ActionResize: true,
	events.ActionTop: true, events.ActionCopy: true, events.ActionArchivePath: true,
	events.ActionExtractToDir: true, events.ActionExport: true,
	events.ActionExecCreate: true, events.ActionExecStart: true, events.ActionExecDie: true,
	events.ActionExecDetach: true,
}

// received is one engine event with the sequence number taken when the
// stream delivered it: an inspect numbered after it was requested after
// the engine emitted the event, so its answer already reflects it.
type received struct {
	m   events.Message
	seq uint64
}

// work is what a batch of events asks of the engine and the cache.
type work struct {
	// listsContainers is whether the engine's network listing names the
	// connected containers (API < 1.28), so that connect and disconnect
	// change it.
	listsContainers bool
	// inspect maps a container to the newest receipt of its events.
	inspect map[string]uint64
	// created holds containers whose only events in the batch are
	// "create": any inspect of them already says at least as much.
	created map[string]bool
	// events holds each container's events of the batch, oldest first,
	// to tell whether a cached inspect already reflects them (covered).
	events  map[string][]events.Message
	order   []string // inspect's keys, first seen first
	destroy []string
	objects map[string]bool // "images", "networks", "volumes"
	reload  bool
	// stateEvents: the batch holds an event stateEventsLocked may apply.
	stateEvents bool
}

func (w *work) add(it received) {
	m := it.m
	inspect := func(id string) {
		if _, ok := w.inspect[id]; !ok {
			w.order = append(w.order, id)
			w.created[id] = m.Type == events.ContainerEventType && m.Action == events.ActionCreate
		} else {
			w.created[id] = false
		}
		w.inspect[id] = max(w.inspect[id], it.seq)
		w.events[id] = append(w.events[id], m)
	}
	switch m.Type {
	case events.ContainerEventType:
		switch {
		case m.Action == events.ActionDestroy:
			w.destroy = append(w.destroy, m.Actor.ID)
		case passiveActions[m.Action] || strings.HasPrefix(string(m.Action), "exec_"):
		case m.Action == events.ActionCommit:
			w.objects["images"] = true
		default:
			inspect(m.Actor.ID)
			w.stateEvents = w.stateEvents || stateEventActions[m.Action]
		}
	case events.ImageEventType:
		w.objects["images"] = true
	case events.NetworkEventType:
		id := m.Actor.Attributes["container"]
		if id == "" || w.listsContainers {
			w.objects["networks"] = true
		}
		if id != "" {
			inspect(id)
		}
	case events.VolumeEventType:
		if m.Action != events.ActionMount && m.Action != events.ActionUnmount {
			w.objects["volumes"] = true
		}
	case events.DaemonEventType:
		if m.Action == events.ActionReload {
			w.reload = true
		}
	}
}

// handleEvents updates the cache for a batch of one engine's events, in
// the order the engine sent them, then publishes them, so a subscriber that
// reacts by reading the cache sees the change. Every call it makes is
// requested after every event of the batch was received, so one inspect
// per container and one listing per kind of object cover the whole batch,
// and a container whose cached inspect was requested after its events
// arrived (the API's refresh after a forwarded start, say) is not
// inspected again. Nor is one whose only event is its creation and which
// is already cached from an inspect (the create's own, usually): every
// inspect of a container is at least as new as its creation.
func (c *Cluster) handleEvents(ctx context.Context, n *node, batch []received) {
	c.mu.Lock()
	listsContainers := n.listsContainers
	c.mu.Unlock()
	w := work{
		listsContainers: listsContainers,
		inspect:         make(map[string]uint64),
		created:         make(map[string]bool),
		events:          make(map[string][]events.Message),
		objects:         make(map[string]bool),
	}
	for _, it := range batch {
		w.add(it)
	}
	if w.reload {
		c.beats.wake(n) // labels may have changed: heartbeat now
	}
	fail := func(err error) {
		if err == nil || ctx.Err() != nil {
			return
		}
		// The events are still published; the next sync repairs the cache.
		c.log.Warn("applying engine events failed", "addr", n.addr, "events", len(batch), "err", err)
		if isEngineFailure(err) {
			c.failNode(n, err)
		}
		c.resync(n)
	}
	for _, what := range []string{"images", "networks", "volumes"} {
		if w.objects[what] {
			fail(c.refreshObjects(ctx, n, what))
		}
	}
	changed := false
	if w.stateEvents { // most batches have none: no extra turn of the lock
		c.mu.Lock()
		changed = c.stateEventsLocked(n, &w)
		c.mu.Unlock()
	}
	todo := c.needInspect(ctx, n, &w)
	var applies []func() bool
	for _, id := range todo {
		apply, err := c.fetch(ctx, n, id)
		if err != nil {
			fail(err)
			continue
		}
		applies = append(applies, apply)
	}
	var seq uint64
	if len(w.destroy) > 0 {
		seq = c.nextSeq()
	}
	c.mu.Lock()
	for _, apply := range applies {
		changed = apply() || changed
	}
	for _, id := range w.destroy {
		changed = c.removeLocked(n, id, seq) || changed
	}
	if changed {
		c.putNodeLocked(n)
	}
	view := c.nodeViewLocked(n)
	c.mu.Unlock()
	for _, it := range batch {
		c.hub.publish(Event{Message: it.m, Node: view})
	}
}

// stateEventsLocked applies from the events alone what pause, unpause and
// a health check's verdict do to a cached container, and leaves those
// containers out of w.order. Each changes one field the cache keeps (the
// state, the health) and nothing else (no address, port or time moves),
// so an inspect would only confirm it, and publishing waited for that
// call: one per pause, and one per health change of every container with
// a health check (healthy a few seconds after each start). A container
// qualifies when its cached data is a whole inspect (not a reservation or
// a partial entry) read before these events arrived, and its events in
// the batch are all ones afterStateEvents can follow from the state the
// cache holds; anything else is inspected as before. The new data counts
// as read when the last of them arrived: an inspect requested earlier
// cannot overwrite it, one requested later does. It reports whether
// placement's view changed (never, today: no filter reads either field).
func (c *Cluster) stateEventsLocked(n *node, w *work) bool {
	changed := false
	order := w.order[:0]
	for _, id := range w.order {
		e, ok := n.entry(id)
		if !ok || e.reservation || e.partial || e.seq > w.inspect[id] {
			order = append(order, id)
			continue
		}
		state, health, ok := afterStateEvents(container.ContainerState(e.sched.State), e.health, w.events[id])
		if !ok {
			order = append(order, id)
			continue
		}
		next := *e
		next.sched.State = string(state)
		next.health = health
		next.view = nil
		next.seq = w.inspect[id]
		changed = c.storeLocked(n, &next) || changed
	}
	w.order = order
	return changed
}

// stateEventActions are the actions afterStateEvents can follow.
var stateEventActions = map[events.Action]bool{
	events.ActionPause: true, events.ActionUnPause: true,
	events.ActionHealthStatusHealthy: true, events.ActionHealthStatusUnhealthy: true,
}

// afterStateEvents is the state and health evs leave a container in that
// had state and health, when every one of them is a pause of a running
// container, an unpause of a paused one, or a health check's verdict
// (healthy, unhealthy) on a running or paused one; ok is false otherwise.
func afterStateEvents(state container.ContainerState, health healthState, evs []events.Message) (_ container.ContainerState, _ healthState, ok bool) {
	for _, m := range evs {
		switch {
		case m.Type != events.ContainerEventType:
			return "", 0, false
		case m.Action == events.ActionPause && state == container.StateRunning:
			state = container.StatePaused
		case m.Action == events.ActionUnPause && state == container.StatePaused:
			state = container.StateRunning
		case m.Action == events.ActionHealthStatusHealthy && (state == container.StateRunning || state == container.StatePaused):
			health = healthHealthy
		case m.Action == events.ActionHealthStatusUnhealthy && (state == container.StateRunning || state == container.StatePaused):
			health = healthUnhealthy
		default:
			return "", 0, false
		}
	}
	return state, health, len(evs) > 0
}

// needInspect lists the containers of w the cache cannot answer for: those
// not read after their events arrived, except those whose only event is
// their creation and which are cached. A create event of a container the
// cache does not know yet usually belongs to a create of ours still
// waiting for the engine's answer or its inspect (node.creating): those
// are waited for first, since they store exactly that inspect; so are
// inspects of the batch's containers under way and requested after their
// events arrived.
func (c *Cluster) needInspect(ctx context.Context, n *node, w *work) []string {
	var todo []string
	var waits []chan struct{}
	check := func() {
		todo, waits = todo[:0], waits[:0]
		unknownCreate := false
		for _, id := range w.order {
			e, ok := n.entry(id)
			if ok && !e.reservation && (w.created[id] || !e.partial && (e.seq > w.inspect[id] || coveredAll(e, w.events[id]))) {
				// Already read after its events arrived or, by the
				// engine's own timestamps, after they happened; or only
				// created (a partial entry then has its lazyInspect).
				continue
			}
			if f := n.fetchingAfter(id, w.inspect[id]); f != nil {
				// An inspect requested after these events arrived (the
				// API's refresh after a forwarded start, say) is under
				// way: its answer will do.
				waits = append(waits, f.done)
				continue
			}
			todo = append(todo, id)
			_, dead := n.tombs[id]
			unknownCreate = unknownCreate || (!ok && w.created[id] && !dead)
		}
		if unknownCreate {
			for res := range n.creating {
				waits = append(waits, res.settled)
			}
		}
	}
	c.mu.Lock()
	check()
	var fresh []string // created through the manager, never inspected yet
	for _, id := range todo {
		if e, ok := n.entry(id); ok && e.partial && !e.reservation {
			fresh = append(fresh, id)
		}
	}
	c.mu.Unlock()
	if len(waits) == 0 && len(fresh) == 0 {
		return todo
	}
	waits = append(waits, c.refreshesOf(ctx, n, w, fresh)...)
	for _, ch := range waits {
		select {
		case <-ch:
		case <-ctx.Done():
			return todo
		}
	}
	c.mu.Lock()
	check()
	c.mu.Unlock()
	return todo
}

// refreshGrace is how long a batch waits for an inspect of a container
// created through the manager to start elsewhere. The engine logs a
// start's events before it answers the start, so the API's refresh after
// the forwarded start is usually a moment behind them; without the wait
// both would inspect the container.
const refreshGrace = 50 * time.Millisecond

// refreshesOf waits up to refreshGrace for inspects of ids requested after
// their events in w arrived, and returns the done channels of those found.
func (c *Cluster) refreshesOf(ctx context.Context, n *node, w *work, ids []string) []chan struct{} {
	if len(ids) == 0 {
		return nil
	}
	t := time.NewTimer(refreshGrace)
	defer t.Stop()
	var found []chan struct{}
	for {
		c.mu.Lock()
		rest := ids[:0]
		for _, id := range ids {
			if f := n.fetchingAfter(id, w.inspect[id]); f != nil {
				found = append(found, f.done)
			} else {
				rest = append(rest, id)
			}
		}
		c.mu.Unlock()
		ids = rest
		if len(ids) == 0 {
			return found
		}
		select {
		case <-n.fetchStarted:
		case <-t.C:
			return found
		case <-ctx.Done():
			return found
		}
	}
}

// fetching is one inspect under way (fetch), numbered like the cache's
// data; done closes once its answer was applied or it failed.
type fetching struct {
	seq  uint64
	done chan struct{}
}

// fetchingAfter is an inspect of id under way that was requested after
// seq, or nil. Callers hold Cluster.mu.
func (n *node) fetchingAfter(id string, seq uint64) *fetching {
	for _, f := range n.fetching[id] {
		if f.seq > seq {
			return f
		}
	}
	return nil
}

// endFetchLocked forgets f and wakes its waiters. Callers hold Cluster.mu.
func (n *node) endFetchLocked(id string, f *fetching) {
	fs := n.fetching[id]
	for i, g := range fs {
		if g == f {
			fs = append(fs[:i], fs[i+1:]...)
			break
		}
	}
	if len(fs) == 0 {
		delete(n.fetching, id)
	} else {
		n.fetching[id] = fs
	}
	close(f.done)
}

// coverWindow bounds how long after a container's StartedAt (FinishedAt)
// the engine logs the start (die, stop) event of that same start (stop):
// dockerd takes StartedAt just before it starts the process and logs start
// once it runs (FinishedAt, then die, a moment apart). A slower start is
// merely inspected again.
const coverWindow = time.Second

// coveredAll reports whether e, read from an inspect, already reflects
// every one of evs.
func coveredAll(e *entry, evs []events.Message) bool {
	for _, m := range evs {
		if !covered(e, m) {
			return false
		}
	}
	return len(evs) > 0
}

// covered reports whether the inspect e was built from already reflects
// event m, judged by the engine's clock alone (no skew involved): the
// inspect was answered after the container's StartedAt and FinishedAt, so
// it reflects every event logged before them (a start's network connects
// come before its StartedAt); and dockerd logs start shortly after taking
// StartedAt, die and stop shortly after FinishedAt, so such an event within
// coverWindow of a state that still matches belongs to the transition the
// inspect shows (a later one would need an event in between that is not
// covered: a die before another start, a start before another die). Anything else (pause, rename, a second start) is not
// covered and is inspected.
func covered(e *entry, m events.Message) bool {
	t := eventNano(m)
	if t <= 0 {
		return false // engines stamp every event; without one, inspect
	}
	started, finished := e.startedAt, e.finishedAt
	if t <= max(started, finished) {
		return true
	}
	if m.Type != events.ContainerEventType {
		return false
	}
	switch container.ContainerState(e.sched.State) {
	case container.StateRunning:
		if m.Action == events.ActionStart || m.Action == events.ActionRestart {
			return started > 0 && t-started <= int64(coverWindow)
		}
	case container.StateExited, container.StateDead:
		if m.Action == events.ActionDie || m.Action == events.ActionStop {
			return finished > 0 && t-finished <= int64(coverWindow)
		}
	}
	return false
}

// parseNano is an engine timestamp in Unix nanoseconds, 0 for the
// engine's zero time ("0001-01-01T00:00:00Z", never started or finished),
// whose UnixNano would overflow, and for anything unreadable.
func parseNano(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1970 {
		return 0
	}
	return t.UnixNano()
}
