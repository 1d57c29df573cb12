package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/swarmlab/swarm/test/proc"
)

// CommandTimeout bounds one docker CLI call made through Docker or RunDocker.
const CommandTimeout = 2 * time.Minute

// Result is what one docker CLI run printed and how it ended.
type Result struct {
	Args   []string
	Stdout string
	Stderr string
	Err    error // nil when docker exited 0; an *exec.ExitError otherwise
}

// ExitCode is docker's exit status, or -1 when it did not run or was killed.
func (r Result) ExitCode() int {
	var ee *exec.ExitError
	switch {
	case r.Err == nil:
		return 0
	case errors.As(r.Err, &ee):
		return ee.ExitCode()
	default:
		return -1
	}
}

func (r Result) String() string {
	return fmt.Sprintf("docker %s: %v\nstdout:\n%s\nstderr:\n%s",
		strings.Join(r.Args, " "), r.Err, proc.Tail(r.Stdout, 30), proc.Tail(r.Stderr, 30))
}

// DockerEnv is the environment for a docker CLI talking to host (e.g. "tcp://10.77.0.12:2375"):
// the caller's environment without any DOCKER_* setting, a private DOCKER_CONFIG so the user's
// contexts and credentials cannot interfere, DOCKER_HOST=host, then extra ("KEY=VALUE").
func DockerEnv(host string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			env = append(env, kv)
		}
	}
	env = append(env, "DOCKER_CONFIG="+dockerConfigDir(), "DOCKER_HOST="+host)
	return append(env, extra...)
}

// dockerConfigDir is an empty per-user config directory shared by every call.
func dockerConfigDir() string {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("swarm-e2e-docker-%d", os.Getuid()))
	_ = os.MkdirAll(dir, 0o700) // if this fails, docker reports the bad directory itself
	return dir
}

// DockerCmd prepares a docker CLI command against host for callers that need stdin, a
// terminal or streaming output (docker run -it, logs -f, events). The caller runs and waits.
func DockerCmd(ctx context.Context, host string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = DockerEnv(host)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// RunDocker runs docker against host and captures its output; it never fails a test, so use
// it for commands that are expected to fail and check Result.Err and Result.Stderr.
func RunDocker(ctx context.Context, host string, args ...string) Result {
	return RunDockerIn(ctx, host, nil, args...)
}

// RunDockerIn is RunDocker with stdin (nil for none).
func RunDockerIn(ctx context.Context, host string, stdin io.Reader, args ...string) Result {
	ctx, cancel := context.WithTimeout(ctx, CommandTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := DockerCmd(ctx, host, args...)
	cmd.Stdin = stdin
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
}

// Docker runs docker against host, fails the test unless it exits 0, and returns stdout.
func Docker(t testing.TB, host string, args ...string) string {
	t.Helper()
	r := RunDocker(context.Background(), host, args...)
	if r.Err != nil {
		t.Fatalf("%s", r)
	}
	return r.Stdout
}

// Client is a Go SDK client for host that negotiates the API version (the lab's engines speak
// API 1.41); it is closed when the test ends.
func Client(t testing.TB, host string) *client.Client {
	t.Helper()
	c, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("docker client for %s: %v", host, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// directHTTP ignores proxy settings: lab addresses are only reachable directly.
var directHTTP = &http.Client{Transport: &http.Transport{Proxy: nil}}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// UniqueName is a container name unique to this test and run: "e2e-<test>-<prefix>-<hex>".
func UniqueName(t testing.TB, prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	base := strings.ToLower(unsafeName.ReplaceAllString(t.Name(), "-"))
	if len(base) > 40 {
		base = base[:40]
	}
	return fmt.Sprintf("e2e-%s-%s-%s", base, prefix, hex.EncodeToString(b))
}

// RemoveOnCleanup force-removes the named containers on host when the test ends.
func RemoveOnCleanup(t testing.TB, host string, names ...string) {
	t.Cleanup(func() {
		r := RunDocker(context.Background(), host, append([]string{"rm", "-f", "-v"}, names...)...)
		if r.Err != nil && !strings.Contains(r.Stderr, "No such container") {
			t.Logf("cleanup: %s", r)
		}
	})
}

// HTTPGet fetches url with a short timeout and returns the body; for checking that a
// published port answers from the host.
func HTTPGet(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	resp, err := directHTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("GET %s: read body: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("GET %s: status %s", url, resp.Status)
	}
	return string(body), nil
}
