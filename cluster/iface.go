package cluster

import (
	"context"
	"net/http"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/volume"
)

// The cluster needs four things from an engine; each is a small interface
// so tests can fake exactly what they exercise. Engine bundles them for the
// Dial function; cluster/engine implements it with the Docker SDK.
//
// Every method must honour its context and bound itself with a timeout.
// Errors for missing objects must satisfy errdefs.IsNotFound
// (github.com/containerd/errdefs), as the Docker SDK's do.

// Describer reports who an engine is and how to reach it directly.
type Describer interface {
	Info(ctx context.Context) (system.Info, error)
	Version(ctx context.Context) (types.Version, error)
	// Target is the engine's base URL, an HTTP client for it and the
	// negotiated API version, for forwarding raw requests.
	Target() (url string, client *http.Client, apiVersion string)
}

// Lister reads an engine's objects.
type Lister interface {
	Containers(ctx context.Context) ([]container.Summary, error)
	InspectContainer(ctx context.Context, id string) (container.InspectResponse, error)
	// CreateBodyOf is a create body (JSON) that makes the container again
	// as it is configured: its config, host config and network endpoints.
	CreateBodyOf(ctx context.Context, id string) ([]byte, error)
	Images(ctx context.Context) ([]image.Summary, error)
	Networks(ctx context.Context) ([]network.Summary, error)
	Volumes(ctx context.Context) ([]*volume.Volume, error)
}

// Watcher streams an engine's events from since (zero: only new ones).
// The engine may repeat events at exactly since; the cluster dedupes.
type Watcher interface {
	// Events calls opened once the engine has answered the request (from
	// then on it sends every event), then fn with each event in stream
	// order, both on the calling goroutine, and blocks until the stream
	// ends; it returns ctx.Err() once ctx ended and otherwise why the
	// stream broke, never nil. fn must not block: engines drop
	// subscribers that read too slowly. A callback rather than a channel
	// lets the reading goroutine be the only one the stream costs.
	Events(ctx context.Context, since time.Time, opened func(), fn func(events.Message)) error
}

// Writer changes containers on an engine.
type Writer interface {
	CreateContainer(ctx context.Context, name string, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig) (id string, warnings []string, err error)
	// CreateContainerBody creates a container from a client's create body
	// (JSON) spoken at API version (see CreateRequest.Body).
	CreateContainerBody(ctx context.Context, version, name, platform string, body []byte) (id string, warnings []string, err error)
	// PullImage pulls ref for platform ("" for the engine's own).
	PullImage(ctx context.Context, ref, registryAuth, platform string) error
	RemoveContainer(ctx context.Context, id string, force, volumes bool) error
	StartContainer(ctx context.Context, id string) error
	RenameContainer(ctx context.Context, id, name string) error
}

// Engine is everything the cluster does with one engine.
type Engine interface {
	Describer
	Lister
	Watcher
	Writer
	Close() error
}
