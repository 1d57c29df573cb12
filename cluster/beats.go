package cluster

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// beats runs every node's heartbeat from one scheduling goroutine: nodes
// wait in order of their next beat, and each beat runs in a goroutine of
// its own that exists only while the engine is being asked. An engine at
// rest therefore costs no goroutine for its heartbeat (one supervising
// goroutine per engine was 1,000 stacks at 1,000 engines).
type beats struct {
	c     *Cluster
	mu    sync.Mutex
	queue beatQueue
	kick  chan struct{} // buffered(1): the queue's head changed
	once  sync.Once     // starts the scheduling goroutine
}

// beat is one node's place in the schedule. Fields are guarded by
// beats.mu.
type beat struct {
	n   *node
	ctx context.Context // the node's; done once discovery drops it
	due time.Time
	// index is the position in the queue, -1 while the beat runs or once
	// the node is gone.
	index   int
	running bool
	again   bool // woken while running: beat again at once
	gone    bool // the node's context ended
	// lastReconcile is when a full sync was last asked for.
	lastReconcile time.Time
}

// beatQueue is a min-heap of beats by due time.
type beatQueue []*beat

func (q beatQueue) Len() int           { return len(q) }
func (q beatQueue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q beatQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *beatQueue) Push(x any) {
	b := x.(*beat)
	b.index = len(*q)
	*q = append(*q, b)
}
func (q *beatQueue) Pop() any {
	old := *q
	b := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	b.index = -1
	return b
}

// add schedules n's first heartbeat now. When ctx ends the node leaves
// the schedule and its engine is closed, after a beat under way ends.
func (bs *beats) add(ctx context.Context, n *node) {
	bs.once.Do(func() {
		bs.kick = make(chan struct{}, 1)
		bs.c.wg.Add(1)
		go bs.run()
	})
	b := &beat{n: n, ctx: ctx, due: time.Now(), lastReconcile: time.Now()}
	bs.mu.Lock()
	n.beat = b
	heap.Push(&bs.queue, b)
	bs.mu.Unlock()
	signal(bs.kick)
	bs.c.wg.Add(1) // Stop waits for the engine to be closed
	context.AfterFunc(ctx, func() {
		defer bs.c.wg.Done()
		bs.drop(b)
	})
}

// drop takes b out of the schedule for good and closes its engine, at
// once or when its running beat ends.
func (bs *beats) drop(b *beat) {
	bs.mu.Lock()
	b.gone = true
	if b.index >= 0 {
		heap.Remove(&bs.queue, b.index)
	}
	closeNow := !b.running
	bs.mu.Unlock()
	if closeNow {
		_ = b.n.eng.Close()
	}
}

// wake asks for n's heartbeat now (labels may have changed, discovery
// lost or found it).
func (bs *beats) wake(n *node) {
	bs.mu.Lock()
	b := n.beat
	switch {
	case b == nil || b.gone:
	case b.running:
		b.again = true
	default:
		b.due = time.Now()
		heap.Fix(&bs.queue, b.index)
	}
	bs.mu.Unlock()
	signal(bs.kick)
}

// run starts every beat that is due until the cluster stops.
func (bs *beats) run() {
	defer bs.c.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		bs.mu.Lock()
		now := time.Now()
		for len(bs.queue) > 0 && !bs.queue[0].due.After(now) {
			b := heap.Pop(&bs.queue).(*beat)
			b.running = true
			bs.c.wg.Add(1)
			go bs.beat(b)
		}
		wait := time.Hour
		if len(bs.queue) > 0 {
			wait = bs.queue[0].due.Sub(now)
		}
		bs.mu.Unlock()
		t.Reset(wait)
		select {
		case <-bs.c.ctx.Done():
			return
		case <-bs.kick:
		case <-t.C:
		}
	}
}

// idleCloser is an engine that can drop its idle connections
// (cluster/engine.Engine).
type idleCloser interface {
	CloseIdle()
}

// beat runs one heartbeat of b's node and schedules the next: a random
// interval for a healthy node, a back-off for a failing one (nextRefresh).
// Every ReconcileInterval a healthy node is also asked for a full sync.
func (bs *beats) beat(b *beat) {
	defer bs.c.wg.Done()
	c, n := bs.c, b.n
	ok := c.heartbeat(b.ctx, n)
	reconcile := ok && time.Since(b.lastReconcile) >= c.cfg.ReconcileInterval
	if reconcile {
		b.lastReconcile = time.Now()
		c.resync(n)
	} else if ic, isIC := n.eng.(idleCloser); isIC {
		// The next beat is 30-60 s away and the beat's connection would
		// idle out before it (10 s), holding two goroutines and 8 KB of
		// buffers meanwhile: about 220 connections at 1,000 engines.
		// Connections in use are not idle and stay.
		ic.CloseIdle()
	}
	c.mu.Lock()
	failures := n.failures
	c.mu.Unlock()
	wait := c.nextRefresh(ok, failures, c.jitter)

	bs.mu.Lock()
	b.running = false
	if b.gone {
		bs.mu.Unlock()
		_ = n.eng.Close()
		return
	}
	b.due = time.Now().Add(wait)
	if b.again {
		b.again, b.due = false, time.Now()
	}
	heap.Push(&bs.queue, b)
	bs.mu.Unlock()
	signal(bs.kick)
}
