package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestForwardContainerActions(t *testing.T) {
	f := psCluster()
	id := f.containers[0].Summary.ID
	eng := &recordingEngine{reply: func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/start") {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}}
	f.addEngine(t, "backend1", eng)
	srv := newServer(t, f)
	tests := []struct {
		method, path, wantPath string
		status                 int
		refresh                bool
	}{
		{http.MethodPost, "/v1.47/containers/redis/start", "/v1.41/containers/" + id + "/start", 304, true},
		{http.MethodPost, "/v1.30/containers/backend1/redis/stop?t=3", "/v1.30/containers/" + id + "/stop", 204, true},
		{http.MethodPost, "/containers/redis/kill?signal=HUP", "/v1.41/containers/" + id + "/kill", 204, true},
		{http.MethodPost, "/containers/" + id[:12] + "/pause", "/v1.41/containers/" + id + "/pause", 204, true},
		{http.MethodGet, "/containers/redis/top", "/v1.41/containers/" + id + "/top", 204, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			before := len(f.refreshes())
			code, _ := do(t, srv, tt.method, tt.path, "")
			assert.Equal(t, tt.status, code)
			got := eng.last(t)
			assert.Equal(t, tt.wantPath, got.Path)
			if i := strings.Index(tt.path, "?"); i > 0 {
				assert.Equal(t, tt.path[i+1:], got.Query, "query passed through")
			}
			if tt.refresh {
				assert.Equal(t, []string{"ID-backend1/" + id}, f.refreshes()[before:], "refreshed before answering")
			} else {
				assert.Len(t, f.refreshes(), before)
			}
		})
	}
}

func TestForwardStreamsLogsAsTheyCome(t *testing.T) {
	f := psCluster()
	release := make(chan struct{})
	f.addEngine(t, "backend1", &recordingEngine{reply: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "line one\n")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "line two\n")
	}})
	srv := newServer(t, f)
	resp, err := srv.Client().Get(srv.URL + "/containers/redis/logs?follow=1&stdout=1")
	require.NoError(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "line one\n", line, "first line arrives while the engine still streams")
	close(release)
	line, err = br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "line two\n", line)
}

func TestForwardEngineDown(t *testing.T) {
	f := psCluster()
	srvEngine := f.addEngine(t, "backend1", &recordingEngine{})
	srvEngine.Close()
	srv := newServer(t, f)
	code, body := do(t, srv, http.MethodPost, "/containers/redis/start", "")
	assert.Equal(t, http.StatusBadGateway, code)
	assert.Contains(t, body, "node backend1 (192.168.99.103:2376) did not answer")
}

// rawEngine is an engine that hijacks attach and exec start the way
// dockerd does: it answers 101 (or 200 without Upgrade), reads stdin until
// the client half-closes, then writes "got: <stdin>" and closes.
func rawEngine(t *testing.T) (string, <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	paths := make(chan string, 8)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				body, _ := io.ReadAll(req.Body)
				paths <- req.URL.Path + " " + string(body)
				if strings.Contains(req.URL.Path, "missing") {
					fmt.Fprint(conn, "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n{\"message\":\"container is not running\"}\n")
					return
				}
				if req.Header.Get("Upgrade") == "tcp" {
					fmt.Fprint(conn, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
				} else {
					fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n")
				}
				in, _ := io.ReadAll(br)
				fmt.Fprintf(conn, "got: %s", in)
			}()
		}
	}()
	return "http://" + ln.Addr().String(), paths
}

func hijackCluster(t *testing.T) (*fakeCluster, <-chan string) {
	f := psCluster()
	u, paths := rawEngine(t)
	f.endpoints = map[string]Endpoint{"ID-backend1": {Node: f.nodes[1], URL: u, Client: http.DefaultClient, APIVersion: "1.41"}}
	return f, paths
}

func TestAttachHalfCloseThroughGoSDK(t *testing.T) {
	f, paths := hijackCluster(t)
	srv := newServer(t, f)
	cli, err := client.NewClientWithOpts(client.WithHost(strings.Replace(srv.URL, "http://", "tcp://", 1)), client.WithVersion("1.41"))
	require.NoError(t, err)
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hr, err := cli.ContainerAttach(ctx, "backend1/redis", container.AttachOptions{Stream: true, Stdin: true, Stdout: true})
	require.NoError(t, err)
	defer hr.Close()
	_, err = hr.Conn.Write([]byte("hello engine"))
	require.NoError(t, err)
	require.NoError(t, hr.CloseWrite(), "stdin EOF is a half-close")
	out, err := io.ReadAll(hr.Reader)
	require.NoError(t, err)
	assert.Equal(t, "got: hello engine", string(out), "output still arrives after stdin closed")
	assert.Equal(t, "/v1.41/containers/"+f.containers[0].Summary.ID+"/attach ", <-paths)
	assert.Eventually(t, func() bool { return len(f.refreshes()) == 1 }, 5*time.Second, 10*time.Millisecond, "refresh after the session")
}

func TestHijackWithoutUpgradeAndErrors(t *testing.T) {
	f, paths := hijackCluster(t)
	f.containers = append(f.containers, Container{Node: f.nodes[1], Summary: container.Summary{ID: "missing", Names: []string{"/missing"}}})
	srv := newServer(t, f)
	t.Run("200 raw stream", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		require.NoError(t, err)
		defer conn.Close()
		fmt.Fprint(conn, "POST /containers/redis/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		_, _ = conn.Write([]byte("abc"))
		require.NoError(t, conn.(*net.TCPConn).CloseWrite())
		out, _ := io.ReadAll(br)
		assert.Equal(t, "got: abc", string(out))
		<-paths
	})
	t.Run("engine error relayed", func(t *testing.T) {
		code, body := do(t, srv, http.MethodPost, "/containers/missing/attach?stream=1", "")
		assert.Equal(t, http.StatusConflict, code)
		assert.Contains(t, body, "container is not running")
		<-paths
	})
}

