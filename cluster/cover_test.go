package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fixture's container started at 2024-01-02T03:04:06Z (inspectFixture).
var fixtureStart = time.Date(2024, 1, 2, 3, 4, 6, 0, time.UTC)

func at(typ events.Type, action events.Action, t time.Time) events.Message {
	return events.Message{Type: typ, Action: action, TimeNano: t.UnixNano(), Time: t.Unix()}
}

func TestCovered(t *testing.T) {
	running := fromInspect(inspectFixture("web", container.StateRunning, nil, nil))
	exited := fromInspect(inspectFixture("web", container.StateExited, nil, nil))
	stop := fixtureStart.Add(time.Minute)
	exited.finishedAt = stop.UnixNano()
	ms := time.Millisecond
	tests := []struct {
		name string
		e    *entry
		m    events.Message
		want bool
	}{
		{"connect before the start the inspect shows", running, at(events.NetworkEventType, events.ActionConnect, fixtureStart.Add(-ms)), true},
		{"the start event logged just after StartedAt", running, at(events.ContainerEventType, events.ActionStart, fixtureStart.Add(ms)), true},
		{"a restart event of that start", running, at(events.ContainerEventType, events.ActionRestart, fixtureStart.Add(ms)), true},
		{"a start long after: another start", running, at(events.ContainerEventType, events.ActionStart, fixtureStart.Add(2*time.Second)), false},
		{"a pause after the start", running, at(events.ContainerEventType, events.ActionPause, fixtureStart.Add(ms)), false},
		{"a die after the start the inspect shows", running, at(events.ContainerEventType, events.ActionDie, fixtureStart.Add(ms)), false},
		{"die just after FinishedAt", exited, at(events.ContainerEventType, events.ActionDie, stop.Add(ms)), true},
		{"stop just after FinishedAt", exited, at(events.ContainerEventType, events.ActionStop, stop.Add(2*ms)), true},
		{"kill before FinishedAt", exited, at(events.ContainerEventType, events.ActionKill, stop.Add(-ms)), true},
		{"a start after the stop the inspect shows", exited, at(events.ContainerEventType, events.ActionStart, stop.Add(ms)), false},
		{"disconnect after the stop", exited, at(events.NetworkEventType, events.ActionDisconnect, stop.Add(ms)), false},
		{"an event without a timestamp", running, events.Message{Type: events.ContainerEventType, Action: events.ActionStart}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, covered(tt.e, tt.m))
		})
	}
	created := fromInspect(inspectFixture("web", container.StateCreated, nil, nil))
	created.startedAt = 0
	assert.False(t, covered(created, at(events.ContainerEventType, events.ActionStart, time.Now())),
		"a never-started container's zero StartedAt covers nothing")
	assert.False(t, coveredAll(running, nil), "no events: nothing to cover")
}

// A forwarded start is followed by the API's refresh and by the engine's
// connect and start events: the refresh's inspect answers for all of them.
func TestEventsCoveredByARefreshAreNotInspectedAgain(t *testing.T) {
	c := bareCluster(t, 1)
	var n *node
	for _, n = range c.nodes {
	}
	eng := &countingEngine{state: container.StateRunning}
	n.eng = eng
	n.apiVersion = "1.41"
	c.seq.Store(100)
	require.NoError(t, c.inspect(context.Background(), n, "id-web")) // the refresh, seq 101
	require.EqualValues(t, 1, eng.inspects.Load())

	connect := at(events.NetworkEventType, events.ActionConnect, fixtureStart.Add(-time.Millisecond))
	connect.Actor = events.Actor{ID: "net1", Attributes: map[string]string{"container": "id-web"}}
	start := at(events.ContainerEventType, events.ActionStart, fixtureStart.Add(time.Millisecond))
	start.Actor.ID = "id-web"
	// Received after the refresh was requested (seq 200 > 101).
	c.handleEvents(context.Background(), n, []received{{connect, 200}, {start, 201}})
	assert.EqualValues(t, 1, eng.inspects.Load(), "covered by the refresh's inspect")

	rename := at(events.ContainerEventType, events.ActionRename, fixtureStart.Add(time.Minute))
	rename.Actor.ID = "id-web"
	c.handleEvents(context.Background(), n, []received{{rename, 300}})
	assert.EqualValues(t, 2, eng.inspects.Load(), "a rename is not covered")
}

// blockingEngine holds inspects until released.
type blockingEngine struct {
	countingEngine
	entered chan struct{}
	release chan struct{}
}

func (b *blockingEngine) InspectContainer(ctx context.Context, id string) (container.InspectResponse, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.countingEngine.InspectContainer(ctx, id)
}

