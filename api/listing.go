package api

import (
	"bytes"
	"cmp"
	"net/http"
	"slices"
	"sync"
	"time"

	// segmentio's Marshal writes the same bytes as encoding/json's
	// (FuzzSummaryEncodingLikeStd keeps checking) in about a third less
	// time (BenchmarkEncodeSummary): the first listing of 30,000
	// containers, or the first after the cache was dropped, encodes every
	// summary.
	"github.com/segmentio/encoding/json"
)

// statusMarker stands in for Status while a summary is encoded for the
// cache; the encoding is cut around it. It cannot come from a user: the
// encoding is only cached when the marker occurs exactly once.
const statusMarker = "\x00swarm-status\x00"

var quotedMarker = mustMarshal(statusMarker)

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// summaryCache keeps every listed container's encoded cluster summary, so
// a listing re-encodes only containers whose cached data changed. At
// 30,000 containers encoding them all took most of a listing's 300 ms of
// CPU (escaping 26 MB of strings, sorting every label map by reflection,
// and the garbage). Only Status is rendered per listing: it holds
// durations ("Up 5 minutes") and "Host Down". Safe for concurrent use.
//
// The cache and the spare listing buffer cost about 50 MB at 30,000
// containers, worth it while something lists often (docker-gen lists on
// every event); once nothing listed for idle they are dropped, and the
// next listing encodes everything again.
type summaryCache struct {
	// idle is how long the cache outlives the last listing; 0 means
	// ListingCacheIdle.
	idle time.Duration

	// mu guards everything below.
	mu sync.Mutex
	// m is keyed by Container.Rev, which the cluster never gives two
	// cached answers (fits still checks the identity): hashing a number
	// instead of two 64-character IDs per container halved the lookups.
	m   map[uint64]*encodedSummary
	gen uint64 // listings so far
	// spare is a finished listing's []Container for the next one: 14 MB
	// at 30,000 containers, allocated and collected per listing otherwise.
	spare []Container
	// active counts listings between begin and end; drop forgets the
	// cache once none came for idle.
	active int
	drop   *time.Timer
}

// ListingCacheIdle is how long the listing cache (and the spare listing
// buffer) outlive the last listing.
const ListingCacheIdle = time.Minute

// take returns the spare listing buffer, nil if none.
func (sc *summaryCache) take() []Container {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	b := sc.spare
	sc.spare = nil
	return b
}

// give keeps buf for the next listing, holding no cached data alive.
func (sc *summaryCache) give(buf []Container) {
	clear(buf)
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if cap(buf) > cap(sc.spare) {
		sc.spare = buf[:0]
	}
}

// forget drops the cache and the spare buffer unless a listing is under
// way (it re-arms the timer when it ends).
func (sc *summaryCache) forget() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.active == 0 {
		sc.m, sc.spare = nil, nil
	}
}

// encodedSummary is one container's clusterSummary in JSON, cut around the
// value of Status, with what it was derived from.
type encodedSummary struct {
	rev              uint64
	nodeID, id       string
	nodeName, nodeIP string
	state            string
	names            []string // Summary.Names as the cluster gave them
	json             []byte   // head, then tail
	split            int      // where head ends
	gen              uint64   // last listing that saw the container
}

// fits reports whether e was derived from what c holds now.
func (e *encodedSummary) fits(c *Container) bool {
	return e.rev == c.Rev && e.id == c.Summary.ID && e.nodeID == c.Node.ID &&
		e.nodeName == c.Node.Name && e.nodeIP == c.Node.IP &&
		e.state == string(c.Summary.State) && slices.Equal(e.names, c.Summary.Names)
}

// encodeSummary builds c's cache entry; nil when c cannot be cached (no
// revision, or the marker is ambiguous).
func encodeSummary(c *Container) *encodedSummary {
	if c.Rev == 0 {
		return nil
	}
	s := clusterSummary(*c)
	s.Status = statusMarker
	b, err := json.Marshal(s)
	if err != nil {
		return nil
	}
	i := bytes.Index(b, quotedMarker)
	if i < 0 || bytes.Contains(b[i+len(quotedMarker):], quotedMarker) {
		return nil
	}
	// Exactly sized: 30,000 of these stay in memory.
	cut := make([]byte, 0, len(b)-len(quotedMarker))
	cut = append(append(cut, b[:i]...), b[i+len(quotedMarker):]...)
	return &encodedSummary{
		rev: c.Rev, nodeID: c.Node.ID, id: c.Summary.ID, nodeName: c.Node.Name, nodeIP: c.Node.IP, state: string(c.Summary.State),
		names: slices.Clone(c.Summary.Names),
		json:  cut,
		split: i,
	}
}

// has reports whether an encoding of revision rev is cached.
func (sc *summaryCache) has(rev uint64) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return rev != 0 && sc.m[rev] != nil
}

