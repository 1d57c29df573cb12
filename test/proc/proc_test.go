package proc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wait bounds every wait on a child in these tests.
const wait = 10 * time.Second

func TestStartLoggedWritesLogAndStops(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "child.log")
	p, err := StartLogged("child", logPath, "sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done; echo err >&2; exec sleep 600")
	require.NoError(t, err)
	t.Cleanup(p.Stop)

	assert.Equal(t, "child", p.Name())
	assert.Equal(t, logPath, p.LogPath())
	assert.Positive(t, p.PID())
	require.Eventually(t, func() bool { return strings.Contains(p.LogText(), "err") }, wait, 10*time.Millisecond)
	assert.Equal(t, "line5\nerr", p.LogTail(2), "stdout and stderr land in the same log, in order")
	assert.False(t, p.Exited())
	assert.NoError(t, p.ExitErr())

	p.Stop()
	assert.True(t, p.Exited())
	require.Error(t, p.ExitErr())
	assert.Contains(t, p.ExitErr().Error(), "signal: terminated")
	assert.Contains(t, p.ExitErr().Error(), fmt.Sprintf("child (pid %d) exited", p.PID()))
	require.Error(t, p.Signal(syscall.SIGCONT), "signalling a process that is gone is an error")
	p.Stop() // idempotent
}

func TestStartLoggedRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, log string
		argv      []string
		want      string
	}{
		{"no program", filepath.Join(dir, "a.log"), nil, "no program given"},
		{"log in a missing directory", filepath.Join(dir, "missing", "a.log"), []string{"true"}, "x log"},
		{"program not found", filepath.Join(dir, "b.log"), []string{filepath.Join(dir, "no-such-binary")}, "start x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := StartLogged("x", tt.log, tt.argv...)
			require.Error(t, err)
			assert.Nil(t, p)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestExitIsSeen(t *testing.T) {
	p, err := Start("quitter", exec.Command("sh", "-c", "exit 3"))
	require.NoError(t, err)
	select {
	case <-p.Done():
	case <-time.After(wait):
		t.Fatal("the child did not exit")
	}
	assert.True(t, p.Exited())
	assert.Contains(t, p.ExitErr().Error(), "exit status 3")
	assert.Equal(t, "(quitter has no log file)", p.LogTail(5))
	killed, err := p.Terminate(syscall.SIGTERM)
	assert.NoError(t, err)
	assert.False(t, killed, "nothing to kill once it has exited")
}

func TestTerminateKillsAfterGrace(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "stubborn.log")
	p, err := StartLogged("stubborn", logPath, "sh", "-c", `trap "" TERM; echo trapped; while :; do sleep 1; done`)
	require.NoError(t, err)
	t.Cleanup(p.Stop)
	p.grace = 200 * time.Millisecond
	require.Eventually(t, func() bool { return strings.Contains(p.LogText(), "trapped") }, wait, 10*time.Millisecond)

	killed, err := p.Terminate(syscall.SIGTERM)
	require.NoError(t, err)
	assert.True(t, killed, "a child ignoring SIGTERM is killed after the grace period")
	assert.Contains(t, p.ExitErr().Error(), "signal: killed")
}

func TestSignalStopsAndContinues(t *testing.T) {
	p, err := Start("sleeper", exec.Command("sleep", "600"))
	require.NoError(t, err)
	t.Cleanup(p.Stop)
	state := func() string {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID()))
		if err != nil {
			return ""
		}
		_, rest, _ := strings.Cut(string(b), ") ")
		return rest[:1]
	}
	require.NoError(t, p.Signal(syscall.SIGSTOP))
	assert.Eventually(t, func() bool { return state() == "T" }, wait, 10*time.Millisecond, "stopped")
	require.NoError(t, p.Signal(syscall.SIGCONT))
	assert.Eventually(t, func() bool { return state() == "S" }, wait, 10*time.Millisecond, "running again")
}

func TestStartSetsParentDeathSignal(t *testing.T) {
	cmd := exec.Command("sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p, err := Start("orphan-guard", cmd)
	require.NoError(t, err)
	t.Cleanup(p.Stop)
	assert.Equal(t, syscall.SIGTERM, cmd.SysProcAttr.Pdeathsig)
	assert.True(t, cmd.SysProcAttr.Setpgid, "the caller's attributes are kept")
}

func TestStopOnNilIsHarmless(t *testing.T) {
	var p *Process
	assert.NotPanics(t, p.Stop)
}

func TestTail(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"fewer lines than n", "a\nb\n", 5, "a\nb"},
		{"last n", "a\nb\nc\nd\n", 2, "c\nd"},
		{"no trailing newline", "a\nb\nc", 1, "c"},
		{"empty", "", 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Tail(tt.in, tt.n))
		})
	}
}
