package e2e

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The manager caches a container from its create request (no inspect on the create path),
// so `docker ps -a` is right at once, and fills in what only the engine knows (the image's
// default command) on its own soon after; start and stop are seen at once too.
func TestCreateStartStopSeenAtOnceThroughManager(t *testing.T) {
	lab, m := NeedManager(t)
	host := m.Host()
	name := UniqueName(t, "created")
	RemoveOnCleanup(t, host, name)

	// busybox's default command, sh, keeps running on the open stdin (-i) once started.
	Docker(t, host, "create", "-i", "--name", name, "busybox")
	ps := func(format string, all bool) string {
		args := []string{"ps", "--filter", "name=" + name, "--format", format}
		if all {
			args = append(args, "-a")
		}
		return strings.TrimSpace(Docker(t, host, args...))
	}
	assert.Equal(t, "Created", ps("{{.Status}}", true), "listed the moment create returned")
	require.Eventually(t, func() bool { return strings.Contains(ps("{{.Command}}", true), "sh") },
		10*time.Second, 200*time.Millisecond, "the image's default command, which only the engine knows, is filled in")
	node := strings.SplitN(ps("{{.Names}}", true), "/", 2)[0]
	_, err := lab.Engine(node)
	assert.NoError(t, err, "listed as node/name with a lab node")

	Docker(t, host, "start", name)
	up := ps("{{.Status}}", false)
	assert.True(t, strings.HasPrefix(up, "Up"), "running the moment start returned, got %q (all: %q)", up, ps("{{.Names}} {{.Status}}", true))
	Docker(t, host, "stop", "-t", "1", name)
	exited := ps("{{.Status}}", true)
	assert.True(t, strings.HasPrefix(exited, "Exited"), "exited the moment stop returned, got %q", exited)
}

// A network created without node/ is placed by the scheduler on one healthy node and
// listed there as node/name.
func TestNetworkCreatedWithoutNodeThroughManager(t *testing.T) {
	lab, m := NeedManager(t)
	host := m.Host()
	name := UniqueName(t, "net")
	Docker(t, host, "network", "create", name)
	t.Cleanup(func() { _ = RunDocker(context.Background(), host, "network", "rm", name) })
	listed := strings.Fields(Docker(t, host, "network", "ls", "--filter", "name="+name, "--format", "{{.Name}}"))
	require.Len(t, listed, 1, "created on exactly one node")
	node, rest, ok := strings.Cut(listed[0], "/")
	require.True(t, ok, "listed as node/name: %q", listed[0])
	assert.Equal(t, name, rest)
	_, err := lab.Engine(node)
	assert.NoError(t, err, "on a lab node")
}

// Pause and unpause show in `docker ps` through the manager, whether they went through it
// (the manager re-reads the container) or straight to the engine (the manager learns them
// from the engine's events alone), and `docker events` through the manager carries them.
func TestPauseAndUnpauseSeenThroughManager(t *testing.T) {
	lab, m := NeedManager(t)
	host := m.Host()
	name := UniqueName(t, "paused")
	RemoveOnCleanup(t, host, name)
	Docker(t, host, "run", "-d", "--name", name, "busybox", "sleep", "300")
	status := func() string {
		return strings.TrimSpace(Docker(t, host, "ps", "-a", "--filter", "name="+name, "--format", "{{.Status}}"))
	}
	node := strings.SplitN(strings.TrimSpace(Docker(t, host, "ps", "--filter", "name="+name, "--format", "{{.Names}}")), "/", 2)[0]
	eng, err := lab.Engine(node)
	require.NoError(t, err)

	start := time.Now().Add(-time.Second).Unix()

	Docker(t, host, "pause", name)
	assert.Contains(t, status(), "(Paused)", "paused through the manager, seen the moment pause returned")
	Docker(t, host, "unpause", name)
	assert.NotContains(t, status(), "Paused", "unpaused through the manager")

	Docker(t, eng.Host(), "pause", name)
	require.Eventually(t, func() bool { return strings.Contains(status(), "(Paused)") }, 10*time.Second, 100*time.Millisecond,
		"paused on the engine itself: the manager learns it from the event")
	assert.Equal(t, name, strings.TrimSpace(Docker(t, host, "ps", "--filter", "status=paused", "--filter", "name="+name, "--format", "{{.Names}}"))[len(node)+1:],
		"listed as paused by the status filter")
	Docker(t, eng.Host(), "unpause", name)
	require.Eventually(t, func() bool { s := status(); return strings.HasPrefix(s, "Up") && !strings.Contains(s, "Paused") },
		10*time.Second, 100*time.Millisecond, "unpaused on the engine itself")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	evs := RunDocker(ctx, host, "events", "--since", strconv.FormatInt(start, 10), "--until", strconv.FormatInt(time.Now().Unix()+1, 10),
		"--filter", "container="+name, "--filter", "event=pause", "--filter", "event=unpause", "--format", "{{.Action}}")
	require.NoError(t, evs.Err, "%s", evs)
	assert.Equal(t, []string{"pause", "unpause", "pause", "unpause"}, strings.Fields(evs.Stdout))
}

