package api

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
)

const (
	// DefaultMaxHijacked is the default cap on concurrent hijacked
	// connections (attach, attached exec, `Upgrade: tcp`). Each one holds
	// two sockets (client and engine) and two goroutines for its lifetime.
	DefaultMaxHijacked = 1024
	// MaxHijackedFlag is the `swarm manage` flag that sets Config.MaxHijacked;
	// the 503 answer names it so the operator knows what to raise.
	MaxHijackedFlag = "--max-hijacked"
)

// hijackLimit counts hijacked connections against a cap. Acquiring never
// blocks: a client over the cap is answered at once instead of queued
// behind sessions that may last for hours.
type hijackLimit struct {
	max   int
	slots chan struct{}
}

func newHijackLimit(max int) *hijackLimit {
	return &hijackLimit{max: max, slots: make(chan struct{}, max)}
}

// acquire takes a slot for one hijacked connection. When the cap is reached
// it answers 503 on w and returns ok=false. Otherwise the caller must call
// release exactly once, when the connection is gone.
func (l *hijackLimit) acquire(w http.ResponseWriter) (release func(), ok bool) {
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, true
	default:
		writeErrorStatus(w, http.StatusServiceUnavailable, fmt.Sprintf(
			"too many attached sessions: the swarm manager already serves %d attach/exec streams (its limit); "+
				"end some (docker attach, docker exec -it, docker run without -d) or restart the manager with a higher %s",
			l.max, MaxHijackedFlag))
		return nil, false
	}
}

// inUse is the number of hijacked connections now open.
func (l *hijackLimit) inUse() int { return len(l.slots) }

// recoverPanic is deferred by ServeHTTP: a panic in one request must not
// take the manager (and every other client's stream) down. It logs one
// line with the method and path only — headers and bodies may carry
// registry credentials — and answers 500 in the engine's error shape when
// nothing was written yet. If the answer had started or the connection was
// hijacked, there is no way to report the error in-band, so the connection
// is aborted instead.
func (s *Server) recoverPanic(rec *statusRecorder, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
		// net/http's way of aborting a response on purpose (ReverseProxy
		// does it when the engine drops a stream): not a bug, no log.
		panic(v)
	}
	s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path,
		"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if rec.status != 0 || rec.hijacked {
		panic(http.ErrAbortHandler)
	}
	writeErrorStatus(rec, http.StatusInternalServerError, fmt.Sprintf(
		"internal error in the swarm manager while serving %s %s; nothing was done after the failure point, and the manager logged the details (look for \"panic serving request\")",
		r.Method, r.URL.Path))
}

// logRequest writes the one line per request. Never log headers or
// bodies: X-Registry-Auth carries credentials, create bodies environment
// secrets.
func (s *Server) logRequest(r *http.Request, rec *statusRecorder, attrs ...any) {
	level := slog.LevelDebug
	if rec.status >= 500 {
		level = slog.LevelWarn
	}
	if rec.hijacked {
		attrs = append(attrs, "hijacked", true)
	}
	s.log.Log(r.Context(), level, "request", append([]any{"method", r.Method, "path", r.URL.Path,
		"status", rec.status}, attrs...)...)
}

// Hijack records that the connection left net/http's hands, so a later
// panic does not try to write a 500 on it.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the client connection cannot be hijacked (HTTP/2?)")
	}
	conn, buf, err := hj.Hijack()
	if err == nil {
		s.hijacked = true
	}
	return conn, buf, err
}
