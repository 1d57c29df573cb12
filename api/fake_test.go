package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/scheduler"
)

// fakeCluster is an in-memory Cluster for tests. Fields may be set before
// the server is used; calls are recorded.
type fakeCluster struct {
	mu         sync.Mutex
	nodes      []Node
	containers []Container
	images     []Image
	networks   []Network
	volumes    []Volume
	info       Info
	endpoints  map[string]Endpoint
	createErr  error
	// createWarnings are the engine warnings each create reports.
	createWarnings []string
	created        []CreateRequest
	renamed        []string
	removed        []string
	refreshed      []string
	history        []Event
	live           chan *Event
	subs           int
	closedSubs     int
}

func (f *fakeCluster) Nodes() []Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]Node(nil), f.nodes...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (f *fakeCluster) Containers() []Container {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Container(nil), f.containers...)
}

func (f *fakeCluster) Container(ref string) (Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var hits []Container
	for _, c := range f.containers {
		if c.Summary.ID == ref {
			return c, nil
		}
		for _, n := range c.Summary.Names {
			bare := strings.TrimPrefix(n, "/")
			if ref == bare || ref == "/"+bare || ref == c.Node.Name+"/"+bare {
				hits = append(hits, c)
			}
		}
		if len(ref) >= 3 && strings.HasPrefix(c.Summary.ID, ref) {
			hits = append(hits, c)
		}
	}
	switch len(hits) {
	case 0:
		return Container{}, fmt.Errorf("container %q: %w", ref, ErrNotFound)
	case 1:
		return hits[0], nil
	}
	var names []string
	for _, h := range hits {
		names = append(names, h.Node.Name+h.Summary.Names[0])
	}
	return Container{}, &AmbiguousError{Ref: ref, Candidates: names}
}

func (f *fakeCluster) Images() []Image {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Image(nil), f.images...)
}
func (f *fakeCluster) Networks() []Network {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Network(nil), f.networks...)
}
func (f *fakeCluster) Volumes() []Volume {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Volume(nil), f.volumes...)
}

// Info is the configured info with the nodes, as the cluster's Info has.
func (f *fakeCluster) Info() Info {
	info := f.info
	info.Nodes = f.Nodes()
	return info
}

func (f *fakeCluster) CreateContainer(_ context.Context, req CreateRequest) (Created, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created = append(f.created, req)
	if f.createErr != nil {
		return Created{}, f.createErr
	}
	c := Container{Node: f.nodes[0], Summary: container.Summary{ID: fmt.Sprintf("%064d", len(f.created)), Names: []string{"/" + req.Name}, Image: req.Config.Image, State: "created"}}
	f.containers = append(f.containers, c)
	return Created{Container: c, Warnings: f.createWarnings}, nil
}

func (f *fakeCluster) RenameContainer(_ context.Context, ref, newName string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.renamed = append(f.renamed, ref+"->"+newName)
	if newName == "taken" {
		return fmt.Errorf("rename %s: %w", ref, ErrNameConflict)
	}
	return nil
}

func (f *fakeCluster) RemoveContainer(_ context.Context, ref string, force, volumes bool) error {
	if _, err := f.Container(ref); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, fmt.Sprintf("%s force=%v v=%v", ref, force, volumes))
	return nil
}

func (f *fakeCluster) Endpoint(nodeID string) (Endpoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ep, ok := f.endpoints[nodeID]
	if !ok {
		return Endpoint{}, fmt.Errorf("node %s: %w", nodeID, ErrNotFound)
	}
	return ep, nil
}

func (f *fakeCluster) Refresh(_ context.Context, nodeID, containerID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshed = append(f.refreshed, nodeID+"/"+containerID)
	return nil
}

func (f *fakeCluster) RefreshNode(_ context.Context, nodeID, what string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshed = append(f.refreshed, nodeID+":"+what)
	return nil
}

// PlaceObject stands in for the scheduler: the healthy node with the
// fewest containers.
func (f *fakeCluster) PlaceObject(constraints []string) (Node, error) {
	var best *Node
	for _, n := range f.Nodes() {
		if healthy(n) && (best == nil || n.Containers < best.Containers) {
			best = &n
		}
	}
	if best == nil {
		return Node{}, fmt.Errorf("no healthy node: %w", ErrNodeUnavailable)
	}
	return *best, nil
}

func (f *fakeCluster) refreshes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.refreshed...)
}

type fakeSub struct {
	ch   chan *Event
	f    *fakeCluster
	once sync.Once
}

func (s *fakeSub) Events() <-chan *Event { return s.ch }
func (s *fakeSub) Err() error            { return nil }
func (s *fakeSub) Close() {
	s.once.Do(func() {
		s.f.mu.Lock()
		s.f.closedSubs++
		s.f.mu.Unlock()
	})
}

func (f *fakeCluster) Subscribe(since time.Time) ([]Event, Subscription) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs++
	var replay []Event
	for _, e := range f.history {
		if !eventTime(e.Message).Before(since) {
			replay = append(replay, e)
		}
	}
	if f.live == nil {
		f.live = make(chan *Event, 16)
	}
	return replay, &fakeSub{ch: f.live, f: f}
}

func (f *fakeCluster) closedSubscriptions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closedSubs
}

func (f *fakeCluster) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subs
}

// node builds a healthy node.
func node(name, ip string) Node {
	return Node{ID: "ID-" + name, Name: name, Addr: ip + ":2376", IP: ip, State: scheduler.NodeHealthy,
		Labels: map[string]string{"storagedriver": "overlay2"}, NCPU: 2, Memory: 2 << 30, APIVersion: "1.41", ServerVersion: "20.10.24"}
}

// addEngine attaches an HTTP engine to the node with that name.
func (f *fakeCluster) addEngine(t *testing.T, nodeName string, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.endpoints == nil {
		f.endpoints = map[string]Endpoint{}
	}
	for _, n := range f.nodes {
		if n.Name == nodeName {
			f.endpoints[n.ID] = Endpoint{Node: n, URL: srv.URL, Client: srv.Client(), APIVersion: n.APIVersion}
			return srv
		}
	}
	t.Fatalf("no node %s", nodeName)
	return nil
}

// recorded is one request an engine received.
type recorded struct {
	Method, Path, Query, Body string
	Header                    http.Header
}

// recordingEngine answers every request with reply and records it.
type recordingEngine struct {
	mu    sync.Mutex
	calls []recorded
	reply func(w http.ResponseWriter, r *http.Request)
}

func (e *recordingEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	e.calls = append(e.calls, recorded{r.Method, r.URL.Path, r.URL.RawQuery, string(body), r.Header.Clone()})
	e.mu.Unlock()
	if e.reply != nil {
		e.reply(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (e *recordingEngine) last(t *testing.T) recorded {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	require.NotEmpty(t, e.calls, "engine got no request")
	return e.calls[len(e.calls)-1]
}

// newServer starts the API over f.
func newServer(t *testing.T, f *fakeCluster) *httptest.Server {
	t.Helper()
	s, err := New(Config{Cluster: f, Version: "test"})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

// do sends a request to the API and returns status and body.
func do(t *testing.T, srv *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(data)
}

func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }
