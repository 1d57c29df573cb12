package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

const hostDown = "Host Down"

// containerFilters are the `docker ps --filter` keys the manager serves.
var containerFilters = map[string]bool{
	"name": true, "id": true, "label": true, "status": true, "node": true,
	"before": true, "since": true, "ancestor": true, "exited": true, "health": true,
	"network": true, "volume": true,
}

var containerStates = map[string]bool{
	"created": true, "restarting": true, "running": true, "removing": true,
	"paused": true, "exited": true, "dead": true,
}

// parseFilters reads the `filters` query parameter and rejects keys the
// endpoint does not know, naming the ones it does.
func parseFilters(r *http.Request, accepted map[string]bool) (filters.Args, error) {
	args, err := filters.FromJSON(r.URL.Query().Get("filters"))
	if err != nil {
		return args, badRequest("invalid filters parameter %q: %v", r.URL.Query().Get("filters"), err)
	}
	for _, k := range args.Keys() {
		if !accepted[k] {
			keys := make([]string, 0, len(accepted))
			for a := range accepted {
				keys = append(keys, a)
			}
			sort.Strings(keys)
			return args, badRequest("invalid filter '%s'; supported filters: %s", k, strings.Join(keys, ", "))
		}
	}
	return args, nil
}

// isUp is the engine's notion of a container `docker ps` shows without -a.
func isUp(state string) bool {
	return state == "running" || state == "paused" || state == "restarting"
}

// clusterSummary rewrites an engine summary the way a cluster shows it:
// names under the node, ports bound to all interfaces on the node's IP,
// and "Host Down" for containers on unhealthy nodes.
func clusterSummary(c Container) container.Summary {
	s := c.Summary
	s.Names = make([]string, len(c.Summary.Names))
	for i, n := range c.Summary.Names {
		s.Names[i] = "/" + c.Node.Name + "/" + strings.TrimPrefix(n, "/")
	}
	s.Ports = nil
	seen := map[container.Port]bool{}
	for _, p := range c.Summary.Ports {
		if p.PublicPort != 0 && (p.IP == "" || p.IP == "0.0.0.0" || p.IP == "::") && c.Node.IP != "" {
			p.IP = c.Node.IP
		}
		if !seen[p] {
			seen[p] = true
			s.Ports = append(s.Ports, p)
		}
	}
	if !healthy(c.Node) {
		s.Status = hostDown
	}
	return s
}

// matchName matches a name filter against every form a user may type.
func matchName(args filters.Args, c Container) bool {
	for _, n := range c.Summary.Names {
		bare := strings.TrimPrefix(n, "/")
		for _, form := range []string{bare, "/" + bare, c.Node.Name + "/" + bare, "/" + c.Node.Name + "/" + bare} {
			if args.Match("name", form) {
				return true
			}
		}
	}
	return false
}

func (s *Server) listContainers(w http.ResponseWriter, r *http.Request) {
	args, err := parseFilters(r, containerFilters)
	if err != nil {
		writeError(w, err)
		return
	}
	for _, st := range args.Get("status") {
		if !containerStates[st] {
			writeError(w, badRequest("invalid filter 'status=%s'; use one of created, restarting, running, removing, paused, exited, dead", st))
			return
		}
	}
	limit := -1
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil {
			writeError(w, badRequest("invalid limit %q: want an integer", v))
			return
		}
	}
	all := boolValue(r, "all") || limit > 0 || args.Contains("status") || args.Contains("exited")
	s.busy()
	cs, release := s.containers(!args.Contains("network"))
	defer release()
	// The cluster lists newest first already; sorting 30,000 Containers
	// of 500 bytes again cost more than checking the order.
	if !sortedNewestFirst(cs) {
		slices.SortStableFunc(cs, newestFirst)
	}
	var before, since int64 = -1, -1
	for key, dst := range map[string]*int64{"before": &before, "since": &since} {
		for _, ref := range args.Get(key) {
			c, err := s.cluster.Container(ref)
			if err != nil {
				writeError(w, fmt.Errorf("filter %s=%s: %w", key, ref, noSuchContainer(ref, err)))
				return
			}
			*dst = c.Summary.Created
		}
	}
	gen := s.summaries.begin()
	out := make([]*Container, 0, len(cs))
	for i := range cs {
		c := &cs[i]
		if !all && (!healthy(c.Node) || !isUp(c.Summary.State)) {
			continue
		}
		switch {
		case args.Contains("name") && !matchName(args, *c),
			args.Contains("id") && !args.Match("id", c.Summary.ID),
			args.Contains("label") && !args.MatchKVList("label", c.Summary.Labels),
			args.Contains("status") && !args.ExactMatch("status", c.Summary.State),
			args.Contains("node") && !args.ExactMatch("node", c.Node.Name) && !args.ExactMatch("node", c.Node.ID),
			args.Contains("ancestor") && !args.ExactMatch("ancestor", c.Summary.Image) && !args.ExactMatch("ancestor", c.Summary.ImageID),
			!matchMore(args, c.Summary),
			before >= 0 && c.Summary.Created >= before,
			since >= 0 && c.Summary.Created <= since:
			continue
		}
		out = append(out, c)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	s.writeSummaries(w, out, gen)
	s.summaries.end(gen, cs, len(out) == len(cs))
}

