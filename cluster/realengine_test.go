package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster"
	"github.com/swarmlab/swarm/cluster/engine"
	"github.com/swarmlab/swarm/filters"
	"github.com/swarmlab/swarm/scheduler"
)

// TestRealEngines runs the cluster against the lab's real dockerd 20.10
// engines (test/lab/lab.sh up; LAB_ENGINES from `lab.sh env`). It is
// skipped when LAB_ENGINES is unset. Hold /run/swarmlab.e2e.lock while
// running it so no other end-to-end run shares the engines.
func TestRealEngines(t *testing.T) {
	list := os.Getenv("LAB_ENGINES")
	if list == "" {
		t.Skip("LAB_ENGINES unset: run test/lab/lab.sh up and export $(test/lab/lab.sh env)")
	}
	addrs := strings.Split(list, ",")
	c, err := cluster.New(cluster.Config{
		Scheduler: scheduler.New(scheduler.Config{Filters: filters.Default()}),
		Dial: func(addr string) (cluster.Engine, error) {
			return engine.Dial(addr, engine.Options{Timeout: 10 * time.Second})
		},
		RefreshMinInterval: 200 * time.Millisecond,
		RefreshMaxInterval: time.Second,
		Rand:               rand.New(rand.NewSource(1)),
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	defer c.Stop()
	c.SetMembers(addrs)
	require.Eventually(t, func() bool {
		k := 0
		for _, n := range c.Nodes() {
			if n.State == scheduler.NodeHealthy {
				k++
			}
		}
		return k == len(addrs)
	}, 30*time.Second, 50*time.Millisecond, "nodes: %+v", c.Nodes())
	for _, n := range c.Nodes() {
		assert.NotEmpty(t, n.Labels["public"], "lab engines carry --label public=")
		assert.Equal(t, "linux", n.Labels["ostype"])
		assert.NotEmpty(t, n.Labels["storagedriver"])
		assert.Equal(t, "1.41", n.APIVersion)
	}

	ctx := context.Background()
	prefix := fmt.Sprintf("cl%d", time.Now().UnixNano()%1e6)
	var created []string
	defer func() {
		for _, name := range created {
			_ = c.RemoveContainer(ctx, name, true, true)
		}
	}()

	// Concurrent same-name creates: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.CreateContainer(ctx, run(prefix+"-db", "redis"))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			assert.True(t, errors.Is(err, cluster.ErrNameConflict), "%v", err)
		}
	}
	require.Equal(t, 1, won)
	created = append(created, prefix+"-db")

	// Link aliases as the real engine records them, readable at once.
	web := run(prefix+"-web", "busybox")
	web.Config.Cmd = []string{"sleep", "300"}
	web.HostConfig.Links = []string{prefix + "-db:database"}
	w, err := c.CreateContainer(ctx, web)
	require.NoError(t, err)
	created = append(created, prefix+"-web")
	db, err := c.Container(prefix + "-web/database")
	require.NoError(t, err)
	assert.Equal(t, w.Node.ID, db.Node.ID)
	assert.Contains(t, db.Summary.Names, "/"+prefix+"-web/database")

	// The engine's own listing agrees with the cache on names.
	ep, err := c.Endpoint(w.Node.ID)
	require.NoError(t, err)
	eng, err := engine.Dial(strings.TrimPrefix(ep.URL, "http://"), engine.Options{})
	require.NoError(t, err)
	defer eng.Close()
	listed, err := eng.Containers(ctx)
	require.NoError(t, err)
	for _, s := range listed {
		if s.ID == db.Summary.ID {
			assert.ElementsMatch(t, s.Names, db.Summary.Names)
		}
	}

	require.NoError(t, c.RemoveContainer(ctx, prefix+"-web", true, false))
	_, err = c.Container(prefix + "-web/database")
	assert.ErrorIs(t, err, cluster.ErrNotFound, "the alias goes with the linking container")
	assert.Equal(t, container.StateCreated, db.Summary.State)
}
