package cluster

import (
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
)

// A container created through the manager is cached from its create
// request at once (read-your-writes) and inspected later: by the refresh
// after its forwarded start, or on its own after lazyInspectDelay.

// lazyInspectDelay is how long a container created through the manager may
// stay partial (built from its create request) before it is inspected on
// its own. A `docker run` starts it well within that, and the start's
// refresh inspects it, so the common path costs one inspect, not two.
const lazyInspectDelay = time.Second

// lazyInspect inspects container id on n after lazyInspectDelay unless an
// inspect filled its entry meanwhile. A failure asks for a full sync.
func (c *Cluster) lazyInspect(n *node, id string) {
	time.AfterFunc(lazyInspectDelay, func() {
		c.mu.Lock()
		e, ok := n.entry(id)
		pending := ok && e.partial && !c.stopped && c.nodes[n.addr] == n
		c.mu.Unlock()
		if !pending {
			return
		}
		if err := c.inspect(c.ctx, n, id); err != nil && c.ctx.Err() == nil {
			c.log.Info("inspect of a new container failed; resyncing", "addr", n.addr, "container", id, "err", err)
			c.resync(n)
		}
	})
}

// placeholder is a cache entry built from the create request alone,
// marked partial so that the next event or sync inspects it. Its link
// aliases resolve at once. The request's host config is read, not copied
// (a HostConfig is 1.5 KB, on every create).
func placeholder(id, name string, cfg *container.Config, host *container.HostConfig) *entry {
	// The command as far as the request says; the image's default, when
	// the request has none, comes with the inspect.
	var path string
	args := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	if len(args) > 0 {
		path, args = args[0], args[1:]
	}
	e := fromInspect(container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID: id, Name: "/" + name, HostConfig: host, Path: path, Args: args,
			State: &container.State{Status: container.StateCreated},
		},
		Config: cfg,
	})
	// The request gives links as "target:alias" (or "target"), not in
	// the engine's "/target:/name/alias" that fromInspect read.
	var links []link
	for _, l := range host.Links {
		if name == "" {
			break // the engine picks the name: the inspect brings the aliases
		}
		target, alias, ok := strings.Cut(l, ":")
		if !ok {
			alias = target
		}
		target, alias = strings.TrimPrefix(target, "/"), strings.TrimPrefix(alias, "/")
		if !strings.Contains(alias, "/") {
			alias = name + "/" + alias
		}
		links = append(links, link{target: target, alias: alias})
	}
	e.setRare(links, e.mounts())
	e.partial = true
	return e
}
