package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func ev(n Node, at int, typ events.Type, action, id string, attrs map[string]string) Event {
	ts := t0.Add(time.Duration(at) * time.Second)
	m := events.Message{Type: typ, Action: events.Action(action), Actor: events.Actor{ID: id, Attributes: attrs}, Time: ts.Unix(), TimeNano: ts.UnixNano()}
	if typ == events.ContainerEventType {
		m.Status, m.ID, m.From = action, id, attrs["image"]
	}
	return Event{Message: m, Node: n}
}

func eventCluster() *fakeCluster {
	f := seedCluster()
	fe, b1 := f.nodes[0], f.nodes[1]
	f.history = []Event{
		ev(b1, 0, events.ContainerEventType, "create", "r1", map[string]string{"image": "redis", "name": "redis", "tier": "db"}),
		ev(b1, 1, events.ContainerEventType, "start", "r1", map[string]string{"image": "redis", "name": "redis", "tier": "db"}),
		ev(fe, 2, events.ContainerEventType, "start", "n1", map[string]string{"image": "jwilder/nginx-proxy", "name": "nginx"}),
		ev(fe, 3, events.NetworkEventType, "connect", "net1", map[string]string{"name": "bridge", "container": "n1"}),
		ev(b1, 4, events.ContainerEventType, "exec_start: sh -c ls", "r1", map[string]string{"image": "redis", "name": "redis"}),
		ev(b1, 5, "engine", "engine_disconnect", "ID-backend1", map[string]string{"name": "backend1"}),
	}
	return f
}

func stamp(at int) string { return fmt.Sprint(t0.Add(time.Duration(at) * time.Second).Unix()) }

func readEvents(t *testing.T, srvURL, query string) []map[string]any {
	t.Helper()
	resp, err := http.Get(srvURL + "/v1.41/events?" + query)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out []map[string]any
	dec := json.NewDecoder(resp.Body)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			break
		}
		out = append(out, m)
	}
	return out
}

func actions(ms []map[string]any) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, fmt.Sprint(m["Action"]))
	}
	return out
}

func TestEventsReplayAndFilters(t *testing.T) {
	srv := newServer(t, eventCluster())
	window := "since=" + stamp(0) + "&until=" + stamp(10)
	filter := func(k, v string) string { return "&filters=" + url.QueryEscape(`{"`+k+`":{"`+v+`":true}}`) }
	tests := []struct {
		name, query string
		want        []string
	}{
		{"all", window, []string{"create", "start", "start", "connect", "exec_start: sh -c ls", "engine_disconnect"}},
		{"since", "since=" + stamp(2) + "&until=" + stamp(3), []string{"start", "connect"}},
		{"node", window + filter("node", "frontend"), []string{"start", "connect"}},
		{"type", window + filter("type", "network"), []string{"connect"}},
		{"event", window + filter("event", "start"), []string{"start", "start"}},
		{"event prefix", window + filter("event", "exec_start"), []string{"exec_start: sh -c ls"}},
		{"container by name", window + filter("container", "nginx"), []string{"start"}},
		{"image", window + filter("image", "redis"), []string{"create", "start", "exec_start: sh -c ls"}},
		{"label", window + filter("label", "tier=db"), []string{"create", "start"}},
		{"manager events", window + filter("type", "engine"), []string{"engine_disconnect"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, actions(readEvents(t, srv.URL, tt.query)))
		})
	}
}

func TestEventsDecoration(t *testing.T) {
	srv := newServer(t, eventCluster())
	got := readEvents(t, srv.URL, "since="+stamp(1)+"&until="+stamp(1))
	require.Len(t, got, 1)
	e := got[0]
	attrs := e["Actor"].(map[string]any)["Attributes"].(map[string]any)
	assert.Equal(t, "backend1", attrs["node.name"])
	assert.Equal(t, "ID-backend1", attrs["node.id"])
	assert.Equal(t, "192.168.99.103:2376", attrs["node.addr"])
	assert.Equal(t, "192.168.99.103", attrs["node.ip"])
	assert.Equal(t, "redis", attrs["name"], "engine attributes kept")
	assert.Equal(t, "redis node:backend1", e["from"])
	assert.Equal(t, "start", e["status"])
	assert.Equal(t, map[string]any{"Name": "backend1", "Id": "ID-backend1", "Addr": "192.168.99.103:2376", "Ip": "192.168.99.103"}, e["node"])
}

