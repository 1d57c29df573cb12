package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// walkthroughImages are the images the walkthrough runs; every engine must have them.
var walkthroughImages = []string{"busybox", "redis", "postgres", "counter", "andersjanmyr/counter", "jwilder/nginx-proxy"}

func TestEnginesLookLikeSeparateHosts(t *testing.T) {
	lab := Need(t)
	require.GreaterOrEqual(t, len(lab.Engines), 4, "the default lab has the walkthrough's four machines")
	ids := map[string]string{}
	for _, e := range lab.Engines {
		t.Run(e.Name, func(t *testing.T) {
			out := Docker(t, e.Host(), "info", "--format", "{{json .}}")
			var info struct {
				ID, Name string
				Labels   []string
			}
			require.NoError(t, json.Unmarshal([]byte(out), &info), "docker info output: %s", out)
			assert.Equal(t, e.Name, info.Name, "the engine's hostname is the node name")
			require.NotEmpty(t, info.ID)
			if other, dup := ids[info.ID]; dup {
				t.Errorf("engine ID %s is shared by %s and %s", info.ID, other, e.Name)
			}
			ids[info.ID] = e.Name
			got := map[string]string{}
			for _, kv := range info.Labels {
				k, v, _ := strings.Cut(kv, "=")
				got[k] = v
			}
			assert.Equal(t, e.Labels, got, "labels in docker info")
			if want, ok := SeedLabels[e.Name]; ok {
				assert.Equal(t, want, got, "the walkthrough's labels for %s", e.Name)
			}

			// The Go SDK sees the same engine.
			sdk, err := Client(t, e.Host()).Info(context.Background())
			require.NoError(t, err)
			assert.Equal(t, info.ID, sdk.ID)
		})
	}
}

func TestWalkthroughImagesOnEveryEngine(t *testing.T) {
	lab := Need(t)
	for _, e := range lab.Engines {
		t.Run(e.Name, func(t *testing.T) {
			for _, img := range walkthroughImages {
				r := RunDocker(context.Background(), e.Host(), "image", "inspect", "--format", "{{.Id}}", img)
				assert.NoError(t, r.Err, "image %s on %s: %s", img, e.Name, r.Stderr)
			}
		})
	}
}

func TestRunAttachedPrintsOutput(t *testing.T) {
	lab := Need(t)
	for _, e := range lab.Engines {
		t.Run(e.Name, func(t *testing.T) {
			assert.Equal(t, "hi\n", Docker(t, e.Host(), "run", "--rm", "busybox", "echo", "hi"))
			assert.Equal(t, e.Name+"\n", Docker(t, e.Host(), "run", "--rm", "--net=host", "busybox", "hostname"),
				"a host-network container sees the node's hostname")
		})
	}
}

func TestRunStdinAndExitCode(t *testing.T) {
	lab := Need(t)
	host := lab.Engines[0].Host()
	r := RunDockerIn(context.Background(), host, strings.NewReader("from stdin\n"), "run", "--rm", "-i", "busybox", "cat")
	require.NoError(t, r.Err, "%s", r)
	assert.Equal(t, "from stdin\n", r.Stdout)

	r = RunDocker(context.Background(), host, "run", "--rm", "busybox", "sh", "-c", "exit 3")
	assert.Equal(t, 3, r.ExitCode(), "docker run passes the container's exit code on: %s", r)
}

func TestDatabasesKeepRunningAndStopCleanly(t *testing.T) {
	lab := Need(t)
	host := lab.Engines[len(lab.Engines)-1].Host()
	for _, tc := range []struct{ image, port string }{{"redis", "6379/tcp"}, {"postgres", "5432/tcp"}} {
		t.Run(tc.image, func(t *testing.T) {
			name := UniqueName(t, tc.image)
			RemoveOnCleanup(t, host, name)
			Docker(t, host, "run", "-d", "--name", name, tc.image)
			// A service that exits at once would turn "exited" here; give it the time a
			// user takes to type `docker ps`.
			assert.Never(t, func() bool {
				return strings.TrimSpace(Docker(t, host, "inspect", "-f", "{{.State.Running}}", name)) != "true"
			}, 2*time.Second, 200*time.Millisecond, "%s started without a command must keep running", tc.image)
			assert.Contains(t, Docker(t, host, "inspect", "-f", "{{json .Config.ExposedPorts}}", name), tc.port)

			// The stand-in traps SIGTERM, so docker stop ends it with status 0 rather than
			// killing it after the grace period (status 137).
			Docker(t, host, "stop", name)
			assert.Equal(t, "0", strings.TrimSpace(Docker(t, host, "inspect", "-f", "{{.State.ExitCode}}", name)))
		})
	}
}

