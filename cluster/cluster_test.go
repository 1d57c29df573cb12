package cluster_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster"
	"github.com/swarmlab/swarm/scheduler"
	"github.com/swarmlab/swarm/test/fakeengine"
)

func TestConnectValidatesAndLabels(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2})
	nodes := l.c.Nodes()
	require.Len(t, nodes, 2)
	assert.Equal(t, "node0", nodes[0].Name)
	assert.Equal(t, "node1", nodes[1].Name)
	n := nodes[0]
	assert.Equal(t, l.engines[0].ID(), n.ID)
	assert.Equal(t, "z0", n.Labels["zone"])
	for _, k := range []string{"storagedriver", "kernelversion", "operatingsystem", "ostype"} {
		assert.Contains(t, n.Labels, k)
	}
	assert.Equal(t, 4, n.NCPU)
	assert.Equal(t, "1.41", n.APIVersion, "negotiated down to the fake's 20.10 API")
	assert.Empty(t, n.Err)

	replay, sub := l.c.Subscribe(time.Unix(1, 0))
	sub.Close()
	assert.Equal(t, 2, countAction(replay, cluster.EngineEventType, cluster.ActionEngineConnect))

	ep, err := l.c.Endpoint(n.ID)
	require.NoError(t, err)
	assert.Equal(t, "http://"+l.engines[0].Addr(), ep.URL)
	assert.Equal(t, "1.41", ep.APIVersion)
	_, err = l.c.Endpoint("nope")
	assert.ErrorIs(t, err, cluster.ErrNotFound)

	info := l.c.Info()
	assert.Equal(t, 8, info.NCPU)
	assert.Equal(t, "spread", info.Strategy)
	assert.Contains(t, info.Filters, "port")
}

func TestOutsideChangesReachTheCache(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2})
	l.runOutside(1, "outsider")
	// Outside changes arrive through the event stream: eventually, not at once.
	require.Eventually(t, func() bool {
		c, err := l.c.Container("outsider")
		return err == nil && c.Node.Name == "node1" && c.Summary.State == container.StateRunning
	}, 5*time.Second, 5*time.Millisecond)
	c, err := l.c.Container("outsider")
	require.NoError(t, err)
	assert.Contains(t, c.Summary.Status, "Up")
	_, err = l.c.Container("node1/outsider")
	assert.NoError(t, err)

	require.NoError(t, l.outside(1).RemoveContainer(context.Background(), c.Summary.ID, true, false))
	require.Eventually(t, func() bool { _, ok := l.names()["/outsider"]; return !ok }, 5*time.Second, 5*time.Millisecond)
}

func TestRelabelSeenWithoutRestart(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2})
	l.engines[1].SetLabels(map[string]string{"zone": "moved", "gpu": "yes"})
	require.Eventually(t, func() bool {
		n := l.node(1)
		return n.Labels["zone"] == "moved" && n.Labels["gpu"] == "yes"
	}, 5*time.Second, 5*time.Millisecond)
	req := run("needs-gpu", "busybox")
	req.Config.Env = []string{"constraint:gpu==yes"}
	c, err := l.c.CreateContainer(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "node1", c.Node.Name)
	assert.NotContains(t, c.Summary.Labels[scheduler.LabelConstraints], "node!=", "retry exclusions never reach the engine")
}

func TestDuplicateEngineIDStaysPending(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2, pending: true, engine: func(i int, o *fakeengine.Options) {
		o.ID = "SAME:ID"
	}})
	require.Eventually(t, func() bool { return l.healthy() == 1 }, 5*time.Second, 5*time.Millisecond)
	var dup cluster.Node
	require.Eventually(t, func() bool {
		for _, n := range l.c.Nodes() {
			if n.State == scheduler.NodePending && n.Err != "" {
				dup = n
				return true
			}
		}
		return false
	}, 5*time.Second, 5*time.Millisecond)
	assert.Contains(t, dup.Err, l.engines[0].Addr())
	assert.Contains(t, dup.Err, l.engines[1].Addr())
	assert.Contains(t, dup.Err, "/etc/docker/key.json")
	assert.Contains(t, dup.Err, "delete /etc/docker/key.json")

	// Fixing the clone (a new ID) lets it in without restarting the manager.
	for _, e := range l.engines {
		if e.Addr() == dup.Addr {
			e.SetID("OTHER:ID")
		}
	}
	l.waitHealthy(2)
}

func TestReadYourWrites(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2})
	ctx := context.Background()
	db, err := l.c.CreateContainer(ctx, run("db", "redis"))
	require.NoError(t, err)
	assert.Equal(t, []string{"/db"}, db.Summary.Names)

	web := run("web", "busybox")
	web.HostConfig.Links = []string{"db:database"}
	web.HostConfig.PortBindings = nat.PortMap{"80/tcp": {{HostPort: "8080"}}}
	web.Config.ExposedPorts = nat.PortSet{"80/tcp": {}}
	w, err := l.c.CreateContainer(ctx, web)
	require.NoError(t, err)
	assert.Equal(t, db.Node.Name, w.Node.Name, "a link places next to its target")

	// No waiting: every read below is right the moment the call returned.
	got, err := l.c.Container("web/database")
	require.NoError(t, err)
	assert.Equal(t, db.Summary.ID, got.Summary.ID)
	got, err = l.c.Container("db")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"/db", "/web/database"}, got.Summary.Names)

	require.NoError(t, l.c.RenameContainer(ctx, "web", "front"))
	_, err = l.c.Container("web")
	assert.ErrorIs(t, err, cluster.ErrNotFound)
	f, err := l.c.Container("front")
	require.NoError(t, err)
	assert.Equal(t, w.Summary.ID, f.Summary.ID)

	// A new container may take the freed name at once.
	_, err = l.c.CreateContainer(ctx, run("web", "busybox"))
	require.NoError(t, err)

	require.NoError(t, l.c.RemoveContainer(ctx, "front", true, false))
	_, err = l.c.Container("front")
	assert.ErrorIs(t, err, cluster.ErrNotFound)
	assert.NotContains(t, l.names(), "/front")
}

