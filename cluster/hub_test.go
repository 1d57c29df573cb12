package cluster

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ev(nano int64, id string) Event {
	return Event{Message: events.Message{Type: events.ContainerEventType, Action: events.ActionStart,
		Actor: events.Actor{ID: id}, Time: nano / 1e9, TimeNano: nano}}
}

func TestHubReplayBySince(t *testing.T) {
	tests := []struct {
		name    string
		history int
		publish int
		since   int64 // nanos; 0 = zero time
		want    []string
	}{
		{name: "zero since replays nothing", history: 10, publish: 3, since: 0, want: nil},
		{name: "since before everything replays all", history: 10, publish: 3, since: 1, want: []string{"e1", "e2", "e3"}},
		{name: "since is inclusive", history: 10, publish: 3, since: 2000, want: []string{"e2", "e3"}},
		{name: "ring keeps only the last N", history: 2, publish: 5, since: 1, want: []string{"e4", "e5"}},
		{name: "since after everything", history: 10, publish: 3, since: 9000, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHub(tt.history, 4)
			for i := 1; i <= tt.publish; i++ {
				h.publish(ev(int64(i)*1000, fmt.Sprintf("e%d", i)))
			}
			var since time.Time
			if tt.since != 0 {
				since = time.Unix(0, tt.since)
			}
			replay, sub := h.subscribe(since)
			defer sub.Close()
			var got []string
			for _, e := range replay {
				got = append(got, e.Actor.ID)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestHubDropsSlowSubscriberOnly(t *testing.T) {
	h := newHub(100, 2)
	_, slow := h.subscribe(time.Time{})
	_, fast := h.subscribe(time.Time{})
	for i := 1; i <= 5; i++ {
		h.publish(ev(int64(i), fmt.Sprintf("e%d", i)))
		got := <-fast.C // the fast one keeps up
		assert.Equal(t, fmt.Sprintf("e%d", i), got.Actor.ID)
	}
	// The slow one never read: after 2 buffered events it is dropped.
	var slowGot []string
	for e := range slow.C {
		slowGot = append(slowGot, e.Actor.ID)
	}
	assert.Equal(t, []string{"e1", "e2"}, slowGot)
	assert.ErrorIs(t, slow.Err(), ErrSlowSubscriber)
	assert.NoError(t, fast.Err())
	fast.Close()
}

func TestHubSubscribeIsAtomic(t *testing.T) {
	// Concurrent publishing while subscribing: replay+live has every
	// event after since exactly once, in order.
	h := newHub(10000, 10000)
	const total = 2000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= total; i++ {
			h.publish(ev(int64(i), fmt.Sprint(i)))
		}
	}()
	replay, sub := h.subscribe(time.Unix(0, 1))
	wg.Wait()
	h.close()
	var ids []int64
	for _, e := range replay {
		ids = append(ids, e.TimeNano)
	}
	for e := range sub.C {
		ids = append(ids, e.TimeNano)
	}
	require.Len(t, ids, total)
	for i, id := range ids {
		assert.Equal(t, int64(i+1), id)
	}
	assert.ErrorIs(t, sub.Err(), ErrStopped)
}

func TestSubscriptionCloseIdempotent(t *testing.T) {
	h := newHub(10, 1)
	_, sub := h.subscribe(time.Time{})
	sub.Close()
	sub.Close()
	_, open := <-sub.C
	assert.False(t, open)
	assert.NoError(t, sub.Err())
	h.publish(ev(1, "x")) // must not panic on the closed channel
}

func BenchmarkHubPublish(b *testing.B) {
	for _, subs := range []int{1, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			h := newHub(DefaultEventHistory, b.N+1)
			for range subs {
				h.subscribe(time.Time{})
			}
			e := ev(1, "x")
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				h.publish(e)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func TestSubscribersShareOneMemoPerLiveEvent(t *testing.T) {
	h := newHub(10, 4)
	_, a := h.subscribe(time.Time{})
	_, b := h.subscribe(time.Time{})
	h.publish(ev(1000, "x"))
	ea, eb := <-a.C, <-b.C
	require.NotNil(t, ea.Memo)
	assert.Same(t, ea.Memo, eb.Memo)
	calls := 0
	f := func() any { calls++; return calls }
	assert.Equal(t, 1, ea.Memo.Do(f))
	assert.Equal(t, 1, eb.Memo.Do(f), "computed once for both")
	replay, c := h.subscribe(time.Unix(0, 1))
	require.Len(t, replay, 1)
	assert.Nil(t, replay[0].Memo, "the ring keeps no memo")
	var none *Memo
	assert.Equal(t, 2, none.Do(f), "a nil memo computes every time")
	a.Close()
	b.Close()
	c.Close()
}

// Every subscriber gets the same *Event for a live event, so a buffer
// costs a pointer a slot; the ring keeps its own copy, without the Memo.
func TestHubSharesLiveEvents(t *testing.T) {
	h := newHub(10, 4)
	_, a := h.subscribe(time.Time{})
	defer a.Close()
	_, b := h.subscribe(time.Time{})
	defer b.Close()
	h.publish(ev(1000, "e1"))
	ea, eb := <-a.C, <-b.C
	require.NotNil(t, ea)
	assert.Same(t, ea, eb, "one *Event for all subscribers")
	assert.Equal(t, "e1", ea.Actor.ID)
	assert.NotNil(t, ea.Memo, "live events carry the shared Memo")
	replay, c := h.subscribe(time.Unix(0, 1))
	defer c.Close()
	require.Len(t, replay, 1)
	assert.Nil(t, replay[0].Memo, "the ring's copy has no Memo")
}

// BenchmarkHubSubscribe is what one subscriber costs with the default
// buffer, before any event.
func BenchmarkHubSubscribe(b *testing.B) {
	h := newHub(DefaultEventHistory, DefaultSubscriberBuffer)
	b.ReportAllocs()
	for b.Loop() {
		_, s := h.subscribe(time.Time{})
		s.Close()
	}
}
