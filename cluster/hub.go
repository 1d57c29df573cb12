package cluster

import (
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
)

// Manager event actions, published with Type EngineEventType.
const (
	EngineEventType        events.Type   = "engine"
	ActionEngineConnect    events.Action = "engine_connect"
	ActionEngineDisconnect events.Action = "engine_disconnect"
	ActionEngineReconnect  events.Action = "engine_reconnect"
)

// Event is an engine event annotated with the node it happened on, or one of
// the cluster's own engine_* events.
type Event struct {
	events.Message
	Node Node
	// Memo is shared by every subscriber's copy of one live event, so
	// work that depends only on the event (the API's JSON encoding) is
	// done once for all of them instead of once per subscriber. It is nil
	// in replayed events and in events built outside the hub.
	Memo *Memo `json:"-"`
}

// Memo holds one value derived from an event, computed by the first
// subscriber that asks and shared with the others. A nil *Memo computes
// every time. Safe for concurrent use.
type Memo struct {
	once sync.Once
	v    any
}

// Do returns the memoised value, calling f to compute it the first time.
// f must depend only on the event, never on the subscriber.
func (m *Memo) Do(f func() any) any {
	if m == nil {
		return f()
	}
	m.once.Do(func() { m.v = f() })
	return m.v
}

// Subscription is one subscriber's view of the event stream. C is closed
// when the subscription ends: by Close, by Stop, or because the subscriber
// fell behind (then Err returns ErrSlowSubscriber).
//
// Every subscriber receives the same *Event for a live event: it must not
// be modified. A buffer of pointers costs 8 bytes a slot where one of
// Events cost 360: with the default 1,024-event buffer, 180 MB for 500
// listeners, allocated when they subscribed and scanned by every
// collection while they stayed (BenchmarkHubSubscribe: 9.6 KB each now).
type Subscription struct {
	C <-chan *Event

	ch  chan *Event
	hub *hub
	// err is guarded by hub.mu.
	err error
}

// Err says why C was closed by the cluster; nil while open or after Close.
func (s *Subscription) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}

// Close ends the subscription. It is idempotent and safe to call
// concurrently with delivery.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.remove(s, nil)
}

// hub is the single publisher fanning events out to subscribers, with a
// ring of the last events for replay. Sends never block: a subscriber whose
// buffer is full is dropped.
type hub struct {
	buffer int
	// history is how many events the ring keeps. The ring grows to it
	// as events come rather than being allocated whole (the default
	// history held 3.4 MB before the first event).
	history int

	// mu guards everything below.
	mu     sync.Mutex
	ring   []Event
	head   int // index of the oldest event once the ring is full
	full   bool
	subs   map[*Subscription]struct{}
	closed bool
}

func newHub(history, buffer int) *hub {
	return &hub{
		buffer:  buffer,
		history: history,
		subs:    make(map[*Subscription]struct{}),
	}
}

// publish records ev and delivers it to every subscriber without blocking.
// The subscribers' copies share one fresh Memo; the ring's copy has none,
// so the ring never holds what subscribers derived from its events.
func (h *hub) publish(ev Event) {
	ev.Memo = nil
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	if h.history > 0 {
		if len(h.ring) < h.history {
			h.ring = append(h.ring, ev)
		} else {
			h.ring[h.head] = ev
			h.head = (h.head + 1) % len(h.ring)
		}
	}
	if len(h.subs) == 0 {
		return
	}
	live := new(Event) // not &ev: ev would move to the heap on every publish
	*live = ev
	live.Memo = new(Memo)
	for s := range h.subs {
		select {
		case s.ch <- live:
		default:
			h.remove(s, ErrSlowSubscriber)
		}
	}
}

// subscribe returns the recorded events at or after since (none for a zero
// since) and a live subscription, atomically: every later event goes to
// the subscription, every earlier one is in the replay, none in both.
func (h *hub) subscribe(since time.Time) ([]Event, *Subscription) {
	ch := make(chan *Event, h.buffer)
	s := &Subscription{C: ch, ch: ch, hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.err = ErrStopped
		close(ch)
		return nil, s
	}
	h.subs[s] = struct{}{}
	if since.IsZero() {
		return nil, s
	}
	cut := since.UnixNano()
	var replay []Event
	n := len(h.ring)
	for i := range n {
		ev := h.ring[(h.head+i)%n]
		if eventNano(ev.Message) >= cut {
			replay = append(replay, ev)
		}
	}
	return replay, s
}

// remove drops s if still subscribed. Callers hold h.mu.
func (h *hub) remove(s *Subscription, why error) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	s.err = why
	close(s.ch)
}

// close ends every subscription with ErrStopped.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.remove(s, ErrStopped)
	}
}

// eventNano is an event's time in nanoseconds, from TimeNano or Time.
func eventNano(m events.Message) int64 {
	if m.TimeNano != 0 {
		return m.TimeNano
	}
	return m.Time * int64(time.Second)
}
