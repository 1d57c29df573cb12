package api

import (
	"context"
	"time"

	"github.com/swarmlab/swarm/cluster"
	"github.com/swarmlab/swarm/scheduler"
)

// The cluster's read model, re-served by the API. Values are snapshots
// shared with the cluster's cache: api never mutates them.
type (
	Node          = cluster.Node
	Container     = cluster.Container
	Image         = cluster.Image
	Network       = cluster.Network
	Volume        = cluster.Volume
	Info          = cluster.Info
	Event         = cluster.Event
	Endpoint      = cluster.Endpoint
	CreateRequest = cluster.CreateRequest
	Created       = cluster.Created
)

// healthy reports whether a node may serve requests and take containers.
func healthy(n Node) bool { return n.State == scheduler.NodeHealthy }

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
	CreateContainer(ctx context.Context, req CreateRequest) (Created, error)
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
	// PlaceObject picks a node for a network or volume through the
	// scheduler: health, the constraint expressions given, the strategy.
	PlaceObject(constraints []string) (Node, error)
}

// Subscription is a live feed of events. Events is closed when the
// subscription ends; Err then says why (nil after Close). Every
// subscriber gets the same *Event: read it, never change it.
type Subscription interface {
	Events() <-chan *Event
	Err() error
	Close()
}

// EventSource replays the events kept since a time and continues live,
// with no gap and no duplicate between the two.
type EventSource interface {
	Subscribe(since time.Time) (replay []Event, sub Subscription)
}

// Cluster is everything the API needs from the cluster. FromCluster
// adapts *cluster.Cluster; tests use fakes.
type Cluster interface {
	Inventory
	ContainerWriter
	Forwarder
	EventSource
}

// FromCluster adapts the live cluster to the API.
func FromCluster(c *cluster.Cluster) Cluster { return liveCluster{c} }

type liveCluster struct{ *cluster.Cluster }

func (l liveCluster) Subscribe(since time.Time) ([]Event, Subscription) {
	replay, sub := l.Cluster.Subscribe(since)
	return replay, liveSubscription{sub}
}

type liveSubscription struct{ *cluster.Subscription }

func (s liveSubscription) Events() <-chan *Event { return s.C }
