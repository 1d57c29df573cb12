package e2e

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/swarmlab/swarm/test/proc"
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

// Manager is a `swarm manage` process of a test run, listening on the lab bridge. Stop,
// Exited, LogTail and PID come from its process.
type Manager struct {
	Addr string // 10.77.0.1:PORT
	Log  string // file holding the manager's stderr
	*proc.Process
	docker func(ctx context.Context, args ...string) Result
}

// Host is the manager's address in DOCKER_HOST form.
func (m *Manager) Host() string { return "tcp://" + m.Addr }

// BuildSwarm builds cmd/swarm of the module holding lab.sh (ROOT/test/lab/lab.sh) into
// dir/swarm and returns the binary's path.
func BuildSwarm(ctx context.Context, script, dir string) (string, error) {
	bin := filepath.Join(dir, "swarm")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/swarm")
	build.Dir = filepath.Dir(filepath.Dir(filepath.Dir(script)))
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build swarm: %w\n%s", err, out)
	}
	return bin, nil
}

// StartManager builds cmd/swarm into dir and starts `swarm manage` on a free port of the lab
// bridge with file:// discovery of the lab's engines, as LaunchManager does.
// The caller must call Stop.
func StartManager(ctx context.Context, lab *Lab, dir string) (*Manager, error) {
	bin, err := BuildSwarm(ctx, lab.Script, dir)
	if err != nil {
		return nil, err
	}
	addr, err := FreeBridgePort()
	if err != nil {
		return nil, err
	}
	return LaunchManager(ctx, lab, dir, ManagerOptions{Bin: bin, Addr: addr})
}

// ManagerOptions is what differs between the managers of test/e2e (plain) and test/e2etls
// (TLS on every hop).
type ManagerOptions struct {
	Bin   string   // the swarm binary
	Addr  string   // host:port the manager listens on
	Flags []string // more `swarm manage` flags, e.g. the TLS ones
	// Docker runs the docker CLI against the manager and never fails; nil means
	// RunDocker with DOCKER_HOST=tcp://Addr.
	Docker func(ctx context.Context, args ...string) Result
	// Healthy is how many engines must be healthy before LaunchManager
	// returns: 0 means all of them, -1 none (the manager only has to answer,
	// for tests of engines it must refuse).
	Healthy int
}

// LaunchManager starts `swarm manage` with the test run's refresh timing and file://
// discovery of the lab's engines, its output in dir/manager.log. It returns once `docker
// info` through the manager shows every engine Healthy, or stops the process and returns
// why it did not get there. The caller must call Stop.
func LaunchManager(ctx context.Context, lab *Lab, dir string, o ManagerOptions) (*Manager, error) {
	docker := o.Docker
	if docker == nil {
		docker = func(ctx context.Context, args ...string) Result { return RunDocker(ctx, "tcp://"+o.Addr, args...) }
	}
	argv := append([]string{o.Bin, "manage", "-H", "tcp://" + o.Addr}, o.Flags...)
	argv = append(argv,
		"--engine-refresh-min-interval", ManagerRefreshMin.String(),
		"--engine-refresh-max-interval", ManagerRefreshMax.String(),
		"--engine-failure-retry", strconv.Itoa(ManagerFailureRetry),
		"file://"+lab.EnginesFile())
	logPath := filepath.Join(dir, "manager.log")
	// proc gives the manager Pdeathsig: if this test binary dies without running Stop (a
	// -timeout panic, a kill), the manager must not outlive it, or once the lab is gone its
	// retries to 10.77.0.x would leave the machine.
	p, err := proc.StartLogged("the manager", logPath, argv...)
	if err != nil {
		return nil, err
	}
	m := &Manager{Addr: o.Addr, Log: logPath, Process: p, docker: docker}
	want := o.Healthy
	if want == 0 {
		want = len(lab.Engines)
	}
	if err := m.waitHealthy(ctx, max(want, 0)); err != nil {
		m.Stop()
		return nil, fmt.Errorf("%w\nmanager log (%s):\n%s", err, logPath, m.LogTail(30))
	}
	return m, nil
}

// FreeBridgePort picks a port on the bridge address that nothing listens on now.
func FreeBridgePort() (string, error) {
	l, err := net.Listen("tcp", BridgeIP+":0")
	if err != nil {
		return "", fmt.Errorf("find a free port on %s: %w", BridgeIP, err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr, nil
}

// waitHealthy polls `docker info` through the manager until want nodes are Healthy
// (0: until it answers).
func (m *Manager) waitHealthy(ctx context.Context, want int) error {
	ctx, cancel := context.WithTimeout(ctx, managerReadyTimeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last := "no answer yet"
	for {
		select {
		case <-m.Done():
			return fmt.Errorf("the manager exited before every engine was healthy (%s): %w", last, m.ExitErr())
		case <-ctx.Done():
			return fmt.Errorf("the manager did not see %d healthy engines within %s: %s", want, managerReadyTimeout, last)
		case <-tick.C:
		}
		r := m.docker(ctx, "info", "--format", "{{json .SystemStatus}}")
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
