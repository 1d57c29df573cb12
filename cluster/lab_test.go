package cluster_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net/http"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster"
	"github.com/swarmlab/swarm/cluster/engine"
	"github.com/swarmlab/swarm/filters"
	"github.com/swarmlab/swarm/scheduler"
	"github.com/swarmlab/swarm/test/fakeengine"
)

// lab is a cluster over fake engines spoken to over real HTTP through
// cluster/engine.
type lab struct {
	t       *testing.T
	c       *cluster.Cluster
	engines []*fakeengine.Engine
}

type labOptions struct {
	nodes   int
	engine  func(i int, o *fakeengine.Options)
	cluster func(cfg *cluster.Config)
	// pending leaves nodes unawaited (for tests where some never connect).
	pending bool
}

func newLab(t *testing.T, o labOptions) *lab {
	t.Helper()
	l := &lab{t: t}
	var addrs []string
	for i := range o.nodes {
		opts := fakeengine.Options{
			Name:         fmt.Sprintf("node%d", i),
			Images:       []string{"busybox", "redis"},
			Labels:       map[string]string{"zone": fmt.Sprintf("z%d", i)},
			EventHistory: 100000,
		}
		if o.engine != nil {
			o.engine(i, &opts)
		}
		e := fakeengine.New(opts)
		require.NoError(t, e.Start())
		t.Cleanup(e.Close)
		l.engines = append(l.engines, e)
		addrs = append(addrs, e.Addr())
	}
	cfg := cluster.Config{
		Scheduler: scheduler.New(scheduler.Config{Filters: filters.Default()}),
		Dial: func(addr string) (cluster.Engine, error) {
			return engine.Dial(addr, engine.Options{Timeout: 3 * time.Second})
		},
		RefreshMinInterval: 20 * time.Millisecond,
		RefreshMaxInterval: 100 * time.Millisecond,
		FailureRetry:       2,
		HeartbeatTimeout:   3 * time.Second,
		Rand:               rand.New(rand.NewSource(1)),
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if o.cluster != nil {
		o.cluster(&cfg)
	}
	c, err := cluster.New(cfg)
	require.NoError(t, err)
	t.Cleanup(c.Stop)
	l.c = c
	c.SetMembers(addrs)
	if !o.pending {
		l.waitHealthy(o.nodes)
	}
	return l
}

// waitHealthy waits until n nodes are healthy.
func (l *lab) waitHealthy(n int) {
	l.t.Helper()
	require.Eventually(l.t, func() bool { return l.healthy() == n }, 10*time.Second, 5*time.Millisecond,
		"want %d healthy nodes, have %+v", n, l.c.Nodes())
}

func (l *lab) healthy() int {
	k := 0
	for _, n := range l.c.Nodes() {
		if n.State == scheduler.NodeHealthy {
			k++
		}
	}
	return k
}

// node returns the cluster's view of engine i.
func (l *lab) node(i int) cluster.Node {
	for _, n := range l.c.Nodes() {
		if n.Addr == l.engines[i].Addr() {
			return n
		}
	}
	l.t.Fatalf("engine %d not in cluster", i)
	return cluster.Node{}
}

// outside talks to engine i directly, bypassing the manager, the way a
// user with DOCKER_HOST pointed at one engine would.
func (l *lab) outside(i int) *engine.Engine {
	l.t.Helper()
	e, err := engine.Dial(l.engines[i].Addr(), engine.Options{})
	require.NoError(l.t, err)
	l.t.Cleanup(func() { _ = e.Close() })
	return e
}

// runOutside creates and starts a container directly on engine i.
func (l *lab) runOutside(i int, name string) string {
	l.t.Helper()
	e := l.outside(i)
	id, _, err := e.CreateContainer(context.Background(), name, &container.Config{Image: "busybox"}, &container.HostConfig{}, nil)
	require.NoError(l.t, err)
	url, hc, _ := e.Target()
	resp, err := hc.Post(url+"/containers/"+id+"/start", "application/json", nil)
	require.NoError(l.t, err)
	_ = resp.Body.Close()
	require.Equal(l.t, http.StatusNoContent, resp.StatusCode)
	return id
}

// names of every container the cluster lists.
func (l *lab) names() map[string]string {
	out := map[string]string{}
	for _, c := range l.c.Containers() {
		for _, n := range c.Summary.Names {
			out[n] = c.Node.Name
		}
	}
	return out
}

func run(name, image string) cluster.CreateRequest {
	return cluster.CreateRequest{Name: name, Config: &container.Config{Image: image}, HostConfig: &container.HostConfig{}}
}

// collect reads a subscription until pred holds or the deadline passes.
func collect(t *testing.T, sub *cluster.Subscription, into *[]cluster.Event, pred func([]cluster.Event) bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for !pred(*into) {
		select {
		case ev, ok := <-sub.C:
			require.True(t, ok, "subscription closed: %v", sub.Err())
			*into = append(*into, *ev)
		case <-deadline:
			t.Fatalf("timed out after %d events", len(*into))
		}
	}
}

func countAction(evs []cluster.Event, typ events.Type, action events.Action) int {
	k := 0
	for _, e := range evs {
		if e.Type == typ && e.Action == action {
			k++
		}
	}
	return k
}
