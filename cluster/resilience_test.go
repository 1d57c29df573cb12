package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/go-connections/nat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster"
	"github.com/swarmlab/swarm/cluster/engine"
	"github.com/swarmlab/swarm/scheduler"
)

// eventKey identifies an engine event for comparing streams.
func eventKey(m events.Message) string {
	return fmt.Sprintf("%d %s %s %s", m.TimeNano, m.Type, m.Action, m.Actor.ID)
}

func TestZeroLostEventsOverForcedDrops(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2})
	_, sub := l.c.Subscribe(time.Time{})
	defer sub.Close()
	start := len(l.engines[0].Events())

	const rounds = 40
	drops := 0
	for i := range rounds {
		l.runOutside(0, fmt.Sprintf("c%d", i))
		if i%2 == 0 {
			// Cut the stream right after the events, before the manager
			// may have read them.
			require.Eventually(t, func() bool { return l.engines[0].EventStreams() == 1 }, 5*time.Second, time.Millisecond)
			drops += l.engines[0].DropEventStreams()
		}
	}
	require.Equal(t, rounds/2, drops, "the test must really break the stream")
	want := l.engines[0].Events()[start:]

	var got []cluster.Event
	collect(t, sub, &got, func(evs []cluster.Event) bool {
		k := 0
		for _, e := range evs {
			if e.Node.Name == "node0" && e.Type != cluster.EngineEventType {
				k++
			}
		}
		return k >= len(want)
	})
	var gotKeys []string
	for _, e := range got {
		if e.Node.Name == "node0" && e.Type != cluster.EngineEventType {
			gotKeys = append(gotKeys, eventKey(e.Message))
		}
	}
	var wantKeys []string
	for _, m := range want {
		wantKeys = append(wantKeys, eventKey(m))
	}
	assert.Equal(t, wantKeys, gotKeys, "every event exactly once, in order")
	// And the cache caught up with all of them.
	require.Eventually(t, func() bool {
		for i := range rounds {
			c, err := l.c.Container(fmt.Sprintf("c%d", i))
			if err != nil || c.Summary.State != container.StateRunning {
				return false
			}
		}
		return true
	}, 5*time.Second, 5*time.Millisecond)
	// No duplicates after things settle either.
	select {
	case e := <-sub.C:
		if e.Type != cluster.EngineEventType {
			t.Fatalf("unexpected extra event %s", eventKey(e.Message))
		}
	default:
	}
}

func TestEngineDeathMidListing(t *testing.T) {
	l := newLab(t, labOptions{nodes: 1})
	for i := range 5 {
		l.runOutside(0, fmt.Sprintf("keep%d", i))
	}
	require.Eventually(t, func() bool { return len(l.c.Containers()) == 5 }, 5*time.Second, 5*time.Millisecond)
	before := l.engines[0].Calls("GET /containers/json")

	// The next listings die half-way; the stream break forces a resync.
	l.engines[0].CutNextListings(2)
	l.engines[0].DropEventStreams()
	require.Eventually(t, func() bool {
		return l.engines[0].Calls("GET /containers/json") >= before+3
	}, 10*time.Second, 5*time.Millisecond, "the cut listing is retried until one completes")
	// A cut listing never empties the cache.
	assert.Len(t, l.c.Containers(), 5)
	l.runOutside(0, "after")
	require.Eventually(t, func() bool { _, err := l.c.Container("after"); return err == nil }, 5*time.Second, 5*time.Millisecond)
	l.waitHealthy(1)
}

func TestEngineStopRestart(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2})
	l.runOutside(0, "survivor")
	require.Eventually(t, func() bool { _, err := l.c.Container("survivor"); return err == nil }, 5*time.Second, 5*time.Millisecond)
	_, sub := l.c.Subscribe(time.Time{})
	defer sub.Close()

	l.engines[0].Stop()
	var got []cluster.Event
	collect(t, sub, &got, func(evs []cluster.Event) bool {
		return countAction(evs, cluster.EngineEventType, cluster.ActionEngineDisconnect) == 1
	})
	n := l.node(0)
	assert.Equal(t, scheduler.NodeUnhealthy, n.State)
	assert.NotEmpty(t, n.Err)
	// Its containers stay listed; placement avoids the node.
	_, err := l.c.Container("survivor")
	assert.NoError(t, err)
	_, err = l.c.Endpoint(n.ID)
	assert.ErrorIs(t, err, cluster.ErrNodeUnavailable)
	for range 3 {
		c, err := l.c.CreateContainer(context.Background(), run("", "busybox"))
		require.NoError(t, err)
		assert.Equal(t, "node1", c.Node.Name)
	}

	require.NoError(t, l.engines[0].Restart())
	collect(t, sub, &got, func(evs []cluster.Event) bool {
		return countAction(evs, cluster.EngineEventType, cluster.ActionEngineReconnect) == 1
	})
	l.waitHealthy(2)
	l.runOutside(0, "afterwards")
	require.Eventually(t, func() bool { _, err := l.c.Container("afterwards"); return err == nil }, 5*time.Second, 5*time.Millisecond)
}

func TestConcurrentCreatesSameName(t *testing.T) {
	l := newLab(t, labOptions{nodes: 3})
	const n = 100
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = l.c.CreateContainer(context.Background(), run("web", "busybox"))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, cluster.ErrNameConflict):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	assert.Equal(t, 1, won)
	total := 0
	for _, e := range l.engines {
		total += e.Calls("POST /containers/create")
	}
	assert.Equal(t, 1, total, "losers never reach an engine")
	assert.Len(t, l.c.Containers(), 1)
}

