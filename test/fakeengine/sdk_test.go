package fakeengine

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startEngine starts an engine for one test and stops it at the end.
func startEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	if opts.Images == nil {
		opts.Images = []string{"busybox", "nginx"}
	}
	e := New(opts)
	require.NoError(t, e.Start())
	t.Cleanup(e.Close)
	return e
}

// sdk returns a real Docker SDK client for e, negotiating the API version.
func sdk(t testing.TB, e *Engine) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.WithHost(e.URL()), client.WithAPIVersionNegotiation())
	require.NoError(t, err)
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSDKSystem(t *testing.T) {
	e := startEngine(t, Options{ID: "AAAA:BBBB", Name: "node1", Labels: map[string]string{"zone": "a", "model": "x"}, NCPU: 8, MemTotal: 16 << 30})
	cli := sdk(t, e)
	ctx := ctxT(t)

	ping, err := cli.Ping(ctx)
	require.NoError(t, err)
	assert.Equal(t, DefaultAPIVersion, ping.APIVersion)
	assert.Equal(t, "linux", ping.OSType)

	_, err = e.AddContainer(ContainerSpec{Name: "up", Image: "busybox", Running: true})
	require.NoError(t, err)
	_, err = e.AddContainer(ContainerSpec{Name: "down", Image: "busybox"})
	require.NoError(t, err)
	info, err := cli.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, "AAAA:BBBB", info.ID)
	assert.Equal(t, "node1", info.Name)
	assert.Equal(t, []string{"model=x", "zone=a"}, info.Labels)
	assert.Equal(t, 8, info.NCPU)
	assert.Equal(t, int64(16<<30), info.MemTotal)
	assert.Equal(t, "overlay2", info.Driver)
	assert.NotEmpty(t, info.KernelVersion)
	assert.NotEmpty(t, info.OperatingSystem)
	assert.Equal(t, "linux", info.OSType)
	assert.Equal(t, DefaultServerVersion, info.ServerVersion)
	assert.Equal(t, 2, info.Containers)
	assert.Equal(t, 1, info.ContainersRunning)
	assert.Equal(t, 1, info.ContainersStopped)
	assert.Equal(t, DefaultAPIVersion, cli.ClientVersion(), "negotiation settles on the engine's version")

	v, err := cli.ServerVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, DefaultAPIVersion, v.APIVersion)
	assert.Equal(t, MinAPIVersion, v.MinAPIVersion)

	e.SetLabels(map[string]string{"zone": "b"})
	info, err = cli.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"zone=b"}, info.Labels)
	evs := e.Events()
	last := evs[len(evs)-1]
	assert.Equal(t, "daemon", string(last.Type))
	assert.Equal(t, "reload", string(last.Action))
	assert.Equal(t, "AAAA:BBBB", last.Actor.ID)

	e.SetID("CCCC:DDDD")
	info, err = cli.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, "CCCC:DDDD", info.ID)
}

func TestVersionBounds(t *testing.T) {
	e := startEngine(t, Options{APIVersion: "1.41"})
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/_ping", http.StatusOK, "OK"},
		{"/v1.41/_ping", http.StatusOK, "OK"},
		{"/v1.24/version", http.StatusOK, `"ApiVersion":"1.41"`},
		{"/v1.50/_ping", http.StatusBadRequest, "client version 1.50 is too new. Maximum supported API version is 1.41"},
		{"/v1.9/_ping", http.StatusBadRequest, "client version 1.9 is too old"},
		{"/v1.41/nothing/here", http.StatusNotFound, "page not found"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get("http://" + e.Addr() + tt.path)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Contains(t, string(body), tt.body)
			assert.Equal(t, "1.41", resp.Header.Get("API-Version"))
		})
	}
}