// A health check's verdict shows in `docker ps` through the manager, and its health filter
// finds the container: the manager learns it from the engine's health_status event.
func TestHealthVerdictSeenThroughManager(t *testing.T) {
	_, m := NeedManager(t)
	host := m.Host()
	name := UniqueName(t, "checked")
	RemoveOnCleanup(t, host, name)
	Docker(t, host, "run", "-d", "--name", name, "--health-cmd", "test ! -e /tmp/sick", "--health-interval", "1s",
		"--health-retries", "1", "busybox", "sleep", "300")
	status := func() string {
		return strings.TrimSpace(Docker(t, host, "ps", "--filter", "name="+name, "--format", "{{.Status}}"))
	}
	byHealth := func(h string) string {
		return strings.TrimSpace(Docker(t, host, "ps", "--filter", "name="+name, "--filter", "health="+h, "--format", "{{.Status}}"))
	}
	require.Eventually(t, func() bool { return strings.Contains(status(), "(healthy)") }, 20*time.Second, 200*time.Millisecond,
		"healthy a second or so after the start; status %q", status())
	assert.Contains(t, byHealth("healthy"), "(healthy)", "found by the health filter")

	Docker(t, host, "exec", name, "touch", "/tmp/sick")
	require.Eventually(t, func() bool { return strings.Contains(status(), "(unhealthy)") }, 20*time.Second, 200*time.Millisecond,
		"unhealthy once its check fails; status %q", status())
	assert.Contains(t, byHealth("unhealthy"), "(unhealthy)", "found by the health filter")
	assert.Empty(t, byHealth("healthy"), "no longer healthy")
}

