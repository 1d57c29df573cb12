package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/image"
	"github.com/gorilla/mux"

	"github.com/swarmlab/swarm/scheduler"
)

var imageFilters = map[string]bool{"node": true, "reference": true, "dangling": true, "label": true}

// familiar strips the default registry and library prefixes so "redis",
// "library/redis" and "docker.io/library/redis" compare equal.
func familiar(ref string) string {
	ref = strings.TrimPrefix(ref, "docker.io/")
	ref = strings.TrimPrefix(ref, "index.docker.io/")
	return strings.TrimPrefix(ref, "library/")
}

// withTag adds ":latest" to a reference without tag or digest.
func withTag(ref string) string {
	if strings.Contains(ref, "@") {
		return ref
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref
	}
	return ref + ":latest"
}

// matchImage reports whether ref names im: by ID, ID prefix, tag or digest.
func matchImage(im image.Summary, ref string) bool {
	id := strings.TrimPrefix(im.ID, "sha256:")
	bare := strings.TrimPrefix(ref, "sha256:")
	if im.ID == ref || (len(bare) >= 4 && strings.HasPrefix(id, bare)) {
		return true
	}
	want := familiar(withTag(ref))
	for _, t := range im.RepoTags {
		if familiar(t) == want {
			return true
		}
	}
	for _, d := range im.RepoDigests {
		if familiar(d) == familiar(ref) {
			return true
		}
	}
	return false
}

// imageEndpoints returns the healthy nodes that hold ref.
func (s *Server) imageEndpoints(ref string) ([]Endpoint, error) {
	var eps []Endpoint
	seen := map[string]bool{}
	for _, im := range s.cluster.Images() {
		if seen[im.Node.ID] || !healthy(im.Node) || !matchImage(im.Summary, ref) {
			continue
		}
		ep, err := s.cluster.Endpoint(im.Node.ID)
		if err != nil {
			continue
		}
		seen[im.Node.ID] = true
		eps = append(eps, ep)
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("No such image: %s: %w", ref, ErrNotFound)
	}
	sort.Slice(eps, func(i, j int) bool { return eps[i].Node.Name < eps[j].Node.Name })
	return eps, nil
}

// healthyEndpoints returns every healthy node's endpoint, sorted by name.
func (s *Server) healthyEndpoints() ([]Endpoint, error) {
	var eps []Endpoint
	for _, n := range s.cluster.Nodes() {
		if !healthy(n) {
			continue
		}
		if ep, err := s.cluster.Endpoint(n.ID); err == nil {
			eps = append(eps, ep)
		}
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("no healthy node in the cluster; check `docker info`: %w", ErrNodeUnavailable)
	}
	return eps, nil
}

func matchReference(patterns []string, im image.Summary) bool {
	for _, p := range patterns {
		for _, t := range im.RepoTags {
			name, _, _ := strings.Cut(familiar(t), ":")
			if ok, _ := path.Match(familiar(p), familiar(t)); ok {
				return true
			}
			if ok, _ := path.Match(familiar(p), name); ok {
				return true
			}
		}
	}
	return false
}

func isDangling(im image.Summary) bool {
	return len(im.RepoTags) == 0 || (len(im.RepoTags) == 1 && im.RepoTags[0] == "<none>:<none>")
}

// listImages merges every node's images: one entry per image ID.
func (s *Server) listImages(w http.ResponseWriter, r *http.Request) {
	args, err := parseFilters(r, imageFilters)
	if err != nil {
		writeError(w, err)
		return
	}
	dangling, err := args.GetBoolOrDefault("dangling", false)
	if err != nil {
		writeError(w, badRequest("invalid dangling filter: %v; use true or false", err))
		return
	}
	byID := map[string]*image.Summary{}
	var order []string
	for _, im := range s.cluster.Images() {
		sum := im.Summary
		switch {
		case args.Contains("node") && !args.ExactMatch("node", im.Node.Name) && !args.ExactMatch("node", im.Node.ID),
			args.Contains("reference") && !matchReference(args.Get("reference"), sum),
			args.Contains("dangling") && dangling != isDangling(sum),
			args.Contains("label") && !args.MatchKVList("label", sum.Labels):
			continue
		}
		if prev, ok := byID[sum.ID]; ok {
			prev.RepoTags = union(prev.RepoTags, sum.RepoTags)
			prev.RepoDigests = union(prev.RepoDigests, sum.RepoDigests)
			continue
		}
		sum.RepoTags = union(nil, sum.RepoTags)
		sum.RepoDigests = union(nil, sum.RepoDigests)
		byID[sum.ID] = &sum
		order = append(order, sum.ID)
	}
	out := make([]image.Summary, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created > out[j].Created })
	writeJSON(w, http.StatusOK, out)
}

