package cluster

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
)

// watch supervises one engine's event stream until ctx ends: it opens the
// stream (resuming at the last event seen), lists everything to close the
// gap, then applies events one by one. A broken stream is reopened with
// jittered back-off; events the engine replays are deduplicated.
func (c *Cluster) watch(ctx context.Context, n *node) {
	defer c.wg.Done()
	seen := newDedupe()
	var since time.Time
	attempt := 0
	for ctx.Err() == nil {
		if attempt > 0 {
			if !sleep(ctx, backoff(c.streamRetryBase(), c.cfg.RefreshMaxInterval, attempt, c.jitter)) {
				return
			}
		}
		attempt++
		openAt := c.engineNow(n)
		sctx, cancel := context.WithCancel(ctx)
		// The first stream asks for new events only; later ones resume at
		// the newest event seen (or at when the previous stream opened).
		from := since
		if since.IsZero() {
			since = openAt
		}
		// One goroutine reads the stream straight into the queue, so the
		// engine is always read even while events are applied here.
		q := newQueue(c.nextSeq)
		var reader sync.WaitGroup
		reader.Add(1)
		go func() {
			defer reader.Done()
			q.end(n.eng.Events(sctx, from, q.push))
		}()
		if err := c.fullSync(ctx, n); err != nil {
			cancel()
			reader.Wait()
			if ctx.Err() == nil {
				c.log.Warn("engine listing failed; will retry", "addr", n.addr, "err", err)
				c.failNode(n, err)
			}
			continue
		}
		c.markSynced(n)
		attempt = 1
		err := c.drain(ctx, n, q, seen, &since)
		cancel()
		reader.Wait()
		if ctx.Err() == nil {
			c.log.Info("engine event stream broke; resuming", "addr", n.addr, "since", since, "err", err)
		}
	}
}

// maxBatch bounds how many queued events are applied together, so that
// the first of a burst is not published much later than it would be alone.
const maxBatch = 64

// drain applies queued events until the stream ends, advancing since to
// the newest event time. A resync request runs a full listing in between.
// Events queued together are applied as one batch (handleEvents).
func (c *Cluster) drain(ctx context.Context, n *node, q *queue, seen *dedupe, since *time.Time) error {
	var batch []received
	for {
		items, resync, err := q.pop(ctx, n.resync, batch[:0])
		if err != nil {
			return err
		}
		if resync {
			if err := c.fullSync(ctx, n); err != nil {
				c.failNode(n, err)
			} else {
				c.markSynced(n)
			}
			continue
		}
		batch = items[:0]
		for _, it := range items {
			if !seen.add(it.m) {
				continue
			}
			if t := time.Unix(0, eventNano(it.m)); t.After(*since) {
				*since = t
			}
			batch = append(batch, it)
		}
		if len(batch) > 0 {
			c.handleEvents(ctx, n, batch)
		}
		clear(items)
	}
}

// streamRetryBase is the first reconnect delay of a broken event stream:
// short, because dockerd replays only its last 256 events on resume.
func (c *Cluster) streamRetryBase() time.Duration {
	return min(time.Second, c.cfg.RefreshMinInterval/10)
}

// engineNow is the current time in n's engine clock.
func (c *Cluster) engineNow(n *node) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg.Now().Add(n.skew)
}

// queue decouples reading the stream from applying events: the engine drops
// subscribers that read too slowly, and applying may call the engine.
type queue struct {
	stamp func() uint64 // numbers each event as it arrives
	mu    sync.Mutex
	items []received
	err   error
	ready chan struct{} // buffered(1): something changed
}

// newQueue returns an empty queue; stamp (the cluster's nextSeq) numbers
// every event when it is received.
func newQueue(stamp func() uint64) *queue {
	return &queue{stamp: stamp, ready: make(chan struct{}, 1)}
}

// push numbers m and queues it. It never blocks for long: it is the
// stream's callback, called by the goroutine reading the engine.
func (q *queue) push(m events.Message) {
	it := received{m: m, seq: q.stamp()}
	q.mu.Lock()
	q.items = append(q.items, it)
	q.mu.Unlock()
	signal(q.ready)
}

// end records why the stream ended; pop returns it once the queue is empty.
func (q *queue) end(err error) {
	if err == nil {
		err = errStreamEnded
	}
	q.mu.Lock()
	q.err = err
	q.mu.Unlock()
	signal(q.ready)
}

// errStreamEnded stands for an engine's stream that ended without a reason,
// which the Watcher contract rules out; pop must still stop on it.
var errStreamEnded = errors.New("event stream ended")

// pop appends to buf the queued events, oldest first and at most maxBatch,
// blocking until there is one. A resync request (checked first) returns
// resync=true; once the stream ended and the queue is empty it returns the
// stream's error.
func (q *queue) pop(ctx context.Context, resync <-chan struct{}, buf []received) (items []received, isResync bool, err error) {
	for {
		select {
		case <-resync:
			return buf, true, nil
		default:
		}
		q.mu.Lock()
		if len(q.items) > 0 {
			k := min(len(q.items), maxBatch)
			buf = append(buf, q.items[:k]...)
			clear(q.items[:k])
			q.items = q.items[k:]
			q.mu.Unlock()
			return buf, false, nil
		}
		err := q.err
		q.mu.Unlock()
		if err != nil {
			return buf, false, err
		}
		select {
		case <-ctx.Done():
			return buf, false, ctx.Err()
		case <-q.ready:
		case <-resync:
			return buf, true, nil
		}
	}
}

// dedupe remembers recent events so that those an engine replays after a
// reconnect (it resends everything at or after since) are applied once.
type dedupe struct {
	keys   map[string]int64
	newest int64
}

// dedupeWindow is how far behind the newest event keys are kept; replays
// start at the newest event seen, so any margin above clock jitter works.
const dedupeWindow = int64(10 * time.Second)

func newDedupe() *dedupe { return &dedupe{keys: make(map[string]int64)} }

// add reports whether m is new, and remembers it.
func (d *dedupe) add(m events.Message) bool {
	t := eventNano(m)
	key := strconv.FormatInt(t, 10) + "|" + string(m.Type) + "|" + string(m.Action) + "|" + m.Actor.ID + "|" + m.Status + "|" + m.ID
	if _, ok := d.keys[key]; ok {
		return false
	}
	d.keys[key] = t
	if t > d.newest {
		d.newest = t
	}
	if len(d.keys) > 4096 {
		for k, kt := range d.keys {
			if kt < d.newest-dedupeWindow {
				delete(d.keys, k)
			}
		}
	}
	return true
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
