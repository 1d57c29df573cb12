package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"

	"github.com/gorilla/mux"
)

// forwardVersion picks the API version to speak to an engine: the client's
// version when the engine supports it, else the engine's highest, so
// responses keep the shape the client asked for whenever possible.
func forwardVersion(client, engine string) string {
	switch {
	case engine == "":
		return client
	case client == "":
		return engine
	case compareVersions(client, engine) > 0:
		return engine
	}
	return client
}

// engineURL is the absolute URL of path (without version) on ep.
func engineURL(ep Endpoint, r *http.Request, path string) (*url.URL, error) {
	u, err := url.Parse(ep.URL)
	if err != nil {
		return nil, fmt.Errorf("node %s has a bad engine URL %q: %w", ep.Node.Name, ep.URL, err)
	}
	if v := forwardVersion(requestVersion(r), ep.APIVersion); v != "" {
		path = "/v" + v + path
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = r.URL.RawQuery
	return u, nil
}

// forward proxies r to ep at path (unversioned), streaming request and
// response bodies untouched and flushing every write (logs -f, stats,
// pull progress). after, when set, runs once the engine answered and
// before the client sees the answer (refresh the cache, read an ID).
//
// A request asking for a protocol upgrade (attach/ws) may turn into a
// hijacked connection, so it holds a Config.MaxHijacked slot throughout.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, ep Endpoint, path string, after func(*http.Response) error) {
	if r.Header.Get("Upgrade") != "" {
		release, ok := s.hijacks.acquire(w)
		if !ok {
			return
		}
		defer release()
	}
	target, err := engineURL(ep, r, path)
	if err != nil {
		writeError(w, err)
		return
	}
	var transport http.RoundTripper = http.DefaultTransport
	if ep.Client != nil && ep.Client.Transport != nil {
		transport = ep.Client.Transport
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = target
			pr.Out.Host = target.Host
		},
		Transport:      transport,
		BufferPool:     proxyBuffers,
		FlushInterval:  -1,
		ModifyResponse: after,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client went away (Ctrl-C on logs -f): nothing to answer
			}
			s.log.Warn("forward failed", "node", ep.Node.Name, "path", path, "err", err)
			writeErrorStatus(w, http.StatusBadGateway, fmt.Sprintf("node %s (%s) did not answer %s %s: %v", ep.Node.Name, ep.Node.Addr, r.Method, path, err))
		},
	}
	proxy.ServeHTTP(w, r)
}

// endpointFor returns the engine endpoint of a node, refusing unhealthy
// nodes with a message that says which node and why.
func (s *Server) endpointFor(n Node) (Endpoint, error) {
	if !healthy(n) {
		msg := fmt.Sprintf("node %s (%s) is %s", n.Name, n.Addr, n.State)
		if n.Err != "" {
			msg += ": " + n.Err
		}
		return Endpoint{}, fmt.Errorf("%s; retry when it is back or remove the container from another node: %w", msg, ErrNodeUnavailable)
	}
	ep, err := s.cluster.Endpoint(n.ID)
	if err != nil {
		return Endpoint{}, fmt.Errorf("reach node %s: %w", n.Name, err)
	}
	return ep, nil
}

// containerTarget resolves the {name} of a container route and the engine
// path with the name replaced by the full ID (engines do not know the
// node/name form).
func (s *Server) containerTarget(r *http.Request) (Container, Endpoint, string, error) {
	ref := mux.Vars(r)["name"]
	c, err := s.cluster.Container(ref)
	if err != nil {
		return Container{}, Endpoint{}, "", noSuchContainer(ref, err)
	}
	ep, err := s.endpointFor(c.Node)
	if err != nil {
		return Container{}, Endpoint{}, "", err
	}
	suffix := strings.TrimPrefix(r.URL.Path, "/containers/"+ref)
	return c, ep, "/containers/" + c.Summary.ID + suffix, nil
}

// forwardContainer forwards a container request to its engine; with
// refresh the cache re-inspects the container before the client is
// answered, so a `docker ps` right after `docker stop` is already right.
func (s *Server) forwardContainer(refresh bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ep, path, err := s.containerTarget(r)
		if err != nil {
			writeError(w, err)
			return
		}
		var after func(*http.Response) error
		if refresh {
			after = func(resp *http.Response) error {
				if err := s.cluster.Refresh(r.Context(), c.Node.ID, c.Summary.ID); err != nil {
					s.log.Warn("refresh after forward", "node", c.Node.Name, "container", c.Summary.ID, "err", err)
				}
				return nil
			}
		}
		s.forward(w, r, ep, path, after)
	}
}

