package cluster_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster"
	"github.com/swarmlab/swarm/cluster/engine"
	"github.com/swarmlab/swarm/test/fakeengine"
)

func TestCreatePrefersNodesWithTheImage(t *testing.T) {
	l := newLab(t, labOptions{nodes: 3, engine: func(i int, o *fakeengine.Options) {
		o.Images = []string{"busybox"}
		if i == 2 {
			o.Images = append(o.Images, "redis:7")
		}
	}})
	ctx := context.Background()
	for range 4 {
		c, err := l.c.CreateContainer(ctx, run("", "redis:7"))
		require.NoError(t, err)
		assert.Equal(t, "node2", c.Node.Name, "spread alone would move on; the image keeps it here")
	}
	for _, e := range l.engines {
		assert.Zero(t, e.Calls("POST /images/create"), "no registry contact when a node has the image")
	}
}

// The pull is for the create's platform.
func TestCreatePullsOnChosenNodeWithoutTheImage(t *testing.T) {
	l, recorder := recordingLab(t, labOptions{nodes: 2, engine: func(i int, o *fakeengine.Options) {
		o.Images = []string{"busybox"}
		if i == 0 {
			o.Images = append(o.Images, "redis:7")
		}
	}})
	req := run("", "redis:7")
	req.Config.Env = []string{"constraint:node==node1"}
	req.RegistryAuth = "e30="
	req.Platform = "linux/amd64"
	c, err := l.c.CreateContainer(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "node1", c.Node.Name)
	assert.Equal(t, 1, l.engines[1].Calls("POST /images/create"))
	assert.Zero(t, l.engines[0].Calls("POST /images/create"))
	b := recorder(c.Node.Addr)
	b.mu.Lock()
	defer b.mu.Unlock()
	assert.Equal(t, []string{"linux/amd64"}, b.pulls, "pulled for the create's platform")
}

func TestCreateRetriesOnAnotherNode(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2, cluster: func(cfg *cluster.Config) {
		cfg.CreateRetry = 1
		cfg.FailureRetry = 1000 // keep the dead node "healthy" so placement keeps choosing it
		cfg.RefreshMinInterval = time.Hour
		cfg.RefreshMaxInterval = time.Hour
		cfg.HeartbeatTimeout = time.Second
	}})
	l.engines[0].Stop()
	for range 6 {
		c, err := l.c.CreateContainer(context.Background(), run("", "busybox"))
		require.NoError(t, err)
		assert.Equal(t, "node1", c.Node.Name)
	}
	assert.Len(t, l.c.Containers(), 6)
	for _, n := range l.c.Nodes() {
		if n.Name == "node0" {
			assert.Zero(t, n.ReservedCPUs)
			assert.NotEmpty(t, n.Err, "the failed create is recorded on the node")
		}
	}
}

// A create costs no inspect: the cache entry comes from the request, and
// an inspect follows on its own (lazyInspectDelay) for a container nobody
// starts, bringing what only the engine knows (the image's command).
func TestCreateStoresTheRequestAndInspectsLater(t *testing.T) {
	l := newLab(t, labOptions{nodes: 1})
	inspects := func() int { return l.engines[0].Calls("GET /containers/{id}/json") }
	before := inspects()
	c, err := l.c.CreateContainer(context.Background(), run("web", "busybox"))
	require.NoError(t, err)
	assert.Equal(t, before, inspects(), "the create itself asked for no inspect")
	got, err := l.c.Container("web")
	require.NoError(t, err, "cached the moment the create returned")
	assert.Equal(t, c.Summary.ID, got.Summary.ID)
	assert.Equal(t, "created", string(got.Summary.State))
	assert.Empty(t, got.Summary.Command, "the image's default command is not in the request")

	require.Eventually(t, func() bool {
		got, err := l.c.Container("web")
		return err == nil && got.Summary.Command != ""
	}, 5*time.Second, 10*time.Millisecond, "the later inspect fills in the command")
	assert.Equal(t, before+1, inspects())
}

// bodyEngine records the create bodies an engine is sent, and the
// platforms of its pulls.
type bodyEngine struct {
	cluster.Engine
	mu     sync.Mutex
	bodies []string
	pulls  []string
	// warn is added to the engine's warnings about each create.
	warn string
}

