package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/pki"
	"github.com/swarmlab/swarm/test/logsink"
)

// testCerts issues a CA, the manager's certificates and one client into a
// temporary directory.
func testCerts(t *testing.T) pki.Layout {
	t.Helper()
	layout, err := pki.Create(pki.CreateOptions{Out: filepath.Join(t.TempDir(), "certs"), Managers: []string{"127.0.0.1"}, Clients: []string{"alice"}})
	require.NoError(t, err)
	return layout
}

// freeAddr is a loopback address nothing listens on at the moment.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// startManager runs manage(cfg) in the background, logging at debug level
// into the returned buffer. stop ends it and returns manage's error; it may
// be called more than once and also runs at cleanup.
func startManager(t *testing.T, cfg *manageConfig) (logs *logsink.Buffer, stop func() error) {
	t.Helper()
	logs = &logsink.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- manage(ctx, cfg, logger, nil) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return logs, stop
}

// serveSlow serves h with newHTTPServer and the given header timeout on a
// loopback listener (TLS when tlsCfg is set) and returns its address.
func serveSlow(t *testing.T, readHeader time.Duration, tlsCfg *tls.Config) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if tlsCfg != nil {
		l = tls.NewListener(l, tlsCfg)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "OK") })
	srv := newHTTPServer(h, slog.New(slog.DiscardHandler), serverTimeouts{ReadHeader: readHeader, Idle: time.Minute})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// TestSlowClientsAreCutOff: a client that never finishes its headers, or
// its TLS handshake, is disconnected when ReadHeader expires, even when it
// keeps trickling bytes (slow-loris). The client's own deadline is far
// longer, so reaching it means the server never cut the connection.
func TestSlowClientsAreCutOff(t *testing.T) {
	const readHeader = 200 * time.Millisecond
	const clientPatience = 10 * time.Second
	layout := testCerts(t)
	serverTLS, err := tls.LoadX509KeyPair(layout.Manager.Cert, layout.Manager.Key)
	require.NoError(t, err)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{serverTLS}, MinVersion: tls.VersionTLS12}

	tests := []struct {
		name string
		tls  bool
		// send runs in its own goroutine until the connection fails.
		send func(conn net.Conn)
	}{
		{"silent after connecting", false, func(net.Conn) {}},
		{"request line only", false, func(c net.Conn) { _, _ = io.WriteString(c, "GET /_ping HTTP/1.1\r\n") }},
		{"trickling headers", false, func(c net.Conn) {
			if _, err := io.WriteString(c, "GET /_ping HTTP/1.1\r\nHost: x\r\n"); err != nil {
				return
			}
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for range tick.C {
				if _, err := io.WriteString(c, "X-Slow: a\r\n"); err != nil {
					return
				}
			}
		}},
		{"silent during the TLS handshake", true, func(net.Conn) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg *tls.Config
			if tt.tls {
				cfg = tlsCfg
			}
			addr := serveSlow(t, readHeader, cfg)
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer conn.Close()
			require.NoError(t, conn.SetDeadline(time.Now().Add(clientPatience)))
			go tt.send(conn)
			got, err := io.ReadAll(conn)
			assert.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the server kept the connection open for %s", clientPatience)
			assert.NotContains(t, string(got), "200 OK", "a slow client is never served")
		})
	}

	t.Run("a prompt client is served", func(t *testing.T) {
		addr := serveSlow(t, readHeader, nil)
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.SetDeadline(time.Now().Add(clientPatience)))
		_, err = io.WriteString(conn, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

// TestManagerLogsNoSecrets runs the whole manager at debug level behind
// --tlsverify and sends it registry credentials: neither they nor any
// private key may appear in its log.
func TestManagerLogsNoSecrets(t *testing.T) {
	layout := testCerts(t)
	addr := freeAddr(t)
	cfg, err := parseManage([]string{
		"-l", "debug", "-H", "tcp://" + addr,
		"--tlsverify", "--tlscacert", layout.Manager.CA, "--tlscert", layout.Manager.Cert, "--tlskey", layout.Manager.Key,
		"--engine-tlscacert", layout.ManagerClient.CA, "--engine-tlscert", layout.ManagerClient.Cert, "--engine-tlskey", layout.ManagerClient.Key,
		// Port 1 on loopback: nothing listens, so the engine fails fast
		// and its errors are logged too.
		"nodes://127.0.0.1:1",
	}, noEnv, io.Discard)
	require.NoError(t, err)
	logs, stop := startManager(t, cfg)

	alice, err := tls.LoadX509KeyPair(layout.Clients["alice"].Cert, layout.Clients["alice"].Key)
	require.NoError(t, err)
	caPEM, err := os.ReadFile(layout.CA)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(caPEM))
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{alice}, MinVersion: tls.VersionTLS12},
	}}
	base := "https://" + addr
	require.Eventually(t, func() bool {
		resp, err := client.Get(base + "/_ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond, "the manager never answered /_ping")

	const registryAuth = "eyJ1c2VybmFtZSI6ImFsaWNlIiwicGFzc3dvcmQiOiJodW50ZXIyIn0="
	const password = "hunter2-do-not-log"
	requests := []struct{ method, path, body string }{
		{http.MethodPost, "/v1.41/images/create?fromImage=busybox&tag=latest", ""},
		{http.MethodPost, "/v1.41/auth", fmt.Sprintf(`{"username":"alice","password":%q}`, password)},
		{http.MethodPost, "/v1.41/containers/create?name=x", fmt.Sprintf(`{"Image":"busybox","Env":["PASSWORD=%s"]}`, password)},
		{http.MethodPost, "/v1.41/containers/x/attach?stream=1", ""},
		{http.MethodGet, "/v1.41/info", ""},
	}
	for _, rq := range requests {
		req, err := http.NewRequest(rq.method, base+rq.path, strings.NewReader(rq.body))
		require.NoError(t, err)
		req.Header.Set("X-Registry-Auth", registryAuth)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		require.NoError(t, err, rq.path)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// A client without a certificate is refused; the refusal is logged.
	bare := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	if resp, err := bare.Get(base + "/_ping"); err == nil {
		resp.Body.Close()
		t.Errorf("a client without a certificate got %s", resp.Status)
	}
	require.NoError(t, stop())

	out := logs.String()
	require.Contains(t, out, "path=/images/create", "requests are logged at debug level")
	require.Contains(t, out, "path=/auth")
	assert.NotContains(t, out, registryAuth)
	assert.NotContains(t, out, password)
	for _, key := range []string{layout.Manager.Key, layout.ManagerClient.Key, layout.Clients["alice"].Key, layout.CAKey} {
		data, err := os.ReadFile(key)
		require.NoError(t, err)
		for _, line := range strings.Split(string(data), "\n") {
			if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				assert.NotContains(t, out, line, "a line of %s is in the log", key)
			}
		}
	}
}
