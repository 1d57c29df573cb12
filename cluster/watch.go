package cluster

import (
	"context"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
)

// watch supervises one engine's event stream until ctx ends: it opens the
// stream (resuming at the last event seen) and reads it, while a queue
// lists everything to close the gap and then applies the events. A broken
// stream is reopened with jittered back-off; events the engine replays are
// deduplicated.
//
// The goroutine that reads the stream is the engine's only one at rest:
// the queue applies events on a goroutine it starts when work arrives and
// that ends when the work is done. At 1,000 engines a second, mostly idle
// goroutine per engine cost 8 MiB of stacks.
func (c *Cluster) watch(ctx context.Context, n *node) {
	defer c.wg.Done()
	a := &applying{seen: newDedupe()}
	attempt := 0
	for ctx.Err() == nil {
		if attempt > 0 {
			if !sleep(ctx, backoff(c.streamRetryBase(), c.cfg.RefreshMaxInterval, attempt, c.jitter)) {
				return
			}
		}
		attempt++
		opened, err := c.stream(ctx, n, a)
		if c.streamEnded(ctx, n, a, opened, err) {
			attempt = 1
		}
	}
}

// stream opens n's event stream once and reads it until it breaks or ctx
// ends; opened reports whether the engine answered.
//
// This goroutine spends its life parked in a read, under watch and this
// function: the collector halves a parked goroutine's stack while it uses
// under a quarter of it, so the frames of that chain are kept small
// (logging, whose arguments take stack, is in streamEnded; opening the
// stream and decoding are out of engine.Engine.readStream's frame). The
// chain from watch down to the runtime's park took 2,520 bytes, over the
// 2 KiB that lets an 8 KiB stack shrink; 1,960 now (frame sizes from `go
// tool objdump`), and at 1,000 engines the stacks at rest fell from
// 9.2-9.8 to 6.8-6.9 MiB. A few more locals here can undo that.
//
//go:noinline
func (c *Cluster) stream(ctx context.Context, n *node, a *applying) (opened bool, err error) {
	openAt := c.engineNow(n)
	sctx, cancel := context.WithCancel(ctx)
	// The first stream asks for new events only; later ones resume at
	// the newest event seen (or at when the previous stream opened).
	from := a.since
	if a.since.IsZero() {
		a.since = openAt
	}
	a.synced, a.syncErr = false, nil
	q := newQueue(c.nextSeq, func(q *queue) { c.apply(ctx, n, q, a, cancel) })
	n.work.Store(q)
	// The first work is a full listing, asked for only once the engine
	// sends every new event: a change made while the stream was still
	// opening is then either in the listing or in the stream, never in
	// neither.
	err = n.eng.Events(sctx, from, func() { opened = true; q.requestSync() }, q.push)
	cancel()
	q.close() // waits for the applying goroutine
	return opened, err
}

// streamEnded says why n's stream ended, and fails the node when it never
// opened or its first listing failed. It reports whether the stream had
// been working, so the next one is tried at once.
func (c *Cluster) streamEnded(ctx context.Context, n *node, a *applying, opened bool, err error) bool {
	if !opened && ctx.Err() == nil {
		c.log.Warn("opening the engine's event stream failed; will retry", "addr", n.addr, "err", err)
		c.failNode(n, err)
		return false
	}
	if a.syncErr != nil {
		if ctx.Err() == nil {
			c.log.Warn("engine listing failed; will retry", "addr", n.addr, "err", a.syncErr)
			c.failNode(n, a.syncErr)
		}
		return false
	}
	if ctx.Err() == nil {
		c.log.Info("engine event stream broke; resuming", "addr", n.addr, "since", a.since, "err", err)
	}
	return true
}

// applying is what successive applying goroutines of one engine share;
// only one runs at a time (queue.running), and watch reads it after
// queue.close.
type applying struct {
	seen  *dedupe
	since time.Time // newest event time applied
	// syncErr is why the stream's first listing failed; the stream is
	// then cut and reopened.
	syncErr error
	synced  bool // the stream's first listing succeeded
	batch   []received
}

// maxBatch bounds how many queued events are applied together, so that
// the first of a burst is not published much later than it would be alone.
const maxBatch = 64

