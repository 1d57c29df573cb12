package fakeengine

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const dockerCLI = "/usr/local/bin/docker"

// dockerCmd runs the real docker CLI against e and returns its output.
func dockerCmd(t *testing.T, e *Engine, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(dockerCLI, append([]string{"-H", e.URL()}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "DOCKER_CLI_HINTS=false")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustDocker(t *testing.T, e *Engine, args ...string) string {
	t.Helper()
	out, err := dockerCmd(t, e, args...)
	require.NoError(t, err, "docker %s: %s", strings.Join(args, " "), out)
	return out
}

// TestDockerCLI drives the fake engine with the real docker CLI.
func TestDockerCLI(t *testing.T) {
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Skipf("real docker CLI not installed at %s", dockerCLI)
	}
	e := startEngine(t, Options{Name: "cli-node", Labels: map[string]string{"zone": "a"}, Images: []string{"busybox"}})

	t.Run("version negotiates down", func(t *testing.T) {
		out := mustDocker(t, e, "version", "--format", "{{.Client.APIVersion}} {{.Server.APIVersion}}")
		assert.Equal(t, "1.41 1.41\n", out)
	})
	t.Run("info", func(t *testing.T) {
		out := mustDocker(t, e, "info", "--format", "{{.Name}} {{.ID}} {{.NCPU}} {{.Labels}}")
		assert.Equal(t, fmt.Sprintf("cli-node %s 4 [zone=a]\n", e.ID()), out)
	})

	out := mustDocker(t, e, "run", "-d", "--name", "web", "-p", "8080:80", "-p", "90", "-l", "app=x", "busybox", "sleep", "1000")
	id := strings.TrimSpace(out)
	require.Len(t, id, 64, "run -d prints the ID: %q", out)

	t.Run("ps", func(t *testing.T) {
		out := mustDocker(t, e, "ps", "--format", "{{.ID}}|{{.Names}}|{{.Image}}|{{.Ports}}|{{.Labels}}")
		assert.Equal(t, id[:12]+"|web|busybox|0.0.0.0:8080->80/tcp, 0.0.0.0:32768->90/tcp|app=x\n", out)
	})
	t.Run("inspect", func(t *testing.T) {
		out := mustDocker(t, e, "inspect", "-f", "{{.Name}} {{.State.Status}} {{(index .NetworkSettings.Ports \"80/tcp\" 0).HostPort}}", "web")
		assert.Equal(t, "/web running 8080\n", out)
	})
	t.Run("run pulls a missing image", func(t *testing.T) {
		out := mustDocker(t, e, "run", "-d", "--name", "proxy", "nginx")
		assert.Contains(t, out, "Unable to find image 'nginx:latest' locally")
		assert.Contains(t, out, "Status: Downloaded newer image for nginx:latest")
		assert.Equal(t, 1, e.Calls("POST /images/create"))
	})
	t.Run("duplicate name", func(t *testing.T) {
		out, err := dockerCmd(t, e, "run", "-d", "--name", "web", "busybox")
		require.Error(t, err)
		assert.Contains(t, out, `The container name "/web" is already in use`)
	})
	t.Run("rm -f", func(t *testing.T) {
		out, err := dockerCmd(t, e, "rm", "web")
		require.Error(t, err, "rm of a running container needs -f: %s", out)
		assert.Equal(t, "web\n", mustDocker(t, e, "rm", "-f", "web"))
		assert.Equal(t, "proxy\n", mustDocker(t, e, "ps", "-a", "--format", "{{.Names}}"))
	})
	t.Run("events --since --until", func(t *testing.T) {
		all := e.Events()
		first, last := all[0], all[len(all)-1]
		stamp := func(n int64) string { return fmt.Sprintf("%d.%09d", n/1e9, n%1e9) }
		out := mustDocker(t, e, "events", "--since", stamp(first.TimeNano), "--until", stamp(last.TimeNano),
			"--filter", "container=web", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}")
		assert.Equal(t, strings.Join([]string{
			"container create web", "container start web",
			"container kill web", "container die web", "container destroy web",
		}, "\n")+"\n", out)
		out = mustDocker(t, e, "events", "--since", stamp(first.TimeNano), "--until", stamp(last.TimeNano),
			"--filter", "type=image", "--format", "{{.Action}} {{.Actor.ID}}")
		assert.Equal(t, "pull nginx:latest\n", out)
	})
}
