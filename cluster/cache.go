package cluster

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

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
		e, ok := n.entry(s.ID)
		if !ok || e.reservation || e.partial || e.sched.State != string(s.State) || e.sched.Image != s.Image ||
			!sameNames(e, s.Names) {
			stale = append(stale, s.ID)
		}
	}
	var gone []string
	for i, e := range n.entries {
		if id := n.ids[i]; !listed[id] && !e.reservation && e.seq < seq {
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
	apply, err := c.fetch(ctx, n, id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if apply() {
		c.putNodeLocked(n)
	}
	c.mu.Unlock()
	return nil
}

// fetch inspects one container and returns how to apply the answer: the
// returned func must be called with c.mu held and reports whether
// anything placement sees changed (the caller then puts the node).
func (c *Cluster) fetch(ctx context.Context, n *node, id string) (func() bool, error) {
	f := &fetching{seq: c.nextSeq(), done: make(chan struct{})}
	c.mu.Lock()
	n.fetching[id] = append(n.fetching[id], f)
	c.mu.Unlock()
	signal(n.fetchStarted)
	cctx, cancel := c.callCtx(ctx)
	in, err := n.eng.InspectContainer(cctx, id)
	cancel()
	if cerrdefs.IsNotFound(err) {
		return func() bool {
			defer n.endFetchLocked(id, f)
			return c.removeLocked(n, id, f.seq)
		}, nil
	}
	if err != nil {
		c.mu.Lock()
		n.endFetchLocked(id, f)
		c.mu.Unlock()
		return nil, err
	}
	e := fromInspect(in)
	e.seq = f.seq
	return func() bool {
		defer n.endFetchLocked(id, f)
		return c.storeLocked(n, e)
	}, nil
}

// storeLocked puts e in n's cache unless newer data is already there or
// the container was removed, and keeps the name index in step. It reports
// whether anything placement sees (putNodeLocked) changed.
func (c *Cluster) storeLocked(n *node, e *entry) bool {
	id := e.sched.ID
	if _, dead := n.tombs[id]; dead {
		return false
	}
	old, ok := n.entry(id)
	if ok && old.seq > e.seq {
		return false
	}
	if ok && old.name != e.name {
		c.releaseNameLocked(old.name, id)
	}
	c.setContainerLocked(n, e)
	if e.name != "" {
		if _, taken := c.names[e.name]; !taken {
			c.names[e.name] = id
		}
	}
	c.wantBodyLocked(n, e)
	return !ok || old.reservation != e.reservation || !samePlacement(old, e)
}

// removeLocked drops a container and remembers it is gone. It reports
// whether the cache held it.
func (c *Cluster) removeLocked(n *node, id string, seq uint64) bool {
	e, ok := n.entry(id)
	if ok && e.seq > seq {
		return false
	}
	if ok {
		c.releaseNameLocked(e.name, id)
		c.deleteContainerLocked(n, id)
	}
	n.tombs[id] = c.cfg.Now()
	return ok
}

// sharedOwner marks, in c.owners, an ID cached on more than one node.
var sharedOwner = &node{}

// setContainerLocked caches e on n and indexes its ID.
func (c *Cluster) setContainerLocked(n *node, e *entry) {
	id := e.sched.ID
	old, had := n.entry(id)
	n.counts.track(old, e)
	n.setEntryLocked(id, e)
	c.listGen++
	if len(e.links()) > 0 || had && len(old.links()) > 0 {
		n.aliases, n.aliasesOK, n.viewsOK = nil, false, false
	}
	if c.nodes[n.addr] != n {
		return // dropped by discovery while a call was in flight
	}
	switch o, ok := c.owners[id]; {
	case !ok:
		c.owners[id] = n
	case o != n:
		c.owners[id] = sharedOwner
	}
}

// deleteContainerLocked drops id from n's cache and from the index.
func (c *Cluster) deleteContainerLocked(n *node, id string) {
	old, ok := n.entry(id)
	if !ok {
		return
	}
	n.counts.track(old, nil)
	n.removeIDLocked(id)
	delete(c.bodies, id)
	c.listGen++
	if len(old.links()) > 0 {
		n.aliases, n.aliasesOK, n.viewsOK = nil, false, false
	}
	c.unownLocked(n, id)
}

// unownLocked updates the index after n stopped caching id. Only an ID
// held by several nodes needs a look at every node.
func (c *Cluster) unownLocked(n *node, id string) {
	switch c.owners[id] {
	case n:
		delete(c.owners, id)
	case sharedOwner:
		var holder *node
		holders := 0
		for _, m := range c.nodes {
			if _, ok := m.entry(id); ok {
				holder = m
				holders++
			}
		}
		switch holders {
		case 0:
			delete(c.owners, id)
		case 1:
			c.owners[id] = holder
		}
	}
}

// ownerLocked is the one current node caching container (or reservation)
// id; nil when no node or several do.
func (c *Cluster) ownerLocked(id string) *node {
	o := c.owners[id]
	if o == nil || o == sharedOwner || c.nodes[o.addr] != o {
		return nil
	}
	return o
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
		for i, e := range n.entries {
			if cid := n.ids[i]; cid != id && e.name == name && !e.reservation {
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
	// Only the views of containers stored since the last Put are looked
	// up (all of them after a link changed the aliases); the snapshot gets
	// its own copy, as n.views keeps changing.
	for i, v := range n.views {
		if v == nil || !n.viewsOK {
			n.views[i] = n.entries[i].viewLocked(aliases)
		}
	}
	n.viewsOK = true
	sn.Containers = slices.Clone(n.views)
	sn.Images = n.imageViewsLocked()
	c.snap.Put(sn)
}

// viewLocked is e as placement sees it, with its names. The view is built
// once and reused by every later Put until the names change (a link
// alias), rather than copied for each Put: it is immutable once made.
func (e *entry) viewLocked(aliases map[string][]string) *scheduler.Container {
	own := aliases[e.name]
	if v := e.view; v != nil && sameViewNames(v.Names, e.name, own) {
		return v
	}
	if len(own) == 0 && sameViewNames(e.sched.Names, e.name, nil) {
		// No aliases: sched is the view; a copy would cost 200 bytes per
		// container.
		e.view = &e.sched
		return e.view
	}
	sc := e.sched
	sc.Names = e.names(aliases)
	e.view = &sc
	return e.view
}

// sameViewNames reports whether names is [name, aliases...] (nil for no name).
func sameViewNames(names []string, name string, aliases []string) bool {
	if name == "" {
		return names == nil
	}
	return len(names) == 1+len(aliases) && names[0] == name && slices.Equal(names[1:], aliases)
}

// imageViewsLocked is n's images as placement sees them, rebuilt only
// when the image listing was replaced.
func (n *node) imageViewsLocked() []*scheduler.Image {
	same := len(n.imageViews) == len(n.images) && len(n.imageViewsOf) == len(n.images) &&
		(len(n.images) == 0 || &n.imageViewsOf[0] == &n.images[0])
	if !same {
		n.imageViews = make([]*scheduler.Image, 0, len(n.images))
		for _, img := range n.images {
			n.imageViews = append(n.imageViews, &scheduler.Image{ID: img.ID, RepoTags: img.RepoTags, RepoDigests: img.RepoDigests})
		}
		n.imageViewsOf = n.images
	}
	return n.imageViews
}

// linkAliases maps a container name to the aliases links give it. It is
// kept until a container with links is stored or dropped: callers must not
// change it.
func linkAliases(n *node) map[string][]string {
	if n.aliasesOK {
		return n.aliases
	}
	var aliases map[string][]string // most nodes have no links: no map
	for _, e := range n.entries {
		for _, l := range e.links() {
			if aliases == nil {
				aliases = make(map[string][]string)
			}
			aliases[l.target] = append(aliases[l.target], l.alias)
		}
	}
	for _, a := range aliases {
		sort.Strings(a)
	}
	n.aliases, n.aliasesOK = aliases, true
	return aliases
}

// entry is the cached container id, if any.
func (n *node) entry(id string) (*entry, bool) {
	if i, found := slices.BinarySearch(n.ids, id); found {
		return n.entries[i], true
	}
	return nil, false
}

// setEntryLocked stores e as container id: in n.ids (sorted, so that the
// snapshot gets containers in ID order and its Put diffs them without a
// map, and no Put sorts), n.entries, and n.views (same order), its view
// left for putNodeLocked to fill in.
func (n *node) setEntryLocked(id string, e *entry) {
	i, found := slices.BinarySearch(n.ids, id)
	if !found {
		n.ids = slices.Insert(n.ids, i, id)
		n.entries = slices.Insert(n.entries, i, e)
		n.views = slices.Insert(n.views, i, nil)
		return
	}
	n.entries[i], n.views[i] = e, nil
}

// removeIDLocked drops container id from n.ids, n.entries and n.views.
func (n *node) removeIDLocked(id string) {
	if i, found := slices.BinarySearch(n.ids, id); found {
		n.ids = slices.Delete(n.ids, i, i+1)
		n.entries = slices.Delete(n.entries, i, i+1)
		n.views = slices.Delete(n.views, i, i+1)
	}
}

// names are the container's own name and its link aliases, without "/".
func (e *entry) names(aliases map[string][]string) []string {
	if e.name == "" {
		return nil
	}
	return append([]string{e.name}, aliases[e.name]...)
}

// summaryAt is the engine-shaped listing entry, names with "/" and a
// fresh status; without NetworkSettings unless nets.
func (e *entry) summaryAt(aliases map[string][]string, now time.Time, nets bool) container.Summary {
	s := container.Summary{
		ID: e.sched.ID, Image: e.sched.Image, ImageID: e.sched.ImageID, Labels: e.sched.Labels,
		State:   container.ContainerState(e.sched.State),
		Command: e.command, Created: e.created, Ports: e.ports, Mounts: e.mounts(),
	}
	s.HostConfig.NetworkMode = e.sched.NetworkMode
	if nets && !e.reservation {
		// Engines always list the networks, an empty object for none.
		s.NetworkSettings = &container.NetworkSettingsSummary{Networks: make(map[string]*network.EndpointSettings, len(e.nets))}
		for i := range e.nets {
			s.NetworkSettings.Networks[e.nets[i].name] = e.nets[i].settings()
		}
	}
	if e.reservation {
		s.State = "" // an in-flight create has no engine state yet
	}
	s.Names = nil
	for _, nm := range e.names(aliases) {
		s.Names = append(s.Names, "/"+nm)
	}
	s.Status = e.status(now)
	return s
}
