package cluster

import (
	"context"
	"errors"
	"testing"

	"github.com/docker/docker/api/types/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDedupe(t *testing.T) {
	d := newDedupe()
	a := events.Message{Type: "container", Action: "start", Actor: events.Actor{ID: "a"}, TimeNano: 10}
	b := a
	b.Actor.ID = "b" // same time, other container: distinct
	c := a
	c.Action = "die"
	assert.True(t, d.add(a))
	assert.True(t, d.add(b))
	assert.True(t, d.add(c))
	assert.False(t, d.add(a), "replayed event must be dropped")
	assert.False(t, d.add(b))
	// Old keys are pruned only far behind the newest event.
	for i := range 5000 {
		d.add(events.Message{Type: "container", Action: "start", Actor: events.Actor{ID: "x"}, TimeNano: 10 + int64(i)})
	}
	assert.False(t, d.add(events.Message{Type: "container", Action: "start", Actor: events.Actor{ID: "x"}, TimeNano: 5009}))
}

func TestQueueOrderAndEnd(t *testing.T) {
	var stamps uint64
	q := newQueue(func() uint64 { stamps++; return stamps })
	for i := range 3 {
		q.push(events.Message{TimeNano: int64(i)})
	}
	q.end(errors.New("stream cut"))
	resync := make(chan struct{}, 1)
	items, isResync, err := q.pop(context.Background(), resync, nil)
	require.NoError(t, err)
	assert.False(t, isResync)
	require.Len(t, items, 3, "everything queued comes out as one batch")
	for i, it := range items {
		assert.Equal(t, int64(i), it.m.TimeNano, "in stream order")
		assert.Equal(t, uint64(i+1), it.seq, "numbered on arrival")
	}
	_, _, err = q.pop(context.Background(), resync, nil)
	assert.EqualError(t, err, "stream cut")
	signal(resync)
	_, isResync, err = q.pop(context.Background(), resync, nil)
	assert.NoError(t, err)
	assert.True(t, isResync, "a resync request comes before anything else")
}

func TestQueueEndWithoutReasonStillEnds(t *testing.T) {
	q := newQueue(func() uint64 { return 0 })
	q.end(nil)
	_, _, err := q.pop(context.Background(), make(chan struct{}), nil)
	assert.ErrorIs(t, err, errStreamEnded, "a nil end must not leave pop waiting forever")
}

func TestQueuePopWaitsForPush(t *testing.T) {
	q := newQueue(func() uint64 { return 7 })
	got := make(chan []received, 1)
	go func() {
		items, _, err := q.pop(context.Background(), make(chan struct{}), nil)
		assert.NoError(t, err)
		got <- items
	}()
	q.push(events.Message{Action: "start"})
	items := <-got
	require.Len(t, items, 1)
	assert.Equal(t, events.Action("start"), items[0].m.Action)
	assert.Equal(t, uint64(7), items[0].seq)
}
