package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/swarmlab/swarm/scheduler"
)

// CreateRequest is one `docker create` as the API received it.
type CreateRequest struct {
	// Name is the requested name ("" lets the engine pick one).
	Name       string
	Config     *container.Config
	HostConfig *container.HostConfig
	Networking *network.NetworkingConfig
	// RegistryAuth is the X-Registry-Auth header, used if the chosen node
	// must pull the image. Never logged.
	RegistryAuth string
	// Body, when set, is the create body (JSON) Config, HostConfig and
	// Networking were decoded from, as the client sent it. The engine is
	// then sent these bytes, with Env and Labels replaced when placement
	// expressions moved out of the environment, rather than the SDK's
	// encoding of the decoded structs: fields this build's SDK does not
	// know and fields the client left out reach the engine as the client
	// meant them (classic Swarm dropped the fields its vendored client
	// lacked, docker/swarm#908). It must decode, with encoding/json, to
	// exactly Config, HostConfig and Networking.
	Body []byte
	// APIVersion is the API version the client spoke ("" for none), which
	// Body is shaped for; Platform is its platform query parameter.
	APIVersion, Platform string
}

// Created is the container a CreateContainer made, with the engine's
// warnings about it, which `docker run` prints.
type Created struct {
	Container
	Warnings []string
}

// validName is the engine's rule for container names.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// reservation is an in-flight create holding its name, ports and
// resources on a node until the engine answers.
type reservation struct {
	n        *node
	nodeName string // n.name at reservation time, readable without the lock
	id       string // "creating-<seq>", never an engine ID
	name     string
	// settled, when not nil, is closed once the create's outcome is in the
	// cache (see node.creating).
	settled chan struct{}
}

// settleLocked ends res's stay in n.creating. Callers hold c.mu.
func (res *reservation) settleLocked() {
	if res.settled != nil {
		delete(res.n.creating, res)
		close(res.settled)
		res.settled = nil
	}
}

// CreateContainer places and creates one container. Placement and the
// reservation happen atomically under the cluster lock, so concurrent
// creates see each other's names, ports and resources; the engine is
// called outside it. When CreateContainer returns, the cache holds the
// new container (or no trace of the attempt); the engine's warnings come
// with it. Errors: *scheduler.ExprError or ErrInvalidRequest (400),
// ErrNameConflict (409), *NoFitError (500), ErrImageNotFound (404), engine
// errors wrapped with the node name.
func (c *Cluster) CreateContainer(ctx context.Context, req CreateRequest) (Created, error) {
	if req.Config == nil {
		return Created{}, errorf(ErrInvalidRequest, "create container: the request has no container config")
	}
	name := strings.TrimPrefix(req.Name, "/")
	if name != "" && !validName.MatchString(name) {
		return Created{}, errorf(ErrInvalidRequest, "create container: invalid name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", req.Name)
	}
	cfg := *req.Config
	// One copy of the host config (1.5 KB, was two): the SDK adjusts it
	// in place for the engine's API version.
	var hc container.HostConfig
	if req.HostConfig != nil {
		hc = *req.HostConfig
	}
	host := &hc
	env, labels, err := moveReschedulePolicy(cfg.Env, cfg.Labels)
	if err != nil {
		return Created{}, err
	}
	env, labels, err = scheduler.MoveExpressions(env, labels)
	if err != nil {
		return Created{}, fmt.Errorf("create container: %w", err)
	}
	if len(req.Body) > 0 && len(env) != len(cfg.Env) {
		if req.Body, err = withEnvAndLabels(req.Body, env, labels); err != nil {
			return Created{}, errorf(ErrInvalidRequest, "create container: %v", err)
		}
	}
	cfg.Env, cfg.Labels = env, labels
	sreq := toRequest(name, &cfg, host)
	sreq.Image = normalizeImage(cfg.Image)
	if sreq.Image == "" {
		return Created{}, errorf(ErrInvalidRequest, "create container: no image given")
	}

	var excluded []string
	for attempt := 0; ; attempt++ {
		res, hasImage, err := c.reserve(sreq, excluded)
		if err != nil {
			return Created{}, err
		}
		out, err := c.createOn(ctx, res, req, &cfg, host, hasImage)
		if err == nil {
			return out, nil
		}
		if !isEngineFailure(err) || attempt >= c.cfg.CreateRetry || ctx.Err() != nil {
			return Created{}, err
		}
		c.log.Warn("create failed; retrying on another node", "node", res.nodeName, "err", err)
		excluded = append(excluded, res.nodeName)
	}
}

