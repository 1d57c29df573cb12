package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/gorilla/mux"
)

// located is a network or volume on a node, for name resolution.
type located struct {
	node     Node
	id, name string
}

// locate resolves "node/name", an ID, an ID prefix or a name. A name held
// by several nodes is ambiguous: the error lists the node/name forms.
func locate(kind, ref string, items []located) (located, error) {
	var hits []located
	for _, it := range items {
		if it.id == ref || it.node.Name+"/"+it.name == ref {
			return it, nil
		}
	}
	for _, it := range items {
		if it.name == ref || (len(ref) >= 4 && strings.HasPrefix(it.id, ref)) {
			hits = append(hits, it)
		}
	}
	switch len(hits) {
	case 0:
		return located{}, fmt.Errorf("No such %s: %s: %w", kind, ref, ErrNotFound)
	case 1:
		return hits[0], nil
	}
	names := make([]string, len(hits))
	for i, h := range hits {
		names[i] = h.node.Name + "/" + h.name
	}
	sort.Strings(names)
	return located{}, fmt.Errorf("%s %q exists on several nodes (%s); name one as node/name: %w",
		kind, ref, strings.Join(names, ", "), ErrInvalid)
}

// splitNode splits "node/name" when node is a known node.
func (s *Server) splitNode(name string) (Node, string, bool) {
	nodeName, rest, ok := strings.Cut(name, "/")
	if !ok {
		return Node{}, name, false
	}
	for _, n := range s.cluster.Nodes() {
		if n.Name == nodeName {
			return n, rest, true
		}
	}
	return Node{}, name, false
}

// placeObject picks the node for a new network or volume: the one named
// in "node/name", else the one the scheduler picks (health, strategy), as
// classic Swarm did.
func (s *Server) placeObject(name string) (Endpoint, string, error) {
	if n, rest, ok := s.splitNode(name); ok {
		ep, err := s.endpointFor(n)
		return ep, rest, err
	}
	n, err := s.cluster.PlaceObject(nil)
	if err != nil {
		return Endpoint{}, "", fmt.Errorf("no node to create %q on; check `docker info`: %w", name, err)
	}
	ep, err := s.endpointFor(n)
	return ep, name, err
}

