package engine_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster/engine"
	"github.com/swarmlab/swarm/pki"
	"github.com/swarmlab/swarm/test/fakeengine"
)

// stream runs e.Events in the background, handing events and the final
// error to the test over channels.
type stream struct {
	msgs chan events.Message
	done chan error
}

func startStream(ctx context.Context, e *engine.Engine, since time.Time) *stream {
	s := &stream{msgs: make(chan events.Message, 256), done: make(chan error, 1)}
	go func() {
		s.done <- e.Events(ctx, since, func() {}, func(m events.Message) { s.msgs <- m })
	}()
	return s
}

// hangGuard bounds how long a test waits for something that must happen,
// so that a regression fails instead of hanging the suite. It is not a
// speed assertion: every wait it guards takes milliseconds.
const hangGuard = 10 * time.Second

func (s *stream) next(t *testing.T) events.Message {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case err := <-s.done:
		t.Fatalf("stream ended before an event: %v", err)
	case <-time.After(hangGuard):
		t.Fatal("no event")
	}
	return events.Message{}
}

func (s *stream) end(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.done:
		return err
	case <-time.After(hangGuard):
		t.Fatal("the stream did not end")
	}
	return nil
}

func TestEventsResumeSince(t *testing.T) {
	fe, e := dialFake(t, fakeengine.Options{Images: []string{"busybox"}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, _, err := e.CreateContainer(ctx, "aa", &container.Config{Image: "busybox"}, &container.HostConfig{}, nil)
	require.NoError(t, err)
	hist := fe.Events()
	require.NotEmpty(t, hist)
	last := hist[len(hist)-1]

	s := startStream(ctx, e, time.Unix(0, last.TimeNano))
	assert.Equal(t, last.TimeNano, s.next(t).TimeNano, "since is inclusive to the nanosecond")
	// Live events follow the replay on the same stream, in order.
	_, _, err = e.CreateContainer(ctx, "bb", &container.Config{Image: "busybox"}, &container.HostConfig{}, nil)
	require.NoError(t, err)
	live := s.next(t)
	assert.Equal(t, events.ActionCreate, live.Action)
	assert.Equal(t, "bb", live.Actor.Attributes["name"])

	fe.DropEventStreams()
	err = s.end(t)
	require.Error(t, err, "a dropped stream must end with an error")
	assert.NotErrorIs(t, err, context.Canceled, "the engine broke it, not us")
	assert.Contains(t, err.Error(), fe.Addr())
}

func TestEventsEndWithContext(t *testing.T) {
	_, e := dialFake(t, fakeengine.Options{Images: []string{"busybox"}})
	_, _, err := e.CreateContainer(context.Background(), "aa", &container.Config{Image: "busybox"}, &container.HostConfig{}, nil)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	s := startStream(ctx, e, time.Unix(0, 1))
	s.next(t) // the stream is open and blocked reading
	cancel()
	assert.ErrorIs(t, s.end(t), context.Canceled, "a cancelled stream reports the cancellation, not a broken connection")
}

// frozenEngine answers the ping (so the API version is negotiated) and
// then never sends the headers of GET /events until released.
func frozenEngine(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			w.Header().Set("Api-Version", "1.41")
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv
}

func TestEventsOpenIsBoundedByTheTimeout(t *testing.T) {
	srv := frozenEngine(t)
	addr := strings.TrimPrefix(srv.URL, "http://")
	e, err := engine.Dial(addr, engine.Options{Timeout: 200 * time.Millisecond})
	require.NoError(t, err)
	defer e.Close()
	s := startStream(context.Background(), e, time.Time{})
	err = s.end(t)
	require.Error(t, err, "an engine frozen before answering must fail the open, not hang it")
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Contains(t, err.Error(), "did not answer within 200ms")
	assert.Contains(t, err.Error(), addr)
}

func TestEventsRefusedOpenIsExplained(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			w.Header().Set("Api-Version", "1.41")
			return
		}
		assert.Equal(t, "/v1.41/events", r.URL.Path, "the stream uses the negotiated version")
		assert.Equal(t, "1700000000.000000042", r.URL.Query().Get("since"), "since to the nanosecond, as dockerd parses it")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"message":"bad since"}`)
	}))
	defer srv.Close()
	e, err := engine.Dial(strings.TrimPrefix(srv.URL, "http://"), engine.Options{Timeout: 2 * time.Second})
	require.NoError(t, err)
	defer e.Close()
	err = startStream(context.Background(), e, time.Unix(1700000000, 42)).end(t)
	require.Error(t, err)
	assert.True(t, cerrdefs.IsInvalidArgument(err), "classified like the SDK's errors: %v", err)
	assert.Contains(t, err.Error(), "bad since")
}

// tlsFront serves fe over TLS with the engine certificate of layout,
// requiring the manager's client certificate, as dockerd --tlsverify does.
func tlsFront(t *testing.T, layout pki.Layout, fe *fakeengine.Engine) string {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(layout.Nodes["e0"].Cert, layout.Nodes["e0"].Key)
	require.NoError(t, err)
	caPEM, err := os.ReadFile(layout.CA)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(caPEM))
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
	})
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", fe.Addr())
			if err != nil {
				_ = in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
			go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
		}
	}()
	return ln.Addr().String()
}

func TestEventsOverTLS(t *testing.T) {
	dir := t.TempDir()
	layout, err := pki.Create(pki.CreateOptions{Out: filepath.Join(dir, "certs"), Managers: []string{"127.0.0.1"}, Nodes: []pki.Node{{Name: "e0", IP: net.ParseIP("127.0.0.1")}}})
	require.NoError(t, err)
	other, err := pki.Create(pki.CreateOptions{Out: filepath.Join(dir, "other"), Managers: []string{"127.0.0.1"}, Nodes: []pki.Node{{Name: "e0", IP: net.ParseIP("127.0.0.1")}}})
	require.NoError(t, err)
	fe := fakeengine.New(fakeengine.Options{Images: []string{"busybox"}})
	require.NoError(t, fe.Start())
	defer fe.Close()
	addr := tlsFront(t, layout, fe)

	clientConfig := func(t *testing.T, l pki.Layout) *tls.Config {
		p, err := pki.NewEnginePolicy(pki.ClientOptions{CACert: l.CA, Cert: layout.ManagerClient.Cert, Key: layout.ManagerClient.Key})
		require.NoError(t, err)
		cfg, err := p.ConfigFor(addr)
		require.NoError(t, err)
		// The stream names the host itself, as the transport does, when
		// the caller did not.
		cfg.ServerName = ""
		return cfg
	}

	t.Run("trusted", func(t *testing.T) {
		e, err := engine.Dial(addr, engine.Options{Timeout: 2 * time.Second, TLS: clientConfig(t, layout)})
		require.NoError(t, err)
		defer e.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, _, err = e.CreateContainer(ctx, "tt", &container.Config{Image: "busybox"}, &container.HostConfig{}, nil)
		require.NoError(t, err)
		m := startStream(ctx, e, time.Unix(0, 1)).next(t)
		assert.Equal(t, "tt", m.Actor.Attributes["name"], "the stream reads the engine through TLS")
	})
	t.Run("unknown CA", func(t *testing.T) {
		e, err := engine.Dial(addr, engine.Options{Timeout: 2 * time.Second, TLS: clientConfig(t, other)})
		require.NoError(t, err)
		defer e.Close()
		err = startStream(context.Background(), e, time.Time{}).end(t)
		var verr *pki.VerifyError
		require.True(t, errors.As(err, &verr), "explained TLS failure, got %v", err)
		assert.Equal(t, pki.ReasonUnknownCA, verr.Reason)
	})
}

// rawEngine answers pings so the version is negotiated, and answers
// GET /events with the raw bytes of answer, then hangs up.
func rawEngine(t *testing.T, answer []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if !strings.HasSuffix(req.URL.Path, "/events") {
						_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 0\r\n\r\n")
						continue
					}
					_, _ = conn.Write(answer)
					return
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// chunked is a 200 answer to GET /events carrying body in one chunk.
func chunked(body string) string {
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(body), body)
}

func FuzzEventsAnswer(f *testing.F) {
	two := `{"Type":"container","Action":"start","Actor":{"ID":"a"},"timeNano":1}` + "\n" +
		`{"Type":"container","Action":"die","Actor":{"ID":"a"},"timeNano":2}` + "\n"
	f.Add(chunked(two))
	f.Add(chunked(`{"Type":"container"`))
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{}\n")
	f.Add("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 20\r\n\r\n{\"message\":\"boom\"}\r\n")
	f.Add("HTTP/1.0 200 OK\r\n\r\n" + two)
	f.Add("garbage")
	f.Add("")
	f.Fuzz(func(t *testing.T, answer string) {
		addr := rawEngine(t, []byte(answer))
		e, err := engine.Dial(addr, engine.Options{Timeout: time.Second})
		require.NoError(t, err)
		defer e.Close()
		var got []events.Message
		opened := 0
		err = e.Events(context.Background(), time.Time{}, func() { opened++ },
			func(m events.Message) {
				require.Equal(t, 1, opened, "an event before the stream was opened")
				got = append(got, m)
			})
		// Whatever the engine sends, the stream ends (the engine hung
		// up) with an error naming it, every event came from the
		// answer, and only a 200 answer opened the stream.
		require.Error(t, err)
		assert.Contains(t, err.Error(), addr)
		assert.LessOrEqual(t, len(got), strings.Count(answer, "{"))
		if status, _, _ := strings.Cut(answer, "\n"); !strings.Contains(status, " 200") {
			assert.Zero(t, opened, "opened on %q", answer)
		}
		if answer == chunked(two) || answer == "HTTP/1.0 200 OK\r\n\r\n"+two {
			assert.Equal(t, 1, opened)
		}
		if answer == chunked(two) {
			require.Len(t, got, 2)
			assert.Equal(t, events.Action("die"), got[1].Action)
		}
	})
}
