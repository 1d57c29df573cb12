package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/swarmlab/swarm/test/proc"
)

// Lab addresses of test/lab/lab.sh; they must match the script.
const (
	DefaultState = "/var/lib/swarmlab"
	BridgeIP     = "10.77.0.1"
	RegistryAddr = BridgeIP + ":5000"
	enginePort   = "2375"
)

// labSubnet is the /24 that only the lab's bridge and namespaces use.
var labSubnet = netip.MustParsePrefix("10.77.0.0/24")

// Engine is one real dockerd of the lab, seen by the manager as one node.
type Engine struct {
	Name   string            // node name, also the engine's hostname: "backend1"
	IP     string            // its address on the lab bridge: "10.77.0.13"
	Addr   string            // IP:port of its plain-TCP API: "10.77.0.13:2375"
	Labels map[string]string // its --label flags: {"public": "no", "model": "high-memory"}
}

// Host is the engine's address in DOCKER_HOST form.
func (e Engine) Host() string { return "tcp://" + e.Addr }

// Lab is a running lab: its script, state directory and engines in start order.
type Lab struct {
	Script  string // absolute path of lab.sh
	State   string // state directory (LAB_STATE)
	Engines []Engine
}

// Engine returns the engine named name, or an error listing the known names.
func (l *Lab) Engine(name string) (Engine, error) {
	names := make([]string, 0, len(l.Engines))
	for _, e := range l.Engines {
		if e.Name == name {
			return e, nil
		}
		names = append(names, e.Name)
	}
	return Engine{}, fmt.Errorf("no engine %q in the lab (known: %s)", name, strings.Join(names, ", "))
}

// Addrs lists every engine's IP:port, one per node, as nodes:// or file discovery wants them.
func (l *Lab) Addrs() []string {
	addrs := make([]string, len(l.Engines))
	for i, e := range l.Engines {
		addrs[i] = e.Addr
	}
	return addrs
}

// EnginesFile is the file lab.sh writes with one IP:port per line (file:// discovery).
func (l *Lab) EnginesFile() string { return filepath.Join(l.State, "engines.txt") }

// FindScript locates test/lab/lab.sh by walking up from the working directory, so tests in
// any package of the module can start the lab.
func FindScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find lab.sh: %w", err)
	}
	for {
		p := filepath.Join(dir, "test", "lab", "lab.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find lab.sh: no test/lab/lab.sh above the working directory")
		}
		dir = parent
	}
}

// StateDir is LAB_STATE or the script's default.
func StateDir() string {
	if s := os.Getenv("LAB_STATE"); s != "" {
		return s
	}
	return DefaultState
}

// Up (re)creates the lab with the given number of engines and returns it. It blocks until
// every engine answers (lab.sh bounds that wait). The script's output goes to log.
func Up(ctx context.Context, script, state string, nodes int, log io.Writer) (*Lab, error) {
	args := []string{"up"}
	if nodes > 0 {
		args = append(args, "--nodes", strconv.Itoa(nodes))
	}
	if err := runScript(ctx, script, state, log, args...); err != nil {
		return nil, err
	}
	return Load(script, state)
}

// Load reads the lab that lab.sh left in state, without touching any process.
func Load(script, state string) (*Lab, error) {
	f, err := os.Open(filepath.Join(state, "nodes.txt"))
	if err != nil {
		return nil, fmt.Errorf("load lab: %w (is the lab up? run: %s up)", err, script)
	}
	defer f.Close()
	engines, err := ParseNodes(f)
	if err != nil {
		return nil, fmt.Errorf("load lab from %s: %w", f.Name(), err)
	}
	return &Lab{Script: script, State: state, Engines: engines}, nil
}

// Down stops every engine and the registry and removes the lab (the image cache stays).
func (l *Lab) Down(ctx context.Context, log io.Writer) error {
	return runScript(ctx, l.Script, l.State, log, "down")
}

// Running tells whether the lab's bridge exists and every engine answers, per lab.sh status.
func (l *Lab) Running(ctx context.Context) bool {
	return runScript(ctx, l.Script, l.State, io.Discard, "status") == nil
}

