package fakeengine

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
)

// netw is one network. prefix is the first two octets of its /16.
type netw struct {
	id, name, driver string
	created          time.Time
	labels           map[string]string
	internal         bool
	builtin          bool
	prefix           string
	gateway          string
}

// vol is one local volume.
type vol struct {
	name, driver string
	created      time.Time
	labels       map[string]string
}

func defaultNetworks() []*netw {
	t := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return []*netw{
		{id: newID(), name: "bridge", driver: "bridge", created: t, builtin: true, prefix: "172.17", gateway: "172.17.0.1"},
		{id: newID(), name: "host", driver: "host", created: t, builtin: true},
		{id: newID(), name: "none", driver: "null", created: t, builtin: true},
	}
}

// findNetworkLocked resolves a full ID, a name or a unique ID prefix.
func (e *Engine) findNetworkLocked(ref string) *netw {
	if n, ok := e.networks[ref]; ok {
		return n
	}
	var byPrefix *netw
	for id, n := range e.networks {
		if n.name == ref {
			return n
		}
		if ref != "" && strings.HasPrefix(id, ref) {
			byPrefix = n
		}
	}
	return byPrefix
}

func (e *Engine) networkLocked(n *netw, withContainers bool) network.Inspect {
	out := network.Inspect{
		Name: n.name, ID: n.id, Created: n.created, Scope: "local", Driver: n.driver,
		EnableIPv4: true, Internal: n.internal, Labels: maps.Clone(n.labels),
		Options: map[string]string{}, Containers: map[string]network.EndpointResource{},
		IPAM: network.IPAM{Driver: "default", Config: []network.IPAMConfig{}},
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if n.prefix != "" {
		out.IPAM.Config = []network.IPAMConfig{{Subnet: n.prefix + ".0.0/16", Gateway: n.gateway}}
	}
	if !withContainers {
		return out
	}
	for _, c := range e.containers {
		if c.alive() && slices.Contains(c.nets, n.id) {
			ep := network.EndpointResource{Name: c.name, EndpointID: c.id[:32] + n.id[:32]}
			if c.nets[0] == n.id && c.ip != "" {
				ep.IPv4Address, ep.MacAddress = c.ip+"/16", "02:42:ac:11:00:02"
			}
			out.Containers[c.id] = ep
		}
	}
	return out
}

var networkFilters = map[string]bool{"driver": true, "id": true, "label": true, "name": true, "scope": true, "type": true, "dangling": true}

func (e *Engine) listNetworks(w http.ResponseWriter, r *http.Request) {
	args, err := filters.FromJSON(r.URL.Query().Get("filters"))
	if err == nil {
		err = args.Validate(networkFilters)
	}
	if err != nil {
		writeError(w, errf(http.StatusBadRequest, "invalid network filters: %v", err))
		return
	}
	e.mu.Lock()
	out := make([]network.Summary, 0, len(e.networks))
	for _, n := range e.networks {
		typ := "custom"
		if n.builtin {
			typ = "builtin"
		}
		if (args.Contains("name") && !args.Match("name", n.name)) || (args.Contains("id") && !args.Match("id", n.id)) ||
			!args.ExactMatch("driver", n.driver) || !args.ExactMatch("type", typ) || !args.ExactMatch("scope", "local") ||
			(args.Contains("label") && !args.MatchKVList("label", n.labels)) {
			continue
		}
		out = append(out, e.networkLocked(n, false))
	}
	e.mu.Unlock()
	slices.SortFunc(out, func(a, b network.Summary) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, out)
}

func (e *Engine) createNetwork(w http.ResponseWriter, r *http.Request) {
	var req network.CreateRequest
	if err := decodeBody(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Name == "" {
		writeError(w, errf(http.StatusBadRequest, "network name is required: set Name in the request body"))
		return
	}
	if req.Driver == "" {
		req.Driver = "bridge"
	}
	switch req.Driver {
	case "bridge", "macvlan", "ipvlan":
	default:
		writeError(w, errf(http.StatusNotFound, "plugin %q not found", req.Driver))
		return
	}
	e.mu.Lock()
	var err error
	n := &netw{id: newID(), name: req.Name, driver: req.Driver, created: time.Now().UTC(), labels: maps.Clone(req.Labels), internal: req.Internal}
	for _, other := range e.networks {
		if other.name == req.Name {
			err = errf(http.StatusConflict, "network with name %s already exists", req.Name)
		}
	}
	if err == nil {
		k := 18 + len(e.networks)
		n.prefix = fmt.Sprintf("172.%d", k%256)
		n.gateway = n.prefix + ".0.1"
		e.networks[n.id] = n
		e.emitLocked(events.NetworkEventType, events.ActionCreate, n.id, map[string]string{"name": n.name, "type": n.driver})
	}
	e.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, network.CreateResponse{ID: n.id})
}

func (e *Engine) inspectNetwork(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	n := e.findNetworkLocked(r.PathValue("id"))
	var out network.Inspect
	if n != nil {
		out = e.networkLocked(n, true)
	}
	e.mu.Unlock()
	if n == nil {
		writeError(w, errf(http.StatusNotFound, "network %s not found", r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Engine) deleteNetwork(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	n := e.findNetworkLocked(r.PathValue("id"))
	var err error
	switch {
	case n == nil:
		err = errf(http.StatusNotFound, "network %s not found", r.PathValue("id"))
	case n.builtin:
		err = errf(http.StatusForbidden, "%s is a pre-defined network and cannot be removed", n.name)
	default:
		for _, c := range e.containers {
			if c.alive() && slices.Contains(c.nets, n.id) {
				err = errf(http.StatusForbidden, "error while removing network: network %s id %s has active endpoints", n.name, n.id)
				break
			}
		}
	}
	if err == nil {
		delete(e.networks, n.id)
		e.emitLocked(events.NetworkEventType, events.ActionDestroy, n.id, map[string]string{"name": n.name, "type": n.driver})
	}
	e.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// connectNetwork serves POST /networks/{id}/connect; a running container
// joins at once (network connect event), a stopped one when it starts.
func (e *Engine) connectNetwork(w http.ResponseWriter, r *http.Request) {
	var req network.ConnectOptions
	if err := decodeBody(r, &req); err != nil {
		writeError(w, err)
		return
	}
	e.mu.Lock()
	var err error
	n := e.findNetworkLocked(r.PathValue("id"))
	c, cerr := e.findLocked(req.Container)
	switch {
	case n == nil:
		err = errf(http.StatusNotFound, "network %s not found", r.PathValue("id"))
	case cerr != nil:
		err = cerr
	case slices.Contains(c.nets, n.id):
		err = errf(http.StatusForbidden, "endpoint with name %s already exists in network %s", c.name, n.name)
	default:
		c.nets = append(c.nets, n.id)
		if c.alive() {
			e.emitLocked(events.NetworkEventType, events.ActionConnect, n.id, map[string]string{"container": c.id, "name": n.name, "type": n.driver})
		}
	}
	e.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (e *Engine) volumeLocked(v *vol) *volume.Volume {
	labels := maps.Clone(v.labels)
	if labels == nil {
		labels = map[string]string{}
	}
	return &volume.Volume{
		CreatedAt: v.created.Format(time.RFC3339), Driver: v.driver, Labels: labels,
		Mountpoint: "/var/lib/docker/volumes/" + v.name + "/_data", Name: v.name,
		Options: map[string]string{}, Scope: "local",
	}
}

func (e *Engine) createVolumeLocked(name, driver string, labels map[string]string) *vol {
	v := &vol{name: name, driver: driver, created: time.Now().UTC(), labels: maps.Clone(labels)}
	e.volumes[name] = v
	e.emitLocked(events.VolumeEventType, events.ActionCreate, name, map[string]string{"driver": driver})
	return v
}

// volumeUsersLocked returns the IDs of the containers that mount volume name.
func (e *Engine) volumeUsersLocked(name string) []string {
	var ids []string
	for _, c := range e.containers {
		for _, b := range c.host.binds {
			if src, _, _ := strings.Cut(b, ":"); src == name {
				ids = append(ids, c.id)
			}
		}
	}
	return ids
}

var volumeFilters = map[string]bool{"dangling": true, "driver": true, "label": true, "name": true}

func (e *Engine) listVolumes(w http.ResponseWriter, r *http.Request) {
	args, err := filters.FromJSON(r.URL.Query().Get("filters"))
	if err == nil {
		err = args.Validate(volumeFilters)
	}
	if err != nil {
		writeError(w, errf(http.StatusBadRequest, "invalid volume filters: %v", err))
		return
	}
	e.mu.Lock()
	resp := volume.ListResponse{Volumes: make([]*volume.Volume, 0, len(e.volumes)), Warnings: []string{}}
	for _, v := range e.volumes {
		dangling := len(e.volumeUsersLocked(v.name)) == 0
		if (args.Contains("name") && !args.Match("name", v.name)) || !args.ExactMatch("driver", v.driver) ||
			(args.Contains("label") && !args.MatchKVList("label", v.labels)) ||
			(args.Contains("dangling") && args.ExactMatch("dangling", "true") != dangling) {
			continue
		}
		resp.Volumes = append(resp.Volumes, e.volumeLocked(v))
	}
	e.mu.Unlock()
	slices.SortFunc(resp.Volumes, func(a, b *volume.Volume) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, resp)
}

func (e *Engine) createVolume(w http.ResponseWriter, r *http.Request) {
	var req volume.CreateOptions
	if err := decodeBody(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Driver == "" {
		req.Driver = "local"
	}
	if req.Driver != "local" {
		writeError(w, errf(http.StatusNotFound, "plugin %q not found", req.Driver))
		return
	}
	if req.Name == "" {
		req.Name = newID()
	}
	e.mu.Lock()
	v, ok := e.volumes[req.Name]
	if !ok {
		v = e.createVolumeLocked(req.Name, req.Driver, req.Labels)
	}
	resp := e.volumeLocked(v)
	e.mu.Unlock()
	writeJSON(w, http.StatusCreated, resp)
}

func (e *Engine) inspectVolume(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	e.mu.Lock()
	v, ok := e.volumes[name]
	var resp *volume.Volume
	if ok {
		resp = e.volumeLocked(v)
	}
	e.mu.Unlock()
	if !ok {
		writeError(w, errf(http.StatusNotFound, "get %s: no such volume", name))
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (e *Engine) deleteVolume(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	e.mu.Lock()
	v, ok := e.volumes[name]
	var err error
	switch users := e.volumeUsersLocked(name); {
	case !ok:
		err = errf(http.StatusNotFound, "get %s: no such volume", name)
	case len(users) > 0:
		err = errf(http.StatusConflict, "remove %s: volume is in use - %v", name, users)
	default:
		delete(e.volumes, name)
		e.emitLocked(events.VolumeEventType, events.ActionDestroy, name, map[string]string{"driver": v.driver})
	}
	e.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
