package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
)

// callEngine sends one non-streamed request to ep and returns its answer.
// body may be nil. The caller's X-Registry-Auth is passed on as is.
func callEngine(r *http.Request, ep Endpoint, method, path string, body []byte) (int, []byte, error) {
	u, err := engineURL(ep, r, path)
	if err != nil {
		return 0, nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(r.Context(), method, u.String(), rd)
	if err != nil {
		return 0, nil, fmt.Errorf("build request for node %s: %w", ep.Node.Name, err)
	}
	if a := r.Header.Get("X-Registry-Auth"); a != "" {
		req.Header.Set("X-Registry-Auth", a)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := clientOf(ep).Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("node %s (%s): %w", ep.Node.Name, ep.Node.Addr, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("read answer of node %s: %w", ep.Node.Name, err)
	}
	return resp.StatusCode, data, nil
}

// engineMessage extracts the engine's error text from an error answer.
func engineMessage(data []byte) string {
	var e errorBody
	if json.Unmarshal(data, &e) == nil && e.Message != "" {
		return e.Message
	}
	return strings.TrimSpace(string(data))
}

// progressWriter serialises JSON progress messages from several engines
// onto one response, flushing each message.
type progressWriter struct {
	mu sync.Mutex
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (p *progressWriter) write(msg map[string]json.RawMessage) {
	b, err := json.Marshal(msg)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = p.w.Write(append(b, '\n'))
	_ = p.rc.Flush()
}

func (p *progressWriter) status(text string) {
	s, _ := json.Marshal(text)
	p.write(map[string]json.RawMessage{"status": s})
}

// prefix rewrites one engine progress message so lines of different
// nodes stay apart in the CLI's display and errors say which node failed.
// It reports whether the message was an error.
func prefix(node string, msg map[string]json.RawMessage) bool {
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(msg[k], &s)
		return s
	}
	set := func(k, v string) { msg[k], _ = json.Marshal(v) }
	if e := str("error"); e != "" {
		// An "error" ends the CLI's display: report it as a status line
		// and let the caller decide whether the whole operation failed.
		delete(msg, "error")
		delete(msg, "errorDetail")
		set("status", node+": error: "+e)
		return true
	}
	if id := str("id"); id != "" {
		set("id", node+": "+id)
	} else if st := str("status"); st != "" {
		set("status", node+": "+st)
	}
	return false
}

// fanOutStream sends the same request to every node in eps and merges
// their JSON progress streams into the response. bodyFile, when not "",
// holds the request body each node gets a copy of. It returns the nodes
// that succeeded. When all fail, a final error message makes the CLI exit
// non-zero.
func (s *Server) fanOutStream(w http.ResponseWriter, r *http.Request, eps []Endpoint, path, bodyFile, what string) []Endpoint {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	pw := &progressWriter{w: w, rc: http.NewResponseController(w)}
	var wg sync.WaitGroup
	ok := make([]bool, len(eps))
	for i, ep := range eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok[i] = s.streamOne(pw, r, ep, path, bodyFile)
		}()
	}
	wg.Wait()
	var done []Endpoint
	for i, ep := range eps {
		if ok[i] {
			done = append(done, ep)
		}
	}
	if len(done) == 0 {
		e, _ := json.Marshal(fmt.Sprintf("%s failed on every node (%d); see the lines above for each node's error", what, len(eps)))
		pw.write(map[string]json.RawMessage{"error": e, "errorDetail": json.RawMessage(`{"message":` + string(e) + `}`)})
	}
	return done
}

func (s *Server) streamOne(pw *progressWriter, r *http.Request, ep Endpoint, path, bodyFile string) bool {
	node := ep.Node.Name
	u, err := engineURL(ep, r, path)
	if err != nil {
		pw.status(node + ": error: " + err.Error())
		return false
	}
	var body io.Reader
	if bodyFile != "" {
		f, err := os.Open(bodyFile)
		if err != nil {
			pw.status(node + ": error: " + err.Error())
			return false
		}
		defer f.Close()
		body = f
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), body)
	if err != nil {
		pw.status(node + ": error: " + err.Error())
		return false
	}
	for _, h := range []string{"X-Registry-Auth", "Content-Type"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := clientOf(ep).Do(req)
	if err != nil {
		pw.status(fmt.Sprintf("%s: error: engine %s did not answer: %v", node, ep.Node.Addr, err))
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		pw.status(node + ": error: " + engineMessage(data))
		return false
	}
	dec := json.NewDecoder(resp.Body)
	good := true
	for {
		var msg map[string]json.RawMessage
		if err := dec.Decode(&msg); err != nil {
			if err != io.EOF {
				pw.status(node + ": error: reading progress: " + err.Error())
				good = false
			}
			break
		}
		if prefix(node, msg) {
			good = false
		}
		pw.write(msg)
	}
	return good
}

// spool copies a request body to a temporary file so several engines can
// each read it. The caller removes the file.
func spool(r *http.Request) (string, error) {
	f, err := os.CreateTemp("", "swarm-upload-*")
	if err != nil {
		return "", fmt.Errorf("spool request body: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(f, r.Body); err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("spool request body: %w", err)
	}
	return f.Name(), nil
}