// StopEngine stops one engine's dockerd by PID (a node failure); its address stays.
func (l *Lab) StopEngine(ctx context.Context, name string) error {
	return runScript(ctx, l.Script, l.State, io.Discard, "stop-engine", name)
}

// StartEngine starts a stopped engine again and waits until it answers.
func (l *Lab) StartEngine(ctx context.Context, name string) error {
	return runScript(ctx, l.Script, l.State, io.Discard, "start-engine", name)
}

// FreezeEngine SIGSTOPs one engine's dockerd: its port still accepts connections but no
// request is ever answered, which exercises every caller's timeouts. ThawEngine undoes it.
func (l *Lab) FreezeEngine(ctx context.Context, name string) error {
	return runScript(ctx, l.Script, l.State, io.Discard, "freeze-engine", name)
}

// ThawEngine SIGCONTs an engine frozen by FreezeEngine.
func (l *Lab) ThawEngine(ctx context.Context, name string) error {
	return runScript(ctx, l.Script, l.State, io.Discard, "thaw-engine", name)
}

func runScript(ctx context.Context, script, state string, log io.Writer, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "LAB_STATE="+state)
	cmd.Stdout = io.MultiWriter(&out, log)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("lab.sh %s: %w\n%s", strings.Join(args, " "), err, proc.Tail(out.String(), 40))
	}
	return nil
}

// ParseNodes reads lab.sh's nodes.txt: one "NAME IP LABELS" line per engine, where LABELS
// is a comma-separated list of KEY=VALUE or "-" for none.
func ParseNodes(r io.Reader) ([]Engine, error) {
	var engines []Engine
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			return nil, fmt.Errorf("line %d: want \"NAME IP LABELS\", got %q", n, line)
		}
		name, ip, labels := fields[0], fields[1], fields[2]
		if seen[name] {
			return nil, fmt.Errorf("line %d: engine %q listed twice", n, name)
		}
		seen[name] = true
		if a, err := netip.ParseAddr(ip); err != nil || !labSubnet.Contains(a) || a == labSubnet.Addr() {
			return nil, fmt.Errorf("line %d: address %q of %s is not a host on the lab subnet %s", n, ip, name, labSubnet)
		}
		e := Engine{Name: name, IP: ip, Addr: ip + ":" + enginePort, Labels: map[string]string{}}
		if labels != "-" {
			for _, kv := range strings.Split(labels, ",") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return nil, fmt.Errorf("line %d: label %q of %s is not KEY=VALUE", n, kv, name)
				}
				e.Labels[k] = v
			}
		}
		engines = append(engines, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read nodes: %w", err)
	}
	if len(engines) == 0 {
		return nil, fmt.Errorf("no engines listed")
	}
	return engines, nil
}

// SeedLabels are the machines of the walkthrough (the default lab's four engines) and the
// labels it relies on; lab.sh must reproduce them, in plain and in TLS mode.
var SeedLabels = map[string]map[string]string{
	"swarm-master": {"public": "no"},
	"frontend":     {"public": "yes"},
	"backend1":     {"public": "no", "model": "high-memory"},
	"backend2":     {"public": "no", "model": "large-disk"},
}

// SkipReason says why the lab's tests (what, e.g. "end-to-end tests", of package pkg) cannot
// run here, or "" when they can: they are skipped with -short and need root. Call it after
// flag.Parse.
func SkipReason(what, pkg string) string {
	switch {
	case testing.Short():
		return what + " skipped in -short mode"
	case os.Geteuid() != 0:
		return what + " need root: the lab creates network namespaces and starts dockerd; run them as root (e.g. sudo -E go test " + pkg + ")"
	}
	return ""
}

// RunLock serialises whole `go test` runs that use the lab (test/e2e, test/e2etls): they
// share one bridge, one subnet and one state directory, so a second run waits here instead
// of tearing down the first one's engines. (lab.sh's own lock only covers a single lab.sh
// command.)
const RunLock = "/run/swarmlab.e2e.lock"

// LockRun blocks until this process holds RunLock; release gives it up. The lock also goes
// when the process dies, so a crashed run never blocks the next one.
func LockRun() (release func(), err error) {
	f, err := os.OpenFile(RunLock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open run lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", RunLock, err)
	}
	return func() { _ = f.Close() }, nil
}