func (b *bodyEngine) PullImage(ctx context.Context, ref, auth, platform string) error {
	b.mu.Lock()
	b.pulls = append(b.pulls, platform)
	b.mu.Unlock()
	return b.Engine.PullImage(ctx, ref, auth, platform)
}

func (b *bodyEngine) CreateContainerBody(ctx context.Context, version, name, platform string, body []byte) (string, []string, error) {
	b.mu.Lock()
	b.bodies = append(b.bodies, string(body))
	warn := b.warn
	b.mu.Unlock()
	id, warnings, err := b.Engine.CreateContainerBody(ctx, version, name, platform, body)
	if warn != "" {
		warnings = append(warnings, warn)
	}
	return id, warnings, err
}

// recordingLab is a lab whose engines are bodyEngines, by address.
func recordingLab(t *testing.T, o labOptions) (*lab, func(addr string) *bodyEngine) {
	var mu sync.Mutex
	recorders := map[string]*bodyEngine{}
	o.cluster = func(cfg *cluster.Config) {
		dial := cfg.Dial
		cfg.Dial = func(addr string) (cluster.Engine, error) {
			e, err := dial(addr)
			if err != nil {
				return nil, err
			}
			b := &bodyEngine{Engine: e}
			mu.Lock()
			recorders[addr] = b
			mu.Unlock()
			return b, nil
		}
	}
	l := newLab(t, o)
	return l, func(addr string) *bodyEngine {
		mu.Lock()
		defer mu.Unlock()
		return recorders[addr]
	}
}

// A create that carries the client's body sends the engine those bytes:
// untouched when placement took nothing from the environment, and with
// only Env and Labels replaced when a constraint moved into the labels.
// Placement still reads the decoded request (the constraint holds), and
// the engine's warnings come back with the container.
func TestCreateSendsTheClientsBody(t *testing.T) {
	l, recorder := recordingLab(t, labOptions{nodes: 2})
	ctx := context.Background()
	create := func(name, body string) (cluster.Created, string) {
		t.Helper()
		var req container.CreateRequest
		require.NoError(t, json.Unmarshal([]byte(body), &req))
		c, err := l.c.CreateContainer(ctx, cluster.CreateRequest{Name: name, Config: req.Config,
			HostConfig: req.HostConfig, Networking: req.NetworkingConfig, Body: []byte(body), APIVersion: "1.41"})
		require.NoError(t, err)
		b := recorder(c.Node.Addr)
		require.NotNil(t, b)
		b.mu.Lock()
		defer b.mu.Unlock()
		require.NotEmpty(t, b.bodies)
		return c, b.bodies[len(b.bodies)-1]
	}

	for _, n := range l.c.Nodes() {
		b := recorder(n.Addr)
		b.mu.Lock()
		b.warn = "warned by " + n.Name
		b.mu.Unlock()
	}
	plain := `{"Image":"busybox","Env":["A=1"],"FieldFromTheFuture":[1],"HostConfig":{"NetworkMode":"default"}}`
	c, sent := create("plain", plain)
	assert.Equal(t, plain, sent, "nothing moved: the client's bytes")
	assert.Equal(t, []string{"warned by " + c.Node.Name}, c.Warnings, "the engine's warnings, for docker run to print")

	c, sent = create("placed", `{"Image":"busybox","Env":["constraint:zone==z1","A=1"],"FieldFromTheFuture":[1],"Labels":{"app":"web"}}`)
	assert.Equal(t, "node1", c.Node.Name, "the constraint placed it")
	assert.Equal(t, `{"Image":"busybox","FieldFromTheFuture":[1],"Env":["A=1"],`+
		`"Labels":{"app":"web","com.docker.swarm.constraints":"[\"zone==z1\"]"}}`, sent)
	e, err := engine.Dial(c.Node.Addr, engine.Options{Timeout: 2 * time.Second})
	require.NoError(t, err)
	defer e.Close()
	inspected, err := e.InspectContainer(ctx, c.Summary.ID)
	require.NoError(t, err)
	assert.Equal(t, `["zone==z1"]`, inspected.Config.Labels["com.docker.swarm.constraints"], "the engine has the moved constraint")
	assert.Equal(t, "web", inspected.Config.Labels["app"])
}
