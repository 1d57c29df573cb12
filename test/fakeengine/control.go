package fakeengine

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/go-connections/nat"
)

// ContainerSpec describes a container made through the Go API, the way
// `docker create`/`docker run -d` flags would.
type ContainerSpec struct {
	Name   string
	Image  string
	Labels map[string]string
	Cmd    []string
	Env    []string
	// Ports publish like `docker run -p`: "80" (random host port),
	// "8080:80", "127.0.0.1:5353:53/udp".
	Ports      []string
	PublishAll bool
	// NetworkMode is "bridge" (default), "host", "none", "container:<id>" or
	// the name of a network.
	NetworkMode string
	Links       []string // "db" or "db:alias"
	Binds       []string // "volname:/data" or "/host:/data"
	NanoCPUs    int64
	Memory      int64
	CPUShares   int64
	// Running starts the container after creating it (docker run -d).
	Running bool
}

// StatusCode returns the HTTP status the engine answers err with, or 0 when
// err did not come from the engine.
func StatusCode(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status
	}
	return 0
}

// AddContainer creates (and with spec.Running starts) a container as an
// outside client of this engine would, emitting the same events. The image
// must be present (see AddImage, Options.Images). It returns the container ID.
func (e *Engine) AddContainer(spec ContainerSpec) (string, error) {
	exposed, bindings, err := nat.ParsePortSpecs(spec.Ports)
	if err != nil {
		return "", fmt.Errorf("add container %q: ports %v: %w", spec.Name, spec.Ports, err)
	}
	cfg := &container.Config{Image: spec.Image, Labels: spec.Labels, Cmd: spec.Cmd, Env: spec.Env, ExposedPorts: exposed}
	hc := &hostSpec{
		NetworkMode: spec.NetworkMode, PortBindings: bindings, PublishAllPorts: spec.PublishAll,
		Links: spec.Links, Binds: spec.Binds,
		NanoCPUs: spec.NanoCPUs, Memory: spec.Memory, CPUShares: spec.CPUShares,
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.createLocked(spec.Name, cfg, hc)
	if err != nil {
		return "", fmt.Errorf("add container %q: %w", spec.Name, err)
	}
	if spec.Running {
		if err := e.startLocked(c, nil); err != nil {
			return c.id, fmt.Errorf("start container %q: %w", c.name, err)
		}
	}
	return c.id, nil
}

// RunOutside models `docker run -d --name name image` typed directly against
// this engine (not through the manager): create, network connect, start.
func (e *Engine) RunOutside(name, image string, labels map[string]string) (string, error) {
	return e.AddContainer(ContainerSpec{Name: name, Image: image, Labels: labels, Running: true})
}

func (e *Engine) apply(ref string, fn transition, q url.Values) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.findLocked(ref)
	if err == nil {
		err = fn(c, q)
	}
	if err == errNotModified {
		return nil
	}
	return err
}

// StopContainer models `docker stop ref`: kill, die, disconnect, stop.
func (e *Engine) StopContainer(ref string) error { return e.apply(ref, e.stopLocked, nil) }

// PauseContainer models `docker pause ref`.
func (e *Engine) PauseContainer(ref string) error { return e.apply(ref, e.pauseLocked, nil) }

// RenameContainer models `docker rename ref name`.
func (e *Engine) RenameContainer(ref, name string) error {
	return e.apply(ref, e.renameLocked, url.Values{"name": {name}})
}

// RemoveContainer models `docker rm [-f] ref`.
func (e *Engine) RemoveContainer(ref string, force bool) error {
	return e.apply(ref, func(c *ctr, _ url.Values) error { return e.removeLocked(c, force) }, nil)
}

// ExitContainer makes a running container's process exit on its own with
// code (a crash or a finished job): die, then network disconnect.
func (e *Engine) ExitContainer(ref string, code int) error {
	return e.apply(ref, func(c *ctr, _ url.Values) error {
		if !c.alive() {
			return errf(http.StatusConflict, "Container %s is not running", c.id)
		}
		e.dieLocked(c, code)
		e.autoRemoveLocked(c)
		return nil
	}, nil)
}

// Container returns what GET /containers/{ref}/json would.
func (e *Engine) Container(ref string) (container.InspectResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.findLocked(ref)
	if err != nil {
		return container.InspectResponse{}, err
	}
	return e.inspectLocked(c), nil
}

// Containers returns what GET /containers/json?all=1 would, newest first.
func (e *Engine) Containers() []container.Summary {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.listLocked(filters.NewArgs(), true, 0)
}

// Seed creates containers that existed before anyone watched this engine:
// the same as AddContainer, but no events are kept for them, as a freshly
// restarted dockerd has none for the containers it already holds. Events
// emitted earlier are dropped from the history too, so call Seed before the
// engine is used. It stops at the first invalid spec.
func (e *Engine) Seed(specs ...ContainerSpec) error {
	for _, s := range specs {
		if _, err := e.AddContainer(s); err != nil {
			return fmt.Errorf("seed engine %s: %w", e.ID(), err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.history, e.histStart, e.published = e.history[:0], 0, 0
	return nil
}