// Every `docker run` option reaches the engine through the manager exactly as it does
// straight to that engine: the manager sends the engine the CLI's own create body, with only
// the placement expressions taken out of the environment (classic Swarm re-encoded the body
// with its vendored client and lost every field that client lacked, docker/swarm#908).
func TestRunOptionsReachTheEngineAsSent(t *testing.T) {
	lab, m := NeedManager(t)
	host := m.Host()
	eng := lab.Engines[0]
	name := UniqueName(t, "opts")
	RemoveOnCleanup(t, host, name)
	RemoveOnCleanup(t, eng.Host(), name+"-direct")
	opts := []string{"--cap-add", "NET_ADMIN", "--cap-drop", "MKNOD", "--read-only", "--init",
		"--memory", "64m", "--cpus", "0.5", "--pids-limit", "50", "--oom-score-adj", "100",
		"--ulimit", "nofile=1024:2048", "--dns", "10.0.0.53", "--dns-search", "lab.example", "--add-host", "db:10.0.0.7",
		"--tmpfs", "/run:size=1m", "--shm-size", "32m", "--restart", "on-failure:3", "--hostname", "h1",
		"--user", "nobody", "--workdir", "/tmp", "-l", "x=y", "-e", "A=1", "--security-opt", "no-new-privileges",
		"--health-cmd", "true", "--health-interval", "5s", "--stop-signal", "SIGUSR1", "--stop-timeout", "7",
		"--expose", "8080", "-p", "127.0.0.1::9090", "--log-opt", "max-size=1m", "--entrypoint", "sleep", "busybox", "300"}
	run := func(target string, extra ...string) {
		Docker(t, target, append(append([]string{"run", "-d"}, extra...), opts...)...)
	}
	run(host, "--name", name, "-e", "constraint:node=="+eng.Name)
	run(eng.Host(), "--name", name+"-direct")

	inspect := func(ref, what string) map[string]any {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(Docker(t, eng.Host(), "inspect", "--format", "{{json ."+what+"}}", ref)), &v))
		return v
	}
	through, direct := inspect(name, "Config"), inspect(name+"-direct", "Config")
	labels, _ := through["Labels"].(map[string]any)
	require.NotNil(t, labels, "config %v", through)
	assert.Equal(t, `["node==`+eng.Name+`"]`, labels["com.docker.swarm.constraints"], "the constraint moved into a label")
	delete(labels, "com.docker.swarm.constraints")
	assert.Equal(t, direct, through, "the container's config")
	assert.Equal(t, inspect(name+"-direct", "HostConfig"), inspect(name, "HostConfig"), "the container's host config")
}

// `docker run --platform` reaches the engine: asked for a platform that no node's image is
// for, the run fails with the engine's own words, as it does straight to an engine, rather
// than starting a container of another platform (the manager once dropped the parameter).
func TestRunPlatformReachesTheEngine(t *testing.T) {
	_, m := NeedManager(t)
	host := m.Host()
	name := UniqueName(t, "platform")
	RemoveOnCleanup(t, host, name)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := RunDocker(ctx, host, "run", "-d", "--name", name, "--platform", "linux/arm64", "busybox", "true")
	require.Error(t, res.Err, "%s", res)
	assert.Contains(t, res.Stderr, "does not match the specified platform: wanted linux/arm64", "%s", res)
	assert.Empty(t, strings.TrimSpace(Docker(t, host, "ps", "-aq", "--filter", "name="+name)), "no container was made")

	Docker(t, host, "run", "-d", "--name", name, "--platform", "linux/amd64", "busybox", "true")
	assert.NotEmpty(t, strings.TrimSpace(Docker(t, host, "ps", "-aq", "--filter", "name="+name)), "the engines' own platform runs")
}

// The engine's warnings about a new container reach `docker run` through the manager, which
// prints them as it does straight to the engine.
func TestRunWarningsReachTheCLI(t *testing.T) {
	lab, m := NeedManager(t)
	eng := lab.Engines[0]
	name := UniqueName(t, "warned")
	RemoveOnCleanup(t, m.Host(), name)
	RemoveOnCleanup(t, eng.Host(), name+"-direct")
	warnings := func(target string, extra ...string) []string {
		ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
		defer cancel()
		args := append(append([]string{"run", "-d"}, extra...), "--oom-kill-disable", "busybox", "sleep", "300")
		res := RunDocker(ctx, target, args...)
		require.NoError(t, res.Err, "%s", res)
		var out []string
		for _, line := range strings.Split(res.Stderr, "\n") {
			if strings.HasPrefix(line, "WARNING") {
				out = append(out, line)
			}
		}
		return out
	}
	direct := warnings(eng.Host(), "--name", name+"-direct")
	require.NotEmpty(t, direct, "the engine warns about --oom-kill-disable without a memory limit")
	assert.Equal(t, direct, warnings(m.Host(), "--name", name, "-e", "constraint:node=="+eng.Name))
}
