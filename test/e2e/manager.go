package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Manager timing for the end-to-end run: short enough that a stopped engine turns unhealthy in
// seconds, long enough that four engines are not hammered. The fault tests derive their
// deadlines from these values.
const (
	ManagerRefreshMin   = 500 * time.Millisecond
	ManagerRefreshMax   = 1 * time.Second
	ManagerFailureRetry = 2
	// managerReadyTimeout bounds the wait until every engine is healthy behind the manager.
	managerReadyTimeout = 60 * time.Second
)

// UnhealthyWithin is how long the manager may take to mark a stopped engine unhealthy:
// FailureRetry failed refreshes, each at most RefreshMax apart and each bounded by the
// cluster's 10 s call timeout (a refused connection fails at once, so this is generous).
func UnhealthyWithin() time.Duration {
	return time.Duration(ManagerFailureRetry)*ManagerRefreshMax + 10*time.Second
}

// Manager is a `swarm manage` process of this test run, listening on the lab bridge.
type Manager struct {
	Addr string // 10.77.0.1:PORT
	Log  string // file holding the manager's stderr
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// Host is the manager's address in DOCKER_HOST form.
func (m *Manager) Host() string { return "tcp://" + m.Addr }

// moduleRoot is the directory holding go.mod, found from lab.sh's path (ROOT/test/lab/lab.sh).
func moduleRoot(script string) string {
	return filepath.Dir(filepath.Dir(filepath.Dir(script)))
}

// StartManager builds cmd/swarm into dir and starts `swarm manage` on the lab bridge with
// file:// discovery of the lab's engines. It returns once `docker info` through the manager
// shows every engine Healthy, or stops the process and returns why it did not get there.
// The caller must call Stop.
func StartManager(ctx context.Context, lab *Lab, dir string) (*Manager, error) {
	bin := filepath.Join(dir, "swarm")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/swarm")
	build.Dir = moduleRoot(lab.Script)
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the manager: %w\n%s", err, out)
	}
	addr, err := freeBridgePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("manager log: %w", err)
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(bin, "manage", "-H", "tcp://"+addr,
		"--engine-refresh-min-interval", ManagerRefreshMin.String(),
		"--engine-refresh-max-interval", ManagerRefreshMax.String(),
		"--engine-failure-retry", strconv.Itoa(ManagerFailureRetry),
		"file://"+lab.EnginesFile())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// If this test binary dies without running Stop (a -timeout panic, a kill), the manager
	// must not outlive it: once the lab is gone, its retries to 10.77.0.x would leave the
	// machine.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the manager: %w", err)
	}
	m := &Manager{Addr: addr, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(m.done) }()
	if err := m.waitHealthy(ctx, len(lab.Engines)); err != nil {
		m.Stop()
		return nil, fmt.Errorf("%w\nmanager log (%s):\n%s", err, logPath, m.LogTail(30))
	}
	return m, nil
}

// freeBridgePort picks a port on the bridge address that nothing listens on now.
func freeBridgePort() (string, error) {
	l, err := net.Listen("tcp", BridgeIP+":0")
	if err != nil {
		return "", fmt.Errorf("find a free port on %s: %w", BridgeIP, err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr, nil
}

// waitHealthy polls `docker info` through the manager until want nodes are Healthy.
func (m *Manager) waitHealthy(ctx context.Context, want int) error {
	ctx, cancel := context.WithTimeout(ctx, managerReadyTimeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last := "no answer yet"
	for {
		select {
		case <-m.done:
			return fmt.Errorf("the manager exited before every engine was healthy (%s)", last)
		case <-ctx.Done():
			return fmt.Errorf("the manager did not see %d healthy engines within %s: %s", want, managerReadyTimeout, last)
		case <-tick.C:
		}
		r := RunDocker(ctx, m.Host(), "info", "--format", "{{json .SystemStatus}}")
		if r.Err != nil {
			last = strings.TrimSpace(r.Stderr)
			continue
		}
		n := strings.Count(r.Stdout, `"Healthy"`)
		if n >= want {
			return nil
		}
		last = fmt.Sprintf("%d of %d healthy", n, want)
	}
}

// Stop ends the manager by its PID: SIGTERM, then SIGKILL if it has not exited in 10 s.
// It is idempotent.
func (m *Manager) Stop() {
	select {
	case <-m.done:
		return
	default:
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
}

// Exited tells whether the manager process is gone (a crash shows up here).
func (m *Manager) Exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// LogTail is the end of the manager's log, for failure messages.
func (m *Manager) LogTail(n int) string {
	data, err := os.ReadFile(m.Log)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", m.Log, err)
	}
	return tail(string(data), n)
}