func TestSDKContainers(t *testing.T) {
	e := startEngine(t, Options{Images: []string{"busybox"}})
	cli := sdk(t, e)
	ctx := ctxT(t)

	cfg := &container.Config{Image: "busybox", Cmd: []string{"sleep", "1000"}, Labels: map[string]string{"app": "web"},
		ExposedPorts: nat.PortSet{"80/tcp": {}, "81/tcp": {}}}
	hc := &container.HostConfig{PortBindings: nat.PortMap{"80/tcp": {{}}, "81/tcp": {{HostPort: "8081"}}}, Resources: container.Resources{Memory: 64 << 20}}
	created, err := cli.ContainerCreate(ctx, cfg, hc, nil, nil, "web")
	require.NoError(t, err)
	require.Len(t, created.ID, 64)

	_, err = cli.ContainerCreate(ctx, cfg, hc, nil, nil, "web")
	assert.True(t, errdefs.IsConflict(err), "duplicate name: %v", err)
	assert.ErrorContains(t, err, `The container name "/web" is already in use`)

	_, err = cli.ContainerCreate(ctx, &container.Config{Image: "redis"}, nil, nil, nil, "")
	assert.True(t, errdefs.IsNotFound(err), "missing image: %v", err)
	assert.ErrorContains(t, err, "No such image: redis:latest")

	require.NoError(t, cli.ContainerStart(ctx, "web", container.StartOptions{}))
	ins, err := cli.ContainerInspect(ctx, created.ID[:10])
	require.NoError(t, err)
	assert.Equal(t, "/web", ins.Name)
	assert.True(t, ins.State.Running)
	assert.Equal(t, int64(64<<20), ins.HostConfig.Memory)
	random := ins.NetworkSettings.Ports["80/tcp"]
	require.Len(t, random, 1)
	assert.Equal(t, "32768", random[0].HostPort)
	assert.Equal(t, "8081", ins.NetworkSettings.Ports["81/tcp"][0].HostPort)
	assert.NotEmpty(t, ins.NetworkSettings.Networks["bridge"].IPAddress)

	list, err := cli.ContainerList(ctx, container.ListOptions{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, []string{"/web"}, list[0].Names)
	assert.ElementsMatch(t, []container.Port{
		{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 32768, Type: "tcp"},
		{IP: "0.0.0.0", PrivatePort: 81, PublicPort: 8081, Type: "tcp"},
	}, list[0].Ports)

	// A second container wanting the same fixed port is created, then fails to start.
	_, err = cli.ContainerCreate(ctx, cfg, hc, nil, nil, "web2")
	require.NoError(t, err)
	err = cli.ContainerStart(ctx, "web2", container.StartOptions{})
	assert.ErrorContains(t, err, "port is already allocated")

	require.NoError(t, cli.ContainerStop(ctx, "web", container.StopOptions{}))
	ins, err = cli.ContainerInspect(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, container.StateExited, ins.State.Status)
	assert.Empty(t, ins.NetworkSettings.Ports, "a stopped container binds nothing")
	assert.Equal(t, "8081", ins.HostConfig.PortBindings["81/tcp"][0].HostPort, "but keeps its requested bindings")
	require.NoError(t, cli.ContainerStart(ctx, "web2", container.StartOptions{}), "the port is free again")

	err = cli.ContainerRemove(ctx, "web2", container.RemoveOptions{})
	assert.True(t, errdefs.IsConflict(err), "rm running without force: %v", err)
	require.NoError(t, cli.ContainerRemove(ctx, "web2", container.RemoveOptions{Force: true}))
	_, err = cli.ContainerInspect(ctx, "web2")
	assert.True(t, errdefs.IsNotFound(err))

	list, err = cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "app=web"), filters.Arg("status", "exited"))})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "web", list[0].Names[0][1:])
	assert.Empty(t, list[0].Ports, "stopped containers list no ports, as dockerd")
	assert.Equal(t, 1, e.Calls("POST /containers/{id}/stop"))
	assert.Equal(t, 2, e.Calls("GET /containers/json"))
}