func TestCreateErrors(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2})
	ctx := context.Background()
	_, err := l.c.CreateContainer(ctx, run("taken", "busybox"))
	require.NoError(t, err)
	tests := []struct {
		name  string
		req   cluster.CreateRequest
		check func(t *testing.T, err error)
	}{
		{"missing image", run("", "nosuchimage:1"), func(t *testing.T, err error) {
			assert.ErrorIs(t, err, cluster.ErrImageNotFound)
			assert.EqualError(t, err, "No such image: nosuchimage:1")
		}},
		{"name conflict", run("taken", "busybox"), func(t *testing.T, err error) {
			assert.ErrorIs(t, err, cluster.ErrNameConflict)
			assert.ErrorContains(t, err, `"/taken" is already in use`)
			assert.True(t, strings.HasSuffix(err.Error(), "to be able to reuse that name."), "the CLI shows the engine's own wording: %v", err)
		}},
		{"bad name", run("bad name", "busybox"), func(t *testing.T, err error) {
			assert.ErrorIs(t, err, cluster.ErrInvalidRequest)
		}},
		{"bad expression", func() cluster.CreateRequest {
			r := run("", "busybox")
			r.Config.Env = []string{"constraint:zone=~x"}
			return r
		}(), func(t *testing.T, err error) {
			var ee *scheduler.ExprError
			assert.ErrorAs(t, err, &ee)
		}},
		{"no fit", func() cluster.CreateRequest {
			r := run("", "busybox")
			r.Config.Env = []string{"constraint:zone==nowhere"}
			return r
		}(), func(t *testing.T, err error) {
			var nf *cluster.NoFitError
			require.ErrorAs(t, err, &nf)
			assert.Contains(t, nf.Error(), scheduler.NoNodeMessage)
			assert.Contains(t, nf.Error(), "zone==nowhere")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.c.CreateContainer(ctx, tt.req)
			require.Error(t, err)
			tt.check(t, err)
		})
	}
	// Failed creates leave nothing behind.
	assert.Len(t, l.c.Containers(), 1)
	for _, n := range l.c.Nodes() {
		assert.Zero(t, n.ReservedCPUs)
	}
}

func TestContainerRefs(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2})
	a := l.runOutside(0, "same")
	l.runOutside(1, "same") // direct engine access can duplicate a name across nodes
	require.Eventually(t, func() bool { return len(l.c.Containers()) == 2 }, 5*time.Second, 5*time.Millisecond)
	_, err := l.c.Container("same")
	var amb *cluster.AmbiguousError
	require.ErrorAs(t, err, &amb)
	assert.Len(t, amb.Candidates, 2)
	c, err := l.c.Container("node0/same")
	require.NoError(t, err)
	assert.Equal(t, a, c.Summary.ID)
	c, err = l.c.Container(a[:12])
	require.NoError(t, err)
	assert.Equal(t, a, c.Summary.ID)
	_, err = l.c.Container("ghost")
	assert.True(t, errors.Is(err, cluster.ErrNotFound))

	// Removing one of the two leaves the name taken by the other.
	require.NoError(t, l.c.RemoveContainer(context.Background(), "node0/same", true, false))
	_, err = l.c.CreateContainer(context.Background(), run("same", "busybox"))
	assert.ErrorIs(t, err, cluster.ErrNameConflict)
}

// goroutinesIn counts the goroutines whose stack holds fn.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	k := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			k++
		}
	}
	return k
}

// At rest an engine costs one goroutine (its event stream's reader);
// events are applied on a goroutine that ends with the work.
func TestOneGoroutinePerEngineAtRest(t *testing.T) {
	const nodes = 5
	l := newLab(t, labOptions{nodes: nodes})
	idle := func() bool { return goroutinesIn("cluster.(*Cluster).apply(") == 0 }
	require.Eventually(t, idle, 5*time.Second, 5*time.Millisecond, "no applying goroutine once synced")
	assert.Equal(t, nodes, goroutinesIn("cluster.(*Cluster).watch("), "one stream reader per engine")
	// A heartbeat's goroutine lives while its engine is asked (every 20-100
	// ms here), so the count is the readers and the schedule only between
	// beats; a goroutine that stays would keep it above that for good.
	var k int
	require.Eventually(t, func() bool { k = goroutinesIn("swarmlab/swarm/cluster."); return k == nodes+1 },
		5*time.Second, time.Millisecond, "the readers and the heartbeat schedule, nothing else (last %d)", k)

	id := l.runOutside(1, "seen")
	require.Eventually(t, func() bool {
		c, err := l.c.Container(id)
		return err == nil && c.Summary.State == "running"
	}, 5*time.Second, 5*time.Millisecond, "the engine's events were applied")
	require.Eventually(t, idle, 5*time.Second, 5*time.Millisecond, "and the applying goroutine ended")
}
