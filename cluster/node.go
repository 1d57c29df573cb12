package cluster

import (
	"context"
	"fmt"
	"math/rand"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/api/types/volume"

	"github.com/swarmlab/swarm/scheduler"
)

// Node is a read-only copy of one engine's state as users see it in
// `docker info`. Labels is shared and must not be modified.
type Node struct {
	// ID is the engine ID; "" until the engine was validated.
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
	APIVersion         string
	// Err is the last error talking to the engine, "" when healthy.
	Err       string
	UpdatedAt time.Time
}

// node is one engine's live state. Fields below the mark are guarded by
// Cluster.mu; eng and cancel are set before the node's
// goroutines start and never change.
type node struct {
	addr   string
	eng    Engine
	cancel context.CancelFunc
	// work is the queue of the current event stream (nil before the
	// first): resync asks it for a full listing.
	work atomic.Pointer[queue]

	// guarded by Cluster.mu
	id, name, ip  string
	state         scheduler.NodeState
	labels        map[string]string
	ncpu          int
	memory        int64
	serverVersion string
	apiVersion    string
	// listsContainers: the engine's API is older than 1.28, whose
	// network listing names the connected containers (work.listsContainers).
	listsContainers bool
	err             string
	// lost is why discovery lost the node while retaining it (its join
	// agent is gone), "" while discovery lists it. A lost node never turns
	// Healthy, whatever its engine answers.
	lost     string
	updated  time.Time
	failures int
	watching bool
	synced   bool
	skew     time.Duration // engine clock minus ours
	// creating holds the creates whose engine call (and then inspect) is
	// under way without a pull first: the create event of a container the
	// cache does not know yet is most likely theirs, and its inspect is
	// the one they are about to store.
	creating map[*reservation]bool
	// beat is the node's place in the heartbeat schedule (beats.go),
	// guarded by beats.mu.
	beat *beat
	// fetching holds the inspects under way per container (fetch), so
	// that an event batch waits for one requested after its events
	// instead of asking again.
	fetching map[string][]*fetching
	// fetchStarted (buffered(1)) tells the event applier that an inspect
	// was registered in fetching (refreshesOf).
	fetchStarted chan struct{}
	counts       nodeCounts // totals of containers, see counts.go
	// ids are the cached containers' IDs in order, entries the containers
	// and views their scheduler views in the same order (nil: stored since
	// the last Put); viewsOK is false when every view must be looked up
	// again (aliases changed). Sorted slices rather than a map: a node
	// holds a few dozen containers, found by binary search, and 1,000
	// small maps cost 1.6 MB more (issue 7's memory figure).
	ids     []string
	entries []*entry
	views   []*scheduler.Container
	viewsOK bool
	// aliases caches linkAliases while aliasesOK.
	aliases   map[string][]string
	aliasesOK bool
	tombs     map[string]time.Time
	// movedAway holds the containers created again elsewhere after this
	// node failed, to remove from it when it comes back (reschedule.go).
	movedAway map[string]bool
	images    []image.Summary
	// imageViews is images as placement sees them, built from
	// imageViewsOf (the listing they were made from).
	imageViews   []*scheduler.Image
	imageViewsOf []image.Summary
	imagesSeq    uint64
	networks     []network.Summary
	networksSeq  uint64
	volumes      []*volume.Volume
	volumesSeq   uint64
}

func newNode(addr string, now time.Time) *node {
	ip := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		ip = h
	}
	return &node{
		addr:         addr,
		ip:           ip,
		name:         addr,
		state:        scheduler.NodePending,
		updated:      now,
		creating:     make(map[*reservation]bool),
		fetching:     make(map[string][]*fetching),
		fetchStarted: make(chan struct{}, 1),
		tombs:        make(map[string]time.Time),
	}
}