func TestSDKListFilters(t *testing.T) {
	e := startEngine(t, Options{})
	cli := sdk(t, e)
	ctx := ctxT(t)
	for _, s := range []ContainerSpec{
		{Name: "a1", Image: "busybox", Labels: map[string]string{"tier": "front"}, Running: true},
		{Name: "a2", Image: "nginx", Labels: map[string]string{"tier": "back"}, Running: true},
		{Name: "b1", Image: "busybox", Labels: map[string]string{"tier": "back"}},
	} {
		_, err := e.AddContainer(s)
		require.NoError(t, err)
	}
	names := func(f filters.Args, all bool, limit int) []string {
		list, err := cli.ContainerList(ctx, container.ListOptions{All: all, Filters: f, Limit: limit})
		require.NoError(t, err)
		var out []string
		for _, c := range list {
			out = append(out, c.Names[0][1:])
		}
		return out
	}
	tests := []struct {
		name  string
		f     filters.Args
		all   bool
		limit int
		want  []string
	}{
		{"running only by default", filters.NewArgs(), false, 0, []string{"a2", "a1"}},
		{"all newest first", filters.NewArgs(), true, 0, []string{"b1", "a2", "a1"}},
		{"limit implies all", filters.NewArgs(), false, 2, []string{"b1", "a2"}},
		{"label", filters.NewArgs(filters.Arg("label", "tier=back")), true, 0, []string{"b1", "a2"}},
		{"label key", filters.NewArgs(filters.Arg("label", "tier")), false, 0, []string{"a2", "a1"}},
		{"name regexp", filters.NewArgs(filters.Arg("name", "a")), true, 0, []string{"a2", "a1"}},
		{"status", filters.NewArgs(filters.Arg("status", "created")), false, 0, []string{"b1"}},
		{"ancestor", filters.NewArgs(filters.Arg("ancestor", "nginx")), true, 0, []string{"a2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, names(tt.f, tt.all, tt.limit))
		})
	}
	_, err := cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("bogus", "x"))})
	assert.True(t, errdefs.IsInvalidArgument(err), "unknown filter: %v", err)
}

func TestSDKImagesNetworksVolumes(t *testing.T) {
	e := startEngine(t, Options{Images: []string{"busybox"}, Registry: []string{"redis:7"}})
	cli := sdk(t, e)
	ctx := ctxT(t)

	rc, err := cli.ImagePull(ctx, "redis:7", image.PullOptions{})
	require.NoError(t, err)
	out, err := io.ReadAll(rc)
	require.NoError(t, err)
	_ = rc.Close()
	assert.Contains(t, string(out), `"status":"Status: Downloaded newer image for redis:7"`)
	ins, err := cli.ImageInspect(ctx, "redis:7")
	require.NoError(t, err)
	assert.Equal(t, []string{"redis:7"}, ins.RepoTags)
	assert.Contains(t, ins.Config.ExposedPorts, "6379/tcp")

	_, err = cli.ImagePull(ctx, "nosuch/thing", image.PullOptions{})
	assert.True(t, errdefs.IsNotFound(err), "unknown image pull: %v", err)
	assert.ErrorContains(t, err, "pull access denied")

	require.NoError(t, cli.ImageTag(ctx, "redis:7", "myredis:prod"))
	imgs, err := cli.ImageList(ctx, image.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, imgs, 2)
	del, err := cli.ImageRemove(ctx, "myredis:prod", image.RemoveOptions{})
	require.NoError(t, err)
	assert.Equal(t, []image.DeleteResponse{{Untagged: "myredis:prod"}}, del)
	del, err = cli.ImageRemove(ctx, "redis:7", image.RemoveOptions{})
	require.NoError(t, err)
	assert.Equal(t, []image.DeleteResponse{{Untagged: "redis:7"}, {Deleted: ins.ID}}, del)

	nc, err := cli.NetworkCreate(ctx, "backend", network.CreateOptions{Labels: map[string]string{"env": "t"}})
	require.NoError(t, err)
	_, err = cli.NetworkCreate(ctx, "backend", network.CreateOptions{})
	assert.True(t, errdefs.IsConflict(err), "%v", err)
	_, err = e.AddContainer(ContainerSpec{Name: "db", Image: "busybox", NetworkMode: "backend", Running: true})
	require.NoError(t, err)
	n, err := cli.NetworkInspect(ctx, "backend", network.InspectOptions{})
	require.NoError(t, err)
	assert.Equal(t, nc.ID, n.ID)
	assert.Len(t, n.Containers, 1)
	assert.True(t, errdefs.IsPermissionDenied(cli.NetworkRemove(ctx, "backend")), "active endpoints")
	assert.True(t, errdefs.IsPermissionDenied(cli.NetworkRemove(ctx, "bridge")), "pre-defined")
	require.NoError(t, e.RemoveContainer("db", true))
	require.NoError(t, cli.NetworkRemove(ctx, "backend"))
	nets, err := cli.NetworkList(ctx, network.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, nets, 3)

	v, err := cli.VolumeCreate(ctx, volume.CreateOptions{Name: "data"})
	require.NoError(t, err)
	assert.Equal(t, "local", v.Driver)
	_, err = e.AddContainer(ContainerSpec{Name: "user", Image: "busybox", Binds: []string{"data:/data"}})
	require.NoError(t, err)
	assert.True(t, errdefs.IsConflict(cli.VolumeRemove(ctx, "data", false)), "volume in use")
	require.NoError(t, e.RemoveContainer("user", false))
	require.NoError(t, cli.VolumeRemove(ctx, "data", false))
	_, err = cli.VolumeInspect(ctx, "data")
	assert.True(t, errdefs.IsNotFound(err))

	var got []string
	for _, m := range e.Events() {
		got = append(got, string(m.Type)+" "+string(m.Action))
	}
	assert.Equal(t, []string{
		"image pull", "image tag", "image untag", "image untag", "image delete",
		"network create", "container create", "network connect", "container start",
		"container kill", "container die", "network disconnect", "container destroy", "network destroy",
		"volume create", "container create", "container destroy", "volume destroy",
	}, got)
}