// createObject creates a network or volume on the chosen node and relays
// the engine's answer.
func (s *Server) createObject(w http.ResponseWriter, r *http.Request, what string, body map[string]any, name string) {
	ep, rest, err := s.placeObject(name)
	if err != nil {
		writeError(w, err)
		return
	}
	if name != "" {
		body["Name"] = rest
	}
	data, err := json.Marshal(body)
	if err != nil {
		writeError(w, fmt.Errorf("encode %s create: %w", what, err))
		return
	}
	code, answer, err := callEngine(r, ep, http.MethodPost, r.URL.Path, data)
	if err != nil {
		writeErrorStatus(w, http.StatusBadGateway, err.Error())
		return
	}
	if code < 300 {
		if err := s.cluster.RefreshNode(r.Context(), ep.Node.ID, what); err != nil {
			s.log.Warn("refresh after create", "node", ep.Node.Name, "what", what, "err", err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(answer)
}

// forwardObject forwards a request about one network or volume to its
// node, with the reference replaced by what the engine knows.
func (s *Server) forwardObject(w http.ResponseWriter, r *http.Request, it located, prefix, suffix, what string) {
	ep, err := s.endpointFor(it.node)
	if err != nil {
		writeError(w, err)
		return
	}
	var after func(*http.Response) error
	if r.Method != http.MethodGet {
		after = func(*http.Response) error {
			if err := s.cluster.RefreshNode(r.Context(), it.node.ID, what); err != nil {
				s.log.Warn("refresh after forward", "node", it.node.Name, "what", what, "err", err)
			}
			return nil
		}
	}
	s.forward(w, r, ep, prefix+it.id+suffix, after)
}

func (s *Server) networkItems() []located {
	var items []located
	for _, n := range s.cluster.Networks() {
		items = append(items, located{node: n.Node, id: n.Summary.ID, name: n.Summary.Name})
	}
	return items
}

func (s *Server) listNetworks(w http.ResponseWriter, r *http.Request) {
	args, err := parseFilters(r, map[string]bool{"node": true, "name": true, "id": true, "driver": true, "label": true, "scope": true, "type": true})
	if err != nil {
		writeError(w, err)
		return
	}
	out := []network.Summary{}
	seen := map[string]bool{}
	for _, n := range s.cluster.Networks() {
		sum := n.Summary
		local := sum.Scope == "" || sum.Scope == "local"
		if local {
			sum.Name = n.Node.Name + "/" + sum.Name
		} else if seen[sum.ID] {
			continue
		}
		seen[sum.ID] = true
		if !matchObject(args, n.Node, sum.ID, []string{n.Summary.Name, sum.Name}, sum.Driver, sum.Labels) ||
			(args.Contains("scope") && !args.ExactMatch("scope", sum.Scope)) {
			continue
		}
		out = append(out, sum)
	}
	writeJSON(w, http.StatusOK, out)
}

// matchObject applies the filters networks and volumes share.
func matchObject(args filters.Args, n Node, id string, names []string, driver string, labels map[string]string) bool {
	nameOK := !args.Contains("name")
	for _, nm := range names {
		nameOK = nameOK || args.Match("name", nm)
	}
	return nameOK &&
		(!args.Contains("node") || args.ExactMatch("node", n.Name) || args.ExactMatch("node", n.ID)) &&
		(!args.Contains("id") || args.Match("id", id)) &&
		(!args.Contains("driver") || args.ExactMatch("driver", driver)) &&
		(!args.Contains("label") || args.MatchKVList("label", labels))
}

func (s *Server) createNetwork(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := s.decodeBody(w, r, &body, true); err != nil {
		writeError(w, err)
		return
	}
	name, _ := body["Name"].(string)
	if name == "" {
		writeError(w, badRequest("network create needs a \"Name\"; use node/name to choose the node"))
		return
	}
	s.createObject(w, r, "networks", body, name)
}

func (s *Server) networkRoute(w http.ResponseWriter, r *http.Request, suffix string) {
	ref := mux.Vars(r)["name"]
	it, err := locate("network", ref, s.networkItems())
	if err != nil {
		writeError(w, err)
		return
	}
	s.forwardObject(w, r, it, "/networks/", suffix, "networks")
}

func (s *Server) inspectNetwork(w http.ResponseWriter, r *http.Request) { s.networkRoute(w, r, "") }
func (s *Server) removeNetwork(w http.ResponseWriter, r *http.Request)  { s.networkRoute(w, r, "") }

func (s *Server) forwardNetwork(w http.ResponseWriter, r *http.Request) {
	s.networkRoute(w, r, "/"+r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
}

func (s *Server) volumeItems() []located {
	var items []located
	for _, v := range s.cluster.Volumes() {
		items = append(items, located{node: v.Node, id: v.Volume.Name, name: v.Volume.Name})
	}
	return items
}

func (s *Server) listVolumes(w http.ResponseWriter, r *http.Request) {
	args, err := parseFilters(r, map[string]bool{"node": true, "name": true, "driver": true, "label": true})
	if err != nil {
		writeError(w, err)
		return
	}
	out := volume.ListResponse{Volumes: []*volume.Volume{}, Warnings: []string{}}
	for _, v := range s.cluster.Volumes() {
		vol := v.Volume
		if vol.Scope == "" || vol.Scope == "local" {
			vol.Name = v.Node.Name + "/" + vol.Name
		}
		if !matchObject(args, v.Node, v.Volume.Name, []string{v.Volume.Name, vol.Name}, vol.Driver, vol.Labels) {
			continue
		}
		out.Volumes = append(out.Volumes, &vol)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createVolume(w http.ResponseWriter, r *http.Request) {
	body := map[string]any{}
	if err := s.decodeBody(w, r, &body, false); err != nil {
		writeError(w, err)
		return
	}
	name, _ := body["Name"].(string)
	s.createObject(w, r, "volumes", body, name)
}

func (s *Server) volumeRoute(w http.ResponseWriter, r *http.Request) {
	it, err := locate("volume", mux.Vars(r)["name"], s.volumeItems())
	if err != nil {
		writeError(w, err)
		return
	}
	s.forwardObject(w, r, it, "/volumes/", "", "volumes")
}

func (s *Server) inspectVolume(w http.ResponseWriter, r *http.Request) { s.volumeRoute(w, r) }
func (s *Server) removeVolume(w http.ResponseWriter, r *http.Request)  { s.volumeRoute(w, r) }
