// Package engine talks to one Docker engine with the Docker SDK. It is the
// only package of swarm that imports github.com/docker/docker/client; the
// cluster package sees it through its own small Engine interface.
//
// Every call carries the caller's context plus a per-call timeout, except the
// event stream (long-lived by nature, ended by its context; only opening it
// is bounded) and image pulls (bounded by PullTimeout). The API version is
// negotiated with the engine on the first call, so 20.10 engines (API 1.41)
// and current ones both work.
//
// An engine costs the manager as little as possible at rest, because there
// may be a thousand: one SDK client and one HTTP transport shared by the
// SDK's calls, inspects, pulls and the API's forwarding, whose connections
// close after IdleTimeout, and the event stream on a connection of its own
// read by the caller's goroutine (no transport goroutines, no channel).
package engine

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/swarmlab/swarm/pki"
)

// Defaults used when Options leaves a field zero.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultPullTimeout = 10 * time.Minute
)

// writeBuffer is the write buffer of the transport's connections. The SDK's
// requests are small (a create's config is the largest), and a 1 KiB buffer
// instead of 4 KiB saves 3 MB per thousand open connections; large forwarded
// bodies (uploads, builds) bypass the buffer once it is empty.
const writeBuffer = 1 << 10

// DefaultIdleTimeout closes an idle call connection before the next
// heartbeat (every 30-60 s by default) rather than keeping it open in
// between: an open connection costs two goroutines and their buffers, about
// 17 MB at 1,000 engines, while a new one costs a TCP connect (and a TLS
// handshake with TLS) per heartbeat. Busy engines keep theirs open.
const DefaultIdleTimeout = 10 * time.Second

// Options configure how an engine is reached.
type Options struct {
	// TLS, when set, makes the connection https with this configuration.
	TLS *tls.Config
	// Timeout bounds every call but Events and PullImage.
	Timeout time.Duration
	// PullTimeout bounds one image pull.
	PullTimeout time.Duration
	// IdleTimeout closes a connection unused this long (not the event
	// stream's); DefaultIdleTimeout when zero.
	IdleTimeout time.Duration
}

// Engine is one Docker engine reached over TCP. It is safe for concurrent
// use; Close releases its idle connections.
type Engine struct {
	addr string
	url  string
	opts Options
	// cli is the SDK client. It wraps its own http.Client's transport in
	// OpenTelemetry tracing (unconditionally, in NewClientWithOpts), so
	// there is one per engine, for calls and pulls alike.
	cli *client.Client
	// http is a client over the same transport, unwrapped: for the calls
	// decoded here (inspect) and for the API's forwarding, which needs an
	// *http.Transport to reuse its dialer and TLS settings when hijacking.
	http *http.Client
	// streamTLS is the event stream's TLS configuration; nil for plain.
	streamTLS *tls.Config

	// negotiateMu guards negotiated: version negotiation is retried until
	// a ping succeeds, because the SDK silently keeps its own default when
	// the first ping fails.
	negotiateMu sync.Mutex
	negotiated  bool
}

