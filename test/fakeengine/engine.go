// Package fakeengine is an in-process fake Docker engine: an HTTP server that
// speaks the subset of the Docker Engine API the swarm manager uses, with the
// JSON shapes of github.com/docker/docker/api/types so the real Go SDK and the
// real docker CLI can drive it.
//
// It is faithful where the manager's correctness depends on it: names are
// unique per engine, images must exist before a create, container state
// transitions emit the same events (and in the same order) as a real engine,
// `since` replays the event history inclusively as dockerd does, stopped
// containers keep HostConfig.PortBindings but no bound ports, and random host
// ports come from 32768 upwards. It is cheap where nothing depends on it: no
// processes run, logs are a fixed line, sizes are constants.
//
// An Engine also offers a Go API for tests: fault injection (Stop/Restart,
// DropEventStreams, CutNextListings), outside changes that emit the events a
// real engine would (RunOutside, StopContainer, …) and per-route call
// counters. It is built to run by the thousand in one process: no goroutine
// per container, no per-subscriber buffers, one mutex per engine.
package fakeengine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/events"
)

// Defaults an Engine reports when Options leave them empty.
const (
	DefaultAPIVersion    = "1.41"
	MinAPIVersion        = "1.12"
	DefaultServerVersion = "20.10.24"
	DefaultEventHistory  = 256 // the size of dockerd's own replay buffer
	firstRandomPort      = 32768
	lastRandomPort       = 60999
)

// Options configure a new Engine. Zero values get sensible defaults.
type Options struct {
	// ID is the engine ID `docker info` reports; random when empty.
	ID string
	// Name is the host name `docker info` reports; "fake-<id prefix>" when empty.
	Name string
	// Labels are the engine labels (`dockerd --label`).
	Labels map[string]string
	// NCPU and MemTotal are the engine's resources; 4 CPUs and 8 GiB when zero.
	NCPU     int
	MemTotal int64
	// APIVersion is the highest API version served; DefaultAPIVersion when empty.
	APIVersion string
	// ServerVersion is the engine version reported; DefaultServerVersion when empty.
	ServerVersion string
	// Images are the image references present at start ("busybox", "nginx:1.25").
	Images []string
	// Registry lists the references a pull can fetch. Nil means any well-formed
	// reference can be pulled; a non-nil list makes every other pull fail the
	// way Docker Hub answers for a repository that does not exist.
	Registry []string
	// Latency is added to every API call, to model a remote engine.
	Latency time.Duration
	// EventHistory is how many events are kept for `since` replay;
	// DefaultEventHistory when zero. A stream that falls further behind than
	// this is cut, so a client never misses events silently.
	EventHistory int
}

// Engine is one fake Docker engine. Its methods are safe for concurrent use.
// Create it with New, then call Start or StartOn.
type Engine struct {
	maxVersion    string
	serverVersion string
	ncpu          int
	memTotal      int64
	registry      map[string]bool // nil: everything is pullable
	mux           *http.ServeMux
	headers       http.Header  // set on every response; built once, only read after New
	latency       atomic.Int64 // nanoseconds added to every call, read without e.mu

	// mu guards everything below. Handlers copy what they need out of the
	// state and release mu before they write to a connection.
	mu          sync.Mutex
	id          string
	name        string
	labels      map[string]string
	containers  map[string]*ctr // by full ID
	byName      map[string]*ctr // by name without "/"
	images      map[string]*img // by ID
	tags        map[string]*img // by familiar reference "busybox:latest"
	networks    map[string]*netw
	volumes     map[string]*vol
	boundPorts  map[hostPort]string // host ports held by running containers → container ID
	portUse     map[portKey]int     // bindings per port and protocol, over all addresses
	nextPort    int
	nextIP      int
	seq         uint64           // creation order of containers
	linked      int              // containers that have links, to skip alias scans
	history     []events.Message // grows to histCap, then is a ring
	histCap     int
	histStart   int    // index of the oldest event in history once full
	published   uint64 // number of events ever published
	lastNano    int64
	changed     chan struct{} // closed and replaced on every event
	streams     map[*stream]struct{}
	cutListings int
	calls       map[string]int
	srv         *http.Server
	addr        string
	down        chan struct{} // closed while the engine is stopped
}

