package cluster

import (
	"runtime"
	"sync"
	"testing"
	"time"

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

// ran records what the queue's goroutines took, one batch per next.
type ran struct {
	mu       sync.Mutex
	batches  [][]received
	syncs    int
	started  int
	proceed  chan struct{} // nil: never wait
	syncOnly bool
}

func (r *ran) run(q *queue) {
	r.mu.Lock()
	r.started++
	r.mu.Unlock()
	for {
		if r.proceed != nil {
			<-r.proceed
		}
		items, sync, ok := q.next(nil, r.syncOnly)
		if !ok {
			return
		}
		r.mu.Lock()
		if sync {
			r.syncs++
		} else {
			r.batches = append(r.batches, items)
		}
		r.mu.Unlock()
	}
}

func (r *ran) counts() (syncs, batches, started int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.syncs, len(r.batches), r.started
}

func TestQueueOrderAndBatches(t *testing.T) {
	var stamps uint64
	r := &ran{proceed: make(chan struct{})}
	q := newQueue(func() uint64 { stamps++; return stamps }, r.run)
	q.requestSync()
	for i := range 3 {
		q.push(events.Message{TimeNano: int64(i)})
	}
	close(r.proceed) // the goroutine started by the first work takes it all
	q.close()
	syncs, batches, started := r.counts()
	assert.Equal(t, 1, started, "one goroutine for work queued while it runs")
	assert.Equal(t, 1, syncs, "the listing first")
	require.Equal(t, 1, batches, "everything queued comes out as one batch")
	for i, it := range r.batches[0] {
		assert.Equal(t, int64(i), it.m.TimeNano, "in stream order")
		assert.Equal(t, uint64(i+1), it.seq, "numbered on arrival")
	}
	q.push(events.Message{})
	q.requestSync()
	_, _, started = r.counts()
	assert.Equal(t, 1, started, "a closed queue takes no work")
}

// The goroutine ends with the work and the next work starts another.
func TestQueueGoroutineEndsWhenIdle(t *testing.T) {
	r := &ran{}
	q := newQueue(func() uint64 { return 7 }, r.run)
	q.push(events.Message{Action: "start"})
	assert.Eventually(t, func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return !q.running
	}, 5*time.Second, time.Millisecond, "no goroutine once idle")
	q.push(events.Message{Action: "die"})
	q.close()
	syncs, batches, started := r.counts()
	assert.Zero(t, syncs)
	assert.Equal(t, 2, batches)
	assert.Equal(t, 2, started)
	assert.Equal(t, events.Action("die"), r.batches[1][0].m.Action)
	assert.Equal(t, uint64(7), r.batches[1][0].seq)
}

// Until the stream's first listing is done, events wait; a failed listing
// discards them.
func TestQueueEventsWaitForTheListing(t *testing.T) {
	r := &ran{syncOnly: true}
	q := newQueue(func() uint64 { return 1 }, r.run)
	q.push(events.Message{Action: "start"})
	q.requestSync()
	q.close()
	syncs, batches, _ := r.counts()
	assert.Equal(t, 1, syncs)
	assert.Zero(t, batches, "events wait while syncFirst")
	q.discard()
	q.mu.Lock()
	assert.Empty(t, q.items)
	q.mu.Unlock()
}

// Many pushes racing with the goroutine's end lose nothing (go test -race).
func TestQueueLosesNoWakeUp(t *testing.T) {
	r := &ran{}
	q := newQueue(func() uint64 { return 1 }, r.run)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				q.push(events.Message{})
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	q.close()
	r.mu.Lock()
	defer r.mu.Unlock()
	total := 0
	for _, b := range r.batches {
		total += len(b)
	}
	assert.Equal(t, 2000, total)
}