// reserve schedules sreq and records the reservation, atomically. Nodes
// named in excluded (failed earlier attempts) are ruled out.
func (c *Cluster) reserve(sreq *scheduler.Request, excluded []string) (*reservation, bool, error) {
	if c.cfg.Scheduler == nil {
		return nil, false, errors.New("create container: the cluster has no scheduler configured (Config.Scheduler is nil)")
	}
	r := *sreq
	extra := []string{}
	for _, nm := range excluded {
		extra = append(extra, "constraint:node!="+nm)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil, false, ErrStopped
	}
	if r.Name != "" {
		if holder, taken := c.names[r.Name]; taken {
			return nil, false, errorf(ErrNameConflict, `Conflict. The container name "/%s" is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name.`,
				r.Name, holder)
		}
	}
	imageExpr, err := scheduler.ParseExpr(scheduler.KindAffinity, "image=="+r.Image)
	if err != nil {
		return nil, false, fmt.Errorf("create container: image %q: %w", r.Image, err)
	}
	// Through the snapshot's image index: scanning every node's images here
	// would hold the cluster lock for O(nodes × images) on every create.
	if !c.snap.HealthyNodeHasImage(imageExpr) {
		return nil, false, errorf(ErrImageNotFound, "No such image: %s", r.Image)
	}
	// Prefer nodes that already have the image, so no registry is
	// contacted when one of them fits.
	extra = append(extra, "affinity:image==~"+r.Image)
	_, labels, err := scheduler.MoveExpressions(extra, r.Labels)
	if err != nil {
		return nil, false, fmt.Errorf("create container: %w", err)
	}
	r.Labels = labels
	q, err := scheduler.ParseRequest(&r)
	if err != nil {
		return nil, false, fmt.Errorf("create container: %w", err)
	}
	d := c.cfg.Scheduler.ScheduleQuery(c.snap, q, c.cfg.Rand)
	if d.Node == nil {
		return nil, false, &NoFitError{Explanation: d.Explain()}
	}
	n := c.nodeByIDLocked(d.Node.ID)
	if n == nil {
		return nil, false, fmt.Errorf("create container: scheduler chose unknown node %s: %w", d.Node.ID, ErrNodeUnavailable)
	}
	seq := c.nextSeqLocked()
	res := &reservation{n: n, nodeName: n.name, id: "creating-" + strconv.FormatUint(seq, 10), name: r.Name}
	var names []string
	if r.Name != "" {
		names = []string{r.Name}
	}
	e := &entry{
		name:        r.Name,
		reservation: true,
		seq:         seq,
		sched: scheduler.Container{
			ID:          res.id,
			Names:       names,
			Image:       r.Image,
			Labels:      r.Labels,
			State:       "creating",
			Ports:       append(append([]scheduler.Port{}, q.Ports...), q.HostPorts...),
			NetworkMode: r.NetworkMode,
			NanoCPUs:    q.NanoCPUs,
			Memory:      q.Memory,
		},
	}
	c.setContainerLocked(n, e)
	if r.Name != "" {
		c.names[r.Name] = res.id
	}
	c.putNodeLocked(n)
	hasImage := imageExpr.MatchImages(d.Node)
	if hasImage {
		// No pull: the engine call follows at once, and the applier may
		// wait for it (node.creating).
		res.settled = make(chan struct{})
		n.creating[res] = true
	}
	return res, hasImage, nil
}

