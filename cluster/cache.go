package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"

	"github.com/swarmlab/swarm/scheduler"
)

// tombstoneTTL is how long a removed container's ID is remembered so that
// a slower, older inspect answer cannot bring it back as a ghost. It only
// has to outlive an in-flight engine call.
const tombstoneTTL = 2 * time.Minute

// fullSync lists the engine's containers, images, networks and volumes and
// brings the cache in line: new or changed containers are inspected,
// vanished ones dropped. Anything that changed after the listing was
// requested is left to the newer data.
func (c *Cluster) fullSync(ctx context.Context, n *node) error {
	seq := c.nextSeq()
	cctx, cancel := c.callCtx(ctx)
	list, err := n.eng.Containers(cctx)
	cancel()
	if err != nil {
		return fmt.Errorf("sync %s: %w", n.addr, err)
	}
	listed := make(map[string]bool, len(list))
	var stale []string
	c.mu.Lock()
	for _, s := range list {
		listed[s.ID] = true
		e, ok := n.containers[s.ID]
		if !ok || e.reservation || e.summary.State != s.State || e.summary.Image != s.Image ||
			!sameNames(e, s.Names) {
			stale = append(stale, s.ID)
		}
	}
	var gone []string
	for id, e := range n.containers {
		if !listed[id] && !e.reservation && e.seq < seq {
			gone = append(gone, id)
		}
	}
	now := c.cfg.Now()
	for id, t := range n.tombs {
		if now.Sub(t) > tombstoneTTL {
			delete(n.tombs, id)
		}
	}
	c.mu.Unlock()

	if len(gone) > 0 {
		c.mu.Lock()
		for _, id := range gone {
			c.removeLocked(n, id, seq)
		}
		c.putNodeLocked(n)
		c.mu.Unlock()
	}
	for _, id := range stale {
		if err := c.inspect(ctx, n, id); err != nil {
			return fmt.Errorf("sync %s: %w", n.addr, err)
		}
	}
	for _, what := range []string{"images", "networks", "volumes"} {
		if err := c.refreshObjects(ctx, n, what); err != nil {
			return fmt.Errorf("sync %s: %w", n.addr, err)
		}
	}
	return nil
}

// sameNames compares a listing's names ("/a", "/b/alias") with the cache's.
func sameNames(e *entry, names []string) bool {
	own := 0
	for _, nm := range names {
		if !strings.Contains(strings.TrimPrefix(nm, "/"), "/") {
			own++
			if strings.TrimPrefix(nm, "/") != e.name {
				return false
			}
		}
	}
	return own == 1
}

// inspect re-reads one container into the cache; a container the engine
// no longer has is dropped.
func (c *Cluster) inspect(ctx context.Context, n *node, id string) error {
	seq := c.nextSeq()
	cctx, cancel := c.callCtx(ctx)
	in, err := n.eng.InspectContainer(cctx, id)
	cancel()
	if cerrdefs.IsNotFound(err) {
		c.mu.Lock()
		c.removeLocked(n, id, seq)
		c.putNodeLocked(n)
		c.mu.Unlock()
		return nil
	}
	if err != nil {
		return err
	}
	e := fromInspect(in)
	e.seq = seq
	c.mu.Lock()
	c.storeLocked(n, e)
	c.putNodeLocked(n)
	c.mu.Unlock()
	return nil
}

// storeLocked puts e in n's cache unless newer data is already there or
// the container was removed, and keeps the name index in step.
func (c *Cluster) storeLocked(n *node, e *entry) {
	id := e.summary.ID
	if _, dead := n.tombs[id]; dead {
		return
	}
	old, ok := n.containers[id]
	if ok && old.seq > e.seq {
		return
	}
	if ok && old.name != e.name {
		c.releaseNameLocked(old.name, id)
	}
	n.containers[id] = e
	if e.name != "" {
		if _, taken := c.names[e.name]; !taken {
			c.names[e.name] = id
		}
	}
}

// removeLocked drops a container and remembers it is gone.
func (c *Cluster) removeLocked(n *node, id string, seq uint64) {
	e, ok := n.containers[id]
	if ok && e.seq > seq {
		return
	}
	if ok {
		c.releaseNameLocked(e.name, id)
		delete(n.containers, id)
	}
	n.tombs[id] = c.cfg.Now()
}

// releaseNameLocked frees name if id holds it. Containers made directly on
// engines can share a name across nodes; the name then passes to another
// holder, so it stays claimed while any container has it.
func (c *Cluster) releaseNameLocked(name, id string) {
	if name == "" || c.names[name] != id {
		return
	}
	delete(c.names, name)
	for _, n := range c.nodes {
		for cid, e := range n.containers {
			if cid != id && e.name == name && !e.reservation {
				c.names[name] = cid
				return
			}
		}
	}
}

