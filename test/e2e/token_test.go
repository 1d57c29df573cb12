package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/test/proc"
)

// tokenUnhealthyBound is issue 6's promise with the default --heartbeat and --ttl: a node
// whose agent was killed is Unhealthy in `docker info` within 5 s.
const tokenUnhealthyBound = 5 * time.Second

// tokenBackBound bounds how long a node takes to be Healthy again after its agent restarts:
// the agent's join plus one heartbeat of its engine (the manager polls every 500 ms–1 s here).
const tokenBackBound = 15 * time.Second

// TestTokenDiscovery runs the token:// flow as docs/discovery.md tells users to: create a
// token naming the manager, start the manager with it, start `swarm join` next to every
// engine (inside the engine's network namespace), then kill, stop and restart agents.
func TestTokenDiscovery(t *testing.T) {
	lab := Need(t)
	dir, err := os.MkdirTemp("", "swarm-e2e-token-")
	require.NoError(t, err)
	t.Cleanup(func() { // registered first, so it runs after every process was stopped
		if t.Failed() {
			t.Logf("logs kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	bin, err := BuildSwarm(context.Background(), lab.Script, dir)
	require.NoError(t, err)
	gossip := tokenFreePort(t)
	tok := strings.TrimSpace(tokenRun(t, bin, "create", "--manager", gossip))
	require.NotEmpty(t, tok)
	url := "token://" + tok

	api := tokenFreePort(t)
	mgr := tokenStart(t, t, dir, "manager", bin, "manage", "-H", "tcp://"+api,
		"--engine-refresh-min-interval", "500ms", "--engine-refresh-max-interval", "1s",
		"--engine-failure-retry", "2", url)
	host := "tcp://" + api
	agents := map[string]*proc.Process{}
	for _, e := range lab.Engines {
		agents[e.Name] = tokenAgent(t, t, dir, bin, "nsenter", e, url)
	}
	top := t // owns the agents restarted in subtests
	want := lab.Addrs()
	sort.Strings(want)

	t.Run("every node joins and is healthy", func(t *testing.T) {
		nodes := tokenWaitNodes(t, host, mgr, 60*time.Second, func(n map[string]tokenNode) bool {
			return len(n) == len(want) && tokenCount(n, "Healthy") == len(want)
		})
		for _, e := range lab.Engines {
			assert.Equal(t, e.Name, nodes[e.Addr].Name, "engine %s", e.Addr)
		}
	})

	t.Run("swarm list prints the engines", func(t *testing.T) {
		got := strings.Fields(tokenRun(t, bin, "list", url))
		assert.Equal(t, want, got)
	})

	victim, err := lab.Engine("frontend")
	require.NoError(t, err)
	pinned := UniqueName(t, "pinned")
	RemoveOnCleanup(t, victim.Host(), pinned) // directly on the engine: its node may be down
	Docker(t, host, "run", "-d", "--name", pinned, "-e", "constraint:node=="+victim.Name, "busybox", "sleep", "600")

	t.Run("killed agent marks its node unhealthy", func(t *testing.T) {
		killed := time.Now()
		tokenSignal(t, agents[victim.Name], syscall.SIGKILL)
		nodes := tokenWaitNodes(t, host, mgr, tokenUnhealthyBound, func(n map[string]tokenNode) bool {
			return n[victim.Addr].Status == "Unhealthy"
		})
		t.Logf("%s unhealthy %s after its agent was killed", victim.Name, time.Since(killed).Round(10*time.Millisecond))
		assert.Contains(t, nodes[victim.Addr].Error, "join agent advertising "+victim.Addr+" is gone")
		assert.Equal(t, len(want)-1, tokenCount(nodes, "Healthy"), "the other nodes stay healthy")

		status := Docker(t, host, "ps", "-a", "--filter", "name="+pinned, "--format", "{{.Status}}")
		assert.Equal(t, "Host Down", strings.TrimSpace(status), "its containers stay listed, as down")

		r := RunDocker(context.Background(), host, "run", "-d", "-e", "constraint:node=="+victim.Name, "busybox", "true")
		require.Error(t, r.Err, "nothing may be placed on the lost node: %s", r)
		for i := range 3 {
			name := UniqueName(t, fmt.Sprintf("spread%d", i))
			RemoveOnCleanup(t, host, name)
			Docker(t, host, "run", "-d", "--name", name, "busybox", "sleep", "600")
			node := Docker(t, host, "inspect", "--format", "{{.Node.Name}}", name)
			assert.NotEqual(t, victim.Name, strings.TrimSpace(node), "container %s", name)
		}
	})

	t.Run("restarted agent brings its node back", func(t *testing.T) {
		// ip netns exec works for the agent too (only dockerd needs nsenter: see test/lab).
		agents[victim.Name] = tokenAgent(t, top, dir, bin, "ip-netns-exec", victim, url)
		tokenWaitNodes(t, host, mgr, tokenBackBound, func(n map[string]tokenNode) bool {
			return n[victim.Addr].Status == "Healthy" && n[victim.Addr].Error == ""
		})
		status := Docker(t, host, "ps", "--filter", "name="+pinned, "--format", "{{.Status}}")
		assert.True(t, strings.HasPrefix(strings.TrimSpace(status), "Up"), "status %q", status)
	})

	t.Run("stopped agent marks its node unhealthy at once", func(t *testing.T) {
		stopped, err := lab.Engine("backend1")
		require.NoError(t, err)
		tokenStop(t, agents[stopped.Name])
		tokenWaitNodes(t, host, mgr, tokenUnhealthyBound, func(n map[string]tokenNode) bool {
			return n[stopped.Addr].Status == "Unhealthy"
		})
		got := strings.Fields(tokenRun(t, bin, "list", url))
		assert.NotContains(t, got, stopped.Addr, "swarm list shows live agents only")

		agents[stopped.Name] = tokenAgent(t, top, dir, bin, "nsenter", stopped, url)
		tokenWaitNodes(t, host, mgr, tokenBackBound, func(n map[string]tokenNode) bool {
			return tokenCount(n, "Healthy") == len(want)
		})
	})

	t.Run("frozen agent comes back when it thaws", func(t *testing.T) {
		// SIGSTOP is what a cut-off host looks like to the others: no answer, no goodbye.
		// On SIGCONT the same member must refute its death and bring the node back.
		frozen, err := lab.Engine("swarm-master")
		require.NoError(t, err)
		a := agents[frozen.Name]
		require.NoError(t, a.Signal(syscall.SIGSTOP))
		thawed := false
		defer func() {
			if !thawed {
				_ = a.Signal(syscall.SIGCONT)
			}
		}()
		tokenWaitNodes(t, host, mgr, tokenUnhealthyBound, func(n map[string]tokenNode) bool {
			return n[frozen.Addr].Status == "Unhealthy"
		})
		require.NoError(t, a.Signal(syscall.SIGCONT))
		thawed = true
		tokenWaitNodes(t, host, mgr, tokenBackBound, func(n map[string]tokenNode) bool {
			return n[frozen.Addr].Status == "Healthy"
		})
	})

	t.Run("wrong token cannot join", func(t *testing.T) {
		other := strings.TrimSpace(tokenRun(t, bin, "create", "--manager", gossip))
		e, err := lab.Engine("backend2")
		require.NoError(t, err)
		intruderEngine := e.IP + ":2399" // an address no legitimate agent advertises
		intruder := tokenStart(t, t, dir, "intruder", "nsenter", "--net=/var/run/netns/swarmlab-"+e.Name,
			bin, "join", "--advertise="+intruderEngine, "--gossip-addr=0.0.0.0:7947", "token://"+other)
		require.Eventually(t, func() bool { return strings.Count(intruder.LogText(), "no manager reachable; retrying") >= 2 },
			20*time.Second, 100*time.Millisecond, "the intruder must be refused and say so; its log:\n%s", intruder.LogText())
		nodes := tokenNodes(t, host)
		assert.NotContains(t, nodes, intruderEngine)
		assert.Len(t, nodes, len(want))
		assert.NotContains(t, strings.Fields(tokenRun(t, bin, "list", url)), intruderEngine)

		r := exec.Command(bin, "list", "--timeout", "5s", "token://"+other)
		out, err := r.CombinedOutput()
		require.Error(t, err, "list with a token the manager does not hold: %s", out)
		assert.Contains(t, string(out), "no manager reachable")
	})
}

// tokenNode is one node of `docker info` through the manager.
type tokenNode struct{ Name, Status, Error string }

// tokenNodes reads the per-node block of `docker info` through the manager, by address.
func tokenNodes(t *testing.T, host string) map[string]tokenNode {
	t.Helper()
	nodes, err := tokenParseNodes(Docker(t, host, "info", "--format", "{{json .SystemStatus}}"))
	require.NoError(t, err)
	return nodes
}

// tokenParseNodes reads SystemStatus pairs: " NAME" ADDR starts a node, "  └ KEY" VALUE
// belongs to the last one.
func tokenParseNodes(out string) (map[string]tokenNode, error) {
	var pairs [][2]string
	if err := json.Unmarshal([]byte(out), &pairs); err != nil {
		return nil, fmt.Errorf("docker info SystemStatus %q: %w", out, err)
	}
	nodes := map[string]tokenNode{}
	addr := ""
	for _, kv := range pairs {
		key := kv[0]
		switch {
		case strings.HasPrefix(key, "  └ ") && addr != "":
			n := nodes[addr]
			switch strings.TrimPrefix(key, "  └ ") {
			case "Status":
				n.Status = kv[1]
			case "Error":
				n.Error = kv[1]
			}
			nodes[addr] = n
		case strings.HasPrefix(key, " ") && !strings.HasPrefix(key, "  "):
			if _, _, err := net.SplitHostPort(kv[1]); err != nil {
				addr = ""
				continue
			}
			addr = kv[1]
			nodes[addr] = tokenNode{Name: strings.TrimSpace(key)}
		default:
			addr = ""
		}
	}
	return nodes, nil
}

func tokenCount(nodes map[string]tokenNode, status string) int {
	k := 0
	for _, n := range nodes {
		if n.Status == status {
			k++
		}
	}
	return k
}

// tokenWaitNodes polls `docker info` through the manager until ok holds, failing after
// bound with the last view and the manager's log.
func tokenWaitNodes(t *testing.T, host string, mgr *proc.Process, bound time.Duration,
	ok func(map[string]tokenNode) bool) map[string]tokenNode {
	t.Helper()
	deadline := time.Now().Add(bound)
	var last map[string]tokenNode
	for {
		r := RunDocker(context.Background(), host, "info", "--format", "{{json .SystemStatus}}")
		if r.Err == nil {
			nodes, err := tokenParseNodes(r.Stdout)
			require.NoError(t, err)
			if ok(nodes) {
				return nodes
			}
			last = nodes
		}
		if time.Now().After(deadline) {
			t.Fatalf("not reached within %s; last nodes %+v (last docker: %v)\nmanager log:\n%s",
				bound, last, r.Err, mgr.LogTail(40))
		}
		select {
		case <-mgr.Done():
			t.Fatalf("the manager exited; its log:\n%s", mgr.LogTail(40))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tokenRun runs a short swarm command and returns its stdout.
func tokenRun(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "swarm %s: %s", strings.Join(args, " "), stderr.String())
	return string(out)
}

// tokenFreePort picks a port on the lab bridge free for both TCP and UDP (gossip uses both).
func tokenFreePort(t *testing.T) string {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", BridgeIP+":0")
		require.NoError(t, err)
		addr := l.Addr().String()
		u, err := net.ListenPacket("udp", addr)
		_ = l.Close()
		if err == nil {
			_ = u.Close()
			return addr
		}
	}
	t.Fatalf("no port free for TCP and UDP on %s", BridgeIP)
	return ""
}

// tokenAgent starts `swarm join` for engine e inside its network namespace, entered with
// nsenter or ip netns exec; both exec the agent in place, so the PID is the agent's.
func tokenAgent(t, owner *testing.T, dir, bin, how string, e Engine, url string) *proc.Process {
	t.Helper()
	ns := "swarmlab-" + e.Name
	join := []string{bin, "join", "--advertise=" + e.Addr, url}
	var argv []string
	switch how {
	case "nsenter":
		argv = append([]string{"nsenter", "--net=/var/run/netns/" + ns}, join...)
	case "ip-netns-exec":
		argv = append([]string{"ip", "netns", "exec", ns}, join...)
	default:
		t.Fatalf("unknown way into a namespace %q", how)
	}
	p := tokenStart(t, owner, dir, "agent-"+e.Name, argv[0], argv[1:]...)
	// Kill and stop must hit the agent itself, not a wrapper that would leave it running.
	require.Eventually(t, func() bool {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.PID()))
		return err == nil && exe == bin
	}, 5*time.Second, 10*time.Millisecond, "%s must exec the agent in place", how)
	return p
}

// tokenStart starts prog; owner stops it by its PID when owner ends (the whole test for
// agents that outlive the subtest starting them), t gets the failures.
func tokenStart(t, owner *testing.T, dir, name, prog string, args ...string) *proc.Process {
	t.Helper()
	logPath := filepath.Join(dir, fmt.Sprintf("%s-%d.log", name, time.Now().UnixNano()))
	p, err := proc.StartLogged(name, logPath, append([]string{prog}, args...)...)
	require.NoError(t, err, "start %s", name)
	owner.Cleanup(func() {
		tokenStop(owner, p)
		if owner.Failed() {
			t.Logf("%s log (%s):\n%s", name, logPath, p.LogTail(20))
		}
	})
	return p
}

// tokenSignal sends sig to the process and waits until it has exited; one that ignores sig
// for proc.StopGrace is killed and fails the test.
func tokenSignal(t *testing.T, p *proc.Process, sig syscall.Signal) {
	t.Helper()
	killed, err := p.Terminate(sig)
	require.NoError(t, err)
	if killed {
		t.Errorf("pid %d ignored %s for %s; killed", p.PID(), sig, proc.StopGrace)
	}
}

// tokenStop ends the process with SIGTERM (SIGKILL after proc.StopGrace); it is idempotent.
func tokenStop(t *testing.T, p *proc.Process) { tokenSignal(t, p, syscall.SIGTERM) }
