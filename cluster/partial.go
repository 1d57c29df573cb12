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
		e, ok := n.containers[id]
		pending := ok && e.partial && !c.stopped && c.nodes[n.addr] == n
		c.mu.Unlock()
		if !pending {
			return
		}
		if err := c.inspect(c.ctx, n, id); err != nil && c.ctx.Err() == nil {
			c.log.Info("inspect of a new container failed; resyncing", "addr", n.addr, "container", id, "err", err)
			signal(n.resync)
		}
	})
}

// placeholder is a cache entry built from the create request alone,
// marked partial so that the next event or sync inspects it. Links are
// given as the engine stores them ("/target:/name/alias"), so that the
// aliases resolve at once.
func placeholder(id, name string, cfg *container.Config, host *container.HostConfig) *entry {
	h := *host
	h.Links = make([]string, 0, len(host.Links))
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
		h.Links = append(h.Links, "/"+target+":/"+alias)
	}
	// The command as far as the request says; the image's default, when
	// the request has none, comes with the inspect.
	var path string
	args := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	if len(args) > 0 {
		path, args = args[0], args[1:]
	}
	e := fromInspect(container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID: id, Name: "/" + name, HostConfig: &h, Path: path, Args: args,
			State: &container.State{Status: container.StateCreated},
		},
		Config: cfg,
	})
	e.partial = true
	return e
}
