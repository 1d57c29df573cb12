package cluster

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/swarmlab/swarm/scheduler"
)

// Endpoint is how the API forwards raw HTTP (including hijacked attach and
// exec) to the engine owning a container.
type Endpoint struct {
	Node Node
	// URL is the engine's base URL (http://ip:port or https://ip:port).
	URL string
	// Client carries the engine's TLS settings; it has no overall timeout
	// because streams are long-lived.
	Client *http.Client
	// APIVersion is the version negotiated with the engine; forward at
	// most this version.
	APIVersion string
}

// Endpoint returns how to reach a node (by engine ID or name). A node that
// is not healthy gives ErrNodeUnavailable; an unknown one ErrNotFound.
func (c *Cluster) Endpoint(nodeID string) (Endpoint, error) {
	c.mu.Lock()
	n := c.nodeByIDLocked(nodeID)
	if n == nil {
		c.mu.Unlock()
		return Endpoint{}, fmt.Errorf("node %q: %w", nodeID, ErrNotFound)
	}
	view := c.nodeViewLocked(n)
	eng := n.eng
	c.mu.Unlock()
	if view.State != scheduler.NodeHealthy || eng == nil {
		return Endpoint{}, fmt.Errorf("node %s (%s) is %s: %s: %w", view.Name, view.Addr, view.State, view.Err, ErrNodeUnavailable)
	}
	url, hc, version := eng.Target()
	return Endpoint{Node: view, URL: url, Client: hc, APIVersion: version}, nil
}

// node looks up a node by ID or name and returns it with its name.
func (c *Cluster) node(ref string) (*node, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodeByIDLocked(ref)
	if n == nil || n.eng == nil {
		return nil, "", fmt.Errorf("node %q: %w", ref, ErrNotFound)
	}
	return n, n.name, nil
}

// Refresh re-inspects one container now, so that after a forwarded
// start/stop/kill/pause the next read is right. A container the engine no
// longer has is dropped from the cache.
func (c *Cluster) Refresh(ctx context.Context, nodeID, containerID string) error {
	n, name, err := c.node(nodeID)
	if err != nil {
		return err
	}
	if err := c.inspect(ctx, n, containerID); err != nil {
		return fmt.Errorf("refresh container %s on %s: %w", containerID, name, err)
	}
	return nil
}

// RefreshNode re-lists one kind of object on a node: "images", "networks",
// "volumes" or "containers", after the API forwarded a change to them.
func (c *Cluster) RefreshNode(ctx context.Context, nodeID, what string) error {
	n, name, err := c.node(nodeID)
	if err != nil {
		return err
	}
	if err := c.refreshObjects(ctx, n, what); err != nil {
		return fmt.Errorf("refresh %s on %s: %w", what, name, err)
	}
	return nil
}

// RenameContainer renames a container after checking the new name is free
// cluster-wide (claiming it meanwhile); the cache has the new name when it
// returns.
func (c *Cluster) RenameContainer(ctx context.Context, ref, newName string) error {
	name := strings.TrimPrefix(newName, "/")
	if !validName.MatchString(name) {
		return errorf(ErrInvalidRequest, "rename %s: invalid name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", ref, newName)
	}
	c.mu.Lock()
	n, e, err := c.findLocked(ref)
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("rename %s: %w", ref, err)
	}
	id, nodeName := e.sched.ID, n.name
	if holder, taken := c.names[name]; taken && holder != id {
		c.mu.Unlock()
		return errorf(ErrNameConflict, `rename %s: Conflict. The container name "/%s" is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name.`, ref, name, holder)
	}
	c.names[name] = id
	c.mu.Unlock()

	cctx, cancel := c.callCtx(ctx)
	err = n.eng.RenameContainer(cctx, id, name)
	cancel()
	if err != nil {
		c.mu.Lock()
		if e2, ok := n.entry(id); !ok || e2.name != name {
			c.releaseNameLocked(name, id)
		}
		c.mu.Unlock()
		return fmt.Errorf("rename %s on %s: %w", ref, nodeName, err)
	}
	if err := c.inspect(ctx, n, id); err != nil {
		c.resync(n)
		return fmt.Errorf("rename %s on %s: renamed, but re-reading it failed: %w", ref, nodeName, err)
	}
	return nil
}

// RemoveContainer removes a container on its engine and from the cache.
func (c *Cluster) RemoveContainer(ctx context.Context, ref string, force, volumes bool) error {
	c.mu.Lock()
	n, e, err := c.findLocked(ref)
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("remove %s: %w", ref, err)
	}
	id, nodeName := e.sched.ID, n.name
	c.mu.Unlock()
	cctx, cancel := c.callCtx(ctx)
	err = n.eng.RemoveContainer(cctx, id, force, volumes)
	cancel()
	if err != nil {
		if isEngineFailure(err) {
			c.failNode(n, err)
		}
		return fmt.Errorf("remove %s on %s: %w", ref, nodeName, err)
	}
	c.mu.Lock()
	c.removeLocked(n, id, c.nextSeqLocked())
	c.putNodeLocked(n)
	c.mu.Unlock()
	return nil
}

// Subscribe returns the recorded events at or after since (none for a
// zero since) and a subscription to everything after, in one step: no
// event is missed or delivered twice between the two. The caller must
// Close the subscription.
func (c *Cluster) Subscribe(since time.Time) ([]Event, *Subscription) {
	return c.hub.subscribe(since)
}
