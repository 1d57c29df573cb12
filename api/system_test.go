package api

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/scheduler"
)

const dockerCLI = "/usr/local/bin/docker"

// runDocker runs the real docker CLI against srv.
func runDocker(t *testing.T, srvURL string, args ...string) (string, string, error) {
	t.Helper()
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Skip("docker CLI not installed at " + dockerCLI)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, dockerCLI, args...)
	cmd.Env = []string{"DOCKER_HOST=" + strings.Replace(srvURL, "http://", "tcp://", 1), "DOCKER_CONFIG=" + t.TempDir(), "HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func seedCluster() *fakeCluster {
	b1 := node("backend1", "192.168.99.103")
	b1.Labels["model"] = "high-memory"
	b1.Labels["public"] = "no"
	b1.Containers, b1.Running, b1.Stopped = 3, 2, 1
	b1.ReservedCPUs, b1.ReservedMemory = 1, 512<<20
	b1.UpdatedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fe := node("frontend", "192.168.99.102")
	fe.Labels["public"] = "yes"
	fe.APIVersion = "1.47"
	fe.Containers, fe.Paused = 1, 1
	down := node("backend2", "192.168.99.104")
	down.State = scheduler.NodeUnhealthy
	down.APIVersion = "1.30"
	down.Err = "connection refused"
	return &fakeCluster{
		nodes: []Node{fe, b1, down},
		info:  Info{Strategy: "spread", Filters: []string{"health", "port", "dependency", "affinity", "constraint"}},
		images: []Image{
			{Node: b1, Summary: image.Summary{ID: "sha256:aaa1", RepoTags: []string{"redis:latest"}}},
			{Node: fe, Summary: image.Summary{ID: "sha256:aaa1", RepoTags: []string{"redis:latest"}}},
			{Node: fe, Summary: image.Summary{ID: "sha256:bbb2", RepoTags: []string{"nginx:latest"}}},
		},
	}
}

func TestPingNegotiatesLowestHealthyVersion(t *testing.T) {
	tests := []struct {
		name  string
		nodes []Node
		want  string
	}{
		{"no nodes", nil, maxAPIVersion},
		{"lowest healthy wins, unhealthy ignored", seedCluster().nodes, "1.41"},
		{"single new engine", []Node{{Name: "a", State: scheduler.NodeHealthy, APIVersion: "1.47"}}, "1.47"},
		{"engine newer than manager", []Node{{Name: "a", State: scheduler.NodeHealthy, APIVersion: "1.99"}}, maxAPIVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, &fakeCluster{nodes: tt.nodes})
			for _, m := range []string{http.MethodGet, http.MethodHead} {
				for _, p := range []string{"/_ping", "/v1.41/_ping"} {
					req, _ := http.NewRequest(m, srv.URL+p, nil)
					resp, err := srv.Client().Do(req)
					require.NoError(t, err)
					resp.Body.Close()
					assert.Equal(t, http.StatusOK, resp.StatusCode, m+" "+p)
					assert.Equal(t, tt.want, resp.Header.Get("API-Version"), m+" "+p)
					assert.Equal(t, "linux", resp.Header.Get("OSType"))
				}
			}
		})
	}
}

func TestVersionPrefix(t *testing.T) {
	srv := newServer(t, seedCluster())
	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/version", http.StatusOK, "swarm/test"},
		{"/v1.41/version", http.StatusOK, "swarm/test"},
		{"/v1.12/version", http.StatusBadRequest, "too old"},
		{"/v9.99/version", http.StatusBadRequest, "too new"},
		{"/v1.41/nope", http.StatusNotFound, "page not found"},
		{"/services", http.StatusNotImplemented, "not implemented by the swarm manager"},
		{"/v1.41/swarm/init", http.StatusNotImplemented, "not implemented"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, body := do(t, srv, http.MethodGet, tt.path, "")
			assert.Equal(t, tt.status, code)
			assert.Contains(t, body, tt.want)
			if code >= 400 {
				var e errorBody
				require.NoError(t, json.Unmarshal([]byte(body), &e), "errors are JSON")
			}
		})
	}
	code, body := do(t, srv, http.MethodPut, "/info", "")
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	assert.Contains(t, body, "PUT")
}

func TestInfoShape(t *testing.T) {
	srv := newServer(t, seedCluster())
	code, body := do(t, srv, http.MethodGet, "/info", "")
	require.Equal(t, http.StatusOK, code)
	var info system.Info
	require.NoError(t, json.Unmarshal([]byte(body), &info))
	assert.Equal(t, 4, info.Containers)
	assert.Equal(t, 2, info.ContainersRunning)
	assert.Equal(t, 1, info.ContainersPaused)
	assert.Equal(t, 1, info.ContainersStopped)
	assert.Equal(t, 2, info.Images, "images are counted once per ID")
	assert.Equal(t, 6, info.NCPU)
	status := map[string]string{}
	for _, p := range info.SystemStatus {
		status[p[0]] = p[1]
	}
	assert.Equal(t, "spread", status["Strategy"])
	assert.Equal(t, "3", status["Nodes"])
	assert.Equal(t, "192.168.99.103:2376", status[" backend1"])
}

func TestDockerCLIInfo(t *testing.T) {
	srv := newServer(t, seedCluster())
	out, stderr, err := runDocker(t, srv.URL, "info")
	require.NoError(t, err, stderr)
	for _, want := range []string{
		" Containers: 4\n",
		" Server Version: swarm/test\n",
		" Role: primary\n",
		" Strategy: spread\n",
		" Filters: health, port, dependency, affinity, constraint\n",
		" Nodes: 3\n",
		"  backend1: 192.168.99.103:2376\n",
		"   └ ID: ID-backend1\n",
		"   └ Status: Healthy\n",
		"   └ Containers: 3 (2 Running, 0 Paused, 1 Stopped)\n",
		"   └ Reserved CPUs: 1 / 2\n",
		"   └ Reserved Memory: 512MiB / 2GiB\n",
		"   └ Labels: model=high-memory, public=no, storagedriver=overlay2\n",
		"   └ UpdatedAt: 2026-01-02T03:04:05Z\n",
		"   └ ServerVersion: 20.10.24\n",
		"  backend2: 192.168.99.104:2376\n",
		"   └ Status: Unhealthy\n",
		"   └ Error: connection refused\n",
		" CPUs: 6\n",
	} {
		assert.Contains(t, out, want)
	}
	assert.Less(t, strings.Index(out, "  backend1:"), strings.Index(out, "  backend2:"), "nodes sorted by name")
	assert.Equal(t, 1, strings.Count(out, "└ Error:"), "Error only when set")
}

func TestGoSDKNegotiatesDown(t *testing.T) {
	srv := newServer(t, seedCluster())
	cli, err := client.NewClientWithOpts(client.WithHost(strings.Replace(srv.URL, "http://", "tcp://", 1)), client.WithAPIVersionNegotiation())
	require.NoError(t, err)
	defer cli.Close()
	v, err := cli.ServerVersion(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "swarm/test", v.Version)
	assert.Equal(t, "1.41", cli.ClientVersion())
}
