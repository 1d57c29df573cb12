package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// genContainer is what docker-gen reads from `GET /containers/{id}/json` through a
// swarm manager: the environment (VIRTUAL_HOST), the published ports, and the swarm
// `Node` object, whose IP it uses as the upstream address when the port is bound on
// all interfaces.
type genContainer struct {
	ID     string
	Config struct{ Env []string }
	Node   *struct{ ID, Name, IP string }
	State  struct{ Running bool }

	NetworkSettings struct {
		Ports map[string][]struct{ HostIp, HostPort string }
	}
}

// upstreams renders what nginx-proxy's template would: for every running container with
// VIRTUAL_HOST, "vhost -> ip:port" of its published port 80.
func upstreams(ctx context.Context, cli *client.Client) ([]string, error) {
	list, err := cli.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range list {
		_, raw, err := cli.ContainerInspectWithRaw(ctx, c.ID, false)
		if err != nil {
			return nil, err
		}
		var g genContainer
		if err := json.Unmarshal(raw, &g); err != nil {
			return nil, err
		}
		vhost := ""
		for _, e := range g.Config.Env {
			if v, ok := strings.CutPrefix(e, "VIRTUAL_HOST="); ok {
				vhost = v
			}
		}
		if vhost == "" || !g.State.Running {
			continue
		}
		if g.Node == nil {
			return nil, fmt.Errorf("container %s has VIRTUAL_HOST but no Node in its inspect", c.ID)
		}
		for _, b := range g.NetworkSettings.Ports["80/tcp"] {
			ip := b.HostIp
			if ip == "" || ip == "0.0.0.0" || ip == "::" {
				ip = g.Node.IP
			}
			out = append(out, fmt.Sprintf("%s -> %s:%s", vhost, ip, b.HostPort))
		}
	}
	sort.Strings(out)
	return out, nil
}

// TestDockerGenThroughManager does what nginx-proxy / docker-gen do in the blog post: listen
// to the manager's event stream, and on every container start or stop re-read the running
// containers, build the upstream list from VIRTUAL_HOST, the published port and the swarm
// Node IP, and proxy to it. The upstream must answer, on whichever node it landed.
func TestDockerGenThroughManager(t *testing.T) {
	_, m := NeedManager(t)
	cli := Client(t, m.Host())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	msgs, errs := cli.Events(ctx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", "container"), filters.Arg("event", "start"), filters.Arg("event", "die"))})
	// awaitEvent waits for the named container's action on the merged stream.
	awaitEvent := func(name, action string) events.Message {
		t.Helper()
		for {
			select {
			case msg := <-msgs:
				if msg.Actor.Attributes["name"] == name && string(msg.Action) == action {
					return msg
				}
			case err := <-errs:
				require.NoError(t, err, "event stream through the manager ended")
			case <-ctx.Done():
				require.FailNow(t, "no event", "%s %s did not arrive through the manager", name, action)
			}
		}
	}

	names := []string{UniqueName(t, "gen-a"), UniqueName(t, "gen-b")}
	RemoveOnCleanup(t, m.Host(), names...)
	vhosts := map[string]string{}
	for i, name := range names {
		vhosts[name] = fmt.Sprintf("site%d.docker", i)
		Docker(t, m.Host(), "run", "-d", "--name", name, "-p", "80", "--env", "VIRTUAL_HOST="+vhosts[name], "counter")
		ev := awaitEvent(name, "start")
		assert.NotEmpty(t, ev.Actor.Attributes["node.ip"], "start event carries the node")
	}

	ups, err := upstreams(ctx, cli)
	require.NoError(t, err)
	var mine []string
	for _, u := range ups {
		for _, name := range names {
			if strings.HasPrefix(u, vhosts[name]+" -> ") {
				mine = append(mine, u)
			}
		}
	}
	require.Len(t, mine, 2, "one upstream per started container: %v", ups)
	for _, u := range mine {
		addr := strings.SplitN(u, " -> ", 2)[1]
		require.NotRegexp(t, `^0\.0\.0\.0:|^\[::\]:`, addr, "upstream must be routable, not a wildcard")
		var body string
		require.Eventually(t, func() bool {
			body, err = HTTPGet(ctx, "http://"+addr+"/")
			return err == nil
		}, 20*time.Second, 200*time.Millisecond, "upstream %s does not answer: %v", addr, err)
		assert.Contains(t, body, "counter", "the counter service answers at %s", addr)
	}

	// Stopping one container removes it from the next regeneration.
	Docker(t, m.Host(), "stop", "-t", "1", names[0])
	awaitEvent(names[0], "die")
	ups, err = upstreams(ctx, cli)
	require.NoError(t, err)
	for _, u := range ups {
		assert.False(t, strings.HasPrefix(u, vhosts[names[0]]+" -> "), "stopped container still an upstream: %v", ups)
	}
	assert.Contains(t, strings.Join(ups, "\n"), vhosts[names[1]]+" -> ")
}
