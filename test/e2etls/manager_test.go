package e2etls

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/swarmlab/swarm/test/e2e"
)

// manager is the `swarm manage --tlsverify` process of this run.
type manager struct {
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// startManager starts the manager on ManagerAddr with the certificates of `swarm certs
// create`: its listener certificate for clients, its client certificate for the engines.
// It returns once `docker info` over TLS shows every engine healthy.
func startManager(env *Env, dir string) (*manager, error) {
	c := func(parts ...string) string { return filepath.Join(append([]string{env.Certs}, parts...)...) }
	logPath := filepath.Join(dir, "manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("manager log: %w", err)
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(env.Bin, "manage", "-H", "tcp://"+ManagerAddr,
		"--tlsverify", "--tlscacert", c("manager", "ca.pem"), "--tlscert", c("manager", "cert.pem"), "--tlskey", c("manager", "key.pem"),
		"--engine-tlscacert", c("manager-client", "ca.pem"), "--engine-tlscert", c("manager-client", "cert.pem"),
		"--engine-tlskey", c("manager-client", "key.pem"),
		"--engine-refresh-min-interval", refreshMin.String(), "--engine-refresh-max-interval", refreshMax.String(),
		"--engine-failure-retry", failureRetry,
		"file://"+env.Lab.EnginesFile())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the manager: %w", err)
	}
	m := &manager{log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(m.done) }()
	if err := m.waitHealthy(env, len(env.Lab.Engines)); err != nil {
		m.stop()
		return nil, fmt.Errorf("%w\nmanager log (%s):\n%s", err, logPath, m.logTail(30))
	}
	return m, nil
}

func (m *manager) waitHealthy(env *Env, want int) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last := "no answer yet"
	for {
		select {
		case <-m.done:
			return fmt.Errorf("the manager exited before every engine was healthy (%s)", last)
		case <-ctx.Done():
			return fmt.Errorf("the manager did not see %d healthy engines within %s: %s", want, readyTimeout, last)
		case <-tick.C:
		}
		r := runDocker(ctx, env.ClientCerts(), "info", "--format", "{{json .SystemStatus}}")
		if r.Err != nil {
			last = strings.TrimSpace(r.Stderr)
			continue
		}
		n := strings.Count(r.Stdout, `"Healthy"`)
		if n >= want {
			return nil
		}
		last = fmt.Sprintf("%d of %d healthy: %s", n, want, r.Stdout)
	}
}

// stop ends the manager by its PID: SIGTERM, then SIGKILL after 10 s. Idempotent.
func (m *manager) stop() {
	if m.exited() {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
}

func (m *manager) exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

func (m *manager) logTail(n int) string {
	data, err := os.ReadFile(m.log)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", m.log, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// runDocker runs the docker CLI against the manager over TLS, the way a user does:
// DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH=certDir, DOCKER_HOST=tcp://10.77.0.1:3376.
// It never fails the test; check Result.Err.
func runDocker(ctx context.Context, certDir string, args ...string) e2e.Result {
	return runDockerIn(ctx, certDir, nil, args...)
}

// runDockerIn is runDocker with stdin (nil for none).
func runDockerIn(ctx context.Context, certDir string, stdin io.Reader, args ...string) e2e.Result {
	ctx, cancel := context.WithTimeout(ctx, e2e.CommandTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = e2e.DockerEnv("tcp://"+ManagerAddr, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH="+certDir)
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdin = stdin
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return e2e.Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
}

// docker runs the docker CLI over TLS as the lab's client and fails the test unless it
// exits 0; it returns stdout.
func docker(t testing.TB, env *Env, args ...string) string {
	t.Helper()
	r := runDocker(context.Background(), env.ClientCerts(), args...)
	if r.Err != nil {
		t.Fatalf("%s", r)
	}
	return r.Stdout
}
