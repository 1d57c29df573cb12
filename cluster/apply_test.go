package cluster

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/scheduler"
)

// countingEngine answers inspects from a fixed state and counts the calls
// the event applier makes. Methods it does not override panic (nil Engine).
type countingEngine struct {
	Engine
	state    container.ContainerState
	inspects atomic.Int32
	networks atomic.Int32
}

func (f *countingEngine) InspectContainer(_ context.Context, id string) (container.InspectResponse, error) {
	f.inspects.Add(1)
	in := inspectFixture(id[len("id-"):], f.state, nil, nil)
	return in, nil
}

func (f *countingEngine) Networks(context.Context) ([]network.Summary, error) {
	f.networks.Add(1)
	return nil, nil
}

// countingCluster is a one-node cluster whose engine, speaking API version
// v, answers inspects with a running container and counts them.
func countingCluster(t *testing.T, v string) (*Cluster, *node, *countingEngine) {
	c := bareCluster(t, 1)
	var n *node
	for _, n = range c.nodes {
	}
	eng := &countingEngine{state: container.StateRunning}
	n.eng = eng
	n.setAPIVersion(v)
	return c, n, eng
}

func TestHandleEventsInspectsOnlyWhatTheCacheCannotAnswer(t *testing.T) {
	ev := func(action events.Action, id string) events.Message {
		return events.Message{Type: events.ContainerEventType, Action: action, Actor: events.Actor{ID: id}}
	}
	connect := func(id string) events.Message {
		return events.Message{Type: events.NetworkEventType, Action: events.ActionConnect,
			Actor: events.Actor{ID: "net1", Attributes: map[string]string{"container": id, "name": "bridge"}}}
	}
	tests := []struct {
		name         string
		apiVersion   string
		cached       map[string]uint64 // container name → seq of its cached inspect
		batch        []received
		wantInspects int32
		wantNetworks int32
		wantState    container.ContainerState // of id-web afterwards
	}{
		{"event received before the cached inspect was requested", "1.41",
			map[string]uint64{"web": 10}, []received{{ev(events.ActionStart, "id-web"), 5}}, 0, 0, container.StateCreated},
		{"event received after it", "1.41",
			map[string]uint64{"web": 10}, []received{{ev(events.ActionStart, "id-web"), 20}}, 1, 0, container.StateRunning},
		{"create of a container already inspected", "1.41",
			map[string]uint64{"web": 2}, []received{{ev(events.ActionCreate, "id-web"), 30}}, 0, 0, container.StateCreated},
		{"create of an unknown container", "1.41",
			nil, []received{{ev(events.ActionCreate, "id-web"), 30}}, 1, 0, container.StateRunning},
		{"create, connect and start: one inspect", "1.41",
			map[string]uint64{"web": 2}, []received{{ev(events.ActionCreate, "id-web"), 30}, {connect("id-web"), 31}, {ev(events.ActionStart, "id-web"), 32}},
			1, 0, container.StateRunning},
		{"connect re-lists networks where the listing names containers", "1.24",
			map[string]uint64{"web": 2}, []received{{connect("id-web"), 40}}, 1, 1, container.StateRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, n, eng := countingCluster(t, tt.apiVersion)
			c.mu.Lock()
			for name, seq := range tt.cached {
				e := fromInspect(inspectFixture(name, container.StateCreated, nil, nil))
				e.seq = seq
				c.storeLocked(n, e)
			}
			c.mu.Unlock()
			c.seq.Store(100)
			_, sub := c.Subscribe(time.Time{})
			defer sub.Close()

			c.handleEvents(context.Background(), n, tt.batch)

			assert.Equal(t, tt.wantInspects, eng.inspects.Load(), "inspects")
			assert.Equal(t, tt.wantNetworks, eng.networks.Load(), "network listings")
			got, err := c.Container("id-web")
			require.NoError(t, err)
			assert.Equal(t, tt.wantState, got.Summary.State)
			for _, it := range tt.batch {
				select {
				case e := <-sub.C:
					assert.Equal(t, it.m.Action, e.Action, "published in order")
				default:
					t.Fatalf("event %s not published", it.m.Action)
				}
			}
		})
	}
}

// webEvent is an event of container id-web.
func webEvent(action events.Action) events.Message {
	return events.Message{Type: events.ContainerEventType, Action: action, Actor: events.Actor{ID: "id-web"}}
}

// cacheWeb caches container web, in state, as inspected at seq.
func cacheWeb(c *Cluster, n *node, state container.ContainerState, seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := fromInspect(inspectFixture("web", state, nil, nil))
	e.seq = seq
	c.storeLocked(n, e)
}

// applyAfter applies evs as one batch received after sequence number seq.
func applyAfter(c *Cluster, n *node, seq uint64, evs []events.Message) {
	c.seq.Store(seq)
	batch := make([]received, len(evs))
	for i, m := range evs {
		batch[i] = received{m: m, seq: seq + 1 + uint64(i)}
	}
	c.handleEvents(context.Background(), n, batch)
}

