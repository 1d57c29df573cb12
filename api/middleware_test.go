package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/test/logsink"
)

// debugServer starts the API over c with a debug-level text log captured in
// the returned buffer.
func debugServer(t *testing.T, c Cluster, cfg Config) (*httptest.Server, *logsink.Buffer) {
	t.Helper()
	logs := &logsink.Buffer{}
	cfg.Cluster = c
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, logs
}

// panicky is a cluster whose container list is broken.
type panicky struct{ *fakeCluster }

func (panicky) Containers() []Container { panic("index out of range [3] with length 3") }

func TestPanicIsRecoveredPerRequest(t *testing.T) {
	srv, logs := debugServer(t, panicky{psCluster()}, Config{})
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/v1.41/containers/json?all=1", nil)
	require.NoError(t, err)
	req.Header.Set("X-Registry-Auth", "c2VjcmV0LXRva2Vu")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var body errorBody
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Contains(t, body.Message, "internal error in the swarm manager while serving GET /containers/json")

	code, _ := do(t, srv, http.MethodGet, "/_ping", "")
	assert.Equal(t, http.StatusOK, code, "the manager keeps serving after a panic")

	var panics []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "panic serving request") {
			panics = append(panics, line)
		}
	}
	require.Len(t, panics, 1, "one log line per panic:\n%s", logs)
	assert.Contains(t, panics[0], "level=ERROR")
	assert.Contains(t, panics[0], "method=GET path=/containers/json")
	assert.Contains(t, panics[0], "index out of range")
	assert.Contains(t, panics[0], "middleware_test.go", "the stack says where")
	assert.NotContains(t, logs.String(), "c2VjcmV0LXRva2Vu", "headers are never logged")
}

// A panic once the status line is on the wire cannot become a 500: the
// connection is cut so the client sees a broken answer, not a good one.
func TestPanicAfterAnswerStartedAbortsConnection(t *testing.T) {
	f := psCluster()
	s, err := New(Config{Cluster: f})
	require.NoError(t, err)
	s.router.HandleFunc("/boom-late", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "half an answer")
		require.NoError(t, http.NewResponseController(w).Flush())
		panic("late failure")
	})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Get(srv.URL + "/boom-late")
	require.NoError(t, err, "the status line was already sent")
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	data, err := io.ReadAll(resp.Body)
	assert.Error(t, err, "the client sees a broken answer, not a 500 glued to it")
	assert.NotContains(t, string(data), "internal error")
}

// tryUpgradeAttach opens a raw `docker attach` connection with Upgrade: tcp
// and returns it with the status line the manager answered.
func tryUpgradeAttach(srvURL string) (net.Conn, *bufio.Reader, *http.Response, error) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(srvURL, "http://"))
	if err != nil {
		return nil, nil, nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(conn, "POST /v1.41/containers/redis/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: x\r\n"+
		"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	return conn, br, resp, nil
}

func upgradeAttach(t *testing.T, srvURL string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	conn, br, resp, err := tryUpgradeAttach(srvURL)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn, br, resp
}

func TestHijackedConnectionsAreCapped(t *testing.T) {
	f, paths := hijackCluster(t)
	srv, _ := debugServer(t, f, Config{MaxHijacked: 2})

	first, firstBuf, resp := upgradeAttach(t, srv.URL)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	_, _, resp = upgradeAttach(t, srv.URL)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	<-paths
	<-paths

	t.Run("over the cap", func(t *testing.T) {
		_, _, resp := upgradeAttach(t, srv.URL)
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		var body errorBody
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		assert.Contains(t, body.Message, "already serves 2 attach/exec streams")
		assert.Contains(t, body.Message, "--max-hijacked")
		code, _ := do(t, srv, http.MethodGet, "/containers/json", "")
		assert.Equal(t, http.StatusOK, code, "ordinary requests are not limited")
	})

	t.Run("a slot frees when a session ends", func(t *testing.T) {
		_, _ = first.Write([]byte("bye"))
		require.NoError(t, first.(*net.TCPConn).CloseWrite())
		out, _ := io.ReadAll(firstBuf)
		assert.Equal(t, "got: bye", string(out))
		var last int
		assert.Eventually(t, func() bool {
			conn, _, resp, err := tryUpgradeAttach(srv.URL)
			if err != nil {
				return false
			}
			defer conn.Close()
			last = resp.StatusCode
			if last == http.StatusSwitchingProtocols {
				<-paths
				return true
			}
			return false
		}, 5*time.Second, 20*time.Millisecond, "last status %d", last)
	})
}

func TestMaxHijackedConfig(t *testing.T) {
	_, err := New(Config{Cluster: psCluster(), MaxHijacked: -1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "MaxHijacked -1: must be at least 1")
	s, err := New(Config{Cluster: psCluster()})
	require.NoError(t, err)
	assert.Equal(t, DefaultMaxHijacked, s.hijacks.max)
	assert.Zero(t, s.hijacks.inUse())
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.41", "1.41", 0},
		{"1.41", "1.24", 1},
		{"1.9", "1.10", -1}, // numeric, not lexical
		{"1.41", "1.41.0", 0},
		{"1.41.1", "1.41", 1},
		{"2", "1.99", 1},
		{"", "1.0", -1},
		{"", "", 0},
		{"1.x", "1.0", 0}, // a non-numeric part counts as 0
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, compareVersions(tt.a, tt.b), "%q vs %q", tt.a, tt.b)
		assert.Equal(t, -tt.want, compareVersions(tt.b, tt.a), "%q vs %q", tt.b, tt.a)
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { compareVersions("1.41", "1.24") }))
}
