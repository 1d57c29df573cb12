package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// walkthroughNames are the container names the blog post uses; they must be exact, since
// `--link redis`, `affinity:container==*redis*` and the ps aliases refer to them.
var walkthroughNames = []string{"redis", "postgres", "nginx", "redis-counter", "postgres-counter"}

// psNames is every name `docker ps` prints through the manager, aliases included.
func psNames(t *testing.T, host string, args ...string) []string {
	t.Helper()
	out := Docker(t, host, append([]string{"ps", "--format", "{{.Names}}"}, args...)...)
	var names []string
	for _, line := range strings.Fields(out) {
		names = append(names, strings.Split(line, ",")...)
	}
	return names
}

// inspected is the part of `docker inspect` through the manager that the walkthrough reads.
type inspected struct {
	Name string
	Node struct {
		Name, IP, Addr string
		Labels         map[string]string
	}
	Config struct {
		Env    []string
		Labels map[string]string
	}
}

func inspectThrough(t *testing.T, host, name string) inspected {
	t.Helper()
	out := Docker(t, host, "inspect", "--type", "container", name)
	var docs []inspected
	require.NoError(t, json.Unmarshal([]byte(out), &docs), "docker inspect %s: %s", name, out)
	require.Len(t, docs, 1)
	return docs[0]
}

