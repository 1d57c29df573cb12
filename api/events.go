package api

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	timetypes "github.com/docker/docker/api/types/time"
)

var eventFilters = map[string]bool{
	"type": true, "event": true, "container": true, "image": true, "label": true,
	"node": true, "network": true, "volume": true,
}

// eventNode is the top-level "node" object classic Swarm put on events.
type eventNode struct {
	Name string `json:"Name"`
	ID   string `json:"Id"`
	Addr string `json:"Addr"`
	IP   string `json:"Ip"`
}

// eventJSON is an engine event as the manager sends it.
type eventJSON struct {
	events.Message
	Node *eventNode `json:"node,omitempty"`
}

// decorate adds the node's identity the way event listeners expect:
// Actor attributes node.*, a top-level node and `from` suffixed with the
// node. The engine's own fields are left as they are.
func decorate(e Event) eventJSON {
	m := e.Message
	if m.Type == "" {
		m.Type = events.ContainerEventType
	}
	if e.Node.Name == "" {
		return eventJSON{Message: m}
	}
	attrs := make(map[string]string, len(m.Actor.Attributes)+4)
	maps.Copy(attrs, m.Actor.Attributes)
	attrs["node.name"] = e.Node.Name
	attrs["node.id"] = e.Node.ID
	attrs["node.addr"] = e.Node.Addr
	attrs["node.ip"] = e.Node.IP
	m.Actor.Attributes = attrs
	if m.From != "" {
		m.From += " node:" + e.Node.Name
	}
	return eventJSON{Message: m, Node: &eventNode{Name: e.Node.Name, ID: e.Node.ID, Addr: e.Node.Addr, IP: e.Node.IP}}
}

func eventTime(m events.Message) time.Time {
	if m.TimeNano != 0 {
		return time.Unix(0, m.TimeNano)
	}
	return time.Unix(m.Time, 0)
}

// matchEvent applies `docker events --filter` semantics: every key given
// must match; values of one key are alternatives.
func matchEvent(args filters.Args, e Event) bool {
	m := e.Message
	typ := string(m.Type)
	if typ == "" {
		typ = string(events.ContainerEventType)
	}
	action := string(m.Action)
	if action == "" {
		action = m.Status
	}
	actionBase, _, _ := strings.Cut(action, ":")
	name := m.Actor.Attributes["name"]
	matchAny := func(key string, values ...string) bool {
		for _, v := range values {
			if v != "" && args.ExactMatch(key, v) {
				return true
			}
		}
		return false
	}
	idPrefix := func(key, id string) bool {
		for _, f := range args.Get(key) {
			if id != "" && len(f) >= 4 && strings.HasPrefix(id, f) {
				return true
			}
		}
		return false
	}
	image := m.Actor.Attributes["image"]
	if image == "" {
		image = m.From
	}
	if typ == string(events.ImageEventType) && image == "" {
		image = m.Actor.ID
	}
	switch {
	case args.Contains("type") && !matchAny("type", typ),
		args.Contains("event") && !matchAny("event", action, actionBase),
		args.Contains("container") && (typ != string(events.ContainerEventType) ||
			!(matchAny("container", m.Actor.ID, name) || idPrefix("container", m.Actor.ID))),
		args.Contains("image") && !matchAny("image", image, strings.TrimSuffix(image, ":latest"), m.Actor.ID),
		args.Contains("label") && !args.MatchKVList("label", m.Actor.Attributes),
		args.Contains("node") && !matchAny("node", e.Node.Name, e.Node.ID),
		args.Contains("network") && (typ != string(events.NetworkEventType) || !matchAny("network", m.Actor.ID, name)),
		args.Contains("volume") && (typ != string(events.VolumeEventType) || !matchAny("volume", m.Actor.ID)):
		return false
	}
	return true
}

// parseEventTime reads since/until the way the engine does (unix seconds
// with optional fraction); ok is false when the parameter is absent.
func parseEventTime(r *http.Request, key string) (t time.Time, ok bool, err error) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return time.Time{}, false, nil
	}
	sec, nsec, err := timetypes.ParseTimestamps(v, 0)
	if err != nil {
		return time.Time{}, false, badRequest("invalid %s=%q: want unix seconds such as 1700000000 or 1700000000.5: %v", key, v, err)
	}
	return time.Unix(sec, nsec), true, nil
}