// An event batch waits for an inspect of its container that is under way
// and was requested after the events arrived, instead of asking again.
func TestEventsWaitForAnInspectUnderWay(t *testing.T) {
	c := bareCluster(t, 1)
	var n *node
	for _, n = range c.nodes {
	}
	eng := &blockingEngine{countingEngine: countingEngine{state: container.StateRunning},
		entered: make(chan struct{}, 2), release: make(chan struct{})}
	n.eng = eng
	n.apiVersion = "1.41"
	c.seq.Store(100)
	rename := at(events.ContainerEventType, events.ActionRename, time.Now())
	rename.Actor.ID = "id-web"

	refreshed := make(chan error, 1)
	go func() { refreshed <- c.inspect(context.Background(), n, "id-web") }() // seq 101
	<-eng.entered
	applied := make(chan struct{})
	go func() {
		defer close(applied)
		c.handleEvents(context.Background(), n, []received{{rename, 50}}) // received before 101
	}()
	select {
	case <-applied:
		t.Fatal("the batch was applied before the inspect under way answered")
	case <-eng.entered:
		t.Fatal("the batch asked for a second inspect")
	case <-time.After(50 * time.Millisecond):
	}
	close(eng.release)
	require.NoError(t, <-refreshed)
	<-applied
	assert.EqualValues(t, 1, eng.inspects.Load())
	got, err := c.Container("id-web")
	require.NoError(t, err)
	assert.Equal(t, container.StateRunning, got.Summary.State)

	// Received after the inspect was requested: that one cannot answer it.
	late := make(chan struct{})
	go func() {
		defer close(late)
		c.handleEvents(context.Background(), n, []received{{rename, 500}})
	}()
	<-eng.entered
	<-late
	assert.EqualValues(t, 2, eng.inspects.Load())
}

// The engine logs a start's events before it answers the start, so for a
// container created through the manager (partial: never inspected) the
// batch waits briefly for the API's refresh to begin instead of
// inspecting the container twice; with no refresh coming it inspects.
func TestEventsOfANewContainerWaitForTheStartsRefresh(t *testing.T) {
	for _, refresh := range []bool{true, false} {
		t.Run(map[bool]string{true: "refresh follows", false: "no refresh"}[refresh], func(t *testing.T) {
			c := bareCluster(t, 1)
			var n *node
			for _, n = range c.nodes {
			}
			eng := &countingEngine{state: container.StateRunning}
			n.eng = eng
			n.apiVersion = "1.41"
			c.mu.Lock()
			e := placeholder("id-web", "web", &container.Config{Image: "redis"}, &container.HostConfig{})
			e.seq = 10
			c.storeLocked(n, e)
			c.mu.Unlock()
			c.seq.Store(100)
			_, sub := c.Subscribe(time.Time{})
			defer sub.Close()
			start := at(events.ContainerEventType, events.ActionStart, time.Now())
			start.Actor.ID = "id-web"

			refreshed := make(chan struct{})
			if refresh {
				// The API's refresh, a moment after the events arrived.
				time.AfterFunc(5*time.Millisecond, func() {
					defer close(refreshed)
					_ = c.inspect(context.Background(), n, "id-web")
				})
			} else {
				close(refreshed)
			}
			c.handleEvents(context.Background(), n, []received{{start, 50}})
			<-refreshed

			assert.EqualValues(t, 1, eng.inspects.Load(), "one inspect, whoever makes it")
			got, err := c.Container("id-web")
			require.NoError(t, err)
			assert.Equal(t, container.StateRunning, got.Summary.State, "the cache is right before the event is published")
			select {
			case ev := <-sub.C:
				assert.Equal(t, events.ActionStart, ev.Action)
			default:
				t.Fatal("the start event was not published")
			}
		})
	}
}

// Placement reads no container state, so a start or stop alone does not
// Put the node again; a change placement sees does.
func TestStateAloneDoesNotPutTheNode(t *testing.T) {
	c := bareCluster(t, 1)
	var n *node
	for _, n = range c.nodes {
	}
	store := func(state container.ContainerState, labels map[string]string) {
		c.mu.Lock()
		defer c.mu.Unlock()
		e := fromInspect(inspectFixture("web", state, &container.Config{Image: "redis", Labels: labels}, nil))
		e.seq = c.nextSeqLocked()
		if c.storeLocked(n, e) {
			c.putNodeLocked(n)
		}
	}
	store(container.StateCreated, map[string]string{"app": "a"})
	v := c.snap.Version()
	store(container.StateRunning, map[string]string{"app": "a"})
	assert.Equal(t, v, c.snap.Version(), "created → running: no Put")
	store(container.StateExited, map[string]string{"app": "b"})
	assert.Greater(t, c.snap.Version(), v, "a label change is placed again")
	got, err := c.Container("web")
	require.NoError(t, err)
	assert.Equal(t, container.StateExited, got.Summary.State, "the cache itself is always current")
}