// Pause and unpause change a container's state and nothing else: the
// cache applies them from the events, before they are published, without
// asking the engine; any batch it cannot answer that way is inspected.
func TestPauseAndUnpauseNeedNoInspect(t *testing.T) {
	ev := webEvent
	pause, unpause := ev(events.ActionPause), ev(events.ActionUnPause)
	tests := []struct {
		name         string
		cached       container.ContainerState
		seq          uint64 // of the cached inspect
		batch        []events.Message
		wantInspects int32
		wantState    container.ContainerState
		wantPaused   int
	}{
		{"pause of a running container", container.StateRunning, 10, []events.Message{pause}, 0, container.StatePaused, 1},
		{"unpause of a paused container", container.StatePaused, 10, []events.Message{unpause}, 0, container.StateRunning, 0},
		{"pause, unpause, pause", container.StateRunning, 10, []events.Message{pause, unpause, pause}, 0, container.StatePaused, 1},
		// The engine answers inspects with "running" in this test.
		{"unpause of a container the cache holds running", container.StateRunning, 10, []events.Message{unpause}, 1, container.StateRunning, 0},
		{"pause of an exited container", container.StateExited, 10, []events.Message{pause}, 1, container.StateRunning, 0},
		{"pause with another event", container.StateRunning, 10, []events.Message{pause, ev(events.ActionRename)}, 1, container.StateRunning, 0},
		{"pause already in the cached inspect", container.StatePaused, 200, []events.Message{pause}, 0, container.StatePaused, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, n, eng := countingCluster(t, "1.41")
			cacheWeb(c, n, tt.cached, tt.seq)
			before, err := c.Container("id-web")
			require.NoError(t, err)
			_, sub := c.Subscribe(time.Time{})
			defer sub.Close()
			applyAfter(c, n, 100, tt.batch)

			assert.Equal(t, tt.wantInspects, eng.inspects.Load(), "inspects")
			got, err := c.Container("id-web")
			require.NoError(t, err)
			assert.Equal(t, tt.wantState, got.Summary.State)
			assert.Equal(t, tt.wantPaused, c.Nodes()[0].Paused, "paused count")
			if tt.wantInspects == 0 && tt.wantState != tt.cached {
				assert.NotEqual(t, before.Rev, got.Rev, "a new revision: listings re-render it")
				if tt.wantState == container.StatePaused {
					assert.Contains(t, got.Summary.Status, "(Paused)")
				}
			}
			for _, m := range tt.batch {
				select {
				case e := <-sub.C:
					assert.Equal(t, m.Action, e.Action, "published in order")
				default:
					t.Fatalf("event %s not published", m.Action)
				}
			}
		})
	}
}

// A health check's verdict changes the health the listing shows and
// nothing else: it is applied from the event too.
func TestHealthVerdictsNeedNoInspect(t *testing.T) {
	ev := webEvent
	healthy, unhealthy := ev(events.ActionHealthStatusHealthy), ev(events.ActionHealthStatusUnhealthy)
	tests := []struct {
		name         string
		cached       container.ContainerState
		batch        []events.Message
		wantInspects int32
		wantStatus   string // contained in the listing's Status
	}{
		{"healthy", container.StateRunning, []events.Message{healthy}, 0, "(healthy)"},
		{"unhealthy", container.StateRunning, []events.Message{unhealthy}, 0, "(unhealthy)"},
		{"healthy, then unhealthy", container.StateRunning, []events.Message{healthy, unhealthy}, 0, "(unhealthy)"},
		{"healthy and paused", container.StateRunning, []events.Message{healthy, ev(events.ActionPause)}, 0, "(Paused)"},
		// The engine answers inspects with a running container without a health check.
		{"a verdict on an exited container", container.StateExited, []events.Message{healthy}, 1, "Up"},
		{"a free-form health_status", container.StateRunning, []events.Message{ev("health_status: exec failed")}, 1, "Up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, n, eng := countingCluster(t, "1.41")
			cacheWeb(c, n, tt.cached, 10)
			applyAfter(c, n, 100, tt.batch)
			assert.Equal(t, tt.wantInspects, eng.inspects.Load(), "inspects")
			got, err := c.Container("id-web")
			require.NoError(t, err)
			assert.Contains(t, got.Summary.Status, tt.wantStatus)
		})
	}
}

// An inspect requested before a pause arrived cannot undo what the pause
// applied; one requested after it can.
func TestPauseAppliedFromTheEventOutranksOlderInspects(t *testing.T) {
	c, n, _ := countingCluster(t, "1.41")
	cacheWeb(c, n, container.StateRunning, 10)
	c.handleEvents(context.Background(), n, []received{{webEvent(events.ActionPause), 50}})

	cacheWeb(c, n, container.StateRunning, 40)
	got, err := c.Container("id-web")
	require.NoError(t, err)
	assert.Equal(t, container.StatePaused, got.Summary.State, "an inspect requested before the pause arrived")

	cacheWeb(c, n, container.StateRunning, 60)
	got, err = c.Container("id-web")
	require.NoError(t, err)
	assert.Equal(t, container.StateRunning, got.Summary.State, "an inspect requested after it")
}

func TestCreateEventWaitsForOurCreateInsteadOfInspecting(t *testing.T) {
	c := bareCluster(t, 1)
	res, hasImage, err := c.reserve(&scheduler.Request{Name: "web", Image: "busybox:latest"}, nil)
	require.NoError(t, err)
	require.True(t, hasImage, "no pull: the create is registered as under way")
	eng := &countingEngine{state: container.StateRunning}
	res.n.eng = eng
	c.seq.Store(100)

	done, started := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		close(started)
		c.handleEvents(context.Background(), res.n, []received{{events.Message{Type: events.ContainerEventType,
			Action: events.ActionCreate, Actor: events.Actor{ID: "id-web"}}, 5}})
	}()
	<-started
	runtime.Gosched() // let the applier reach the container before the create settles
	// What createOn does once the engine answered and the inspect is in.
	c.mu.Lock()
	e := fromInspect(inspectFixture("web", container.StateCreated, nil, nil))
	e.seq = 101
	c.dropReservationLocked(res)
	c.storeLocked(res.n, e)
	res.settleLocked()
	c.mu.Unlock()
	<-done

	assert.Zero(t, eng.inspects.Load(), "the create's own inspect answers for its create event")
	got, err := c.Container("web")
	require.NoError(t, err)
	assert.Equal(t, container.StateCreated, got.Summary.State)
}
