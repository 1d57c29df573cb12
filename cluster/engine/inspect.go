package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	// segmentio's Unmarshal is a drop-in for encoding/json's (the same
	// values, the same inputs rejected: FuzzDecodeLikeStd keeps checking)
	// that decodes an inspect answer in less than half the time; the
	// manager decodes one per container it starts, 7% of its CPU under
	// create load. (Its Decoder is no use for the event stream: it waits
	// for 32 KiB or the end of the stream before decoding; see
	// eventdecode.go.)
	"github.com/segmentio/encoding/json"
)

// inspectWire is the part of GET /containers/{id}/json the cluster keeps.
// Decoding only these fields, instead of the SDK's whole InspectResponse
// (environment, command, the full host config, graph driver data...),
// halves the allocations of the call the manager makes most: every create,
// forwarded start and container event inspects.
type inspectWire struct {
	ID, Name, Image, Path, Created string
	Args                           []string
	// State without the health check's log: its timestamps are the only
	// time.Time values in an answer, and the cache keeps only the status.
	State *struct {
		Status                                       container.ContainerState
		Running, Paused, Restarting, OOMKilled, Dead bool
		Pid, ExitCode                                int
		Error, StartedAt, FinishedAt                 string
		Health                                       *struct {
			Status        container.HealthStatus
			FailingStreak int
		}
	}
	HostConfig *struct {
		NetworkMode  container.NetworkMode
		Links        []string
		PortBindings nat.PortMap
		NanoCPUs     int64
		CPUShares    int64
		Memory       int64
	}
	Config          *wireConfig
	Mounts          []container.MountPoint
	NetworkSettings *struct {
		Networks map[string]*network.EndpointSettings
		Ports    nat.PortMap
	}
}

// wireConfig is the part of an inspect answer's Config the cluster keeps.
type wireConfig struct {
	Image        string
	Labels       map[string]string
	ExposedPorts nat.PortSet
}

// newInspectWire is an inspectWire to decode into. Its label map is made
// for a few labels: given none, segmentio's decoder makes one of 64 slots
// (4.9 KB, the largest garbage of a create under load) and fills a map it
// finds made. An answer without Config or without Labels gives an empty
// Config or label map rather than none, which the cache treats alike.
func newInspectWire() *inspectWire {
	return &inspectWire{Config: &wireConfig{Labels: make(map[string]string, 8)}}
}

// response rebuilds the SDK's shape from the kept fields.
func (w *inspectWire) response() container.InspectResponse {
	base := &container.ContainerJSONBase{
		ID: w.ID, Name: w.Name, Image: w.Image, Path: w.Path, Args: w.Args, Created: w.Created,
	}
	if st := w.State; st != nil {
		base.State = &container.State{
			Status: st.Status, Running: st.Running, Paused: st.Paused, Restarting: st.Restarting, OOMKilled: st.OOMKilled, Dead: st.Dead,
			Pid: st.Pid, ExitCode: st.ExitCode, Error: st.Error, StartedAt: st.StartedAt, FinishedAt: st.FinishedAt,
		}
		if h := st.Health; h != nil {
			base.State.Health = &container.Health{Status: h.Status, FailingStreak: h.FailingStreak}
		}
	}
	if h := w.HostConfig; h != nil {
		base.HostConfig = &container.HostConfig{NetworkMode: h.NetworkMode, Links: h.Links, PortBindings: h.PortBindings}
		base.HostConfig.NanoCPUs, base.HostConfig.CPUShares, base.HostConfig.Memory = h.NanoCPUs, h.CPUShares, h.Memory
	}
	out := container.InspectResponse{ContainerJSONBase: base, Mounts: w.Mounts}
	if c := w.Config; c != nil {
		out.Config = &container.Config{Image: c.Image, Labels: c.Labels, ExposedPorts: c.ExposedPorts}
	}
	if ns := w.NetworkSettings; ns != nil {
		out.NetworkSettings = &container.NetworkSettings{Networks: ns.Networks}
		out.NetworkSettings.Ports = ns.Ports
	}
	return out
}