// apply runs the queued work of n until the queue is empty: a full
// listing when one was requested (first after a stream opened, then on
// request), else the queued events, as batches (handleEvents). A failed
// first listing stops the stream (stop) and leaves its events unapplied.
func (c *Cluster) apply(ctx context.Context, n *node, q *queue, a *applying, stop context.CancelFunc) {
	for {
		items, resync, ok := q.next(a.batch[:0], !a.synced)
		if !ok {
			return
		}
		if resync {
			err := c.fullSync(ctx, n)
			switch {
			case err == nil:
				a.synced, a.syncErr = true, nil
				c.markSynced(n)
			case !a.synced:
				a.syncErr = err
				stop()
				q.discard()
			default:
				c.failNode(n, err)
			}
			continue
		}
		a.batch = items[:0]
		for _, it := range items {
			if !a.seen.add(it.m) {
				continue
			}
			if t := time.Unix(0, eventNano(it.m)); t.After(a.since) {
				a.since = t
			}
			a.batch = append(a.batch, it)
		}
		if len(a.batch) > 0 {
			c.handleEvents(ctx, n, a.batch)
		}
		clear(items)
	}
}

// resync asks for a full listing of n, applied by its queue.
func (c *Cluster) resync(n *node) {
	if q := n.work.Load(); q != nil {
		q.requestSync()
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
// subscribers that read too slowly, and applying may call the engine. It
// starts run on a new goroutine when work arrives and none is running;
// run takes the work with next, which ends it when there is none.
type queue struct {
	stamp func() uint64 // numbers each event as it arrives
	run   func(*queue)

	mu      sync.Mutex
	items   []received
	sync    bool // a full listing is due
	running bool
	closed  bool
	idle    *sync.Cond // on mu: running turned false
}

// newQueue returns an empty queue; stamp (the cluster's nextSeq) numbers
// every event when it is received.
func newQueue(stamp func() uint64, run func(*queue)) *queue {
	q := &queue{stamp: stamp, run: run}
	q.idle = sync.NewCond(&q.mu)
	return q
}

// push numbers m and queues it. It never blocks for long: it is the
// stream's callback, called by the goroutine reading the engine.
func (q *queue) push(m events.Message) {
	it := received{m: m, seq: q.stamp()}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.items = append(q.items, it)
	q.startLocked()
}

// requestSync asks for a full listing before any queued event.
func (q *queue) requestSync() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return // the next stream lists everything anyway
	}
	q.sync = true
	q.startLocked()
}

func (q *queue) startLocked() {
	if !q.running {
		q.running = true
		go q.run(q)
	}
}

// next appends to buf the queued events, oldest first and at most
// maxBatch. A requested listing comes first (sync=true); with syncFirst,
// events wait until one was done. ok=false means there is no work: the
// caller must return, and the next work starts a new goroutine.
func (q *queue) next(buf []received, syncFirst bool) (items []received, sync, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.sync:
		q.sync = false
		return buf, true, true
	case len(q.items) > 0 && !syncFirst:
		k := min(len(q.items), maxBatch)
		buf = append(buf, q.items[:k]...)
		clear(q.items[:k])
		q.items = q.items[k:]
		if len(q.items) == 0 {
			q.items = nil // let a burst's array go
		}
		return buf, false, true
	}
	q.running = false
	q.idle.Broadcast()
	return buf, false, false
}

// discard drops the queued events and listing requests.
func (q *queue) discard() {
	q.mu.Lock()
	defer q.mu.Unlock()
	clear(q.items)
	q.items, q.sync = nil, false
}

// close refuses further work and waits until the running goroutine, if
// any, finished what was queued.
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	for q.running {
		q.idle.Wait()
	}
}

// dedupe remembers recent events so that those an engine replays after a
// reconnect (it resends everything at or after since) are applied once.
type dedupe struct {
	keys   map[dedupeKey]int64
	newest int64
}

// dedupeKey tells events apart. A struct rather than the fields joined in
// one string: building that string allocated on every event.
type dedupeKey struct {
	nano                              int64
	typ, action, actor, status, oldID string
}

// dedupeWindow is how far behind the newest event keys are kept; replays
// start at the newest event seen, so any margin above clock jitter works.
const dedupeWindow = int64(10 * time.Second)

func newDedupe() *dedupe { return &dedupe{keys: make(map[dedupeKey]int64)} }

// add reports whether m is new, and remembers it.
func (d *dedupe) add(m events.Message) bool {
	t := eventNano(m)
	key := dedupeKey{nano: t, typ: string(m.Type), action: string(m.Action), actor: m.Actor.ID, status: m.Status, oldID: m.ID}
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