func TestPullThroughRegistryMirror(t *testing.T) {
	lab := Need(t)
	host := lab.Engines[len(lab.Engines)-1].Host()
	// hello-world lives only in the registry, so removing it forces a real download.
	if r := RunDocker(context.Background(), host, "rmi", "-f", "hello-world"); r.Err != nil {
		require.Contains(t, r.Stderr, "No such image", "%s", r)
	}
	out := Docker(t, host, "pull", "hello-world")
	assert.Contains(t, out, "Pulling from library/hello-world")
	// The layer is downloaded ("Pull complete") unless an earlier pull of the same image
	// through the manager left it in the engine's layer store ("Already exists").
	assert.Regexp(t, "Pull complete|Already exists", out)
	assert.Contains(t, out, "Downloaded newer image for hello-world:latest")
	assert.Equal(t, "Hello from Docker!\n", Docker(t, host, "run", "--rm", "hello-world"))

	// An image the engine already has is checked against the registry, not just assumed.
	out = Docker(t, host, "pull", "busybox")
	assert.Contains(t, out, "Pulling from library/busybox")
	assert.Contains(t, out, "Image is up to date for busybox:latest")

	body, err := HTTPGet(context.Background(), "http://"+RegistryAddr+"/v2/_catalog")
	require.NoError(t, err)
	for _, repo := range []string{"library/busybox", "library/redis", "library/postgres", "library/counter", "library/hello-world", "andersjanmyr/counter", "jwilder/nginx-proxy"} {
		assert.Contains(t, body, `"`+repo+`"`, "registry catalog")
	}
}

func TestSamePortPublishedOnTwoNodes(t *testing.T) {
	lab := Need(t)
	require.GreaterOrEqual(t, len(lab.Engines), 2)
	const port = "8080"
	for _, e := range lab.Engines[:2] {
		name := UniqueName(t, e.Name)
		RemoveOnCleanup(t, e.Host(), name)
		id := strings.TrimSpace(Docker(t, e.Host(), "run", "-d", "--name", name, "-p", port+":"+port, "counter", "httpd", "-f", "-p", port))
		require.Len(t, id, 64)
		assert.Contains(t, Docker(t, e.Host(), "port", name, port+"/tcp"), "0.0.0.0:"+port)

		// The counter answers with its container's hostname (the short ID), which tells the
		// two nodes' containers apart.
		url := fmt.Sprintf("http://%s:%s/", e.IP, port)
		var body string
		assert.Eventually(t, func() bool {
			var err error
			body, err = HTTPGet(context.Background(), url)
			return err == nil
		}, 10*time.Second, 100*time.Millisecond, "GET %s from the host", url)
		assert.Contains(t, body, "on "+id[:12], "GET %s reached the container on %s", url, e.Name)
	}
}

func TestStopAndStartEngine(t *testing.T) {
	lab := Need(t)
	e := lab.Engines[len(lab.Engines)-1]
	name := UniqueName(t, "survivor")
	RemoveOnCleanup(t, e.Host(), name)
	Docker(t, e.Host(), "create", "--name", name, "busybox", "true")

	require.NoError(t, lab.StopEngine(context.Background(), e.Name))
	r := RunDocker(context.Background(), e.Host(), "version", "--format", "{{.Server.Version}}")
	assert.Error(t, r.Err, "a stopped engine must not answer")

	require.NoError(t, lab.StartEngine(context.Background(), e.Name))
	assert.Equal(t, name+"\n", Docker(t, e.Host(), "ps", "-a", "--filter", "name="+name, "--format", "{{.Names}}"),
		"containers survive an engine restart")
	info := Docker(t, e.Host(), "info", "--format", "{{.Name}}")
	assert.Equal(t, e.Name+"\n", info)
}

func TestContainerReachesPortOnAnotherNode(t *testing.T) {
	lab := Need(t)
	require.GreaterOrEqual(t, len(lab.Engines), 3)
	server, client := lab.Engines[2], lab.Engines[1] // backend1 serves, frontend asks: nginx-proxy's path
	name := UniqueName(t, "backend")
	RemoveOnCleanup(t, server.Host(), name)
	id := strings.TrimSpace(Docker(t, server.Host(), "run", "-d", "--name", name, "-p", "8090:80", "counter"))
	require.Len(t, id, 64)

	url := fmt.Sprintf("http://%s:8090/", server.IP)
	// Not `wget -T`: busybox-static 1.35's wget crashes (SIGSEGV) with it.
	var out string
	assert.Eventually(t, func() bool {
		r := RunDocker(context.Background(), client.Host(), "run", "--rm", "busybox", "timeout", "5", "wget", "-qO-", url)
		out = r.Stdout
		return r.Err == nil
	}, 15*time.Second, 200*time.Millisecond, "a container on %s fetches %s", client.Name, url)
	assert.Contains(t, out, "on "+id[:12])
}

func TestEnginesFileListsEveryEngine(t *testing.T) {
	lab := Need(t)
	data, err := os.ReadFile(lab.EnginesFile())
	require.NoError(t, err)
	assert.Equal(t, lab.Addrs(), strings.Fields(string(data)), "one IP:port per line, in node order")
}

func TestFreezeAndThawEngine(t *testing.T) {
	lab := Need(t)
	e := lab.Engines[len(lab.Engines)-1]
	require.NoError(t, lab.FreezeEngine(context.Background(), e.Name))
	t.Cleanup(func() { _ = lab.ThawEngine(context.Background(), e.Name) })

	// A frozen engine accepts the connection and never answers: only the caller's own
	// deadline ends the request.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r := RunDocker(ctx, e.Host(), "version", "--format", "{{.Server.Version}}")
	assert.Error(t, r.Err, "a frozen engine must not answer: %s", r)

	require.NoError(t, lab.ThawEngine(context.Background(), e.Name))
	assert.Equal(t, e.Name+"\n", Docker(t, e.Host(), "info", "--format", "{{.Name}}"))
}
