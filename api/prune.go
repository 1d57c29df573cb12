package api

import (
	"encoding/json"
	"net/http"
	"strings"
)

// prune runs `docker X prune` on every healthy node and merges the
// answers: lists are concatenated, SpaceReclaimed is summed. Nodes that
// fail are listed in the error; nodes that succeeded stay pruned.
func (s *Server) prune(what string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		eps, err := s.healthyEndpoints()
		if err != nil {
			writeError(w, err)
			return
		}
		merged := map[string]any{}
		var reclaimed uint64
		var failures []string
		status := 0
		for _, ep := range eps {
			code, data, err := callEngine(r, ep, http.MethodPost, r.URL.Path, nil)
			switch {
			case err != nil:
				failures, status = append(failures, err.Error()), http.StatusBadGateway
				continue
			case code != http.StatusOK:
				failures = append(failures, ep.Node.Name+": "+engineMessage(data))
				if status == 0 {
					status = code
				}
				continue
			}
			var answer map[string]json.RawMessage
			if err := json.Unmarshal(data, &answer); err != nil {
				failures = append(failures, ep.Node.Name+": unreadable prune answer: "+err.Error())
				status = http.StatusBadGateway
				continue
			}
			s.afterPrune(r, ep, what, answer)
			for k, raw := range answer {
				if k == "SpaceReclaimed" {
					var n uint64
					_ = json.Unmarshal(raw, &n)
					reclaimed += n
					continue
				}
				var list []any
				if json.Unmarshal(raw, &list) == nil {
					prev, _ := merged[k].([]any)
					merged[k] = append(prev, list...)
				}
			}
		}
		if len(failures) > 0 {
			writeErrorStatus(w, status, "prune failed on "+strings.Join(failures, "; "))
			return
		}
		if what != "networks" {
			merged["SpaceReclaimed"] = reclaimed
		}
		writeJSON(w, http.StatusOK, merged)
	}
}

// afterPrune brings the cache up to date with what one node pruned.
func (s *Server) afterPrune(r *http.Request, ep Endpoint, what string, answer map[string]json.RawMessage) {
	if what != "containers" {
		if err := s.cluster.RefreshNode(r.Context(), ep.Node.ID, what); err != nil {
			s.log.Warn("refresh after prune", "node", ep.Node.Name, "what", what, "err", err)
		}
		return
	}
	var ids []string
	_ = json.Unmarshal(answer["ContainersDeleted"], &ids)
	for _, id := range ids {
		if err := s.cluster.Refresh(r.Context(), ep.Node.ID, id); err != nil {
			s.log.Debug("refresh pruned container", "node", ep.Node.Name, "id", id, "err", err)
		}
	}
}

// build runs the legacy builder (`POST /build`) on one node: the node a
// `constraint=` query names, else the healthy node running the fewest
// containers. The build context streams through untouched; the node's
// image list is re-read afterwards.
func (s *Server) build(w http.ResponseWriter, r *http.Request) {
	eps, err := s.healthyEndpoints()
	if err != nil {
		writeError(w, err)
		return
	}
	q := r.URL.Query()
	if eps, err = constrained(eps, q["constraint"]); err != nil {
		writeError(w, err)
		return
	}
	q.Del("constraint")
	r.URL.RawQuery = q.Encode()
	best := eps[0]
	for _, ep := range eps[1:] {
		if ep.Node.Containers < best.Node.Containers {
			best = ep
		}
	}
	s.forward(w, r, best, "/build", endAfterHandler)
	if err := s.cluster.RefreshNode(r.Context(), best.Node.ID, "images"); err != nil {
		s.log.Warn("refresh images after build", "node", best.Node.Name, "err", err)
	}
}

// endAfterHandler drops the engine's Content-Length so the client's copy
// of the response ends only when the handler returns: a client that
// lists images as soon as its build ends then sees the image the handler
// re-read after the stream.
func endAfterHandler(resp *http.Response) error {
	resp.ContentLength = -1
	resp.Header.Del("Content-Length")
	return nil
}