// Dial prepares a client for the engine at addr ("host:port", optionally
// prefixed with tcp://, http:// or https://). It does not contact the
// engine: the first call does, so an engine that is down can be dialled and
// retried later.
func Dial(addr string, opts Options) (*Engine, error) {
	hostPort, err := hostPort(addr)
	if err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.PullTimeout <= 0 {
		opts.PullTimeout = DefaultPullTimeout
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	scheme := "http"
	if opts.TLS != nil {
		scheme = "https"
	}
	// The transport sets no response header timeout: every call but a pull
	// is bounded by its context (Options.Timeout), a pull waits for the
	// registry before dockerd answers, and forwarded attach, logs -f and
	// wait may legitimately take long before a proxy sees headers. The
	// event stream bounds its own opening.
	t := newTransport(opts)
	cli, err := newClient(hostPort, scheme, t)
	if err != nil {
		return nil, fmt.Errorf("engine %s: build client: %w", addr, err)
	}
	return &Engine{
		addr:      hostPort,
		url:       scheme + "://" + hostPort,
		opts:      opts,
		cli:       cli,
		http:      &http.Client{Transport: t},
		streamTLS: streamTLSConfig(opts.TLS, hostPort),
	}, nil
}

func newClient(hostPort, scheme string, t *http.Transport) (*client.Client, error) {
	return client.NewClientWithOpts(
		client.WithHost("tcp://"+hostPort),
		client.WithHTTPClient(&http.Client{Transport: t}),
		client.WithScheme(scheme),
		client.WithAPIVersionNegotiation(),
		// The SDK always wraps its transport in OpenTelemetry tracing,
		// which records nothing here (no tracer or meter is set up) yet
		// cost 2-4% of the manager's CPU under create load building span
		// names and metric attributes. A filter that declines every
		// request is otelhttp's own way to pass straight through.
		client.WithTraceOptions(otelhttp.WithFilter(func(*http.Request) bool { return false })),
	)
}

// newTransport is a transport to one engine: direct (never through
// HTTP_PROXY), with the dial and TLS handshake bounded by the timeout.
func newTransport(opts Options) *http.Transport {
	t := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     opts.IdleTimeout,
		TLSHandshakeTimeout: opts.Timeout,
		WriteBufferSize:     writeBuffer,
	}
	if opts.TLS != nil {
		t.TLSClientConfig = opts.TLS.Clone()
	}
	return t
}

// hostPort validates addr and strips an optional scheme.
func hostPort(addr string) (string, error) {
	rest := addr
	for _, p := range []string{"tcp://", "http://", "https://"} {
		rest = strings.TrimPrefix(rest, p)
	}
	rest = strings.TrimSuffix(rest, "/")
	host, port, err := net.SplitHostPort(rest)
	if err != nil || host == "" {
		return "", fmt.Errorf("engine address %q: want host:port (e.g. 10.0.0.5:2375)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("engine address %q: port %q is not a number in 1-65535", addr, port)
	}
	hp := net.JoinHostPort(host, port)
	if u, err := url.Parse("tcp://" + hp); err != nil || u.Host != hp {
		return "", fmt.Errorf("engine address %q: host %q is not a valid host name or IP address", addr, host)
	}
	return hp, nil
}

// Addr is the engine's host:port.
func (e *Engine) Addr() string { return e.addr }

// call derives the per-call context.
func (e *Engine) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.opts.Timeout)
}

// negotiate pins the API version to what the engine supports. It returns the
// ping error so that a dead engine is reported instead of silently talking
// at the SDK's default version.
func (e *Engine) negotiate(ctx context.Context) error {
	e.negotiateMu.Lock()
	defer e.negotiateMu.Unlock()
	if e.negotiated {
		return nil
	}
	ping, err := e.cli.Ping(ctx)
	if err != nil {
		// A TLS failure names the address, the certificate's SANs and the
		// command that fixes it; other errors pass through unchanged.
		return pki.ExplainVerifyError(e.addr, err)
	}
	e.cli.NegotiateAPIVersionPing(ping)
	e.negotiated = true
	return nil
}

// Info returns the engine's /info.
func (e *Engine) Info(ctx context.Context) (system.Info, error) {
	ctx, cancel := e.call(ctx)
	defer cancel()
	if err := e.negotiate(ctx); err != nil {
		return system.Info{}, fmt.Errorf("ping %s: %w", e.addr, err)
	}
	// Not the SDK's Info: every heartbeat asks, and its decoder's buffer
	// was a fifth of an idle manager's garbage (getJSON recycles it).
	// encoding/json decodes it: a heartbeat is rare next to inspects, and
	// an info may hold times (a swarm-mode engine's cluster), which
	// segmentio parses more strictly.
	var info system.Info
	if err := e.getJSON(ctx, "/info", "info", &info, json.Unmarshal); err != nil {
		return system.Info{}, fmt.Errorf("info %s: %w", e.addr, err)
	}
	return info, nil
}

// Version returns the engine's /version.
func (e *Engine) Version(ctx context.Context) (types.Version, error) {
	ctx, cancel := e.call(ctx)
	defer cancel()
	v, err := e.cli.ServerVersion(ctx)
	if err != nil {
		return types.Version{}, fmt.Errorf("version %s: %w", e.addr, err)
	}
	return v, nil
}

