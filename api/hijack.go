package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/gorilla/mux"
)

// hijackContainer proxies `docker attach` and the attach of an attached
// `docker run`: a raw two-way stream.
func (s *Server) hijackContainer(w http.ResponseWriter, r *http.Request) {
	c, ep, path, err := s.containerTarget(r)
	if err != nil {
		writeError(w, err)
		return
	}
	s.hijack(w, r, ep, path, nil, func() {
		if err := s.cluster.Refresh(context.WithoutCancel(r.Context()), c.Node.ID, c.Summary.ID); err != nil {
			s.log.Debug("refresh after attach", "container", c.Summary.ID, "err", err)
		}
	})
}

// startExec starts an exec instance: a detached start is an ordinary
// request, an attached one is hijacked.
func (s *Server) startExec(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		writeError(w, fmt.Errorf("read exec start body: %w", err))
		return
	}
	var opts struct{ Detach bool }
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeBytes(body, &opts); err != nil {
			writeError(w, err)
			return
		}
	}
	ep, err := s.execEndpoint(r, id)
	if err != nil {
		writeError(w, err)
		return
	}
	if opts.Detach {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		s.forward(w, r, ep, r.URL.Path, nil)
		return
	}
	s.hijack(w, r, ep, r.URL.Path, body, nil)
}

// dialEngine opens a raw connection to the engine behind ep, with the TLS
// settings of its HTTP client.
func dialEngine(ctx context.Context, ep Endpoint, host, scheme string) (net.Conn, error) {
	var d net.Dialer
	dial := d.DialContext
	var tlsConf *tls.Config
	if tr, ok := clientOf(ep).Transport.(*http.Transport); ok {
		if tr.DialContext != nil {
			dial = tr.DialContext
		}
		tlsConf = tr.TLSClientConfig
	}
	conn, err := dial(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	if scheme != "https" {
		return conn, nil
	}
	cfg := &tls.Config{}
	if tlsConf != nil {
		cfg = tlsConf.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(host)
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return tc, nil
}

// hijack sends r to the engine over a connection of its own. When the
// engine answers with a stream (101 Switching Protocols for `Upgrade: tcp`,
// or 200 with a raw stream), the client connection is hijacked and bytes
// are copied both ways untouched. The client's half-close (stdin EOF) is
// passed on as a half-close to the engine, so `echo x | docker run -i …`
// still gets its output; the session ends when the engine's side ends.
// Error answers are relayed as ordinary responses. body replaces r.Body
// when not nil. done runs after the session.
//
// Every call holds one of the Config.MaxHijacked slots from before the
// engine is dialled until both connections are closed.
func (s *Server) hijack(w http.ResponseWriter, r *http.Request, ep Endpoint, path string, body []byte, done func()) {
	release, ok := s.hijacks.acquire(w)
	if !ok {
		return
	}
	defer release()
	target, err := engineURL(ep, r, path)
	if err != nil {
		writeError(w, err)
		return
	}
	conn, err := dialEngine(r.Context(), ep, target.Host, target.Scheme)
	if err != nil {
		writeErrorStatus(w, http.StatusBadGateway, fmt.Sprintf("node %s (%s) unreachable for %s: %v", ep.Node.Name, ep.Node.Addr, path, err))
		return
	}
	out := r.Clone(r.Context())
	out.URL = target
	out.Host = target.Host
	out.RequestURI = ""
	if body != nil {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
	}
	out.Header.Del("Content-Length")
	if err := out.Write(conn); err != nil {
		_ = conn.Close()
		writeErrorStatus(w, http.StatusBadGateway, fmt.Sprintf("send %s to node %s: %v", path, ep.Node.Name, err))
		return
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, out)
	if err != nil {
		_ = conn.Close()
		writeErrorStatus(w, http.StatusBadGateway, fmt.Sprintf("read answer to %s from node %s: %v", path, ep.Node.Name, err))
		return
	}
	if !isStream(resp) {
		defer conn.Close()
		relay(w, resp)
		return
	}
	client, cbuf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		_ = conn.Close()
		writeErrorStatus(w, http.StatusInternalServerError, "cannot hijack the client connection: "+err.Error())
		return
	}
	if done != nil {
		defer done()
	}
	// Write the engine's status line and headers as they are: the CLI
	// checks for 101 / the raw-stream content type.
	fmt.Fprintf(cbuf, "HTTP/1.1 %s\r\n", resp.Status)
	_ = resp.Header.Write(cbuf)
	_, _ = cbuf.WriteString("\r\n")
	if err := cbuf.Flush(); err != nil {
		_ = client.Close()
		_ = conn.Close()
		return
	}
	pipe(client, cbuf.Reader, conn, br)
}

// isStream reports whether the engine switched the connection to a raw
// stream.
func isStream(resp *http.Response) bool {
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return true
	}
	ct := resp.Header.Get("Content-Type")
	return resp.StatusCode == http.StatusOK &&
		(strings.Contains(ct, "vnd.docker.raw-stream") || strings.Contains(ct, "vnd.docker.multiplexed-stream"))
}

// relay copies an ordinary engine answer to the client.
func relay(w http.ResponseWriter, resp *http.Response) {
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

type closeWriter interface{ CloseWrite() error }

// pipe copies client→engine and engine→client until the engine's side
// ends. Bytes already buffered on either side are sent first.
func pipe(client net.Conn, clientBuf io.Reader, engine net.Conn, engineBuf io.Reader) {
	// clientBuf and engineBuf read through to their connections.
	var once sync.Once
	closeAll := func() {
		once.Do(func() {
			_ = client.Close()
			_ = engine.Close()
		})
	}
	defer closeAll()
	go func() {
		_, _ = io.Copy(engine, clientBuf)
		// stdin ended: tell the engine, keep reading its output.
		if cw, ok := engine.(closeWriter); ok {
			_ = cw.CloseWrite()
		} else {
			closeAll()
		}
	}()
	_, _ = io.Copy(client, engineBuf)
	if cw, ok := client.(closeWriter); ok {
		_ = cw.CloseWrite()
	}
}