func union(a, b []string) []string {
	out := append([]string{}, a...)
	for _, x := range b {
		found := false
		for _, y := range out {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

// pullImage pulls (or imports, with fromSrc) on every healthy node,
// streaming each engine's progress prefixed by its node.
func (s *Server) pullImage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("fromImage") == "" && q.Get("fromSrc") == "" {
		writeError(w, badRequest("POST /images/create needs fromImage (pull) or fromSrc (import)"))
		return
	}
	eps, err := s.healthyEndpoints()
	if err != nil {
		writeError(w, err)
		return
	}
	if eps, err = constrained(eps, q["constraint"]); err != nil {
		writeError(w, err)
		return
	}
	if q.Has("constraint") {
		q.Del("constraint") // the manager's, not the engines'
		r.URL.RawQuery = q.Encode()
	}
	bodyFile := ""
	if q.Get("fromSrc") == "-" {
		if bodyFile, err = spool(r); err != nil {
			writeError(w, err)
			return
		}
		defer os.Remove(bodyFile)
	}
	what := "pull of " + q.Get("fromImage")
	if q.Get("fromImage") == "" {
		what = "import"
	}
	s.refreshImages(r, s.fanOutStream(w, r, eps, "/images/create", bodyFile, what))
}

// loadImage loads an image archive on every healthy node.
func (s *Server) loadImage(w http.ResponseWriter, r *http.Request) {
	eps, err := s.healthyEndpoints()
	if err != nil {
		writeError(w, err)
		return
	}
	bodyFile, err := spool(r)
	if err != nil {
		writeError(w, err)
		return
	}
	defer os.Remove(bodyFile)
	s.refreshImages(r, s.fanOutStream(w, r, eps, "/images/load", bodyFile, "load"))
}

func (s *Server) refreshImages(r *http.Request, eps []Endpoint) {
	for _, ep := range eps {
		if err := s.cluster.RefreshNode(r.Context(), ep.Node.ID, "images"); err != nil {
			s.log.Warn("refresh images", "node", ep.Node.Name, "err", err)
		}
	}
}

// forwardImage serves inspect, history, save and push from a node that
// has the image.
func (s *Server) forwardImage(w http.ResponseWriter, r *http.Request) {
	eps, err := s.imageEndpoints(mux.Vars(r)["name"])
	if err != nil {
		writeError(w, err)
		return
	}
	s.forward(w, r, eps[0], r.URL.Path, nil)
}

// forwardImageQuery serves `docker save a b` from a node holding them all.
func (s *Server) forwardImageQuery(w http.ResponseWriter, r *http.Request) {
	names := r.URL.Query()["names"]
	if len(names) == 0 {
		writeError(w, badRequest("GET /images/get needs at least one names= parameter"))
		return
	}
	count := map[string]int{}
	var eps []Endpoint
	for _, n := range names {
		found, err := s.imageEndpoints(n)
		if err != nil {
			writeError(w, err)
			return
		}
		for _, ep := range found {
			if count[ep.Node.ID]++; count[ep.Node.ID] == len(names) {
				eps = append(eps, ep)
			}
		}
	}
	if len(eps) == 0 {
		writeError(w, fmt.Errorf("no single node holds all of %s; save them one by one: %w", strings.Join(names, ", "), ErrNotFound))
		return
	}
	s.forward(w, r, eps[0], r.URL.Path, nil)
}

// perNode runs a non-streamed request on every node holding the image
// and merges the answers. When any node failed it has answered the client
// with every node's failure and reports answered.
func (s *Server) perNode(w http.ResponseWriter, r *http.Request, method string, ok int, merge func(node string, data []byte)) (done []Endpoint, answered bool) {
	eps, err := s.imageEndpoints(mux.Vars(r)["name"])
	if err != nil {
		writeError(w, err)
		return nil, true
	}
	var failures []string
	status := 0
	for _, ep := range eps {
		code, data, err := callEngine(r, ep, method, r.URL.Path, nil)
		switch {
		case err != nil:
			failures, status = append(failures, err.Error()), http.StatusBadGateway
		case code != ok:
			failures = append(failures, ep.Node.Name+": "+engineMessage(data))
			if status == 0 {
				status = code
			}
		default:
			done = append(done, ep)
			if merge != nil {
				merge(ep.Node.Name, data)
			}
		}
	}
	if len(failures) > 0 {
		msg := strings.Join(failures, "; ")
		if len(done) > 0 {
			names := make([]string, len(done))
			for i, ep := range done {
				names[i] = ep.Node.Name
			}
			msg += " (succeeded on " + strings.Join(names, ", ") + ")"
		}
		writeErrorStatus(w, status, msg)
		return done, true
	}
	return done, false
}

func (s *Server) tagImage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("repo") == "" {
		writeError(w, badRequest("tag needs repo= (and optionally tag=)"))
		return
	}
	done, answered := s.perNode(w, r, http.MethodPost, http.StatusCreated, nil)
	s.refreshImages(r, done)
	if !answered {
		w.WriteHeader(http.StatusCreated)
	}
}

func (s *Server) removeImage(w http.ResponseWriter, r *http.Request) {
	var all []image.DeleteResponse
	done, answered := s.perNode(w, r, http.MethodDelete, http.StatusOK, func(node string, data []byte) {
		var items []image.DeleteResponse
		if err := json.Unmarshal(data, &items); err != nil {
			s.log.Warn("bad rmi answer", "node", node, "err", err)
			return
		}
		all = append(all, items...)
	})
	s.refreshImages(r, done)
	if !answered {
		writeJSON(w, http.StatusOK, all)
	}
}

// forwardAny serves requests any engine can answer the same way
// (`docker search`, `docker login`) from the first healthy node.
func (s *Server) forwardAny(w http.ResponseWriter, r *http.Request) {
	eps, err := s.healthyEndpoints()
	if err != nil {
		writeError(w, err)
		return
	}
	s.forward(w, r, eps[0], r.URL.Path, nil)
}

// constrained keeps the nodes that satisfy every `constraint` query value
// ("node==backend1", "model==high-memory", optionally prefixed
// "constraint:"), so a pull or import can target part of the cluster.
func constrained(eps []Endpoint, exprs []string) ([]Endpoint, error) {
	if len(exprs) == 0 {
		return eps, nil
	}
	parsed := make([]*scheduler.Expr, 0, len(exprs))
	for _, text := range exprs {
		e, err := scheduler.ParseExpr(scheduler.KindConstraint, strings.TrimPrefix(text, "constraint:"))
		if err != nil {
			return nil, fmt.Errorf("constraint query parameter: %w", err)
		}
		parsed = append(parsed, e)
	}
	var out []Endpoint
	for _, ep := range eps {
		ok := true
		for _, e := range parsed {
			var matched bool
			if e.Key == "node" {
				matched = e.Match(ep.Node.Name) || e.Match(ep.Node.ID)
			} else {
				// A missing label matches as "", as in the constraint filter.
				matched = e.Match(ep.Node.Labels[e.Key])
			}
			ok = ok && e.Holds(matched)
		}
		if ok {
			out = append(out, ep)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no healthy node satisfies %s; check node names and labels with `docker info`: %w",
			strings.Join(exprs, ", "), ErrNotFound)
	}
	return out, nil
}
