package fakeengine

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
)

// createRequest is the body of POST /containers/create with only what the
// engine honours. The Config is kept whole because inspect reports it back;
// of the HostConfig (about seventy fields in the SDK) only hostSpec is
// decoded, which makes the create body several times cheaper to parse.
// Unknown fields are skipped, as dockerd's decoder does for newer clients.
type createRequest struct {
	*container.Config
	HostConfig *hostSpec
}

// hostSpec is the part of a create's HostConfig the engine honours. The JSON
// names are the SDK's; Memory, NanoCpus and CpuShares sit at the top level
// because the SDK embeds Resources.
type hostSpec struct {
	NetworkMode     string                  `json:"NetworkMode"`
	PortBindings    nat.PortMap             `json:"PortBindings"`
	PublishAllPorts bool                    `json:"PublishAllPorts"`
	Binds           []string                `json:"Binds"`
	Links           []string                `json:"Links"`
	RestartPolicy   container.RestartPolicy `json:"RestartPolicy"`
	AutoRemove      bool                    `json:"AutoRemove"`
	Privileged      bool                    `json:"Privileged"`
	Memory          int64                   `json:"Memory"`
	NanoCPUs        int64                   `json:"NanoCpus"`
	CPUShares       int64                   `json:"CpuShares"`
}

func (e *Engine) createContainer(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if err := decodeBody(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Config == nil {
		writeError(w, errf(http.StatusBadRequest, "config cannot be empty in order to create a container"))
		return
	}
	e.mu.Lock()
	c, err := e.createLocked(r.URL.Query().Get("name"), req.Config, req.HostConfig)
	e.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, container.CreateResponse{ID: c.id, Warnings: []string{}})
}

// createLocked creates a container in state "created" and emits what dockerd
// emits: a volume create per new named volume, then the container create.
func (e *Engine) createLocked(name string, cfg *container.Config, hc *hostSpec) (*ctr, error) {
	name = strings.TrimPrefix(name, "/")
	if name != "" && !validName.MatchString(name) {
		return nil, errf(http.StatusBadRequest, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	if other, taken := e.byName[name]; taken {
		return nil, errf(http.StatusConflict, "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", name, other.id)
	}
	if cfg.Image == "" {
		return nil, errf(http.StatusBadRequest, "no image specified: set Config.Image to the image to run")
	}
	im, err := e.findImageLocked(cfg.Image)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &hostSpec{}
	}
	c := &ctr{
		id:      newID(),
		name:    name,
		created: time.Now().UTC(),
		image:   cfg.Image,
		imageID: im.id,
		state:   container.StateCreated,
		host: hostCfg{
			networkMode:  hc.NetworkMode,
			portBindings: clonePortMap(hc.PortBindings),
			publishAll:   hc.PublishAllPorts,
			binds:        slices.Clone(hc.Binds),
			restart:      hc.RestartPolicy,
			autoRemove:   hc.AutoRemove,
			privileged:   hc.Privileged,
			memory:       hc.Memory,
			nanoCPUs:     hc.NanoCPUs,
			cpuShares:    hc.CPUShares,
		},
		exposed: make(map[nat.Port]struct{}),
	}
	cc := *cfg
	cc.Labels = maps.Clone(cfg.Labels)
	if cc.Labels == nil {
		cc.Labels = map[string]string{}
	}
	if len(cc.Cmd) == 0 && len(cc.Entrypoint) == 0 {
		cc.Cmd = im.cmd
	}
	if cc.Hostname == "" {
		cc.Hostname = c.id[:12]
	}
	for p := range cfg.ExposedPorts {
		c.exposed[p] = struct{}{}
	}
	for _, p := range im.exposed {
		c.exposed[p] = struct{}{}
	}
	for p := range hc.PortBindings {
		c.exposed[p] = struct{}{}
	}
	c.config = &cc
	if err := e.attachLocked(c); err != nil {
		return nil, err
	}
	for _, l := range hc.Links {
		target, alias, _ := strings.Cut(l, ":")
		t, err := e.findLocked(strings.TrimPrefix(target, "/"))
		if err != nil {
			return nil, errf(http.StatusNotFound, "could not get container for %s", target)
		}
		if alias == "" {
			alias = t.name
		}
		c.links = append(c.links, link{target: t.id, alias: alias[strings.LastIndexByte(alias, '/')+1:]})
	}
	if c.name == "" {
		c.name = e.randomNameLocked()
	}
	for _, b := range c.host.binds {
		src, _, _ := strings.Cut(b, ":")
		if src != "" && !strings.HasPrefix(src, "/") && e.volumes[src] == nil {
			e.createVolumeLocked(src, "local", nil)
		}
	}
	if len(c.links) > 0 {
		e.linked++
	}
	e.seq++
	c.seq = e.seq
	e.containers[c.id] = c
	e.byName[c.name] = c
	e.emitLocked(events.ContainerEventType, events.ActionCreate, c.id, e.attrs(c))
	return c, nil
}

// attachLocked resolves the network mode to the networks the container joins.
func (e *Engine) attachLocked(c *ctr) error {
	mode := c.host.networkMode
	switch {
	case mode == "" || mode == network.NetworkDefault:
		c.host.networkMode = network.NetworkDefault
		mode = network.NetworkBridge
	case strings.HasPrefix(mode, "container:"):
		if _, err := e.findLocked(strings.TrimPrefix(mode, "container:")); err != nil {
			return err
		}
		return nil
	}
	n := e.findNetworkLocked(mode)
	if n == nil {
		return errf(http.StatusNotFound, "network %s not found", mode)
	}
	c.nets = []string{n.id}
	return nil
}
