package engine_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster/engine"
	"github.com/swarmlab/swarm/test/fakeengine"
)

// TestInspectKeepsWhatTheCacheReads compares the trimmed inspect with the
// SDK's full one for every field the cluster's cache reads.
func TestInspectKeepsWhatTheCacheReads(t *testing.T) {
	fe, e := dialFake(t, fakeengine.Options{Images: []string{"busybox"}})
	ctx := context.Background()
	cfg := &container.Config{Image: "busybox", Cmd: []string{"sleep", "9"}, Labels: map[string]string{"app": "web"},
		ExposedPorts: nat.PortSet{"80/tcp": {}}}
	host := &container.HostConfig{PortBindings: nat.PortMap{"80/tcp": {{HostPort: "8080"}}},
		Resources: container.Resources{Memory: 64 << 20, NanoCPUs: 5e8}}
	id, _, err := e.CreateContainer(ctx, "web", cfg, host, nil)
	require.NoError(t, err)
	sdk, err := client.NewClientWithOpts(client.WithHost("tcp://"+fe.Addr()), client.WithAPIVersionNegotiation())
	require.NoError(t, err)
	defer sdk.Close()
	full, err := sdk.ContainerInspect(ctx, id)
	require.NoError(t, err)
	require.NotNil(t, full.NetworkSettings)

	got, err := e.InspectContainer(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, full.ID, got.ID)
	assert.Equal(t, full.Name, got.Name)
	assert.Equal(t, full.Image, got.Image)
	assert.Equal(t, full.Path, got.Path)
	assert.Equal(t, full.Args, got.Args)
	assert.Equal(t, full.Created, got.Created)
	assert.Equal(t, full.State, got.State)
	assert.Equal(t, full.Config.Image, got.Config.Image)
	assert.Equal(t, full.Config.Labels, got.Config.Labels)
	assert.Equal(t, full.Config.ExposedPorts, got.Config.ExposedPorts)
	assert.Equal(t, full.HostConfig.NetworkMode, got.HostConfig.NetworkMode)
	assert.Equal(t, full.HostConfig.PortBindings, got.HostConfig.PortBindings)
	assert.Equal(t, full.HostConfig.Links, got.HostConfig.Links)
	assert.Equal(t, full.HostConfig.Memory, got.HostConfig.Memory)
	assert.Equal(t, full.HostConfig.NanoCPUs, got.HostConfig.NanoCPUs)
	assert.Equal(t, full.HostConfig.CPUShares, got.HostConfig.CPUShares)
	assert.Equal(t, full.Mounts, got.Mounts)
	assert.Equal(t, full.NetworkSettings.Networks, got.NetworkSettings.Networks)
	assert.Equal(t, full.NetworkSettings.Ports, got.NetworkSettings.Ports)

	_, err = e.InspectContainer(ctx, "nope")
	assert.True(t, cerrdefs.IsNotFound(err), "a missing container is an answer, not a failure: %v", err)
	assert.Contains(t, err.Error(), fe.Addr())
}

// An engine answering an inspect with more than the manager will hold is
// refused with a clear error, not read into memory without bound.
func TestInspectRefusesAnOversizedAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			w.Header().Set("Api-Version", "1.41")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"Id":"x","Name":"/`))
		_, _ = w.Write(bytes.Repeat([]byte("a"), 17<<20))
		_, _ = w.Write([]byte(`"}`))
	}))
	defer srv.Close()
	// The timeout only guards against a hang: reading 17 MB took over 5 s
	// under the race detector, and the test is about the size.
	e, err := engine.Dial(strings.TrimPrefix(srv.URL, "http://"), engine.Options{Timeout: time.Minute})
	require.NoError(t, err)
	defer e.Close()
	_, err = e.InspectContainer(context.Background(), "x")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "larger than")
}
