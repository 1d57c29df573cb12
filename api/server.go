// Package api is the manager's Docker Engine API: it answers what the
// cluster knows from its cache (info, ps, images, events, …), schedules
// creates through the cluster and forwards everything else, including
// hijacked attach/exec streams, to the engine that owns the object, at an
// API version that engine speaks. gorilla/mux never leaves this package.
package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

const (
	// maxAPIVersion is the newest API version the manager speaks itself.
	maxAPIVersion = "1.51"
	// minAPIVersion is the oldest API version the manager accepts.
	minAPIVersion = "1.24"
	// defaultMaxBody caps the JSON bodies the manager decodes itself.
	defaultMaxBody = 1 << 20
)

// Config holds what New needs.
type Config struct {
	Cluster Cluster
	// Version is the swarm release; /version answers "swarm/<Version>".
	Version string
	Logger  *slog.Logger
	// MaxBodyBytes caps JSON request bodies decoded by the manager
	// (create, exec create, network create, …). Streams forwarded to an
	// engine (docker cp, image load) are not capped. Default 1 MiB.
	MaxBodyBytes int64
	// MaxHijacked caps concurrent hijacked connections (docker attach,
	// attached exec and run, any `Upgrade: tcp`); one more is answered 503.
	// 0 means DefaultMaxHijacked.
	MaxHijacked int
	// Busy, if not nil, is called as a request that allocates much
	// begins (a container listing: some 60 MB at 30,000 containers when
	// nothing is cached), so the process can give its garbage collector
	// room before the garbage piles up. It must not block.
	Busy func()
}

// Server is the manager's HTTP handler. It is safe for concurrent use.
type Server struct {
	cluster Cluster
	version string
	log     *slog.Logger
	maxBody int64
	router  *mux.Router
	execs   execNodes
	hijacks *hijackLimit
	// summaries caches encoded container summaries for listings.
	summaries summaryCache
	// busy is Config.Busy, or a no-op.
	busy func()
	// eventWriteTimeout is defaultEventWriteTimeout; tests shorten it.
	eventWriteTimeout time.Duration
}

// New returns the manager's API handler; serve it on every -H listener.
func New(cfg Config) (*Server, error) {
	if cfg.Cluster == nil {
		return nil, errors.New("api: Config.Cluster is required")
	}
	if cfg.MaxHijacked < 0 {
		return nil, fmt.Errorf("api: Config.MaxHijacked %d: must be at least 1 (0 picks the default %d)", cfg.MaxHijacked, DefaultMaxHijacked)
	}
	if cfg.MaxHijacked == 0 {
		cfg.MaxHijacked = DefaultMaxHijacked
	}
	s := &Server{
		cluster: cfg.Cluster,
		version: cfg.Version,
		log:     cfg.Logger,
		maxBody: cfg.MaxBodyBytes,
		hijacks: newHijackLimit(cfg.MaxHijacked),
		busy:    cfg.Busy,

		eventWriteTimeout: defaultEventWriteTimeout,
	}
	if s.busy == nil {
		s.busy = func() {}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = defaultMaxBody
	}
	if s.version == "" {
		s.version = "dev"
	}
	s.router = s.routes()
	return s, nil
}

type ctxKey int

const versionKey ctxKey = 0