// defaultEventWriteTimeout bounds how long one write of an event stream may block
// on a client that does not read. Such a subscriber is dropped by the
// cluster once its buffer fills; the deadline makes sure its connection
// is then closed and its handler returns instead of blocking for as long
// as the client stays connected. It is far longer than any reading
// client needs: a write only blocks once the kernel's socket buffers
// (megabytes) are full.
const defaultEventWriteTimeout = 2 * time.Minute

// encodeEvent is the line sent for e: its decorated JSON and a newline,
// exactly what json.Encoder writes. The encoding depends only on the event,
// so it is done once per live event and shared by every subscriber
// (Event.Memo). nil means it cannot be encoded.
func encodeEvent(e Event) []byte {
	v := e.Memo.Do(func() any {
		b, err := json.Marshal(decorate(e))
		if err != nil {
			return []byte(nil)
		}
		return append(b, '\n')
	})
	b, _ := v.([]byte)
	return b
}

// eventWriter writes encoded events to one stream and flushes only when
// asked, under a write deadline. Setting a deadline costs a timer update
// in the runtime: at 500 listeners, setting and clearing it around every
// event was 8% of the manager's CPU, so it is renewed only once a quarter
// of it is used up: a write always has at least three quarters of it.
type eventWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	until   time.Time // the deadline set; zero when none is
}

func (ew *eventWriter) write(b []byte) bool {
	if now := time.Now(); ew.until.Sub(now) < ew.timeout*3/4 {
		// Ignored when the connection cannot take deadlines (tests'
		// recorders): the write then blocks as before.
		if ew.rc.SetWriteDeadline(now.Add(ew.timeout)) == nil {
			ew.until = now.Add(ew.timeout)
		}
	}
	_, err := ew.w.Write(b)
	return err == nil
}

func (ew *eventWriter) flush() bool {
	return ew.rc.Flush() == nil
}

// end gives what net/http writes after the handler returns (the rest of
// the buffer, the final chunk) a fresh deadline: an old one may have
// passed while the stream was idle, and none at all would let a client
// that stopped reading hold the connection forever.
func (ew *eventWriter) end() {
	if !ew.until.IsZero() {
		_ = ew.rc.SetWriteDeadline(time.Now().Add(ew.timeout))
	}
}

// getEvents streams the cluster's merged events: the kept events since
// `since` first, then live ones, until `until` or the client goes away.
// Events are flushed as soon as no other event is waiting, so a burst
// goes out in few writes while a lone event is sent at once.
func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) {
	args, err := parseFilters(r, eventFilters)
	if err != nil {
		writeError(w, err)
		return
	}
	since, hasSince, err := parseEventTime(r, "since")
	if err != nil {
		writeError(w, err)
		return
	}
	until, hasUntil, err := parseEventTime(r, "until")
	if err != nil {
		writeError(w, err)
		return
	}
	if !hasSince {
		since = time.Now()
	}
	replay, sub := s.cluster.Subscribe(since)
	defer sub.Close()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	ew := &eventWriter{w: w, rc: http.NewResponseController(w), timeout: s.eventWriteTimeout}
	defer ew.end()
	_ = ew.rc.Flush()
	// send reports whether streaming should go on; it writes without
	// flushing. Live events are not checked against since: engines'
	// clocks differ from the manager's and a live event is new by
	// definition.
	send := func(e Event, replayed bool) bool {
		t := eventTime(e.Message)
		if hasUntil && t.After(until) {
			return false
		}
		if (replayed && t.Before(since)) || !matchEvent(args, e) {
			return true
		}
		b := encodeEvent(e)
		return b != nil && ew.write(b)
	}
	if hasSince {
		for _, e := range replay {
			if !send(e, true) {
				return
			}
		}
		if !ew.flush() {
			return
		}
	}
	var deadline <-chan time.Time
	if hasUntil {
		d := time.Until(until)
		if d <= 0 {
			return
		}
		timer := time.NewTimer(d)
		defer timer.Stop()
		deadline = timer.C
	}
	events := sub.Events()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-deadline:
			return
		case e, ok := <-events:
			if !ok {
				if err := sub.Err(); err != nil {
					s.log.Warn("event subscriber dropped", "err", err)
				}
				return
			}
			if !send(*e, false) {
				return
			}
			if len(events) == 0 && !ew.flush() {
				return
			}
		}
	}
}
