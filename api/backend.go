package api

import (
	"context"
	"net/http"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/swarmlab/swarm/scheduler"
)

// The types below mirror the cluster package's read model (see
// cluster-surface.md). They are declared here so api does not depend on
// cluster; cmd/swarm adapts *cluster.Cluster to Cluster. Values are
// snapshots: api never mutates them.

// Node is one engine as the API shows it.
type Node struct {
	ID, Name, Addr, IP string
	State              scheduler.NodeState
	Labels             map[string]string
	NCPU               int
	Memory             int64
	ReservedCPUs       float64
	ReservedMemory     int64
	Containers         int
	Running            int
	Paused             int
	Stopped            int
	ServerVersion      string
	// APIVersion is the highest API version the engine speaks ("1.47").
	APIVersion string
	Err        string
	UpdatedAt  time.Time
}

// Healthy reports whether the node may serve requests and take containers.
func (n Node) Healthy() bool { return n.State == scheduler.NodeHealthy }

// Container is one cached container and the node that owns it.
type Container struct {
	Node    Node
	Summary container.Summary
}

// Image is one cached image on one node.
type Image struct {
	Node    Node
	Summary image.Summary
}

// Network is one cached network on one node.
type Network struct {
	Node    Node
	Summary network.Summary
}

// Volume is one cached volume on one node.
type Volume struct {
	Node   Node
	Volume volume.Volume
}

// Info is what the manager says about itself in `docker info`.
type Info struct {
	Strategy string
	Filters  []string
}

// Event is one engine (or manager) event and the node it came from.
type Event struct {
	events.Message
	Node Node
}

// Endpoint is how api reaches one engine over raw HTTP. Client carries the
// TLS configuration; hijacked requests dial URL's host with the same
// transport settings.
type Endpoint struct {
	Node       Node
	URL        string
	Client     *http.Client
	APIVersion string
}

// CreateRequest is one `docker create` as the cluster schedules it.
// RegistryAuth is the raw X-Registry-Auth header: forwarded, never logged.
type CreateRequest struct {
	Name         string
	Config       *container.Config
	HostConfig   *container.HostConfig
	Networking   *network.NetworkingConfig
	RegistryAuth string
}

// Inventory is the cache the manager answers reads from. Calls never reach
// an engine and must be cheap and safe for concurrent use.
type Inventory interface {
	Nodes() []Node // sorted by name
	Containers() []Container
	// Container resolves a full ID, ID prefix, name, /name or node/name.
	Container(ref string) (Container, error)
	Images() []Image
	Networks() []Network
	Volumes() []Volume
	Info() Info
}

// ContainerWriter changes containers through the cluster so the cache
// stays right (names reserved cluster-wide, read-your-writes).
type ContainerWriter interface {
	CreateContainer(ctx context.Context, req CreateRequest) (Container, error)
	RenameContainer(ctx context.Context, ref, newName string) error
	RemoveContainer(ctx context.Context, ref string, force, volumes bool) error
}

// Forwarder gives api raw access to one engine and lets it refresh the
// cache after a forwarded write, before answering the client.
type Forwarder interface {
	Endpoint(nodeID string) (Endpoint, error)
	Refresh(ctx context.Context, nodeID, containerID string) error
	// RefreshNode re-reads one kind of object ("images", "networks",
	// "volumes") of one node.
	RefreshNode(ctx context.Context, nodeID, what string) error
}

// Subscription is a live feed of events. Events is closed when the
// subscription ends; Err then says why (nil after Close).
type Subscription interface {
	Events() <-chan Event
	Err() error
	Close()
}

// EventSource replays the events kept since a time and continues live,
// with no gap and no duplicate between the two.
type EventSource interface {
	Subscribe(since time.Time) (replay []Event, sub Subscription)
}

// Cluster is everything the API needs from the cluster.
type Cluster interface {
	Inventory
	ContainerWriter
	Forwarder
	EventSource
}