// createOn runs the engine side of a reserved create and settles the
// reservation either way.
func (c *Cluster) createOn(ctx context.Context, res *reservation, req CreateRequest, cfg *container.Config, host *container.HostConfig, hasImage bool) (Created, error) {
	n, nodeName := res.n, res.nodeName
	if !hasImage {
		if err := n.eng.PullImage(ctx, cfg.Image, req.RegistryAuth, req.Platform); err != nil {
			c.unreserve(res)
			return Created{}, fmt.Errorf("node %s: %w", nodeName, err)
		}
	}
	cctx, cancel := c.callCtx(ctx)
	var id string
	var warnings []string
	var err error
	if len(req.Body) > 0 {
		id, warnings, err = n.eng.CreateContainerBody(cctx, req.APIVersion, res.name, req.Platform, req.Body)
	} else {
		id, warnings, err = n.eng.CreateContainer(cctx, res.name, cfg, host, req.Networking)
	}
	cancel()
	if err != nil {
		c.unreserve(res)
		if isEngineFailure(err) {
			c.failNode(n, err)
		}
		if cerrdefs.IsNotFound(err) && strings.Contains(strings.ToLower(err.Error()), "no such image") {
			// The cache said the node had it; it was removed meanwhile.
			// (Other refusals about the image, such as one for another
			// platform than asked, pass through with the engine's words.)
			c.resync(n)
			return Created{}, errorf(ErrImageNotFound, "No such image: %s (on %s)", cfg.Image, nodeName)
		}
		if cerrdefs.IsConflict(err) {
			// Someone took the name on that engine directly, unseen yet.
			c.resync(n)
			return Created{}, fmt.Errorf("node %s: %w: %w", nodeName, ErrNameConflict, err)
		}
		return Created{}, fmt.Errorf("node %s: %w", nodeName, err)
	}
	// No inspect here: the request says everything placement needs (name,
	// labels, ports, resources, image), and a `docker run` inspects the
	// container anyway when its start is forwarded (Refresh). The entry is
	// partial until an inspect fills in what only the engine knows (the
	// image's default command, its ID, mounts); lazyInspect makes sure one
	// happens for a container that is created but never started.
	seq := c.nextSeq()
	e := placeholder(id, res.name, cfg, host)
	e.created = c.cfg.Now().Unix()
	e.seq = seq
	var body []byte // how to create it again on node failure (reschedule.go)
	if movesOnNodeFailure(cfg.Labels) {
		body = req.Body
		if len(body) == 0 {
			body, _ = json.Marshal(container.CreateRequest{Config: cfg, HostConfig: host, NetworkingConfig: req.Networking})
		}
	}
	c.mu.Lock()
	if e.name == res.name && c.names[res.name] == res.id {
		// The name passes straight from the reservation to the container.
		// Releasing it first (dropReservationLocked) would look through
		// every cached container for another holder: 20% of the manager's
		// CPU at 30,000 containers.
		c.deleteContainerLocked(n, res.id)
		c.names[res.name] = id
	} else {
		c.dropReservationLocked(res)
	}
	if body != nil {
		c.bodies[id] = body
	}
	c.storeLocked(n, e)
	if e.name != "" {
		c.names[e.name] = id
	}
	c.putNodeLocked(n)
	res.settleLocked()
	// No link can name a container that did not exist: no aliases.
	out := Created{
		Container: Container{Node: c.nodeViewLocked(n), Summary: e.summaryAt(nil, c.cfg.Now(), true), Rev: e.seq},
		Warnings:  warnings,
	}
	c.mu.Unlock()
	c.lazyInspect(n, id)
	return out, nil
}

// unreserve releases a failed create's reservation.
func (c *Cluster) unreserve(res *reservation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropReservationLocked(res)
	c.putNodeLocked(res.n)
	res.settleLocked()
}

func (c *Cluster) dropReservationLocked(res *reservation) {
	c.deleteContainerLocked(res.n, res.id)
	c.releaseNameLocked(res.name, res.id)
}

// nodeByIDLocked finds a node by engine ID (one map lookup: it runs for
// every forwarded call) or else by name.
func (c *Cluster) nodeByIDLocked(ref string) *node {
	if n := c.engines[ref]; n != nil && ref != "" {
		return n
	}
	var byName *node
	for _, n := range c.nodes {
		if n.id == ref && ref != "" {
			return n // validated outside heartbeat (tests build nodes by hand)
		}
		if n.name == ref {
			byName = n
		}
	}
	return byName
}

// toRequest extracts what placement reads from a create request.
func toRequest(name string, cfg *container.Config, host *container.HostConfig) *scheduler.Request {
	r := &scheduler.Request{
		Name:            name,
		Image:           cfg.Image,
		Env:             cfg.Env,
		Labels:          cfg.Labels,
		PublishAllPorts: host.PublishAllPorts,
		NetworkMode:     string(host.NetworkMode),
		VolumesFrom:     host.VolumesFrom,
		Links:           host.Links,
		PidMode:         string(host.PidMode),
		IpcMode:         string(host.IpcMode),
		Memory:          host.Memory,
		NanoCPUs:        host.NanoCPUs,
		CPUShares:       host.CPUShares,
	}
	for p := range cfg.ExposedPorts {
		r.ExposedPorts = append(r.ExposedPorts, string(p))
	}
	if len(host.PortBindings) > 0 {
		r.PortBindings = make(map[string][]scheduler.PortBinding, len(host.PortBindings))
		for p, bs := range host.PortBindings {
			for _, b := range bs {
				r.PortBindings[string(p)] = append(r.PortBindings[string(p)], scheduler.PortBinding{HostIP: b.HostIP, HostPort: b.HostPort})
			}
		}
	}
	return r
}

// normalizeImage gives an untagged reference its implicit ":latest", as
// the engine does, so "redis" does not match a node holding only redis:7.
// IDs and digests are kept.
func normalizeImage(ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" || strings.Contains(ref, "@") || strings.HasPrefix(ref, "sha256:") {
		return ref
	}
	if repoHasTag(ref) {
		return ref
	}
	if isHexID(ref) {
		return ref
	}
	return ref + ":latest"
}

func repoHasTag(ref string) bool {
	slash := strings.LastIndexByte(ref, '/')
	return strings.LastIndexByte(ref, ':') > slash
}

// isHexID reports whether ref looks like an image ID or short ID.
func isHexID(ref string) bool {
	if len(ref) < 12 || len(ref) > 64 {
		return false
	}
	for _, r := range ref {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}