// InspectContainer inspects one container and returns the fields the
// cluster's cache keeps: ID, name, image, command, creation time, state,
// labels, exposed ports, network mode, links, port bindings, CPU and
// memory reservations, mounts, networks and port mappings. A missing
// container gives an error for which errdefs.IsNotFound is true.
func (e *Engine) InspectContainer(ctx context.Context, id string) (container.InspectResponse, error) {
	ctx, cancel := e.call(ctx)
	defer cancel()
	in, err := e.inspect(ctx, id)
	if err != nil {
		return container.InspectResponse{}, fmt.Errorf("inspect container %s on %s: %w", id, e.addr, err)
	}
	return in, nil
}

func (e *Engine) inspect(ctx context.Context, id string) (container.InspectResponse, error) {
	w := newInspectWire()
	if err := e.getJSON(ctx, "/containers/"+url.PathEscape(id)+"/json", "inspect", w, json.Unmarshal); err != nil {
		return container.InspectResponse{}, err
	}
	return w.response(), nil
}

// getJSON GETs path (after the negotiated version prefix) and decodes
// the engine's answer into v; what names the answer in errors. The answer
// is read into a recycled buffer and decoded from there: a json.Decoder
// grows a fresh buffer per answer (about 16 KB of garbage per inspect,
// the call the manager makes most, and per heartbeat's info).
// unmarshal (segmentio's or encoding/json's) copies every string out.
func (e *Engine) getJSON(ctx context.Context, path, what string, v any, unmarshal func([]byte, any) error) error {
	if err := e.negotiate(ctx); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/v"+e.cli.ClientVersion()+path, nil)
	if err != nil {
		return err
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return answerError(resp)
	}
	buf := inspectBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledInspect {
			buf.Reset()
			inspectBuffers.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxInspectAnswer+1)); err != nil {
		return fmt.Errorf("read %s answer: %w", what, err)
	}
	if buf.Len() > maxInspectAnswer {
		return fmt.Errorf("%s answer larger than %d bytes", what, maxInspectAnswer)
	}
	if err := unmarshal(buf.Bytes(), v); err != nil {
		return fmt.Errorf("decode %s answer: %w", what, err)
	}
	return nil
}

// inspectBuffers recycles the buffers answers are read into (getJSON).
var inspectBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const (
	// maxInspectAnswer bounds one answer getJSON reads (a container with
	// thousands of labels or mounts is still far below it).
	maxInspectAnswer = 16 << 20
	// maxPooledInspect keeps an unusually large answer's buffer out of
	// the pool.
	maxPooledInspect = 256 << 10
)

// answerError is the error an engine's non-200 answer stands for: its
// message, classified by statusKind when the status is one the SDK knows.
func answerError(resp *http.Response) error {
	var msg struct{ Message string }
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(body, &msg) != nil || msg.Message == "" {
		msg.Message = http.StatusText(resp.StatusCode)
	}
	if kind := statusKind(resp.StatusCode); kind != nil {
		return &answer{msg: msg.Message, kind: kind}
	}
	return fmt.Errorf("engine answered %s: %s", resp.Status, msg.Message)
}

// answer is an engine's refusal: its words alone (the docker CLI shows
// them to the user, so no "not found" trails them), of its kind.
type answer struct {
	msg  string
	kind error
}

func (a *answer) Error() string { return a.msg }
func (a *answer) Unwrap() error { return a.kind }

// statusKind classifies an engine's error status as the SDK does, so that
// callers tell answers (no such container, conflict...) from failures.
func statusKind(code int) error {
	switch code {
	case http.StatusNotModified:
		return cerrdefs.ErrNotModified
	case http.StatusBadRequest:
		return cerrdefs.ErrInvalidArgument
	case http.StatusUnauthorized:
		return cerrdefs.ErrUnauthenticated
	case http.StatusForbidden:
		return cerrdefs.ErrPermissionDenied
	case http.StatusNotFound:
		return cerrdefs.ErrNotFound
	case http.StatusConflict:
		return cerrdefs.ErrConflict
	case http.StatusPreconditionFailed:
		return cerrdefs.ErrFailedPrecondition
	case http.StatusNotImplemented:
		return cerrdefs.ErrNotImplemented
	case http.StatusServiceUnavailable:
		return cerrdefs.ErrUnavailable
	}
	if code >= 500 {
		return cerrdefs.ErrInternal
	}
	return nil
}
