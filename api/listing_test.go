package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	sjson "github.com/segmentio/encoding/json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/scheduler"
)

// encodedListing is the reference for `all=1`: every container's
// clusterSummary, newest first, through json.Encoder.
func encodedListing(t *testing.T, cs []Container) string {
	t.Helper()
	cs = slices.Clone(cs)
	slices.SortStableFunc(cs, newestFirst)
	out := []container.Summary{}
	for _, c := range cs {
		out = append(out, clusterSummary(c))
	}
	var b bytes.Buffer
	require.NoError(t, json.NewEncoder(&b).Encode(out))
	return b.String()
}

// TestListingCacheIsInvisible lists through the summary cache after each
// kind of change and compares the bytes with encoding every summary anew.
// With the live cluster's lean listing, a container whose encoding is
// cached comes without its networks, and one whose encoding no longer
// fits is fetched whole: the bytes stay the same.
func TestListingCacheIsInvisible(t *testing.T) {
	t.Run("whole summaries", func(t *testing.T) { testListingCacheIsInvisible(t, false) })
	t.Run("lean summaries", func(t *testing.T) { testListingCacheIsInvisible(t, true) })
}

func testListingCacheIsInvisible(t *testing.T, lean bool) {
	f := psCluster()
	for i := range f.containers {
		f.containers[i].Rev = uint64(100 + i)
	}
	srv := serve(t, f)
	if lean {
		srv = serve(t, intoCluster{f})
	}
	set := func(change func(cs []Container)) {
		f.mu.Lock()
		defer f.mu.Unlock()
		change(f.containers)
	}
	steps := []struct {
		name   string
		change func(cs []Container)
	}{
		{"first listing encodes", func([]Container) {}},
		{"second listing reuses", func([]Container) {}},
		{"status is rendered per listing", func(cs []Container) { cs[0].Summary.Status = "Up 3 hours (healthy)" }},
		{"a status needing escapes", func(cs []Container) { cs[1].Summary.Status = `Up <1> "min" & more é` }},
		{"a new revision is re-encoded", func(cs []Container) {
			cs[2].Summary.Image, cs[2].Rev = "nginx:changed", 200
		}},
		{"the node's address moves", func(cs []Container) {
			for i := range cs {
				if cs[i].Node.Name == "backend1" {
					cs[i].Node.IP = "10.9.9.9"
				}
			}
		}},
		{"the node is renamed", func(cs []Container) { cs[4].Node.Name = "backend2-renamed" }},
		{"the node goes down", func(cs []Container) { cs[2].Node.State = scheduler.NodeUnhealthy }},
		{"a link alias appears", func(cs []Container) { cs[1].Summary.Names = append(cs[1].Summary.Names, "/web/alias") }},
		{"an alias appears on a container with networks", func(cs []Container) {
			require.NotNil(t, cs[0].Summary.NetworkSettings)
			cs[0].Summary.Names = append(cs[0].Summary.Names, "/api/cache")
		}},
		{"the state changes under the same revision", func(cs []Container) { cs[3].Summary.State = "running" }},
		{"a label holding the marker is never cut", func(cs []Container) {
			cs[0].Summary.Labels, cs[0].Rev = map[string]string{"x": statusMarker}, 300
		}},
		{"a container without revision", func(cs []Container) { cs[1].Rev = 0 }},
		{"a container removed", func(cs []Container) {}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			set(st.change)
			if st.name == "a container removed" {
				f.mu.Lock()
				f.containers = f.containers[1:]
				f.mu.Unlock()
			}
			f.mu.Lock()
			want := encodedListing(t, f.containers)
			f.mu.Unlock()
			code, body := do(t, srv, http.MethodGet, "/v1.41/containers/json?all=1", "")
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, want, body)
		})
	}
}

func TestListingCacheDropsRemovedContainers(t *testing.T) {
	var sc summaryCache
	cs := psCluster().containers
	for i := range cs {
		cs[i].Rev = uint64(i + 1)
	}
	list := func(cs []Container) {
		gen := sc.begin()
		for i := range cs {
			_, ok := sc.appendSummary(nil, &cs[i], gen, nil)
			require.True(t, ok)
		}
		sc.end(gen, cs, true)
	}
	list(cs)
	assert.Len(t, sc.m, len(cs))
	list(cs[2:])
	assert.Len(t, sc.m, len(cs)-2, "entries of containers no longer listed are dropped")

	gen := sc.begin()
	sc.end(gen, cs[3:], false)
	assert.Len(t, sc.m, len(cs)-2, "a filtered listing sweeps only a cache grown to twice the cluster")
}

func TestAppendJSONStringIsEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "Up 5 minutes", `"quoted"`, `back\slash`, "<tag>&", "tab\tnew\nline", "é ü", "\u2028", "\xff"} {
		assert.Equal(t, string(mustMarshal(s)), string(appendJSONString(nil, s)), "%q", s)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("Up 5 minutes (healthy)")
	f.Add("Exited (137) 3 days ago")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendJSONString(nil, s), mustMarshal(s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

// intoCluster lists into the caller's memory, as the live cluster does.
type intoCluster struct{ *fakeCluster }

func (c intoCluster) ContainersInto(buf []Container, known func(uint64) bool) []Container {
	buf = append(buf[:0], c.Containers()...)
	for i := range buf {
		if known != nil && known(buf[i].Rev) {
			buf[i].Summary.NetworkSettings, buf[i].Lean = nil, true
		}
	}
	return buf
}

func TestListingInRecycledMemory(t *testing.T) {
	f := psCluster()
	for i := range f.containers {
		f.containers[i].Rev = uint64(i + 1)
	}
	s, err := New(Config{Cluster: intoCluster{f}, Version: "test"})
	require.NoError(t, err)
	_, ok := s.cluster.(containersInto)
	require.True(t, ok)
	srv := httptest.NewServer(s)
	defer srv.Close()
	want := encodedListing(t, f.containers)
	for range 3 {
		code, body := do(t, srv, http.MethodGet, "/v1.41/containers/json?all=1", "")
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, want, body)
	}
}

// revised is psCluster with a revision on every container.
func revised() *fakeCluster {
	f := psCluster()
	for i := range f.containers {
		f.containers[i].Rev = uint64(i + 1)
	}
	return f
}

// serve runs the API over any cluster.
func serve(t *testing.T, c Cluster) *httptest.Server {
	t.Helper()
	s, err := New(Config{Cluster: c, Version: "test"})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func TestConcurrentListingsShareTheCache(t *testing.T) {
	f := revised()
	srv := serve(t, intoCluster{f})
	want := encodedListing(t, f.containers)
	bodies := make(chan string, 8)
	for range cap(bodies) {
		go func() {
			resp, err := srv.Client().Get(srv.URL + "/v1.41/containers/json?all=1")
			if err != nil {
				bodies <- err.Error()
				return
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			bodies <- b.String()
		}()
	}
	for range cap(bodies) {
		assert.Equal(t, want, <-bodies)
	}
}

// vanishing lists its containers lean, as if the cache knew them all, and
// then no longer finds them: removed between listing and writing.
type vanishing struct{ *fakeCluster }

func (c vanishing) ContainersInto(buf []Container, known func(uint64) bool) []Container {
	buf = append(buf[:0], c.Containers()...)
	for i := range buf {
		buf[i].Summary.NetworkSettings, buf[i].Lean = nil, true
	}
	return buf
}

func (c vanishing) Container(ref string) (Container, error) {
	if ref == c.containers[0].Summary.ID {
		return Container{}, fmt.Errorf("container %q: %w", ref, ErrNotFound)
	}
	return c.fakeCluster.Container(ref)
}

func TestLeanContainerGoneBeforeWritingIsLeftOut(t *testing.T) {
	f := revised()
	srv := serve(t, vanishing{f})
	code, body := do(t, srv, http.MethodGet, "/v1.41/containers/json?all=1", "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, encodedListing(t, f.containers[1:]), body, "the others whole, networks included")
}

// Once nothing lists for a while, the cache and the spare buffer are
// dropped; a listing under way keeps them.
func TestListingCacheForgottenWhenIdle(t *testing.T) {
	f := revised()
	s, err := New(Config{Cluster: intoCluster{f}, Version: "test"})
	require.NoError(t, err)
	s.summaries.idle = 50 * time.Millisecond
	srv := httptest.NewServer(s)
	defer srv.Close()
	want := encodedListing(t, f.containers)
	code, body := do(t, srv, http.MethodGet, "/v1.41/containers/json?all=1", "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, want, body)
	assert.Equal(t, len(f.containers), s.summaries.size())
	assert.Eventually(t, func() bool {
		return s.summaries.size() == 0 && s.summaries.take() == nil
	}, 5*time.Second, 10*time.Millisecond, "dropped when idle")

	gen := s.summaries.begin()
	_, ok := s.summaries.appendSummary(nil, &f.containers[0], gen, nil)
	require.True(t, ok)
	s.summaries.forget()
	assert.Equal(t, 1, s.summaries.size(), "kept while a listing is under way")
	s.summaries.end(gen, f.containers, false)

	code, body = do(t, srv, http.MethodGet, "/v1.41/containers/json?all=1", "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, want, body, "encoded anew")
}

// size is the number of cached encodings.
func (sc *summaryCache) size() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return len(sc.m)
}

// Every container listing tells Config.Busy it begins (cmd/swarm then
// gives its collector room); a refused one does not, nor do other reads.
func TestListingCallsBusy(t *testing.T) {
	var calls atomic.Int32
	s, err := New(Config{Cluster: psCluster(), Version: "test", Busy: func() { calls.Add(1) }})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, path := range []string{"/v1.41/containers/json?all=1", "/v1.41/containers/json", "/containers/json?filters=%7B%22status%22%3A%5B%22running%22%5D%7D"} {
		before := calls.Load()
		code, body := do(t, srv, http.MethodGet, path, "")
		require.Equal(t, http.StatusOK, code, body)
		assert.Equal(t, before+1, calls.Load(), path)
	}
	before := calls.Load()
	code, _ := do(t, srv, http.MethodGet, "/v1.41/containers/json?filters=%7B%22status%22%3A%5B%22sleeping%22%5D%7D", "")
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = do(t, srv, http.MethodGet, "/v1.41/info", "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, before, calls.Load(), "a refused listing and /info")
}

// FuzzSummaryEncodingLikeStd checks that a summary encoded for the
// listing cache (segmentio's Marshal, cut around the status, the status
// spliced back in) is byte for byte what encoding/json writes for it,
// whatever the strings hold: HTML characters, control bytes, invalid
// UTF-8, U+2028.
func FuzzSummaryEncodingLikeStd(f *testing.F) {
	for _, s := range []string{"", "a<b>&c", "é\u2028\u2029x", "bad\xffutf", "\x00\x01\x1f\"\\/", "\ufffd", "日本", "\x7f", "Up 2 hours (healthy)"} {
		f.Add(s, s, "Up 1 second")
		f.Add("x", "y", s)
	}
	f.Fuzz(func(t *testing.T, s, label, status string) {
		c := Container{
			Node: Node{ID: "n1", Name: "node-" + s, IP: "10.0.0.1", State: scheduler.NodeHealthy},
			Rev:  7,
			Summary: container.Summary{
				ID: s, Names: []string{"/" + s}, Image: s, ImageID: s, Command: s, Created: 5,
				Labels: map[string]string{label: s, "z" + s: label}, State: "running", Status: status,
				Ports:           []container.Port{{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: s}},
				NetworkSettings: &container.NetworkSettingsSummary{Networks: map[string]*network.EndpointSettings{s: {IPAddress: s, Aliases: []string{label}}}},
				Mounts:          []container.MountPoint{{Name: s, Destination: label}},
			},
		}
		want, err := json.Marshal(clusterSummary(c))
		require.NoError(t, err)
		e := encodeSummary(&c)
		if e == nil {
			// Refused only when a string holds the cache's marker.
			require.Contains(t, string(want), `\u0000swarm-status\u0000`)
			return
		}
		got := appendJSONString(append([]byte(nil), e.json[:e.split]...), status)
		got = append(got, e.json[e.split:]...)
		assert.Equal(t, string(want), string(got))
	})
}

// BenchmarkEncodeSummary compares the two encoders on what the listing
// cache encodes for a container it lacks: a container of the benchmark's
// simulator (one published port, three labels, the default bridge) with
// the status marker. encodeSummary uses segmentio's.
func BenchmarkEncodeSummary(b *testing.B) {
	c := Container{
		Node: Node{ID: "n1", Name: "sim-0001", IP: "10.0.0.1", State: scheduler.NodeHealthy},
		Rev:  1,
		Summary: container.Summary{
			ID: strings.Repeat("0123456789abcdef", 4), Names: []string{"/c0001"}, Image: "busybox:latest",
			ImageID: "sha256:" + strings.Repeat("fedcba9876543210", 4), Command: "sleep 1000", Created: 1700000000,
			Labels: map[string]string{"app": "app3", "tier": "front", "team": "t2"}, State: "running", Status: statusMarker,
			Ports: []container.Port{{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 10004, Type: "tcp"}},
			NetworkSettings: &container.NetworkSettingsSummary{Networks: map[string]*network.EndpointSettings{"bridge": {
				NetworkID: strings.Repeat("ab", 32), EndpointID: strings.Repeat("cd", 32), Gateway: "172.17.0.1",
				IPAddress: "172.17.0.5", IPPrefixLen: 16, MacAddress: "02:42:ac:11:00:05"}}},
		},
	}
	s := clusterSummary(c)
	for _, enc := range []struct {
		name    string
		marshal func(any) ([]byte, error)
	}{{"segmentio", sjson.Marshal}, {"encoding-json", json.Marshal}} {
		b.Run(enc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := enc.marshal(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