// refreshObjects re-lists one kind of object: images, networks or volumes.
func (c *Cluster) refreshObjects(ctx context.Context, n *node, what string) error {
	seq := c.nextSeq()
	cctx, cancel := c.callCtx(ctx)
	defer cancel()
	switch what {
	case "images":
		list, err := n.eng.Images(cctx)
		if err != nil {
			return err
		}
		c.mu.Lock()
		if seq > n.imagesSeq {
			n.images, n.imagesSeq = list, seq
			c.putNodeLocked(n)
		}
		c.mu.Unlock()
	case "networks":
		list, err := n.eng.Networks(cctx)
		if err != nil {
			return err
		}
		c.mu.Lock()
		if seq > n.networksSeq {
			n.networks, n.networksSeq = list, seq
		}
		c.mu.Unlock()
	case "volumes":
		list, err := n.eng.Volumes(cctx)
		if err != nil {
			return err
		}
		c.mu.Lock()
		if seq > n.volumesSeq {
			n.volumes, n.volumesSeq = list, seq
		}
		c.mu.Unlock()
	case "containers":
		return c.fullSync(ctx, n)
	default:
		return fmt.Errorf("refresh %q: want images, networks, volumes or containers", what)
	}
	return nil
}

// container actions that change nothing the cache holds.
var passiveActions = map[events.Action]bool{
	events.ActionAttach: true, events.ActionDetach: true, events.ActionResize: true,
	events.ActionTop: true, events.ActionCopy: true, events.ActionArchivePath: true,
	events.ActionExtractToDir: true, events.ActionExport: true,
	events.ActionExecCreate: true, events.ActionExecStart: true, events.ActionExecDie: true,
	events.ActionExecDetach: true,
}

// handleEvent updates the cache for one engine event, then publishes it, so
// a subscriber that reacts by reading the cache sees the change.
func (c *Cluster) handleEvent(ctx context.Context, n *node, m events.Message) {
	var err error
	switch m.Type {
	case events.ContainerEventType:
		switch {
		case m.Action == events.ActionDestroy:
			seq := c.nextSeq()
			c.mu.Lock()
			c.removeLocked(n, m.Actor.ID, seq)
			c.putNodeLocked(n)
			c.mu.Unlock()
		case passiveActions[m.Action] || strings.HasPrefix(string(m.Action), "exec_"):
		case m.Action == events.ActionCommit:
			err = c.refreshObjects(ctx, n, "images")
		default:
			err = c.inspect(ctx, n, m.Actor.ID)
		}
	case events.ImageEventType:
		err = c.refreshObjects(ctx, n, "images")
	case events.NetworkEventType:
		err = c.refreshObjects(ctx, n, "networks")
		if id := m.Actor.Attributes["container"]; id != "" && err == nil {
			err = c.inspect(ctx, n, id)
		}
	case events.VolumeEventType:
		if m.Action != events.ActionMount && m.Action != events.ActionUnmount {
			err = c.refreshObjects(ctx, n, "volumes")
		}
	case events.DaemonEventType:
		if m.Action == events.ActionReload {
			signal(n.wake) // labels may have changed: heartbeat now
		}
	}
	if err != nil && ctx.Err() == nil {
		// The event is still published; the next sync repairs the cache.
		c.log.Warn("applying engine event failed", "addr", n.addr, "type", m.Type, "action", m.Action, "err", err)
		if isEngineFailure(err) {
			c.failNode(n, err)
		}
		signal(n.resync)
	}
	c.mu.Lock()
	ev := Event{Message: m, Node: c.nodeViewLocked(n)}
	c.mu.Unlock()
	c.hub.publish(ev)
}

// putNodeLocked rebuilds n's scheduler view (names with link aliases,
// reservations, images) and puts it in the snapshot. Nodes never validated
// have no ID and stay out of placement.
func (c *Cluster) putNodeLocked(n *node) {
	if n.id == "" || c.nodes[n.addr] != n {
		// Never validated, or dropped by discovery while a call was in
		// flight: it must not reappear in placement.
		return
	}
	aliases := linkAliases(n)
	sn := &scheduler.Node{
		ID:       n.id,
		Name:     n.name,
		Addr:     n.addr,
		IP:       n.ip,
		State:    n.state,
		Labels:   n.labels,
		NanoCPUs: int64(n.ncpu) * 1e9,
		Memory:   n.memory,
	}
	ids := make([]string, 0, len(n.containers))
	for id := range n.containers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		e := n.containers[id]
		sc := e.sched
		sc.Names = e.names(aliases)
		sn.Containers = append(sn.Containers, &sc)
	}
	for _, img := range n.images {
		sn.Images = append(sn.Images, &scheduler.Image{ID: img.ID, RepoTags: img.RepoTags, RepoDigests: img.RepoDigests})
	}
	c.snap.Put(sn)
}

// linkAliases maps a container name to the aliases links give it.
func linkAliases(n *node) map[string][]string {
	aliases := make(map[string][]string)
	for _, e := range n.containers {
		for _, l := range e.links {
			aliases[l.target] = append(aliases[l.target], l.alias)
		}
	}
	for _, a := range aliases {
		sort.Strings(a)
	}
	return aliases
}

// names are the container's own name and its link aliases, without "/".
func (e *entry) names(aliases map[string][]string) []string {
	if e.name == "" {
		return nil
	}
	return append([]string{e.name}, aliases[e.name]...)
}

// summaryLocked is the engine-shaped listing entry, names with "/" and a
// fresh status.
func (e *entry) summaryAt(aliases map[string][]string, now time.Time) container.Summary {
	s := e.summary
	s.Names = nil
	for _, nm := range e.names(aliases) {
		s.Names = append(s.Names, "/"+nm)
	}
	s.Status = e.status(now)
	return s
}