// execNodes remembers which node owns an exec instance; exec IDs are
// per-engine and the exec routes carry no container.
type execNodes struct {
	mu    sync.Mutex
	nodes map[string]string
	order []string
}

const maxExecs = 10000

func (e *execNodes) put(id, node string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.nodes == nil {
		e.nodes = map[string]string{}
	}
	if _, ok := e.nodes[id]; !ok {
		e.order = append(e.order, id)
	}
	e.nodes[id] = node
	for len(e.order) > maxExecs {
		delete(e.nodes, e.order[0])
		e.order = e.order[1:]
	}
}

func (e *execNodes) get(id string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, ok := e.nodes[id]
	return n, ok
}

func (s *Server) createExec(w http.ResponseWriter, r *http.Request) {
	c, ep, path, err := s.containerTarget(r)
	if err != nil {
		writeError(w, err)
		return
	}
	s.forward(w, r, ep, path, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusCreated {
			return nil
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		if err != nil {
			return fmt.Errorf("read exec create answer from %s: %w", c.Node.Name, err)
		}
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		var created struct {
			ID string `json:"Id"`
		}
		if json.Unmarshal(body, &created) == nil && created.ID != "" {
			s.execs.put(created.ID, c.Node.ID)
		}
		return nil
	})
}

// execEndpoint finds the engine owning an exec: remembered at create, or
// asked of every healthy node (after a manager restart).
func (s *Server) execEndpoint(r *http.Request, id string) (Endpoint, error) {
	if nodeID, ok := s.execs.get(id); ok {
		for _, n := range s.cluster.Nodes() {
			if n.ID == nodeID {
				return s.endpointFor(n)
			}
		}
	}
	for _, n := range s.cluster.Nodes() {
		if !healthy(n) {
			continue
		}
		ep, err := s.cluster.Endpoint(n.ID)
		if err != nil {
			continue
		}
		u, err := engineURL(ep, r, "/exec/"+id+"/json")
		if err != nil {
			continue
		}
		u.RawQuery = ""
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
		if err != nil {
			continue
		}
		resp, err := clientOf(ep).Do(req)
		if err != nil {
			continue
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			s.execs.put(id, n.ID)
			return ep, nil
		}
	}
	return Endpoint{}, fmt.Errorf("No such exec instance: %s: %w", id, ErrNotFound)
}

func (s *Server) forwardExec(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	ep, err := s.execEndpoint(r, id)
	if err != nil {
		writeError(w, err)
		return
	}
	s.forward(w, r, ep, r.URL.Path, nil)
}

func clientOf(ep Endpoint) *http.Client {
	if ep.Client != nil {
		return ep.Client
	}
	return http.DefaultClient
}

// commitContainer runs `docker commit` on the container's node; the new
// image is then in that node's image list.
func (s *Server) commitContainer(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ref := q.Get("container")
	if ref == "" {
		writeError(w, badRequest("commit needs container=NAME"))
		return
	}
	c, err := s.cluster.Container(ref)
	if err != nil {
		writeError(w, noSuchContainer(ref, err))
		return
	}
	ep, err := s.endpointFor(c.Node)
	if err != nil {
		writeError(w, err)
		return
	}
	q.Set("container", c.Summary.ID)
	r.URL.RawQuery = q.Encode()
	s.forward(w, r, ep, "/commit", func(*http.Response) error {
		if err := s.cluster.RefreshNode(r.Context(), c.Node.ID, "images"); err != nil {
			s.log.Warn("refresh images after commit", "node", c.Node.Name, "err", err)
		}
		return nil
	})
}

// proxyBuffers recycles the buffers forwarded bodies are copied through:
// without a pool the proxy allocates 32 KiB per forwarded call (every
// start, stop, inspect), most of the manager's garbage under load.
var proxyBuffers = &bufferPool{}

// bufferPool is an httputil.BufferPool over sync.Pool.
type bufferPool struct{ p sync.Pool }

const proxyBufferSize = 32 << 10

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, proxyBufferSize)
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) == proxyBufferSize {
		buf = buf[:proxyBufferSize]
		b.p.Put(&buf)
	}
}
