package e2etls

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/swarmlab/swarm/test/e2e"
)

const (
	// ManagerAddr is where the manager listens: the bridge address on the TLS port.
	ManagerAddr = e2e.BridgeIP + ":3376"
	// enginePort is the TLS port lab.sh gives every engine in TLS mode.
	enginePort = "2376"
)

// Env is the TLS lab of this run and the manager in front of it.
type Env struct {
	Lab   *e2e.Lab // engines with their TLS addresses (IP:2376)
	Certs string   // STATE/certs, as written by `swarm certs create`
	Bin   string   // the swarm binary built for this run
	mgr   *e2e.Manager
}

// ClientCerts is the DOCKER_CERT_PATH of the lab's docker CLI user.
func (e *Env) ClientCerts() string { return filepath.Join(e.Certs, "client") }

var (
	theEnv   *Env
	skipWhy  string // why the tests are skipped, if they are
	setupErr error  // why the lab or the manager could not be started
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if skipWhy = e2e.SkipReason("TLS end-to-end tests", "./test/e2etls"); skipWhy != "" {
		return m.Run()
	}
	script, err := e2e.FindScript()
	if err != nil {
		setupErr = err
		return m.Run()
	}
	fmt.Fprintf(os.Stderr, "e2etls: waiting for the lab run lock %s\n", e2e.RunLock)
	release, err := e2e.LockRun()
	if err != nil {
		setupErr = err
		return m.Run()
	}
	defer release()

	dir, err := os.MkdirTemp("", "swarm-e2etls-")
	if err != nil {
		setupErr = fmt.Errorf("temp dir: %w", err)
		return m.Run()
	}
	ctx := context.Background()
	state := e2e.StateDir()
	env, err := up(ctx, script, state, dir)
	if err != nil {
		setupErr = err
	}
	theEnv = env
	code := withManager(m, dir)
	keep := os.Getenv("LAB_KEEP") == "1"
	if env != nil && !keep {
		if err := env.Lab.Down(ctx, os.Stderr); err != nil {
			fmt.Fprintf(os.Stderr, "e2etls: tearing the lab down: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	} else if env != nil {
		fmt.Fprintf(os.Stderr, "e2etls: TLS lab left up (certificates in %s); stop it with: %s down\n", env.Certs, script)
	}
	if code == 0 && !keep {
		_ = os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "e2etls: binary and manager log kept in %s\n", dir)
	}
	return code
}

// up builds the swarm binary and brings the lab up in TLS mode. It returns a non-nil Env
// whenever lab.sh ran, even on error, so that the caller brings the lab down again.
func up(ctx context.Context, script, state, dir string) (*Env, error) {
	bin, err := e2e.BuildSwarm(ctx, script, dir)
	if err != nil {
		return nil, err
	}
	env := &Env{Lab: &e2e.Lab{Script: script, State: state}, Certs: filepath.Join(state, "certs"), Bin: bin}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", script, "up", "--tls")
	cmd.Env = append(os.Environ(), "LAB_STATE="+state, "SWARM_BIN="+bin)
	cmd.Stdout = io.MultiWriter(&out, os.Stderr)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		return env, fmt.Errorf("lab.sh up --tls: %w\n%s", err, out.String())
	}
	lab, err := e2e.Load(script, state)
	if err != nil {
		return env, err
	}
	for i := range lab.Engines {
		lab.Engines[i].Addr = net.JoinHostPort(lab.Engines[i].IP, enginePort)
	}
	env.Lab = lab
	mode, err := os.ReadFile(filepath.Join(state, "mode"))
	if err != nil || strings.TrimSpace(string(mode)) != "tls" {
		return env, fmt.Errorf("lab.sh up --tls did not leave a TLS lab (mode file: %q, %v)", mode, err)
	}
	return env, nil
}

// withManager starts the manager in front of the TLS lab, runs the tests and stops the
// manager by its PID. The lab's addresses are only contacted once up succeeded.
func withManager(m *testing.M, dir string) int {
	if setupErr != nil || theEnv == nil {
		return m.Run()
	}
	mgr, err := startManager(theEnv, dir)
	if err != nil {
		setupErr = err
		return m.Run()
	}
	theEnv.mgr = mgr
	fmt.Fprintf(os.Stderr, "e2etls: manager pid %d at tcp://%s (TLS), log %s\n", mgr.PID(), ManagerAddr, mgr.Log)
	code := m.Run()
	mgr.Stop()
	return code
}

// Need returns the TLS lab with its manager, skipping the test when end-to-end tests cannot
// run here and failing it when the lab or the manager could not be started or has died.
func Need(t testing.TB) *Env {
	t.Helper()
	if skipWhy != "" {
		t.Skip(skipWhy)
	}
	if setupErr != nil {
		t.Fatalf("TLS lab: %v", setupErr)
	}
	if theEnv.mgr.Exited() {
		t.Fatalf("the manager has exited; its log ends:\n%s", theEnv.mgr.LogTail(30))
	}
	return theEnv
}