func TestSeedWalkthrough(t *testing.T) {
	lab, m := NeedManager(t)
	host := m.Host()
	// Leftovers of an aborted run would attract the affinity and hold port 80.
	_ = RunDocker(context.Background(), host, append([]string{"rm", "-f"}, walkthroughNames...)...)
	RemoveOnCleanup(t, host, walkthroughNames...)
	ip := map[string]string{}
	for _, e := range lab.Engines {
		ip[e.Name] = e.IP
	}

	t.Run("info lists the four nodes with their labels", func(t *testing.T) {
		out := Docker(t, host, "info")
		for _, line := range []string{" Strategy: spread", " Nodes: 4", " Role: primary"} {
			assert.Contains(t, out, line+"\n")
		}
		assert.Regexp(t, `(?m)^ Filters: .*\bconstraint\b`, out)
		ci, err := ReadCluster(context.Background(), Client(t, host))
		require.NoError(t, err)
		assert.Equal(t, "spread", ci.Strategy)
		assert.Subset(t, ci.Filters, []string{"health", "port", "dependency", "affinity", "constraint"})
		require.Len(t, ci.Nodes, 4)
		for name, labels := range SeedLabels {
			n, ok := ci.Node(name)
			if !assert.True(t, ok, "node %s in docker info", name) {
				continue
			}
			assert.Contains(t, out, fmt.Sprintf("  %s: %s:2375\n", name, ip[name]), "the node line of %s", name)
			assert.Equal(t, ip[name]+":2375", n.Addr)
			assert.Equal(t, "Healthy", n.Status)
			assert.NotEmpty(t, n.ID)
			for k, v := range labels {
				assert.Equal(t, v, n.Labels[k], "label %s of %s", k, name)
			}
			if name != "backend1" && name != "backend2" {
				assert.NotContains(t, n.Labels, "model")
			}
		}
	})

	place := func(t *testing.T, want string, args ...string) string {
		t.Helper()
		id := strings.TrimSpace(Docker(t, host, append([]string{"run", "-d"}, args...)...))
		require.Len(t, id, 64, "docker run -d prints the new container's ID")
		name := args[1]
		assert.Equal(t, want, NodeOf(t, m, name), "%s placed on", name)
		return id
	}

	t.Run("redis on backend1 by its labels", func(t *testing.T) {
		place(t, "backend1", "--name", "redis", "--env", "constraint:public!=yes", "--env", "constraint:model==high-memory", "redis")
		assert.Contains(t, psNames(t, host), "backend1/redis", "docker ps right after the run")
	})
	t.Run("postgres on backend2 by its labels", func(t *testing.T) {
		place(t, "backend2", "--name", "postgres", "--env", "constraint:public!=yes", "--env", "constraint:model==large-disk", "postgres")
		assert.Contains(t, psNames(t, host), "backend2/postgres")
	})
	t.Run("proxy on the public frontend answers on port 80", func(t *testing.T) {
		id := place(t, "frontend", "--name", "nginx", "-p", "80:80", "--env", "constraint:public==yes", "--env", "DOCKER_HOST="+host, "jwilder/nginx-proxy")
		url := "http://" + ip["frontend"] + ":80/"
		var body string
		assert.Eventually(t, func() bool {
			var err error
			body, err = HTTPGet(context.Background(), url)
			return err == nil
		}, 10*time.Second, 100*time.Millisecond, "GET %s", url)
		assert.Contains(t, body, "on "+id[:12], "the page is served by the proxy container")
		assert.Equal(t, ip["frontend"]+":80\n", Docker(t, host, "port", "nginx", "80"))
	})
	t.Run("redis-counter next to redis by link and affinity", func(t *testing.T) {
		place(t, "backend1", "--name", "redis-counter", "-p", "80", "--link", "redis", "--env", "affinity:container==*redis*",
			"--env", "REDIS_URL=redis:6379", "--env", "VIRTUAL_HOST=redis-counter.docker", "andersjanmyr/counter")
		names := psNames(t, host)
		assert.Contains(t, names, "backend1/redis-counter")
		assert.Contains(t, names, "backend1/redis-counter/redis", "the link alias, right after the run returns")
	})
	t.Run("postgres-counter next to postgres by link alone", func(t *testing.T) {
		place(t, "backend2", "--name", "postgres-counter", "-p", "80", "--link", "postgres",
			"--env", "POSTGRES_URL=postgres://postgres@postgres", "--env", "VIRTUAL_HOST=postgres-counter.docker", "andersjanmyr/counter")
		assert.Contains(t, psNames(t, host), "backend2/postgres-counter/postgres")
	})

	t.Run("ps shows every container on its node", func(t *testing.T) {
		out := Docker(t, host, "ps", "--format", "{{.Names}}\t{{.Ports}}")
		for _, want := range []string{
			"backend1/redis,backend1/redis-counter/redis\t6379/tcp",
			"backend2/postgres,backend2/postgres-counter/postgres\t5432/tcp",
			"frontend/nginx\t" + ip["frontend"] + ":80->80/tcp",
			"backend1/redis-counter\t" + ip["backend1"] + ":",
			"backend2/postgres-counter\t" + ip["backend2"] + ":",
		} {
			assert.Contains(t, out, want)
		}
		assert.NotContains(t, out, "0.0.0.0", "ports bound to all interfaces are shown on the node's address")

		// The Go SDK sees the same listing, and the node filter selects by node.
		list, err := Client(t, host).ContainerList(context.Background(), container.ListOptions{
			Filters: filters.NewArgs(filters.Arg("node", "backend1")),
		})
		require.NoError(t, err)
		var got []string
		for _, c := range list {
			got = append(got, c.Names...)
		}
		assert.Subset(t, got, []string{"/backend1/redis", "/backend1/redis-counter/redis", "/backend1/redis-counter"})
		assert.NotContains(t, got, "/backend2/postgres")
	})

	t.Run("port shows the node's address", func(t *testing.T) {
		for name, node := range map[string]string{"redis-counter": "backend1", "postgres-counter": "backend2"} {
			out := Docker(t, host, "port", name, "80")
			assert.Regexp(t, `^`+strings.ReplaceAll(ip[node], ".", `\.`)+`:\d+\n$`, out, "docker port %s 80", name)
			hostPort := strings.TrimSpace(out)
			body, err := HTTPGet(context.Background(), "http://"+hostPort+"/")
			if assert.NoError(t, err, "the published port answers at the address docker port gave") {
				assert.Contains(t, body, "counter")
			}
		}
	})

	t.Run("inspect shows the node and the constraints as labels", func(t *testing.T) {
		redis := inspectThrough(t, host, "redis")
		assert.Equal(t, "/redis", redis.Name)
		assert.Equal(t, "backend1", redis.Node.Name)
		assert.Equal(t, ip["backend1"], redis.Node.IP)
		assert.Equal(t, ip["backend1"]+":2375", redis.Node.Addr)
		assert.Equal(t, "high-memory", redis.Node.Labels["model"])
		var constraints []string
		require.NoError(t, json.Unmarshal([]byte(redis.Config.Labels["com.docker.swarm.constraints"]), &constraints),
			"constraints label: %q", redis.Config.Labels["com.docker.swarm.constraints"])
		assert.ElementsMatch(t, []string{"public!=yes", "model==high-memory"}, constraints)

		counter := inspectThrough(t, host, "backend1/redis-counter")
		assert.Contains(t, counter.Config.Labels["com.docker.swarm.affinities"], "container==*redis*")
		assert.Contains(t, counter.Config.Env, "REDIS_URL=redis:6379")
		for _, c := range []inspected{redis, counter} {
			for _, kv := range c.Config.Env {
				assert.False(t, strings.HasPrefix(kv, "constraint:") || strings.HasPrefix(kv, "affinity:"),
					"%s: scheduling expressions must not reach the container's environment: %q", c.Name, kv)
			}
		}
	})
}
