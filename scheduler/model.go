// Package scheduler is the pure placement core of swarm: a snapshot of the
// cluster and a request go in, a placement or an explanation of why nothing
// fits comes out.
//
// It imports only the standard library. It never performs I/O, takes locks,
// reads the clock or sees Docker SDK types; randomness comes from a source the
// caller injects. The cluster package owns the live state and feeds it here.
package scheduler

// NodeState is where a node stands in the cluster's health state machine.
type NodeState int

const (
	// NodePending is a node that was discovered but not yet validated.
	NodePending NodeState = iota
	// NodeHealthy is a node that answers and may receive containers.
	NodeHealthy
	// NodeUnhealthy is a node whose engine stopped answering.
	NodeUnhealthy
	// NodeDisconnected is a node that discovery no longer lists.
	NodeDisconnected
	// NodeDrained is a healthy node an operator excluded from placement.
	NodeDrained
)

// String returns the name users see in `docker info`.
func (s NodeState) String() string {
	switch s {
	case NodePending:
		return "Pending"
	case NodeHealthy:
		return "Healthy"
	case NodeUnhealthy:
		return "Unhealthy"
	case NodeDisconnected:
		return "Disconnected"
	case NodeDrained:
		return "Drained"
	}
	return "Unknown"
}

// Port is one host port a container binds (or will bind once created).
// Only fixed host ports are recorded: a random host port (`-p 80`, `-P`)
// never conflicts and is not listed.
type Port struct {
	// HostIP is the address bound; "" or "0.0.0.0" or "::" mean all addresses.
	HostIP   string
	HostPort uint16
	// Proto is "tcp", "udp" or "sctp".
	Proto string
}

// Container is what placement needs to know about one container on a node.
// Values are immutable once they are part of a Node: the cluster replaces a
// container rather than changing it.
type Container struct {
	ID string
	// Names are the container's names without the leading "/": its own name
	// and the link aliases other containers gave it ("other/alias").
	Names []string
	// Image is the image as the user named it (e.g. "redis", "redis:7").
	Image string
	// ImageID is the image's content ID ("sha256:…").
	ImageID string
	Labels  map[string]string
	// State is the engine's state ("created", "running", "paused",
	// "restarting", "removing", "exited", "dead"), or "creating" for a
	// container being placed right now (an in-flight reservation).
	// Image, ImageID and State are informational: no filter reads them,
	// and the cluster does not Put a node again when only they changed,
	// so they may lag behind the engine. A filter that needs them must
	// change that (cluster.samePlacement).
	State string
	// Ports are the fixed host ports the container binds. For a
	// host-mode container (NetworkMode "host") they are its exposed ports
	// (HostIP "", HostPort = the container port), which the port filter
	// checks host-mode requests against.
	Ports []Port
	// NetworkMode is the host config's network mode ("default", "bridge",
	// "host", "container:ID", or a network name).
	NetworkMode string
	// NanoCPUs and Memory are the resources the container reserves, in
	// billionths of a CPU and in bytes.
	NanoCPUs int64
	Memory   int64
}

// Image is one image present on a node.
type Image struct {
	ID          string
	RepoTags    []string
	RepoDigests []string
}

// Node is one engine as placement sees it. Values are immutable once part
// of a snapshot: the cluster builds a new Node when anything changes.
type Node struct {
	ID   string
	Name string
	// Addr is the engine's address as discovery gave it ("host:port").
	Addr string
	// IP is the address part of Addr.
	IP    string
	State NodeState
	// Labels hold the engine's --label values plus the built-ins
	// storagedriver, kernelversion, operatingsystem and ostype.
	Labels map[string]string
	// NanoCPUs and Memory are the engine's totals, before overcommit.
	NanoCPUs   int64
	Memory     int64
	Containers []*Container
	Images     []*Image
}

// PortBinding is one entry of a host config's port bindings.
type PortBinding struct {
	HostIP   string
	HostPort string
}

// Request is one container to place: the parts of the Docker API's
// container config and host config that placement reads, plus its name.
// The api package converts the Docker JSON into a Request.
type Request struct {
	// Name is the requested container name without a leading "/", or "".
	Name   string
	Image  string
	Env    []string
	Labels map[string]string
	// ExposedPorts are the config's exposed ports ("80/tcp").
	ExposedPorts []string
	// PortBindings maps "80/tcp" to the host bindings asked for.
	PortBindings    map[string][]PortBinding
	PublishAllPorts bool
	NetworkMode     string
	VolumesFrom     []string
	// Links are host config links ("name:alias" or "name").
	Links    []string
	PidMode  string
	IpcMode  string
	Memory   int64
	NanoCPUs int64
	// CPUShares is the `--cpu-shares` value; classic Swarm reads it as a
	// number of whole CPUs to reserve.
	CPUShares int64
}
