package fakeengine

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	timetypes "github.com/docker/docker/api/types/time"
)

// stream is one open GET /events connection.
type stream struct {
	conn net.Conn      // nil when the server did not record it
	cut  chan struct{} // closed by DropEventStreams after conn is closed
}

// emitLocked records an event and wakes every stream and waiter. Times are
// strictly increasing per engine so `since` resumes are deterministic.
func (e *Engine) emitLocked(typ events.Type, action events.Action, id string, attrs map[string]string) {
	nano := time.Now().UnixNano()
	if nano <= e.lastNano {
		nano = e.lastNano + 1
	}
	e.lastNano = nano
	m := events.Message{
		Type:     typ,
		Action:   action,
		Actor:    events.Actor{ID: id, Attributes: attrs},
		Scope:    "local",
		Time:     nano / int64(time.Second),
		TimeNano: nano,
	}
	// dockerd fills the legacy fields for containers and images only.
	switch typ {
	case events.ContainerEventType:
		m.ID, m.Status, m.From = id, string(action), attrs["image"]
	case events.ImageEventType:
		m.ID, m.Status = id, string(action)
	}
	if len(e.history) < e.histCap {
		e.history = append(e.history, m)
	} else {
		e.history[e.histStart] = m
		e.histStart = (e.histStart + 1) % len(e.history)
	}
	e.published++
	close(e.changed)
	e.changed = make(chan struct{})
}

// eventsFromLocked returns the kept events with sequence number ≥ seq that
// pass keep. ok is false when some of them already left the history.
func (e *Engine) eventsFromLocked(seq uint64, keep func(*events.Message) bool) (out []events.Message, ok bool) {
	oldest := e.published - uint64(len(e.history))
	if seq < oldest {
		return nil, false
	}
	for s := seq; s < e.published; s++ {
		m := &e.history[(e.histStart+int(s-oldest))%len(e.history)]
		if keep(m) {
			out = append(out, *m)
		}
	}
	return out, true
}

// Events returns a copy of the kept event history, oldest first.
func (e *Engine) Events() []events.Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	out, _ := e.eventsFromLocked(e.published-uint64(len(e.history)), func(*events.Message) bool { return true })
	return out
}

// EventStreams returns how many GET /events connections are open, so a test
// can wait for a client to (re)subscribe.
func (e *Engine) EventStreams() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.streams)
}

// DropEventStreams cuts every open /events connection abruptly (no final
// chunk), as a network failure does, and returns how many it cut.
func (e *Engine) DropEventStreams() int {
	e.mu.Lock()
	cut := make([]*stream, 0, len(e.streams))
	for s := range e.streams {
		cut = append(cut, s)
		delete(e.streams, s)
	}
	e.mu.Unlock()
	for _, s := range cut {
		if s.conn != nil {
			_ = s.conn.Close()
		}
		close(s.cut)
	}
	return len(cut)
}

var eventFilters = map[string]bool{
	"config": true, "container": true, "daemon": true, "event": true, "image": true,
	"label": true, "network": true, "node": true, "plugin": true, "scope": true,
	"secret": true, "service": true, "type": true, "volume": true,
}

// eventsHandler serves GET /events: the kept events from `since` (inclusive,
// as dockerd), then live events until `until` or the client leaves.
func (e *Engine) eventsHandler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, err := parseEventTime(q.Get("since"), "since")
	if err != nil {
		writeError(w, err)
		return
	}
	until, err := parseEventTime(q.Get("until"), "until")
	if err != nil {
		writeError(w, err)
		return
	}
	if since > 0 && until > 0 && until < since {
		writeError(w, errf(http.StatusBadRequest, "`since` time (%s) cannot be after `until` time (%s)", q.Get("since"), q.Get("until")))
		return
	}
	args, err := filters.FromJSON(q.Get("filters"))
	if err == nil {
		err = args.Validate(eventFilters)
	}
	if err != nil {
		writeError(w, errf(http.StatusBadRequest, "invalid events filters %q: %v", q.Get("filters"), err))
		return
	}
	keep := func(m *events.Message) bool { return matchEvent(args, m) }
	replay := func(m *events.Message) bool {
		return m.TimeNano >= since && (until == 0 || m.TimeNano <= until) && keep(m)
	}

	s := &stream{cut: make(chan struct{})}
	s.conn, _ = r.Context().Value(connKey{}).(net.Conn)
	e.mu.Lock()
	var pending []events.Message
	if q.Get("since") != "" || until > 0 {
		pending, _ = e.eventsFromLocked(e.published-uint64(len(e.history)), replay)
	}
	next, changed, down := e.published, e.changed, e.down
	e.streams[s] = struct{}{}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.streams, s)
		e.mu.Unlock()
	}()

	var deadline <-chan time.Time
	if until > 0 {
		t := time.NewTimer(time.Until(time.Unix(0, until)))
		defer t.Stop()
		deadline = t.C
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	// One write and one flush per wake-up, whatever the number of events:
	// the lines are encoded by hand into buf (see appendEvent).
	var buf []byte
	for {
		buf = buf[:0]
		past := false
		for i := range pending {
			if until > 0 && pending[i].TimeNano > until {
				past = true
				break
			}
			buf = appendEvent(buf, &pending[i])
		}
		if len(buf) > 0 {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
		if past {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case <-changed:
		case <-deadline:
			return
		case <-s.cut:
			return
		case <-down:
			return
		case <-r.Context().Done():
			return
		}
		e.mu.Lock()
		var ok bool
		pending, ok = e.eventsFromLocked(next, keep)
		next, changed = e.published, e.changed
		e.mu.Unlock()
		if !ok {
			// The client fell further behind than the history: cut it rather
			// than skip events silently; it can resume with since.
			cutConn(r)
			return
		}
	}
}

// parseEventTime parses since/until as the SDK sends them ("1700000000" or
// "1700000000.000000123") into Unix nanoseconds; 0 when empty.
func parseEventTime(v, name string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	sec, nsec, err := timetypes.ParseTimestamps(v, 0)
	if err != nil {
		return 0, errf(http.StatusBadRequest, "invalid %s %q: use Unix seconds with optional .nanoseconds: %v", name, v, err)
	}
	return sec*int64(time.Second) + nsec, nil
}

// matchEvent applies dockerd's event filter rules.
func matchEvent(f filters.Args, m *events.Message) bool {
	a := m.Actor.Attributes
	byName := func(key string) bool {
		return f.FuzzyMatch(key, m.Actor.ID) || f.FuzzyMatch(key, a["name"])
	}
	imageAttr := "image"
	if m.Type == events.ImageEventType {
		imageAttr = "name"
	}
	img := a[imageAttr]
	imageOK := f.ExactMatch("image", m.Actor.ID) || f.ExactMatch("image", img) ||
		f.ExactMatch("image", stripTag(m.Actor.ID)) || f.ExactMatch("image", stripTag(img))
	labelsOK := !f.Contains("label") || f.MatchKVList("label", a)
	return f.ExactMatch("event", string(m.Action)) &&
		f.ExactMatch("type", string(m.Type)) &&
		f.ExactMatch("scope", m.Scope) &&
		byName("container") && byName("network") && byName("volume") && byName("plugin") &&
		(f.ExactMatch("daemon", m.Actor.ID) || f.ExactMatch("daemon", a["name"])) &&
		imageOK && labelsOK
}

// stripTag turns "busybox:latest" into "busybox" (keeping registry ports).
func stripTag(s string) string {
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		return s[:i]
	}
	return s
}