func TestFaults(t *testing.T) {
	e := startEngine(t, Options{})
	cli := sdk(t, e)
	ctx := ctxT(t)
	_, err := e.RunOutside("web", "busybox", nil)
	require.NoError(t, err)

	t.Run("listing cut mid-body", func(t *testing.T) {
		e.CutNextListings(1)
		_, err := cli.ContainerList(ctx, container.ListOptions{All: true})
		require.Error(t, err)
		list, err := cli.ContainerList(ctx, container.ListOptions{All: true})
		require.NoError(t, err)
		assert.Len(t, list, 1)
	})
	t.Run("stop refuses connections, restart keeps state", func(t *testing.T) {
		addr := e.Addr()
		e.Stop()
		e.Stop() // idempotent
		_, err := cli.Ping(ctx)
		require.Error(t, err)
		assert.True(t, client.IsErrConnectionFailed(err) || strings.Contains(err.Error(), "connection refused"), "%v", err)
		require.NoError(t, e.Restart())
		assert.Equal(t, addr, e.Addr())
		c, err := cli.ContainerInspect(ctx, "web")
		require.NoError(t, err)
		assert.True(t, c.State.Running)
	})
	t.Run("latency is added per call", func(t *testing.T) {
		e.SetLatency(time.Hour)
		defer e.SetLatency(0)
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := cli.Ping(short)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

// TestConcurrentCreates: names are claimed atomically and a fixed host port
// is held by one running container at a time, however many race for it.
func TestConcurrentCreates(t *testing.T) {
	e := startEngine(t, Options{})
	cli := sdk(t, e)
	ctx := ctxT(t)
	const n = 100
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, conflicts, started, portErrs := 0, 0, 0, 0
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := cli.ContainerCreate(ctx, &container.Config{Image: "busybox"}, nil, nil, nil, "same")
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				created++
			} else if errdefs.IsConflict(err) {
				conflicts++
			}
		}()
		go func() {
			defer wg.Done()
			name := "port" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
			_, err := cli.ContainerCreate(ctx, &container.Config{Image: "nginx"},
				&container.HostConfig{PortBindings: nat.PortMap{"80/tcp": {{HostPort: "8080"}}}}, nil, nil, name)
			if err == nil {
				err = cli.ContainerStart(ctx, name, container.StartOptions{})
			}
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				started++
			} else if strings.Contains(err.Error(), "port is already allocated") {
				portErrs++
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, created)
	assert.Equal(t, n-1, conflicts)
	assert.Equal(t, 1, started)
	assert.Equal(t, n-1, portErrs)
}

func TestSeed(t *testing.T) {
	e := startEngine(t, Options{})
	require.NoError(t, e.Seed(
		ContainerSpec{Name: "s1", Image: "busybox", Running: true, Ports: []string{"9000:80"}},
		ContainerSpec{Name: "s2", Image: "nginx"},
	))
	assert.Empty(t, e.Events(), "seeded containers have no events")
	list := e.Containers()
	require.Len(t, list, 2)
	assert.Equal(t, "/s2", list[0].Names[0])
	assert.Equal(t, uint16(9000), list[1].Ports[0].PublicPort)

	err := e.Seed(ContainerSpec{Name: "s1", Image: "busybox"})
	assert.Equal(t, http.StatusConflict, StatusCode(err))
	assert.ErrorContains(t, err, "already in use")
	err = e.Seed(ContainerSpec{Name: "s3", Image: "busybox", Ports: []string{"notaport"}})
	assert.ErrorContains(t, err, "notaport")
}