func TestExecCreateAndStart(t *testing.T) {
	f := psCluster()
	id := f.containers[0].Summary.ID
	eng := &recordingEngine{reply: func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/exec"):
			writeJSON(w, http.StatusCreated, map[string]string{"Id": "exec123"})
		case strings.HasSuffix(r.URL.Path, "/exec/exec123/json"):
			writeJSON(w, http.StatusOK, map[string]any{"ID": "exec123", "Running": false})
		case strings.HasSuffix(r.URL.Path, "/start"):
			w.WriteHeader(http.StatusOK)
		default:
			writeErrorStatus(w, http.StatusNotFound, "No such exec instance")
		}
	}}
	f.addEngine(t, "backend1", eng)
	srv := newServer(t, f)
	code, body := do(t, srv, http.MethodPost, "/v1.41/containers/redis/exec", `{"Cmd":["ls"]}`)
	require.Equal(t, http.StatusCreated, code, body)
	assert.Contains(t, body, "exec123")
	assert.Equal(t, "/v1.41/containers/"+id+"/exec", eng.last(t).Path)
	assert.JSONEq(t, `{"Cmd":["ls"]}`, eng.last(t).Body)

	code, _ = do(t, srv, http.MethodPost, "/v1.41/exec/exec123/start", `{"Detach":true}`)
	assert.Equal(t, http.StatusOK, code, "detached exec is an ordinary request")
	assert.Equal(t, "/v1.41/exec/exec123/start", eng.last(t).Path)
	assert.JSONEq(t, `{"Detach":true}`, eng.last(t).Body)

	code, _ = do(t, srv, http.MethodGet, "/exec/exec123/json", "")
	assert.Equal(t, http.StatusOK, code)

	code, body = do(t, srv, http.MethodGet, "/exec/nope/json", "")
	assert.Equal(t, http.StatusNotFound, code, "unknown exec: every node asked, none has it")
	assert.Contains(t, body, "No such exec instance: nope")

	code, body = do(t, srv, http.MethodPost, "/exec/exec123/start", `{"Detach":`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "malformed JSON")
}

func TestExecStartAttachedIsHijacked(t *testing.T) {
	f, paths := hijackCluster(t)
	s, err := New(Config{Cluster: f})
	require.NoError(t, err)
	s.execs.put("e1", "ID-backend1")
	srvURL := httptestServer(t, s)
	cli, err := client.NewClientWithOpts(client.WithHost(strings.Replace(srvURL, "http://", "tcp://", 1)), client.WithVersion("1.41"))
	require.NoError(t, err)
	defer cli.Close()
	hr, err := cli.ContainerExecAttach(context.Background(), "e1", container.ExecStartOptions{Tty: true})
	require.NoError(t, err)
	defer hr.Close()
	_, _ = hr.Conn.Write([]byte("whoami"))
	require.NoError(t, hr.CloseWrite())
	out, err := io.ReadAll(hr.Reader)
	require.NoError(t, err)
	assert.Equal(t, "got: whoami", string(out))
	assert.Equal(t, `/v1.41/exec/e1/start {"Detach":false,"Tty":true}`, strings.TrimSpace(<-paths))
}

func TestCommitOnOwningNode(t *testing.T) {
	f := psCluster()
	id := f.containers[0].Summary.ID
	eng := &recordingEngine{reply: func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusCreated, map[string]string{"Id": "sha256:new"})
	}}
	f.addEngine(t, "backend1", eng)
	srv := newServer(t, f)
	code, body := do(t, srv, http.MethodPost, "/v1.41/commit?container=backend1/redis&repo=snap", "{}")
	assert.Equal(t, http.StatusCreated, code, body)
	got := eng.last(t)
	assert.Equal(t, "/v1.41/commit", got.Path)
	assert.Equal(t, "container="+id+"&repo=snap", got.Query)
	assert.Equal(t, []string{"ID-backend1:images"}, f.refreshes())
	code, body = do(t, srv, http.MethodPost, "/commit?container=ghost", "")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, body, "No such container: ghost")
}

func TestAttachOverTLSEngine(t *testing.T) {
	f := psCluster()
	eng := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(buf, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
		_ = buf.Flush()
		in, _ := io.ReadAll(buf)
		fmt.Fprintf(conn, "tls got: %s", in)
	}))
	eng.StartTLS()
	t.Cleanup(eng.Close)
	f.endpoints = map[string]Endpoint{"ID-backend1": {Node: f.nodes[1], URL: eng.URL, Client: eng.Client(), APIVersion: "1.41"}}
	srv := newServer(t, f)
	cli, err := client.NewClientWithOpts(client.WithHost(strings.Replace(srv.URL, "http://", "tcp://", 1)), client.WithVersion("1.41"))
	require.NoError(t, err)
	defer cli.Close()
	hr, err := cli.ContainerAttach(context.Background(), "redis", container.AttachOptions{Stream: true, Stdin: true, Stdout: true})
	require.NoError(t, err)
	defer hr.Close()
	_, _ = hr.Conn.Write([]byte("secret"))
	require.NoError(t, hr.CloseWrite())
	out, err := io.ReadAll(hr.Reader)
	require.NoError(t, err)
	assert.Equal(t, "tls got: secret", string(out), "half-close passed on as TLS close_notify")
}
