package fakeengine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// connKey carries the request's net.Conn in its context, so fault injection
// can cut a connection abruptly.
type connKey struct{}

// apiError is an error with the HTTP status a real engine answers it with.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// errNotModified is the engine's 304 for start/stop of a container already there.
var errNotModified = &apiError{status: http.StatusNotModified}

// routes registers every handler. Patterns are the count keys of Calls.
func (e *Engine) routes() *http.ServeMux {
	m := http.NewServeMux()
	h := func(pattern string, fn http.HandlerFunc) {
		m.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			e.count(pattern)
			fn(w, r)
		})
	}
	h("GET /_ping", e.ping)
	h("HEAD /_ping", e.ping)
	h("GET /version", e.version)
	h("GET /info", e.info)
	h("GET /events", e.eventsHandler)

	h("GET /containers/json", e.listContainers)
	h("POST /containers/create", e.createContainer)
	h("GET /containers/{id}/json", e.inspectContainer)
	h("POST /containers/{id}/start", e.lifecycle(e.startLocked))
	h("POST /containers/{id}/stop", e.lifecycle(e.stopLocked))
	h("POST /containers/{id}/kill", e.lifecycle(e.killLocked))
	h("POST /containers/{id}/restart", e.lifecycle(e.restartLocked))
	h("POST /containers/{id}/pause", e.lifecycle(e.pauseLocked))
	h("POST /containers/{id}/unpause", e.lifecycle(e.unpauseLocked))
	h("POST /containers/{id}/rename", e.lifecycle(e.renameLocked))
	h("DELETE /containers/{id}", e.removeContainer)
	h("POST /containers/{id}/wait", e.waitContainer)
	h("GET /containers/{id}/logs", e.logs)
	h("GET /containers/{id}/top", e.top)
	h("GET /containers/{id}/changes", e.changes)

	h("GET /images/json", e.listImages)
	h("POST /images/create", e.pullImage)
	// Image names contain slashes, so the rest of the path is split by hand.
	m.HandleFunc("GET /images/{rest...}", e.imageGet)
	m.HandleFunc("POST /images/{rest...}", e.imagePost)
	h("DELETE /images/{name...}", e.deleteImage)

	h("GET /networks", e.listNetworks)
	h("POST /networks/create", e.createNetwork)
	h("GET /networks/{id}", e.inspectNetwork)
	h("DELETE /networks/{id}", e.deleteNetwork)
	h("POST /networks/{id}/connect", e.connectNetwork)

	h("GET /volumes", e.listVolumes)
	h("POST /volumes/create", e.createVolume)
	h("GET /volumes/{name}", e.inspectVolume)
	h("DELETE /volumes/{name}", e.deleteVolume)
	// Everything else, wrong methods included, is dockerd's JSON 404 (the
	// mux's own answers are plain text). Routing once per request this way
	// is cheaper than asking the mux for the handler first.
	m.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, errf(http.StatusNotFound, "page not found"))
	})
	return m
}

func (e *Engine) count(route string) {
	e.mu.Lock()
	e.calls[route]++
	e.mu.Unlock()
}

// ServeHTTP strips the optional /vX.Y prefix, refuses versions outside
// [MinAPIVersion, APIVersion] as dockerd does, adds the latency and sets the
// headers every dockerd response carries.
func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	for k, v := range e.headers {
		hdr[k] = v // shared slices: net/http only reads them
	}
	if v, rest, ok := splitVersion(r.URL.Path); ok {
		if versionLess(e.maxVersion, v) {
			writeError(w, errf(http.StatusBadRequest, "client version %s is too new. Maximum supported API version is %s", v, e.maxVersion))
			return
		}
		if versionLess(v, MinAPIVersion) {
			writeError(w, errf(http.StatusBadRequest, "client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", v, MinAPIVersion))
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		r2.URL = new(url.URL)
		*r2.URL = *r.URL
		r2.URL.Path = rest
		r2.URL.RawPath = ""
		r = r2
	}
	if latency := time.Duration(e.latency.Load()); latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	e.mux.ServeHTTP(w, r)
}

// splitVersion splits "/v1.41/containers/json" into "1.41" and "/containers/json".
func splitVersion(p string) (version, rest string, ok bool) {
	if len(p) < 3 || p[0] != '/' || p[1] != 'v' || p[2] < '0' || p[2] > '9' {
		return "", p, false
	}
	i := strings.IndexByte(p[1:], '/')
	if i < 0 || strings.Trim(p[2:i+1], "0123456789.") != "" {
		return "", p, false // dockerd's router takes only /v[0-9.]+/ as a version
	}
	return p[2 : i+1], p[i+1:], true
}

// versionLess reports whether API version a is older than b ("1.9" < "1.12").
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// writeJSON encodes v with status. Callers must not hold e.mu.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, fmt.Errorf("fake engine: encode response: %w", err))
		return
	}
	writeRaw(w, status, append(body, '\n'))
}

// writeRaw sends an encoded JSON body (ending in a newline, as json.Encoder
// leaves it) in one piece with its length, so a response costs one write
// to the connection rather than a chunked stream. Callers must not hold e.mu.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	hdr := w.Header()
	hdr["Content-Type"] = jsonContentType
	hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// jsonContentType is shared by every response header; net/http only reads it.
var jsonContentType = []string{"application/json"}

// bufPool holds buffers for the hand-encoded hot paths (request bodies,
// inspect responses). Take one with getBuf and return it with putBuf.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

// putBuf returns bp to the pool unless an odd request grew it past 64 KiB,
// which the pool would otherwise keep alive for good.
func putBuf(bp *[]byte) {
	if cap(*bp) <= 64<<10 {
		bufPool.Put(bp)
	}
}

// writeError answers err the way dockerd does: {"message": "..."} with the
// error's status, 500 for errors without one.
func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{status: http.StatusInternalServerError, msg: err.Error()}
	}
	if ae.status == http.StatusNotModified {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, ae.status, map[string]string{"message": ae.msg})
}

// decodeBody decodes an optional JSON body into v.
func decodeBody(r *http.Request, v any) error {
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return errf(http.StatusBadRequest, "invalid JSON body: %v", err)
	}
	return nil
}

// boolParam reads a query flag the way dockerd does: "", "0", "false", "no",
// "off" and "none" are false, anything else is true.
func boolParam(r *http.Request, name string) bool {
	switch strings.ToLower(strings.TrimSpace(r.URL.Query().Get(name))) {
	case "", "0", "false", "no", "off", "none":
		return false
	}
	return true
}

// cutConn closes the request's connection abruptly.
func cutConn(r *http.Request) {
	if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
		_ = c.Close()
	}
}

// writeBody encodes v after the headers were already sent.
func writeBody(w http.ResponseWriter, v any) {
	_ = json.NewEncoder(w).Encode(v)
}
