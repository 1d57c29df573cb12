package fakeengine

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	units "github.com/docker/go-units"
)

var listFilters = map[string]bool{
	"id": true, "name": true, "label": true, "status": true, "ancestor": true, "exited": true,
	"network": true, "before": true, "since": true, "health": true, "isolation": true,
	"publish": true, "expose": true, "volume": true, "is-task": true,
}

var containerStates = map[string]bool{
	"created": true, "restarting": true, "running": true, "removing": true,
	"paused": true, "exited": true, "dead": true,
}

// inspectContainer serves GET /containers/{id}/json, encoded by hand under
// e.mu (see appendInspectLocked) and written after it is released.
func (e *Engine) inspectContainer(w http.ResponseWriter, r *http.Request) {
	bp := getBuf()
	defer putBuf(bp)
	e.mu.Lock()
	c, err := e.findLocked(r.PathValue("id"))
	if err == nil {
		*bp = append(e.appendInspectLocked((*bp)[:0], c), '\n')
	}
	e.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeRaw(w, http.StatusOK, *bp)
}

func (e *Engine) listContainers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	args, err := filters.FromJSON(q.Get("filters"))
	if err == nil {
		err = args.Validate(listFilters)
	}
	if err != nil {
		writeError(w, errf(http.StatusBadRequest, "invalid container filters %q: %v", q.Get("filters"), err))
		return
	}
	for _, s := range args.Get("status") {
		if !containerStates[s] {
			writeError(w, errf(http.StatusBadRequest, "Unrecognised filter value for status: %s", s))
			return
		}
	}
	for _, k := range []string{"before", "since", "health", "isolation", "publish", "expose", "volume", "is-task"} {
		if args.Contains(k) {
			writeError(w, errf(http.StatusBadRequest, "fake engine: container filter %q is not implemented; use id, name, label, status, ancestor, exited or network", k))
			return
		}
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	all := boolParam(r, "all") || limit > 0 || args.Contains("status")
	e.mu.Lock()
	list := e.listLocked(args, all, limit)
	cut := e.cutListings > 0
	if cut {
		e.cutListings--
	}
	e.mu.Unlock()
	if !cut {
		writeJSON(w, http.StatusOK, list)
		return
	}
	body, _ := json.Marshal(list)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body[:len(body)/2])
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	cutConn(r)
}

// listLocked returns the containers matching the filters, newest first.
func (e *Engine) listLocked(args filters.Args, all bool, limit int) []container.Summary {
	cs := make([]*ctr, 0, len(e.containers))
	aliases := e.aliasesLocked()
	for _, c := range e.containers {
		if !all && c.state != container.StateRunning && c.state != container.StatePaused {
			continue
		}
		if !e.matchContainerLocked(args, c, aliases) {
			continue
		}
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *ctr) int { return int(b.seq) - int(a.seq) })
	if limit > 0 && len(cs) > limit {
		cs = cs[:limit]
	}
	out := make([]container.Summary, 0, len(cs))
	for _, c := range cs {
		out = append(out, e.summaryLocked(c, aliases))
	}
	return out
}

func (e *Engine) matchContainerLocked(args filters.Args, c *ctr, aliases map[string][]string) bool {
	if args.Len() == 0 {
		return true
	}
	if args.Contains("id") && !args.Match("id", c.id) {
		return false
	}
	if args.Contains("name") {
		ok := false
		for _, n := range names(c, aliases) {
			ok = ok || args.Match("name", n)
		}
		if !ok {
			return false
		}
	}
	if args.Contains("status") && !args.ExactMatch("status", string(c.state)) {
		return false
	}
	if args.Contains("label") && !args.MatchKVList("label", c.config.Labels) {
		return false
	}
	if args.Contains("exited") && (c.state != container.StateExited || !args.ExactMatch("exited", strconv.Itoa(c.exitCode))) {
		return false
	}
	if args.Contains("ancestor") && !args.ExactMatch("ancestor", c.image) && !args.ExactMatch("ancestor", c.imageID) {
		return false
	}
	if args.Contains("network") {
		ok := false
		for _, id := range c.nets {
			ok = ok || args.ExactMatch("network", id) || args.ExactMatch("network", e.networks[id].name)
		}
		if !ok {
			return false
		}
	}
	return true
}

// status is the STATUS column of `docker ps`.
func (c *ctr) status(now time.Time) string {
	switch c.state {
	case container.StateRunning:
		return "Up " + units.HumanDuration(now.Sub(c.startedAt))
	case container.StatePaused:
		return "Up " + units.HumanDuration(now.Sub(c.startedAt)) + " (Paused)"
	case container.StateExited:
		return "Exited (" + strconv.Itoa(c.exitCode) + ") " + units.HumanDuration(now.Sub(c.finishedAt)) + " ago"
	case container.StateCreated:
		return "Created"
	case container.StateDead:
		return "Dead"
	}
	return string(c.state)
}

func (e *Engine) summaryLocked(c *ctr, aliases map[string][]string) container.Summary {
	s := container.Summary{
		ID:      c.id,
		Names:   names(c, aliases),
		Image:   c.image,
		ImageID: c.imageID,
		Command: c.command(),
		Created: c.created.Unix(),
		Ports:   []container.Port{},
		Labels:  c.config.Labels,
		State:   c.state,
		Status:  c.status(time.Now()),
		Mounts:  []container.MountPoint{},
	}
	s.HostConfig.NetworkMode = c.host.networkMode
	for _, p := range sortedPorts(c.exposed) {
		bindings, ok := c.ports[p]
		if !ok {
			continue
		}
		if len(bindings) == 0 {
			s.Ports = append(s.Ports, container.Port{PrivatePort: uint16(p.Int()), Type: p.Proto()})
		}
		for _, b := range bindings {
			hp, _ := strconv.Atoi(b.HostPort)
			s.Ports = append(s.Ports, container.Port{IP: b.HostIP, PrivatePort: uint16(p.Int()), PublicPort: uint16(hp), Type: p.Proto()})
		}
	}
	s.NetworkSettings = &container.NetworkSettingsSummary{Networks: e.endpointsLocked(c)}
	return s
}

// endpointsLocked describes the networks the container joined; addresses are
// empty while it is not running, as dockerd shows them.
func (e *Engine) endpointsLocked(c *ctr) map[string]*network.EndpointSettings {
	eps := make(map[string]*network.EndpointSettings, len(c.nets))
	for i, id := range c.nets {
		n := e.networks[id]
		ep := &network.EndpointSettings{NetworkID: id}
		if c.state == container.StateRunning || c.state == container.StatePaused {
			ep.EndpointID = c.id[:32] + id[:32]
			ep.Gateway = n.gateway
			if i == 0 && n.driver == "bridge" {
				ep.IPAddress, ep.IPPrefixLen = c.ip, 16
				ep.MacAddress = "02:42:ac:11:00:02"
			}
		}
		eps[n.name] = ep
	}
	return eps
}