// signal does a non-blocking send on a buffered(1) channel.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// startNode dials the engine and schedules its heartbeats.
func (c *Cluster) startNode(n *node) {
	eng, err := c.cfg.Dial(n.addr)
	if err != nil {
		c.mu.Lock()
		n.err = fmt.Sprintf("cannot connect to %s: %v", n.addr, err)
		c.mu.Unlock()
		c.log.Error("engine address rejected", "addr", n.addr, "err", err)
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	c.mu.Lock()
	if c.stopped || c.nodes[n.addr] != n {
		c.mu.Unlock()
		cancel()
		_ = eng.Close()
		return
	}
	n.eng = eng
	n.cancel = cancel
	c.mu.Unlock()
	c.beats.add(ctx, n)
}

// stopNode ends a node removed by discovery. Its goroutines exit on their
// own once the context is cancelled; the engine is closed once a
// heartbeat under way ends (beats.drop).
func (c *Cluster) stopNode(n *node) {
	if n.cancel != nil {
		n.cancel()
	}
}

// dropNodeLocked removes n from the cluster: state disconnected, cache,
// names and snapshot entry gone. It returns the engine_disconnect event to
// publish once c.mu is released, if the node was healthy.
func (c *Cluster) dropNodeLocked(n *node) []Event {
	delete(c.nodes, n.addr)
	c.listGen++
	was := n.state
	n.state = scheduler.NodeDisconnected
	n.updated = c.cfg.Now()
	for i, e := range n.entries {
		c.releaseNameLocked(e.name, e.sched.ID)
		c.unownLocked(n, n.ids[i])
	}
	if n.id != "" {
		c.snap.Delete(n.id)
		if c.engines[n.id] == n {
			delete(c.engines, n.id)
		}
	}
	if was == scheduler.NodeHealthy {
		return []Event{c.engineEventLocked(n, ActionEngineDisconnect)}
	}
	return nil
}

// nextRefresh is a random interval in [min,max] for a healthy node, and a
// doubling back-off from min capped at max for a failing one, jittered so
// that engines do not move in lockstep.
func (c *Cluster) nextRefresh(ok bool, failures int, rnd *rand.Rand) time.Duration {
	minI, maxI := c.cfg.RefreshMinInterval, c.cfg.RefreshMaxInterval
	if ok {
		return minI + time.Duration(rnd.Int63n(int64(maxI-minI)+1))
	}
	return backoff(minI, min(maxI, maxBackoff), failures, rnd)
}

// backoff doubles base per attempt up to limit, with ±20% jitter.
func backoff(base, limit time.Duration, attempt int, rnd *rand.Rand) time.Duration {
	d := base
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	jitter := time.Duration(rnd.Int63n(int64(d)/5+1)) - d/10
	return max(d+jitter, time.Millisecond)
}

// Reasons an engine is refused.
const (
	reasonNotEngine   = "%s is not a Docker engine (%s); point discovery at the engines' API addresses"
	reasonManager     = "%s is a swarm manager (%s), not an engine; point discovery at the engines, not at a manager"
	reasonDuplicateID = "%s reports engine ID %s, the same as %s: the machines were probably cloned and share /etc/docker/key.json; " +
		"on %s stop docker, delete /etc/docker/key.json and start docker again so it generates a new ID"
)

// validateInfo refuses what is not a usable engine.
func validateInfo(addr string, info system.Info) error {
	switch {
	case strings.HasPrefix(info.ServerVersion, "swarm/"):
		return fmt.Errorf(reasonManager, addr, "server version "+info.ServerVersion)
	case hasSystemStatus(info, "Role") || hasSystemStatus(info, "Strategy"):
		return fmt.Errorf(reasonManager, addr, "its info lists a role/strategy")
	case info.ID == "":
		return fmt.Errorf(reasonNotEngine, addr, "its info has no engine ID")
	case info.NCPU <= 0:
		return fmt.Errorf(reasonNotEngine, addr, "it reports 0 CPUs")
	case info.MemTotal <= 0:
		return fmt.Errorf(reasonNotEngine, addr, "it reports no memory")
	}
	return nil
}

func hasSystemStatus(info system.Info, key string) bool {
	for _, kv := range info.SystemStatus {
		if strings.TrimSpace(kv[0]) == key {
			return true
		}
	}
	return false
}

// nodeLabels merges an engine's --label values ("k=v") with the built-ins.
func nodeLabels(info system.Info) map[string]string {
	labels := map[string]string{
		"storagedriver":   info.Driver,
		"kernelversion":   info.KernelVersion,
		"operatingsystem": info.OperatingSystem,
		"ostype":          info.OSType,
	}
	for _, l := range info.Labels {
		k, v, _ := strings.Cut(l, "=")
		labels[k] = v
	}
	return labels
}

// setAPIVersion records the API version spoken with n's engine and what
// it implies. The caller holds the cluster's lock.
func (n *node) setAPIVersion(v string) {
	n.apiVersion = v
	n.listsContainers = versions.LessThan(v, "1.28")
}
