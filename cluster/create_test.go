package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster"
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

func TestCreatePullsOnChosenNodeWithoutTheImage(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2, engine: func(i int, o *fakeengine.Options) {
		o.Images = []string{"busybox"}
		if i == 0 {
			o.Images = append(o.Images, "redis:7")
		}
	}})
	req := run("", "redis:7")
	req.Config.Env = []string{"constraint:node==node1"}
	req.RegistryAuth = "e30="
	c, err := l.c.CreateContainer(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "node1", c.Node.Name)
	assert.Equal(t, 1, l.engines[1].Calls("POST /images/create"))
	assert.Zero(t, l.engines[0].Calls("POST /images/create"))
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
