package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/api"
	"github.com/swarmlab/swarm/cluster"
	"github.com/swarmlab/swarm/cluster/engine"
	"github.com/swarmlab/swarm/filters"
	"github.com/swarmlab/swarm/scheduler"
	"github.com/swarmlab/swarm/test/fakeengine"
)

// seedManager is the walkthrough's cluster: four fake engines with its
// labels behind a real cluster and the API, served over HTTP.
func seedManager(t *testing.T) (string, *cluster.Cluster) {
	t.Helper()
	machines := []struct {
		name   string
		labels map[string]string
	}{
		{"swarm-master", map[string]string{"public": "no"}},
		{"frontend", map[string]string{"public": "yes"}},
		{"backend1", map[string]string{"public": "no", "model": "high-memory"}},
		{"backend2", map[string]string{"public": "no", "model": "large-disk"}},
	}
	var addrs []string
	for _, m := range machines {
		e := fakeengine.New(fakeengine.Options{Name: m.name, Labels: m.labels, NCPU: 1, MemTotal: 1 << 30,
			Images: []string{"redis", "postgres", "jwilder/nginx-proxy"}, EventHistory: 10000})
		require.NoError(t, e.Start())
		t.Cleanup(e.Close)
		addrs = append(addrs, e.Addr())
	}
	url, c := startManager(t, addrs, func(cfg *cluster.Config) {
		cfg.RefreshMinInterval = 50 * time.Millisecond
		cfg.RefreshMaxInterval = 200 * time.Millisecond
		cfg.FailureRetry = 2
		cfg.HeartbeatTimeout = 5 * time.Second
	})
	return strings.Replace(url, "http://", "tcp://", 1), c
}

// startManager runs a real cluster of the engines at addrs (tune adjusts
// its configuration; may be nil), waits until every engine is healthy, and
// serves the API over HTTP; it returns the API's http:// URL.
func startManager(tb testing.TB, addrs []string, tune func(*cluster.Config)) (string, *cluster.Cluster) {
	tb.Helper()
	cfg := cluster.Config{
		Scheduler: scheduler.New(scheduler.Config{Filters: filters.Default()}),
		Dial: func(addr string) (cluster.Engine, error) {
			return engine.Dial(addr, engine.Options{Timeout: 5 * time.Second})
		},
		Rand:   rand.New(rand.NewSource(1)),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if tune != nil {
		tune(&cfg)
	}
	c, err := cluster.New(cfg)
	require.NoError(tb, err)
	tb.Cleanup(c.Stop)
	c.SetMembers(addrs)
	require.Eventually(tb, func() bool {
		n := 0
		for _, node := range c.Nodes() {
			if node.State == scheduler.NodeHealthy {
				n++
			}
		}
		return n == len(addrs)
	}, 10*time.Second, 10*time.Millisecond, "every engine healthy")
	s, err := api.New(api.Config{Cluster: api.FromCluster(c), Version: "e2e"})
	require.NoError(tb, err)
	srv := httptest.NewServer(s)
	tb.Cleanup(srv.Close)
	return srv.URL, c
}

type dockerCLI struct {
	t    *testing.T
	host string
	cfg  string
}

func (d dockerCLI) run(args ...string) (string, error) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/local/bin/docker", args...)
	cmd.Env = []string{"DOCKER_HOST=" + d.host, "DOCKER_CONFIG=" + d.cfg, "HOME=" + d.cfg, "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (d dockerCLI) must(args ...string) string {
	d.t.Helper()
	out, err := d.run(args...)
	require.NoError(d.t, err, "docker %s: %s", strings.Join(args, " "), out)
	return out
}

func TestSeedWalkthroughThroughDockerCLI(t *testing.T) {
	if _, err := os.Stat("/usr/local/bin/docker"); err != nil {
		t.Skip("docker CLI not installed")
	}
	host, _ := seedManager(t)
	d := dockerCLI{t: t, host: host, cfg: t.TempDir()}
	start := time.Now().Add(-time.Second)

	info := d.must("info")
	for _, want := range []string{" Strategy: spread", " Nodes: 4", "  backend1: ", "model=high-memory, operatingsystem=", "   └ Status: Healthy"} {
		assert.Contains(t, info, want)
	}

	d.must("run", "-d", "--name", "redis", "--env", "constraint:public!=yes", "--env", "constraint:model==high-memory", "redis")
	d.must("run", "-d", "--name", "postgres", "--env", "constraint:public!=yes", "--env", "constraint:model==large-disk", "postgres")
	d.must("run", "-d", "--name", "nginx", "-p", "80:80", "--env", "constraint:public==yes", "jwilder/nginx-proxy")
	// The counter image is on no node: the create answers 404, the CLI
	// pulls through the manager and retries.
	out := d.must("run", "-d", "--name", "redis-counter", "-p", "80", "--link", "redis", "--env", "affinity:container==*redis*", "andersjanmyr/counter")
	assert.Contains(t, out, "Unable to find image 'andersjanmyr/counter:latest' locally")
	d.must("run", "-d", "--name", "postgres-counter", "-p", "80", "--link", "postgres", "andersjanmyr/counter")

	ps := d.must("ps", "--format", "{{.Names}}|{{.Ports}}")
	for _, want := range []string{
		"backend1/redis,backend1/redis-counter/redis|",
		"backend2/postgres,backend2/postgres-counter/postgres|",
		"frontend/nginx|",
		"backend1/redis-counter|",
		"backend2/postgres-counter|",
	} {
		assert.Contains(t, ps, want)
	}
	assert.Regexp(t, `frontend/nginx\|127\.0\.0\.1:80->80/tcp`, ps, "all-interface binding shown on the node IP")

	assert.Equal(t, "backend1 no\n", d.must("inspect", "-f", "{{.Node.Name}} {{.Node.Labels.public}}", "redis"))

	d.must("stop", "backend1/redis-counter")
	assert.NotContains(t, d.must("ps", "--format", "{{.Names}}"), "backend1/redis-counter\n", "stopped container gone from ps at once")
	assert.Contains(t, d.must("ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}"), "backend1/redis-counter")
	d.must("rm", "backend1/redis-counter")
	_, err := d.run("inspect", "--type", "container", "redis-counter")
	assert.Error(t, err)

	_, err = d.run("run", "-d", "--name", "redis", "redis")
	assert.Error(t, err, "name taken cluster-wide")

	evs := d.must("events", "--since", fmt.Sprint(start.Unix()), "--until", fmt.Sprint(time.Now().Add(time.Second).Unix()),
		"--filter", "node=backend2", "--filter", "event=start", "--format", "{{.Actor.Attributes.name}} {{index .Actor.Attributes \"node.name\"}}")
	assert.Equal(t, "postgres backend2\npostgres-counter backend2\n", evs)
}