// APIVersion is the API version negotiated with the engine ("" before the
// first successful call).
func (e *Engine) APIVersion() string {
	e.negotiateMu.Lock()
	defer e.negotiateMu.Unlock()
	if !e.negotiated {
		return ""
	}
	return e.cli.ClientVersion()
}

// Target is what the API needs to forward raw HTTP to the engine: its base
// URL, an HTTP client with the right TLS settings, and the negotiated API
// version. The client has no overall timeout because attach and logs
// streams are long-lived; callers bound requests with their context.
func (e *Engine) Target() (url string, hc *http.Client, apiVersion string) {
	return e.url, e.http, e.APIVersion()
}

// CloseIdle closes the engine's idle call connections; the next call
// dials again.
func (e *Engine) CloseIdle() { e.http.CloseIdleConnections() }

// Close releases idle connections. An event stream ends with its context,
// not with Close.
func (e *Engine) Close() error {
	e.http.CloseIdleConnections()
	return e.cli.Close()
}

// Containers lists every container, running or not.
func (e *Engine) Containers(ctx context.Context) ([]container.Summary, error) {
	ctx, cancel := e.call(ctx)
	defer cancel()
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list containers on %s: %w", e.addr, err)
	}
	return list, nil
}

// Images lists the engine's images.
func (e *Engine) Images(ctx context.Context) ([]image.Summary, error) {
	ctx, cancel := e.call(ctx)
	defer cancel()
	list, err := e.cli.ImageList(ctx, image.ListOptions{All: false})
	if err != nil {
		return nil, fmt.Errorf("list images on %s: %w", e.addr, err)
	}
	return list, nil
}

// Networks lists the engine's networks.
func (e *Engine) Networks(ctx context.Context) ([]network.Summary, error) {
	ctx, cancel := e.call(ctx)
	defer cancel()
	list, err := e.cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list networks on %s: %w", e.addr, err)
	}
	return list, nil
}

// Volumes lists the engine's volumes.
func (e *Engine) Volumes(ctx context.Context) ([]*volume.Volume, error) {
	ctx, cancel := e.call(ctx)
	defer cancel()
	resp, err := e.cli.VolumeList(ctx, volume.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list volumes on %s: %w", e.addr, err)
	}
	return resp.Volumes, nil
}

// CreateContainer creates a container and returns its ID and the engine's
// warnings.
func (e *Engine) CreateContainer(ctx context.Context, name string, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig) (string, []string, error) {
	ctx, cancel := e.call(ctx)
	defer cancel()
	resp, err := e.cli.ContainerCreate(ctx, cfg, host, net, nil, name)
	if err != nil {
		return "", nil, fmt.Errorf("create container on %s: %w", e.addr, err)
	}
	return resp.ID, resp.Warnings, nil
}

// CreateContainerBody creates a container from a create body as a client
// sent it (JSON, possibly edited), unlike CreateContainer, which encodes
// the SDK's structs: so fields this build's SDK does not know, and fields
// the client left out, reach the engine as the client meant them. version
// is the API version the client spoke ("" for none): the body is shaped
// for it, so the engine is asked at it, or at the negotiated version when
// that is lower (as a forwarded call is). platform is the create's
// platform query parameter ("" for none).
func (e *Engine) CreateContainerBody(ctx context.Context, version, name, platform string, body []byte) (string, []string, error) {
	ctx, cancel := e.call(ctx)
	defer cancel()
	id, warnings, err := e.createBody(ctx, version, name, platform, body)
	if err != nil {
		return "", nil, fmt.Errorf("create container on %s: %w", e.addr, err)
	}
	return id, warnings, nil
}

func (e *Engine) createBody(ctx context.Context, version, name, platform string, body []byte) (string, []string, error) {
	if err := e.negotiate(ctx); err != nil {
		return "", nil, err
	}
	if v := e.cli.ClientVersion(); version == "" || versions.LessThan(v, version) {
		version = v
	}
	q := url.Values{}
	if name != "" {
		q.Set("name", name)
	}
	if platform != "" {
		q.Set("platform", platform)
	}
	u := e.url + "/v" + version + "/containers/create"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", nil, answerError(resp)
	}
	var created container.CreateResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&created); err != nil {
		return "", nil, fmt.Errorf("decode create answer: %w", err)
	}
	if created.ID == "" {
		return "", nil, errors.New("the create answer names no container ID")
	}
	return created.ID, created.Warnings, nil
}