// begin starts a listing and returns its generation.
func (sc *summaryCache) begin() uint64 {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.m == nil {
		sc.m = make(map[uint64]*encodedSummary)
	}
	sc.active++
	sc.gen++
	return sc.gen
}

// end finishes listing gen. When the listing wrote every container (cs),
// entries it did not touch belong to removed containers or old revisions
// and are dropped. Filtered listings touch only some: they sweep, marking
// every container of cs first, once the cache holds twice what the
// cluster does.
func (sc *summaryCache) end(gen uint64, cs []Container, listedAll bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.active--
	idle := cmp.Or(sc.idle, ListingCacheIdle)
	if sc.drop == nil {
		sc.drop = time.AfterFunc(idle, sc.forget)
	} else {
		sc.drop.Reset(idle)
	}
	if !listedAll {
		if len(sc.m) <= 2*len(cs)+64 {
			return
		}
		for i := range cs {
			if e := sc.m[cs[i].Rev]; e != nil && cs[i].Rev != 0 {
				e.gen = max(e.gen, gen)
			}
		}
	}
	if len(sc.m) <= len(cs) && listedAll {
		return // nothing can be stale
	}
	for k, e := range sc.m {
		// A concurrent listing's entries are newer, never older.
		if e.gen < gen {
			delete(sc.m, k)
		}
	}
}

// appendSummary appends c's cluster summary in JSON, exactly as
// json.Marshal(clusterSummary(c)) would. A lean c the cache cannot answer
// for is fetched whole; false when it is gone meanwhile (nothing appended).
func (sc *summaryCache) appendSummary(dst []byte, c *Container, gen uint64, whole func(*Container) (Container, error)) ([]byte, bool) {
	status := c.Summary.Status
	if !healthy(c.Node) {
		status = hostDown
	}
	var e *encodedSummary
	if c.Rev != 0 {
		sc.mu.Lock()
		if e = sc.m[c.Rev]; e != nil {
			e.gen = max(e.gen, gen)
		}
		sc.mu.Unlock()
	}
	if e == nil || !e.fits(c) {
		if c.Lean {
			// Dropped or outdated since the cluster listed it lean.
			full, err := whole(c)
			if err != nil {
				return dst, false
			}
			c = &full
		}
		if e = encodeSummary(c); e == nil {
			return append(dst, mustMarshal(clusterSummary(*c))...), true
		}
		e.gen = gen
		sc.mu.Lock()
		sc.m[c.Rev] = e
		sc.mu.Unlock()
	}
	dst = append(dst, e.json[:e.split]...)
	dst = appendJSONString(dst, status)
	return append(dst, e.json[e.split:]...), true
}

// appendJSONString appends s quoted as encoding/json does (HTML-safe).
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return append(dst, mustMarshal(s)...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// writeSummaries answers a JSON array of cs's cluster summaries, streamed
// in 128 KiB writes instead of built whole in memory (26 MB at 30,000
// containers). The bytes are those json.NewEncoder(w).Encode would write.
func (s *Server) writeSummaries(w http.ResponseWriter, cs []*Container, gen uint64) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	const chunk = 128 << 10
	buf := make([]byte, 0, chunk+4<<10)
	buf = append(buf, '[')
	whole := func(c *Container) (Container, error) {
		full, err := s.cluster.Container(c.Summary.ID)
		full.Summary.Status = c.Summary.Status
		return full, err
	}
	wrote := false
	for _, c := range cs {
		mark := len(buf)
		if wrote {
			buf = append(buf, ',')
		}
		var ok bool
		if buf, ok = s.summaries.appendSummary(buf, c, gen, whole); !ok {
			buf = buf[:mark]
			continue
		}
		wrote = true
		if len(buf) >= chunk {
			if _, err := w.Write(buf); err != nil {
				return // the client went away
			}
			buf = buf[:0]
		}
	}
	_, _ = w.Write(append(buf, ']', '\n'))
}

// containersInto is how the live cluster lists into reused memory, lean
// where the listing cache knows a container's revision.
type containersInto interface {
	ContainersInto(buf []Container, known func(rev uint64) bool) []Container
}

// containers lists every container, in recycled memory when the cluster
// can; release returns it once the listing is written. With lean, a
// container whose revision the summary cache holds may come without
// NetworkSettings (Container.Lean): writeSummaries uses the cached
// encoding, or fetches it whole. A caller filtering on networks asks for
// every summary whole.
func (s *Server) containers(lean bool) (cs []Container, release func()) {
	into, ok := s.cluster.(containersInto)
	if !ok {
		return s.cluster.Containers(), func() {}
	}
	var known func(uint64) bool
	if lean {
		known = s.summaries.has
	}
	cs = into.ContainersInto(s.summaries.take(), known)
	return cs, func() { s.summaries.give(cs) }
}
