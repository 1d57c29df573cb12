package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The lab of this test run, set up once by TestMain; read it through Need.
var (
	theLab  *Lab
	labSkip string // why the end-to-end tests are skipped, if they are
	labErr  error  // why the lab could not be brought up, if it could not

	theManager *Manager // swarm manage in front of the lab, started once the lab is up
	managerErr error    // why the manager could not be started, if it could not
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runWithLab(m))
}

func runWithLab(m *testing.M) int {
	if labSkip = SkipReason("end-to-end tests", "./test/e2e"); labSkip != "" {
		return m.Run()
	}
	script, err := FindScript()
	if err != nil {
		labErr = err
		return m.Run()
	}
	release, err := LockRun()
	if err != nil {
		labErr = err
		return m.Run()
	}
	defer release()

	ctx := context.Background()
	state := StateDir()
	reuse := os.Getenv("LAB_REUSE") == "1"
	if reuse {
		// A lab left up in TLS mode (test/e2etls with LAB_KEEP=1) listens on :2376 only and
		// cannot serve these plain-mode tests.
		if mode, _ := os.ReadFile(filepath.Join(state, "mode")); strings.TrimSpace(string(mode)) == "tls" {
			fmt.Fprintf(os.Stderr, "e2e: the lab in %s is in TLS mode; rebuilding it in plain mode\n", state)
		} else if l, err := Load(script, state); err == nil && l.Running(ctx) {
			theLab = l
			fmt.Fprintf(os.Stderr, "e2e: reusing the lab in %s (LAB_REUSE=1)\n", state)
			return runWithManager(m)
		}
	}
	nodes := 0
	if s := os.Getenv("LAB_NODES"); s != "" {
		if nodes, err = strconv.Atoi(s); err != nil || nodes < 1 {
			labErr = fmt.Errorf("LAB_NODES=%q: want a whole number of engines, at least 1", s)
			return m.Run()
		}
	}
	theLab, labErr = Up(ctx, script, state, nodes, os.Stderr)
	code := runWithManager(m)
	if theLab != nil && !reuse && os.Getenv("LAB_KEEP") != "1" {
		if err := theLab.Down(ctx, os.Stderr); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: tearing the lab down: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	} else if theLab != nil {
		fmt.Fprintf(os.Stderr, "e2e: lab left up; stop it with: %s down\n", theLab.Script)
	}
	return code
}

// runWithManager starts the manager in front of a running lab, runs the tests and stops the
// manager by its PID. Only called once the lab is up: 10.77.0.x must not be contacted otherwise.
func runWithManager(m *testing.M) int {
	if theLab == nil || labErr != nil {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "swarm-e2e-manager-")
	if err != nil {
		managerErr = fmt.Errorf("manager temp dir: %w", err)
		return m.Run()
	}
	theManager, managerErr = StartManager(context.Background(), theLab, dir)
	if managerErr == nil {
		fmt.Fprintf(os.Stderr, "e2e: manager pid %d at %s, log %s\n", theManager.PID(), theManager.Host(), theManager.Log)
	}
	code := m.Run()
	if theManager != nil {
		theManager.Stop()
		if code != 0 || os.Getenv("LAB_KEEP") == "1" {
			fmt.Fprintf(os.Stderr, "e2e: manager log kept in %s\n", theManager.Log)
			return code
		}
	}
	_ = os.RemoveAll(dir)
	return code
}

// NeedManager returns the lab and the manager in front of it, skipping or failing the test
// as Need does, and failing it when the manager could not be started or has died. It waits
// until the manager shows every engine healthy (an earlier test may have restarted one).
func NeedManager(t testing.TB) (*Lab, *Manager) {
	t.Helper()
	lab := Need(t)
	if managerErr != nil {
		t.Fatalf("manager: %v", managerErr)
	}
	if theManager.Exited() {
		t.Fatalf("the manager has exited; its log ends:\n%s", theManager.LogTail(30))
	}
	WaitAllHealthy(t, lab, theManager)
	return lab, theManager
}

// Need returns the lab, skipping the test when end-to-end tests cannot run here (not root,
// -short) and failing it when the lab could not be brought up.
func Need(t testing.TB) *Lab {
	t.Helper()
	if labSkip != "" {
		t.Skip(labSkip)
	}
	if labErr != nil {
		t.Fatalf("lab: %v", labErr)
	}
	return theLab
}