// PullImage pulls ref with the base64 X-Registry-Auth value auth (may be
// "") for platform ("os/arch[/variant]"; "" for the engine's own) and
// waits until the pull finishes.
func (e *Engine) PullImage(ctx context.Context, ref, auth, platform string) error {
	// The ping is a call like any other; only the pull itself may take
	// PullTimeout.
	cctx, cancel := e.call(ctx)
	err := e.negotiate(cctx)
	cancel()
	if err != nil {
		return fmt.Errorf("pull %s on %s: %w", ref, e.addr, err)
	}
	ctx, cancel = context.WithTimeout(ctx, e.opts.PullTimeout)
	defer cancel()
	rc, err := e.cli.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth, Platform: platform})
	if err != nil {
		return fmt.Errorf("pull %s on %s: %w", ref, e.addr, err)
	}
	defer rc.Close()
	if err := drainPull(rc); err != nil {
		return fmt.Errorf("pull %s on %s: %w", ref, e.addr, err)
	}
	return nil
}

// drainPull reads a pull's JSON progress stream to the end and returns the
// error the engine reported in it, if any.
func drainPull(r io.Reader) error {
	var last error
	dec := newPullDecoder(r)
	for {
		msg, err := dec.next()
		if errors.Is(err, io.EOF) {
			return last
		}
		if err != nil {
			return err
		}
		if msg != "" {
			last = errors.New(msg)
		}
	}
}

// RemoveContainer removes a container.
func (e *Engine) RemoveContainer(ctx context.Context, id string, force, volumes bool) error {
	ctx, cancel := e.call(ctx)
	defer cancel()
	if err := e.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: force, RemoveVolumes: volumes}); err != nil {
		return fmt.Errorf("remove container %s on %s: %w", id, e.addr, err)
	}
	return nil
}

// StartContainer starts a container.
func (e *Engine) StartContainer(ctx context.Context, id string) error {
	ctx, cancel := e.call(ctx)
	defer cancel()
	if err := e.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("start container %s on %s: %w", id, e.addr, err)
	}
	return nil
}

// CreateBodyOf is a create body that makes the container id again as it
// is configured: its whole config and host config, and its endpoints on
// user-defined networks with their aliases (the engine's own alias, the
// short ID, left out). A host name the engine gave (the short ID) is left
// out, so the new container gets its own.
func (e *Engine) CreateBodyOf(ctx context.Context, id string) ([]byte, error) {
	ctx, cancel := e.call(ctx)
	defer cancel()
	in, err := e.cli.ContainerInspect(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("inspect container %s on %s: %w", id, e.addr, err)
	}
	if in.ContainerJSONBase == nil || in.Config == nil {
		return nil, fmt.Errorf("inspect container %s on %s: the answer has no config", id, e.addr)
	}
	cfg := *in.Config
	if len(in.ID) >= 12 && cfg.Hostname == in.ID[:12] {
		cfg.Hostname = ""
	}
	req := container.CreateRequest{Config: &cfg, HostConfig: in.HostConfig}
	if in.NetworkSettings != nil && in.HostConfig != nil {
		mode := in.HostConfig.NetworkMode
		for name, ep := range in.NetworkSettings.Networks {
			if ep == nil || !mode.IsUserDefined() || string(mode) != name {
				continue
			}
			var aliases []string
			for _, a := range ep.Aliases {
				if !strings.HasPrefix(in.ID, a) {
					aliases = append(aliases, a)
				}
			}
			req.NetworkingConfig = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
				name: {Aliases: aliases, IPAMConfig: ep.IPAMConfig, Links: ep.Links},
			}}
		}
	}
	return json.Marshal(req)
}

// RenameContainer renames a container.
func (e *Engine) RenameContainer(ctx context.Context, id, name string) error {
	ctx, cancel := e.call(ctx)
	defer cancel()
	if err := e.cli.ContainerRename(ctx, id, name); err != nil {
		return fmt.Errorf("rename container %s on %s: %w", id, e.addr, err)
	}
	return nil
}