var versionPrefix = regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/.*)?$`)

// ServeHTTP strips an optional /vX.Y prefix (remembering the version for
// forwarding), logs the request and dispatches it. A panic in a handler is
// recovered here and answered 500 (see recoverPanic).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	defer s.recoverPanic(rec, r)
	if m := versionPrefix.FindStringSubmatch(r.URL.Path); m != nil {
		v := m[1]
		if compareVersions(v, minAPIVersion) < 0 {
			writeErrorStatus(rec, http.StatusBadRequest, fmt.Sprintf(
				"client version %s is too old. Minimum supported API version is %s, please upgrade your client", v, minAPIVersion))
			return
		}
		if compareVersions(v, maxAPIVersion) > 0 {
			writeErrorStatus(rec, http.StatusBadRequest, fmt.Sprintf(
				"client version %s is too new. Maximum supported API version is %s", v, maxAPIVersion))
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), versionKey, v))
		r.URL.Path = m[2]
		if r.URL.Path == "" {
			r.URL.Path = "/"
		}
		r.URL.RawPath = ""
	}
	s.router.ServeHTTP(rec, r)
	s.logRequest(r, rec, "duration", time.Since(start))
}

// requestVersion is the API version the client asked for, "" when bare.
func requestVersion(r *http.Request) string {
	v, _ := r.Context().Value(versionKey).(string)
	return v
}

func (s *Server) routes() *mux.Router {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeErrorStatus(w, http.StatusNotFound, fmt.Sprintf("page not found: %s %s is not an endpoint of the Docker API", r.Method, r.URL.Path))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeErrorStatus(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path))
	})
	h := func(path string, fn http.HandlerFunc, methods ...string) {
		r.Path(path).Methods(methods...).HandlerFunc(fn)
	}
	get, post, del, head, put := http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodHead, http.MethodPut

	// mux tries routes in order, each through a regular expression:
	// the two routes of every `docker run` come first.
	h("/containers/create", s.createContainer, post)
	// State changes re-read the container before answering; resize and
	// wait change nothing the cache holds (wait's headers come at once).
	for _, p := range []string{"start", "stop", "kill", "restart", "pause", "unpause", "update"} {
		h("/containers/{name:.*}/"+p, s.forwardContainer(true), post)
	}
	h("/_ping", s.ping, get, head)
	h("/version", s.getVersion, get)
	h("/info", s.getInfo, get)
	h("/events", s.getEvents, get)

	h("/containers/json", s.listContainers, get)
	h("/containers/{name:.*}/json", s.inspectContainer, get)
	h("/containers/{name:.*}/rename", s.renameContainer, post)
	h("/containers/{name:.*}/attach", s.hijackContainer, post)
	h("/containers/{name:.*}/exec", s.createExec, post)
	h("/containers/{name:.*}/resize", s.forwardContainer(false), post)
	h("/containers/{name:.*}/wait", s.forwardContainer(false), post)
	for _, p := range []string{"logs", "top", "stats", "changes", "export", "attach/ws"} {
		h("/containers/{name:.*}/"+p, s.forwardContainer(false), get)
	}
	h("/containers/{name:.*}/archive", s.forwardContainer(false), get, head)
	h("/containers/{name:.*}/archive", s.forwardContainer(false), put)
	h("/containers/{name:.*}", s.removeContainer, del)
	h("/containers/prune", s.prune("containers"), post)
	h("/images/prune", s.prune("images"), post)
	h("/networks/prune", s.prune("networks"), post)
	h("/volumes/prune", s.prune("volumes"), post)
	h("/build", s.build, post)
	h("/commit", s.commitContainer, post)

	h("/exec/{id}/start", s.startExec, post)
	h("/exec/{id}/resize", s.forwardExec, post)
	h("/exec/{id}/json", s.forwardExec, get)

	h("/images/json", s.listImages, get)
	h("/images/search", s.forwardAny, get)
	h("/auth", s.forwardAny, post)
	h("/images/create", s.pullImage, post)
	h("/images/load", s.loadImage, post)
	h("/images/get", s.forwardImageQuery, get)
	h("/images/{name:.*}/json", s.forwardImage, get)
	h("/images/{name:.*}/history", s.forwardImage, get)
	h("/images/{name:.*}/get", s.forwardImage, get)
	h("/images/{name:.*}/tag", s.tagImage, post)
	h("/images/{name:.*}/push", s.forwardImage, post)
	h("/images/{name:.*}", s.removeImage, del)

	h("/networks", s.listNetworks, get)
	h("/networks/create", s.createNetwork, post)
	h("/networks/{name:.*}/connect", s.forwardNetwork, post)
	h("/networks/{name:.*}/disconnect", s.forwardNetwork, post)
	h("/networks/{name:.*}", s.inspectNetwork, get)
	h("/networks/{name:.*}", s.removeNetwork, del)

	h("/volumes", s.listVolumes, get)
	h("/volumes/create", s.createVolume, post)
	h("/volumes/{name:.*}", s.inspectVolume, get)
	h("/volumes/{name:.*}", s.removeVolume, del)

	// Swarm mode and other engine features the manager does not provide:
	// answer in JSON so the CLI prints why instead of a bare 404 page.
	for _, p := range []string{"/swarm", "/services", "/tasks", "/secrets", "/configs", "/nodes", "/plugins", "/session", "/system/df", "/distribution"} {
		r.PathPrefix(p).HandlerFunc(s.notImplemented)
	}
	_, _, _ = post, head, put
	return r
}

func (s *Server) notImplemented(w http.ResponseWriter, r *http.Request) {
	writeErrorStatus(w, http.StatusNotImplemented, fmt.Sprintf(
		"%s %s is not implemented by the swarm manager (swarm mode and this engine feature are not supported); run it against an engine directly",
		r.Method, r.URL.Path))
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeBody decodes a capped JSON body into v; an empty body is an error
// only when required.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any, required bool) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var maxErr *http.MaxBytesError
		switch {
		case errors.As(err, &maxErr):
			return fmt.Errorf("request body larger than %d bytes: %w", s.maxBody, err)
		case err.Error() == "EOF":
			if required {
				return badRequest("request body is empty; send a JSON object")
			}
			return nil
		}
		return badRequest("malformed JSON body: %v", err)
	}
	return nil
}

// readBody reads a whole request body of at most Config.MaxBody bytes; an
// empty one is an error that says a JSON object is wanted.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, fmt.Errorf("request body larger than %d bytes: %w", s.maxBody, err)
	case err != nil:
		return nil, badRequest("reading the request body: %v", err)
	case len(bytes.TrimSpace(data)) == 0:
		return nil, badRequest("request body is empty; send a JSON object")
	}
	return data, nil
}

// boolValue reads a query flag the way the engine does ("1", "true").
func boolValue(r *http.Request, k string) bool {
	v := strings.ToLower(strings.TrimSpace(r.URL.Query().Get(k)))
	return v != "" && v != "0" && v != "false" && v != "no" && v != "off"
}

// compareVersions compares dotted API versions numerically, a missing or
// non-numeric part counting as 0. It runs on every request, so it does not
// split the strings.
func compareVersions(a, b string) int {
	for a != "" || b != "" {
		var x, y string
		x, a, _ = strings.Cut(a, ".")
		y, b, _ = strings.Cut(b, ".")
		xi, _ := strconv.Atoi(x)
		yi, _ := strconv.Atoi(y)
		if c := cmp.Compare(xi, yi); c != 0 {
			return c
		}
	}
	return 0
}

// statusRecorder remembers the status for the log line and still lets
// streaming handlers flush and hijack.
type statusRecorder struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// decodeBytes decodes an already read JSON body.
func decodeBytes(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return badRequest("malformed JSON body: %v", err)
	}
	return nil
}