func TestConcurrentCreatesSamePort(t *testing.T) {
	l := newLab(t, labOptions{nodes: 3})
	const n = 20
	var wg sync.WaitGroup
	nodes := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := run("", "busybox")
			req.Config.ExposedPorts = nat.PortSet{"80/tcp": {}}
			req.HostConfig.PortBindings = nat.PortMap{"80/tcp": {{HostPort: "8080"}}}
			c, err := l.c.CreateContainer(context.Background(), req)
			nodes[i], errs[i] = c.Node.Name, err
		}()
	}
	wg.Wait()
	used := map[string]int{}
	for i, err := range errs {
		if err == nil {
			used[nodes[i]]++
			continue
		}
		var nf *cluster.NoFitError
		if assert.ErrorAs(t, err, &nf) {
			assert.Contains(t, nf.Error(), "8080")
		}
	}
	assert.Equal(t, map[string]int{"node0": 1, "node1": 1, "node2": 1}, used, "one per node")
}

func TestDiscoveryRemovesNode(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2})
	l.runOutside(1, "gone-with-node")
	require.Eventually(t, func() bool { _, err := l.c.Container("gone-with-node"); return err == nil }, 5*time.Second, 5*time.Millisecond)
	_, sub := l.c.Subscribe(time.Time{})
	defer sub.Close()
	l.c.SetMembers([]string{l.engines[0].Addr()})
	var got []cluster.Event
	collect(t, sub, &got, func(evs []cluster.Event) bool {
		return countAction(evs, cluster.EngineEventType, cluster.ActionEngineDisconnect) == 1
	})
	assert.Equal(t, scheduler.NodeDisconnected, got[len(got)-1].Node.State)
	assert.Len(t, l.c.Nodes(), 1)
	_, err := l.c.Container("gone-with-node")
	assert.ErrorIs(t, err, cluster.ErrNotFound)
	require.Eventually(t, func() bool { return l.engines[1].EventStreams() == 0 }, 5*time.Second, 5*time.Millisecond,
		"the removed engine's stream is closed")

	// And it can come back.
	l.c.SetMembers([]string{l.engines[0].Addr(), l.engines[1].Addr()})
	l.waitHealthy(2)
	_, err = l.c.Container("gone-with-node")
	assert.NoError(t, err)
}

func TestStopIsIdempotentAndEndsSubscriptions(t *testing.T) {
	l := newLab(t, labOptions{nodes: 1})
	_, sub := l.c.Subscribe(time.Time{})
	l.c.Stop()
	l.c.Stop()
	_, open := <-sub.C
	assert.False(t, open)
	assert.ErrorIs(t, sub.Err(), cluster.ErrStopped)
	require.Eventually(t, func() bool { return l.engines[0].EventStreams() == 0 }, 5*time.Second, 5*time.Millisecond)
}

func TestPeriodicReconcile(t *testing.T) {
	l := newLab(t, labOptions{nodes: 1, cluster: func(cfg *cluster.Config) {
		cfg.ReconcileInterval = 30 * time.Millisecond
	}})
	before := l.engines[0].Calls("GET /containers/json")
	streams := l.engines[0].Calls("GET /events")
	require.Eventually(t, func() bool {
		return l.engines[0].Calls("GET /containers/json") >= before+3
	}, 10*time.Second, 5*time.Millisecond, "full listings keep coming without any stream break")
	assert.Equal(t, streams, l.engines[0].Calls("GET /events"), "the stream was never reopened")
}

func TestSlowSubscriberIsDroppedWithoutBlocking(t *testing.T) {
	l := newLab(t, labOptions{nodes: 1, cluster: func(cfg *cluster.Config) { cfg.SubscriberBuffer = 8 }})
	_, slow := l.c.Subscribe(time.Time{})
	defer slow.Close()
	_, fast := l.c.Subscribe(time.Time{})
	defer fast.Close()
	var got []cluster.Event
	for i := range 5 {
		l.runOutside(0, fmt.Sprintf("s%d", i)) // 3 events each: fits the fast one's buffer, 5 rounds overflow the slow one
		collect(t, fast, &got, func(evs []cluster.Event) bool {
			return countAction(evs, "container", "start") == i+1
		})
	}
	_, open := <-drainAll(slow.C)
	assert.False(t, open)
	assert.ErrorIs(t, slow.Err(), cluster.ErrSlowSubscriber)
	assert.NoError(t, fast.Err())
}

// drainAll reads ch until it is closed and returns it.
func drainAll(ch <-chan *cluster.Event) <-chan *cluster.Event {
	for range ch {
	}
	return ch
}

func TestFrozenEngineGoesUnhealthyAndBack(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2, cluster: func(cfg *cluster.Config) {
		cfg.Dial = func(addr string) (cluster.Engine, error) {
			return engine.Dial(addr, engine.Options{Timeout: 300 * time.Millisecond})
		}
		cfg.HeartbeatTimeout = 300 * time.Millisecond
	}})
	l.engines[1].SetLatency(3 * time.Second) // answers nothing within the timeout
	require.Eventually(t, func() bool { return l.node(1).State == scheduler.NodeUnhealthy }, 10*time.Second, 10*time.Millisecond)
	assert.Regexp(t, "deadline exceeded|timeout", l.node(1).Err)
	c, err := l.c.CreateContainer(context.Background(), run("", "busybox"))
	require.NoError(t, err)
	assert.Equal(t, "node0", c.Node.Name, "placement avoids the frozen node")

	l.engines[1].SetLatency(0)
	l.waitHealthy(2)
	l.runOutside(1, "thawed")
	require.Eventually(t, func() bool { _, err := l.c.Container("thawed"); return err == nil }, 10*time.Second, 10*time.Millisecond,
		"the event stream works again after the freeze")
}