// New returns an engine that is not listening yet.
func New(opts Options) *Engine {
	e := &Engine{
		maxVersion:    opts.APIVersion,
		serverVersion: opts.ServerVersion,
		ncpu:          opts.NCPU,
		memTotal:      opts.MemTotal,
		id:            opts.ID,
		name:          opts.Name,
		labels:        maps.Clone(opts.Labels),
		containers:    make(map[string]*ctr),
		byName:        make(map[string]*ctr),
		images:        make(map[string]*img),
		tags:          make(map[string]*img),
		networks:      make(map[string]*netw, 3),
		volumes:       make(map[string]*vol),
		boundPorts:    make(map[hostPort]string),
		portUse:       make(map[portKey]int),
		nextPort:      firstRandomPort,
		changed:       make(chan struct{}),
		streams:       make(map[*stream]struct{}),
		calls:         make(map[string]int),
		down:          make(chan struct{}),
	}
	if e.maxVersion == "" {
		e.maxVersion = DefaultAPIVersion
	}
	if e.serverVersion == "" {
		e.serverVersion = DefaultServerVersion
	}
	if e.ncpu == 0 {
		e.ncpu = 4
	}
	if e.memTotal == 0 {
		e.memTotal = 8 << 30
	}
	if e.id == "" {
		e.id = engineID()
	}
	if e.name == "" {
		e.name = "fake-" + e.id[:4]
	}
	if opts.Registry != nil {
		e.registry = make(map[string]bool, len(opts.Registry))
		for _, r := range opts.Registry {
			if ref, err := normalizeRef(r); err == nil {
				e.registry[ref] = true
			}
		}
	}
	size := opts.EventHistory
	if size <= 0 {
		size = DefaultEventHistory
	}
	e.histCap = size // grown on demand: idle simulated engines stay small
	for _, n := range defaultNetworks() {
		e.networks[n.id] = n
	}
	for _, ref := range opts.Images {
		e.AddImage(ref)
	}
	e.latency.Store(int64(opts.Latency))
	e.headers = http.Header{
		"Server":      {"Docker/" + e.serverVersion + " (" + runtime.GOOS + ")"},
		"Api-Version": {e.maxVersion},
		"Ostype":      {"linux"},
	}
	e.mux = e.routes()
	return e
}

// Start listens on a free loopback port. It does not block.
func (e *Engine) Start() error { return e.StartOn("127.0.0.1:0") }

// StartOn listens on addr ("127.0.0.1:2375") and serves in the background.
func (e *Engine) StartOn(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("fake engine %s: listen on %s: %w", e.ID(), addr, err)
	}
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	e.mu.Lock()
	if e.srv != nil {
		e.mu.Unlock()
		_ = ln.Close()
		return fmt.Errorf("fake engine %s: already listening on %s", e.id, e.addr)
	}
	e.srv = srv
	e.addr = ln.Addr().String()
	e.down = make(chan struct{})
	e.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// Addr is the host:port the engine listens on (kept while stopped).
func (e *Engine) Addr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.addr
}

// URL is the address in the form DOCKER_HOST and client.WithHost expect.
func (e *Engine) URL() string { return "tcp://" + e.Addr() }

// Stop takes the engine down: the listener and every connection close, so
// new calls are refused, but the state is kept for Restart. Idempotent.
func (e *Engine) Stop() {
	e.mu.Lock()
	srv, down := e.srv, e.down
	e.srv = nil
	e.mu.Unlock()
	if srv == nil {
		return
	}
	// Connections close before the long-running handlers are told to return,
	// so open streams break abruptly instead of ending with a clean last chunk.
	_ = srv.Close()
	close(down)
}

// Restart brings a stopped engine back on the same address with its state.
// Containers keep their states, as with dockerd's live-restore.
func (e *Engine) Restart() error {
	addr := e.Addr()
	if addr == "" {
		return errors.New("fake engine: restart before the first start; call Start first")
	}
	e.Stop()
	return e.StartOn(addr)
}

// Close stops the engine for good. Equivalent to Stop; kept for symmetry with
// httptest.Server so `defer e.Close()` reads naturally.
func (e *Engine) Close() { e.Stop() }

// ID returns the engine ID.
func (e *Engine) ID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.id
}

// SetID changes the engine ID, e.g. to give two engines the same ID the way
// cloned machines sharing /etc/docker/key.json do.
func (e *Engine) SetID(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.id = id
}

// SetLabels replaces the engine labels and emits a daemon `reload` event,
// as `kill -HUP dockerd` after editing daemon.json does.
func (e *Engine) SetLabels(labels map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.labels = maps.Clone(labels)
	e.emitLocked(events.DaemonEventType, events.ActionReload, e.id, map[string]string{
		"name":   e.name,
		"labels": fmt.Sprintf("%q", labelList(e.labels)),
	})
}

// SetLatency changes the latency added to every call.
func (e *Engine) SetLatency(d time.Duration) { e.latency.Store(int64(d)) }

// CutNextListings makes the next n container listings stop half-way through
// the body and drop the connection, as an engine dying mid-response does.
func (e *Engine) CutNextListings(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cutListings = n
}

// Calls returns how many requests hit route since the engine was created.
// Routes are named as in the Engine API reference, without version prefix:
// "GET /containers/json", "POST /containers/{id}/start",
// "GET /images/{name}/json", "POST /images/create", "GET /events", "GET /_ping".
func (e *Engine) Calls(route string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[route]
}
