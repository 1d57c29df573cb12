package fakeengine

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The manager judges by the engine's timestamps whether an inspect already
// reflects an event, so they follow dockerd's order: a start's network
// connects before StartedAt, its start event after; a stop's die event
// after FinishedAt.
func TestEventTimesFollowStateTimes(t *testing.T) {
	e := startEngine(t, Options{})
	cli := sdk(t, e)
	ctx := ctxT(t)
	id, err := e.AddContainer(ContainerSpec{Name: "c1", Image: "busybox"})
	require.NoError(t, err)
	mark := len(e.Events())
	require.NoError(t, cli.ContainerStart(ctx, id, container.StartOptions{}))
	in, err := cli.ContainerInspect(ctx, id)
	require.NoError(t, err)
	started, err := time.Parse(time.RFC3339Nano, in.State.StartedAt)
	require.NoError(t, err)
	evs := e.Events()[mark:]
	require.Len(t, evs, 2)
	assert.Equal(t, events.ActionConnect, evs[0].Action)
	assert.LessOrEqual(t, evs[0].TimeNano, started.UnixNano(), "connect before StartedAt")
	assert.Equal(t, events.ActionStart, evs[1].Action)
	assert.GreaterOrEqual(t, evs[1].TimeNano, started.UnixNano(), "start after StartedAt")

	mark = len(e.Events())
	require.NoError(t, cli.ContainerStop(ctx, id, container.StopOptions{}))
	in, err = cli.ContainerInspect(ctx, id)
	require.NoError(t, err)
	finished, err := time.Parse(time.RFC3339Nano, in.State.FinishedAt)
	require.NoError(t, err)
	for _, m := range e.Events()[mark:] {
		if m.Action == events.ActionDie || m.Action == events.ActionStop {
			assert.GreaterOrEqual(t, m.TimeNano, finished.UnixNano(), "%s after FinishedAt", m.Action)
		}
	}
}