// sortedNewestFirst reports whether cs is in listing order, comparing in
// place: a Container is over 500 bytes.
func sortedNewestFirst(cs []Container) bool {
	for i := 1; i < len(cs); i++ {
		a, b := &cs[i-1].Summary, &cs[i].Summary
		if a.Created < b.Created || a.Created == b.Created && a.ID > b.ID {
			return false
		}
	}
	return true
}

// newestFirst is the listing order: newest first, then by ID.
func newestFirst(a, b Container) int {
	if a.Summary.Created != b.Summary.Created {
		return cmp.Compare(b.Summary.Created, a.Summary.Created)
	}
	return strings.Compare(a.Summary.ID, b.Summary.ID)
}

// nodeJSON is the "Node" object classic Swarm added to container inspect;
// docker-gen and nginx-proxy read it.
type nodeJSON struct {
	ID     string
	IP     string
	Addr   string
	Name   string
	Cpus   int
	Memory int64
	Labels map[string]string
}

func toNodeJSON(n Node) nodeJSON {
	return nodeJSON{ID: n.ID, IP: n.IP, Addr: n.Addr, Name: n.Name, Cpus: n.NCPU, Memory: n.Memory, Labels: n.Labels}
}

// inspectContainer forwards inspect to the owning engine and adds Node.
func (s *Server) inspectContainer(w http.ResponseWriter, r *http.Request) {
	c, ep, path, err := s.containerTarget(r)
	if err != nil {
		writeError(w, err)
		return
	}
	s.forward(w, r, ep, path, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return fmt.Errorf("read inspect of %s from %s: %w", c.Summary.ID, c.Node.Name, err)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(body, &doc); err != nil {
			return fmt.Errorf("node %s answered inspect with bad JSON: %w", c.Node.Name, err)
		}
		doc["Node"], _ = json.Marshal(toNodeJSON(c.Node))
		if ns, ok := doc["NetworkSettings"]; ok && c.Node.IP != "" {
			if doc["NetworkSettings"], err = portsOnNode(ns, c.Node.IP); err != nil {
				return fmt.Errorf("node %s answered inspect with bad NetworkSettings: %w", c.Node.Name, err)
			}
		}
		body, err = json.Marshal(doc)
		if err != nil {
			return fmt.Errorf("encode inspect of %s: %w", c.Summary.ID, err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	})
}

// matchMore applies the filters read from fields of the summary other
// than its identity: exit code, health, networks and volumes.
func matchMore(args filters.Args, s container.Summary) bool {
	if args.Contains("exited") {
		var code int
		if s.State != "exited" || !strings.HasPrefix(s.Status, "Exited (") {
			return false
		}
		if _, err := fmt.Sscanf(s.Status, "Exited (%d)", &code); err != nil || !args.ExactMatch("exited", strconv.Itoa(code)) {
			return false
		}
	}
	if args.Contains("health") {
		health := "none"
		switch {
		case strings.Contains(s.Status, "(healthy)"):
			health = "healthy"
		case strings.Contains(s.Status, "(unhealthy)"):
			health = "unhealthy"
		case strings.Contains(s.Status, "(health: starting)"):
			health = "starting"
		}
		if !args.ExactMatch("health", health) {
			return false
		}
	}
	if args.Contains("network") {
		ok := false
		if s.NetworkSettings != nil {
			for name, ep := range s.NetworkSettings.Networks {
				ok = ok || args.ExactMatch("network", name) || (ep != nil && ep.NetworkID != "" && args.ExactMatch("network", ep.NetworkID))
			}
		}
		if !ok {
			return false
		}
	}
	if args.Contains("volume") {
		ok := false
		for _, m := range s.Mounts {
			ok = ok || (m.Name != "" && args.ExactMatch("volume", m.Name)) || args.ExactMatch("volume", m.Destination)
		}
		if !ok {
			return false
		}
	}
	return true
}

// portsOnNode rewrites NetworkSettings.Ports the way `docker ps` shows them:
// a binding on all interfaces (0.0.0.0, :: or empty) is reported on the
// node's IP, so `docker port` prints an address a client can reach instead
// of 0.0.0.0. The IPv4 and IPv6 wildcard bindings of one port collapse into
// one. Every other field is passed through untouched.
func portsOnNode(raw json.RawMessage, ip string) (json.RawMessage, error) {
	var ns map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ns); err != nil || ns == nil {
		return raw, err
	}
	var ports map[string][]struct {
		HostIP   string `json:"HostIp"`
		HostPort string
	}
	if p, ok := ns["Ports"]; !ok || json.Unmarshal(p, &ports) != nil || ports == nil {
		return raw, nil // no ports, or a shape this manager does not know: leave it be
	}
	for port, bindings := range ports {
		out := bindings[:0]
		seen := map[string]bool{}
		for _, b := range bindings {
			if b.HostIP == "" || b.HostIP == "0.0.0.0" || b.HostIP == "::" {
				b.HostIP = ip
			}
			if key := b.HostIP + ":" + b.HostPort; !seen[key] {
				seen[key] = true
				out = append(out, b)
			}
		}
		ports[port] = out
	}
	var err error
	if ns["Ports"], err = json.Marshal(ports); err != nil {
		return raw, err
	}
	return json.Marshal(ns)
}
