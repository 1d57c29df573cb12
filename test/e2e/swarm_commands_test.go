package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// interactive drives a shell in a terminal: wait for the prompt, compute something the
// echoed input cannot contain, read the result, exit.
func interactive(t *testing.T, term *Terminal) {
	t.Helper()
	out, err := term.Expect("# ", 20*time.Second)
	require.NoError(t, err, "the shell's prompt; output so far: %q", out)
	require.NoError(t, term.Type("echo tty=$(tty) sum=$((6*7))\r"))
	// The terminal echoes the typed line, but only the shell's answer holds "sum=42".
	out, err = term.Expect("sum=42", 10*time.Second)
	assert.NoError(t, err, "the command's output; output so far: %q", out)
	assert.Contains(t, out, "tty=/dev/pts/", "the container's stdin is a terminal")
	require.NoError(t, term.Type("exit 0\r"))
	done := make(chan error, 1)
	go func() { done <- term.Wait() }()
	select {
	case err := <-done:
		assert.NoError(t, err, "docker ends with the shell's status")
	case <-time.After(15 * time.Second):
		term.Kill()
		t.Fatal("docker did not end after the shell exited")
	}
}

func TestCommandsThroughManager(t *testing.T) {
	lab, m := NeedManager(t)
	host := m.Host()
	ctx := context.Background()

	t.Run("run attached prints output", func(t *testing.T) {
		assert.Equal(t, "hi\n", Docker(t, host, "run", "--rm", "busybox", "echo", "hi"))
		r := RunDockerIn(ctx, host, strings.NewReader("from stdin\n"), "run", "--rm", "-i", "busybox", "cat")
		require.NoError(t, r.Err, "%s", r)
		assert.Equal(t, "from stdin\n", r.Stdout, "stdin reaches the container and its close ends cat")
		r = RunDocker(ctx, host, "run", "--rm", "busybox", "sh", "-c", "exit 3")
		assert.Equal(t, 3, r.ExitCode(), "the container's exit code: %s", r)
	})

	t.Run("run -it under a terminal", func(t *testing.T) {
		name := UniqueName(t, "it")
		RemoveOnCleanup(t, host, name)
		term, err := StartTerminal(ctx, host, "run", "-it", "--rm", "--name", name, "busybox", "sh")
		require.NoError(t, err)
		interactive(t, term)
	})

	// One long-running container for exec, logs and cp. It prints "first", then "second"
	// only once the test creates /tmp/go, so `logs -f` must deliver a line written after it
	// attached.
	name := UniqueName(t, "svc")
	RemoveOnCleanup(t, host, name)
	Docker(t, host, "run", "-d", "--name", name, "busybox", "sh", "-c",
		"echo first; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo second; exec sleep 600")

	t.Run("exec -it under a terminal", func(t *testing.T) {
		term, err := StartTerminal(ctx, host, "exec", "-it", name, "sh")
		require.NoError(t, err)
		interactive(t, term)
	})

	t.Run("logs -f streams new lines", func(t *testing.T) {
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		cmd := DockerCmd(lctx, host, "logs", "-f", name)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		defer func() { cancel(); _ = cmd.Wait() }()
		lines := make(chan string, 16)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		next := func() string {
			select {
			case l, ok := <-lines:
				if ok {
					return l
				}
				return "(stream ended)"
			case <-time.After(15 * time.Second):
				return "(nothing within 15s)"
			}
		}
		require.Equal(t, "first", next(), "the line written before logs -f attached")
		Docker(t, host, "exec", name, "touch", "/tmp/go")
		assert.Equal(t, "second", next(), "a line written after logs -f attached arrives on the open stream")
	})

	t.Run("cp both ways", func(t *testing.T) {
		dir := t.TempDir()
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		content := "payload " + hex.EncodeToString(b) + "\n"
		in := filepath.Join(dir, "in.txt")
		require.NoError(t, os.WriteFile(in, []byte(content), 0o644))
		Docker(t, host, "cp", in, name+":/tmp/in.txt")
		assert.Equal(t, content, Docker(t, host, "exec", name, "cat", "/tmp/in.txt"), "host to container")

		Docker(t, host, "exec", name, "sh", "-c", "cp /tmp/in.txt /tmp/out.txt && echo back >> /tmp/out.txt")
		out := filepath.Join(dir, "out.txt")
		Docker(t, host, "cp", name+":/tmp/out.txt", out)
		got, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.Equal(t, content+"back\n", string(got), "container to host")
	})

	t.Run("events filtered by node carry node information", func(t *testing.T) {
		since := time.Now().Add(-time.Second) // engines share this machine's clock
		b1, b2 := UniqueName(t, "b1"), UniqueName(t, "b2")
		RemoveOnCleanup(t, host, b1, b2)
		id1 := strings.TrimSpace(Docker(t, host, "run", "-d", "--name", b1, "--env", "constraint:node==backend1", "busybox", "true"))
		id2 := strings.TrimSpace(Docker(t, host, "run", "-d", "--name", b2, "--env", "constraint:node==backend2", "busybox", "true"))
		require.Equal(t, "backend1", NodeOf(t, m, b1))
		require.Equal(t, "backend2", NodeOf(t, m, b2))
		Docker(t, host, "wait", b1, b2)

		// With --until the stream ends by itself: replay, then live events until that time.
		until := time.Now().Add(time.Second)
		args := []string{"events", "--since", strconv.FormatInt(since.Unix(), 10), "--until", strconv.FormatInt(until.Unix(), 10), "--filter", "node=backend1"}
		text := Docker(t, host, args...)
		assert.Contains(t, text, "node.name=backend1")
		assert.NotContains(t, text, "node.name=backend2")

		out := Docker(t, host, append(args, "--format", "{{json .}}")...)
		actions := map[string]bool{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var ev struct {
				Type, Action string
				Actor        struct {
					ID         string
					Attributes map[string]string
				}
			}
			require.NoError(t, json.Unmarshal([]byte(line), &ev), "event line %q", line)
			assert.Equal(t, "backend1", ev.Actor.Attributes["node.name"], "every event of --filter node=backend1 is backend1's: %s", line)
			assert.Equal(t, lab.Engines[2].IP, ev.Actor.Attributes["node.ip"], "%s", line)
			assert.NotEmpty(t, ev.Actor.Attributes["node.id"], "%s", line)
			assert.NotEqual(t, id2, ev.Actor.ID, "backend2's container must not appear")
			if ev.Type == "container" && ev.Actor.ID == id1 {
				actions[ev.Action] = true
			}
		}
		for _, a := range []string{"create", "start", "die"} {
			assert.True(t, actions[a], "backend1's container %s event replayed with --since", a)
		}

		// What docker-gen and nginx-proxy read but the CLI does not print: the top-level
		// node object and the "from" suffix.
		q := url.Values{"since": {strconv.FormatInt(since.Unix(), 10)}, "until": {strconv.FormatInt(until.Unix(), 10)},
			"filters": {`{"node":{"backend1":true},"container":{"` + id1 + `":true}}`}}
		resp, err := directHTTP.Get("http://" + m.Addr + "/v1.41/events?" + q.Encode())
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		dec := json.NewDecoder(resp.Body)
		n := 0
		for dec.More() {
			var ev struct {
				From string `json:"from"`
				Node struct{ Name, ID, Addr, IP string }
			}
			require.NoError(t, dec.Decode(&ev))
			n++
			assert.Equal(t, "busybox node:backend1", ev.From)
			assert.Equal(t, "backend1", ev.Node.Name)
			assert.Equal(t, lab.Engines[2].Addr, ev.Node.Addr)
			assert.NotEmpty(t, ev.Node.ID)
		}
		assert.GreaterOrEqual(t, n, 3, "create, start and die of %.12s over the raw API", id1)
	})

	t.Run("pull shows progress and the image appears", func(t *testing.T) {
		// hello-world lives only in the registry; removing it everywhere forces a download.
		if r := RunDocker(ctx, host, "rmi", "-f", "hello-world"); r.Err != nil {
			require.Contains(t, r.Stderr, "No such image", "%s", r)
		}
		require.NotContains(t, Docker(t, host, "images", "--format", "{{.Repository}}"), "hello-world")
		t.Cleanup(func() { _ = RunDocker(ctx, host, "rmi", "-f", "hello-world") })

		out := Docker(t, host, "pull", "hello-world")
		// Every node reports its own progress, prefixed by its name. The layer may be
		// shared with the lab's other images (one rootfs), so it can "Already exist".
		for _, e := range lab.Engines {
			assert.Contains(t, out, e.Name+": latest: Pulling from library/hello-world")
			assert.Regexp(t, `(?m)^`+e.Name+`: [0-9a-f]{12}: (Pull complete|Already exists)$`, out, "layer progress of %s", e.Name)
			assert.Contains(t, out, e.Name+": Status: Downloaded newer image for hello-world:latest")
		}
		assert.Contains(t, Docker(t, host, "images", "--format", "{{.Repository}}:{{.Tag}}"), "hello-world:latest\n")
		assert.Equal(t, "Hello from Docker!\n", Docker(t, host, "run", "--rm", "hello-world"))
	})
}