func TestEventsLiveFlushedPerEvent(t *testing.T) {
	f := eventCluster()
	srv := newServer(t, f)
	resp, err := http.Get(srv.URL + "/events?filters=" + url.QueryEscape(`{"node":{"backend1":true}}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Eventually(t, func() bool { return f.subscribers() == 1 }, 5*time.Second, 5*time.Millisecond)
	now := time.Now()
	fe, b1 := f.nodes[0], f.nodes[1]
	skip := ev(fe, 0, events.ContainerEventType, "die", "x", nil)
	keep := ev(b1, 0, events.ContainerEventType, "die", "r1", map[string]string{"name": "redis"})
	skip.TimeNano, keep.TimeNano = now.UnixNano(), now.UnixNano()
	f.live <- &skip
	f.live <- &keep
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err, "one event arrives without waiting for more")
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &m))
	assert.Equal(t, "r1", m["id"], "the other node's event was filtered out")
	assert.Equal(t, "die", m["Action"])
}

func TestEventsBadInput(t *testing.T) {
	srv := newServer(t, eventCluster())
	for _, q := range []string{"since=yesterday", "until=x1", "filters=" + url.QueryEscape(`{"colour":{"x":true}}`)} {
		t.Run(q, func(t *testing.T) {
			code, body := do(t, srv, http.MethodGet, "/events?"+q, "")
			assert.Equal(t, http.StatusBadRequest, code)
			assert.True(t, strings.Contains(body, "invalid"), body)
		})
	}
}

func TestDockerCLIEvents(t *testing.T) {
	srv := newServer(t, eventCluster())
	out, stderr, err := runDocker(t, srv.URL, "events", "--since", stamp(0), "--until", stamp(10), "--filter", "node=backend1", "--filter", "event=start")
	require.NoError(t, err, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 1, out)
	assert.Contains(t, lines[0], "container start r1 (")
	assert.Contains(t, lines[0], "node.name=backend1")
	assert.Contains(t, lines[0], "node.ip=192.168.99.103")
	out, stderr, err = runDocker(t, srv.URL, "events", "--since", stamp(0), "--until", stamp(10), "--filter", "node=frontend", "--format", "{{.Actor.Attributes.name}}@{{index .Actor.Attributes \"node.name\"}}")
	require.NoError(t, err, stderr)
	assert.Equal(t, "nginx@frontend\nbridge@frontend\n", out)
}

func TestEventEncodedOnceForAllSubscribers(t *testing.T) {
	f := eventCluster()
	e := ev(f.nodes[1], 0, events.ContainerEventType, "start", "r1", map[string]string{"image": "redis", "name": "redis"})
	e.Memo = new(cluster.Memo)
	var want bytes.Buffer
	require.NoError(t, json.NewEncoder(&want).Encode(decorate(e)))
	first := encodeEvent(e)
	assert.Equal(t, want.String(), string(first), "the line json.Encoder writes")
	other := e // another subscriber's copy of the same live event
	assert.Same(t, &first[0], &encodeEvent(other)[0], "encoded once, shared")
	plain := e
	plain.Memo = nil
	assert.Equal(t, want.String(), string(encodeEvent(plain)), "replayed events are encoded each time")
}

// TestEventStreamOfAStuckClientIsClosed: a client that stops reading
// fills the socket buffers; the write deadline then ends the handler
// (and closes the connection) instead of leaving it blocked.
func TestEventStreamOfAStuckClientIsClosed(t *testing.T) {
	f := eventCluster()
	s, err := New(Config{Cluster: f, Version: "test"})
	require.NoError(t, err)
	s.eventWriteTimeout = 50 * time.Millisecond
	srv := httptest.NewServer(s)
	defer srv.Close()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024)
		})
		return errors.Join(err, serr)
	}}
	host := strings.TrimPrefix(srv.URL, "http://")
	conn, err := d.Dial("tcp", host)
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "GET /v1.41/events HTTP/1.1\r\nHost: %s\r\n\r\n", host)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return f.subscribers() == 1 }, 5*time.Second, 5*time.Millisecond)

	big := map[string]string{"name": strings.Repeat("x", 64<<10)}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			e := ev(f.nodes[1], 0, events.ContainerEventType, "start", "r1", big)
			e.TimeNano = time.Now().UnixNano()
			select {
			case f.live <- &e:
			case <-done:
				return
			}
		}
	}()
	assert.Eventually(t, func() bool { return f.closedSubscriptions() == 1 }, 20*time.Second, 10*time.Millisecond,
		"the handler gave up on the client that does not read")
}
