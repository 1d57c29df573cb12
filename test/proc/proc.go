// Package proc owns the child processes the test harnesses start (swarm manage, swarm join
// agents, enginesim): it starts them with their output in a log file or a writer, tells
// whether they have exited and why, shows the end of their log, and stops them by their own
// PID — SIGTERM, then SIGKILL after a grace period — never by name.
//
// Every process started here gets SIGTERM from the kernel when the thread that started it
// dies (Pdeathsig), so a harness that dies without stopping its children (a -timeout panic,
// a kill) does not leave them running, still retrying engines that are gone.
package proc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// StopGrace is how long Stop and Terminate wait for the process to exit after the first
// signal before they kill it.
const StopGrace = 10 * time.Second

// Process is a started child process. Its methods are safe for concurrent use.
type Process struct {
	name  string
	log   string // file holding stdout and stderr; "" when the caller chose the writers
	cmd   *exec.Cmd
	done  chan struct{} // closed once the process has exited and err is set
	err   error         // what Wait returned
	grace time.Duration // StopGrace; shorter in this package's tests
}

// Start starts cmd, which must not have been started; the caller sets its Stdout, Stderr
// and Stdin. name says what the process is in messages ("swarm manage", "agent-frontend").
// The caller must call Stop (or Terminate) once done with it.
func Start(name string, cmd *exec.Cmd) (*Process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, cmd.Path, err)
	}
	p := &Process{name: name, cmd: cmd, done: make(chan struct{}), grace: StopGrace}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// StartLogged creates the file logPath, starts argv[0] with the arguments argv[1:] and
// sends its stdout and stderr to that file. The caller must call Stop.
func StartLogged(name, logPath string, argv ...string) (*Process, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("start %s: no program given", name)
	}
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	defer f.Close() // the child holds its own descriptor
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	p, err := Start(name, cmd)
	if err != nil {
		return nil, err
	}
	p.log = logPath
	return p, nil
}

// Name is what the process was started as.
func (p *Process) Name() string { return p.name }

// PID is the process's ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// LogPath is the file holding the process's output, or "" when it was started with Start.
func (p *Process) LogPath() string { return p.log }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited tells whether the process is gone (a crash shows up here).
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitErr is nil while the process runs, and says how it ended once it has exited.
func (p *Process) ExitErr() error {
	if !p.Exited() {
		return nil
	}
	return fmt.Errorf("%s (pid %d) exited: %v", p.name, p.PID(), p.err)
}

// Signal sends sig to the process and returns at once (SIGSTOP and SIGCONT freeze and thaw
// it). Signalling a process that has exited is an error: the caller expected it to run.
func (p *Process) Signal(sig syscall.Signal) error {
	if err := p.ExitErr(); err != nil {
		return fmt.Errorf("signal %s: %w", sig, err)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s (pid %d) with %s: %w", p.name, p.PID(), sig, err)
	}
	return nil
}

// Terminate sends sig and blocks until the process has exited; if it is still running after
// StopGrace it is killed and killed is true. It does nothing once the process has exited.
func (p *Process) Terminate(sig syscall.Signal) (killed bool, err error) {
	if p.Exited() {
		return false, nil
	}
	// It may exit between the check and the signal: that is what was asked for.
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return false, fmt.Errorf("signal %s (pid %d) with %s: %w", p.name, p.PID(), sig, err)
	}
	select {
	case <-p.done:
		return false, nil
	case <-time.After(p.grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return true, nil
	}
}

// Stop ends the process by its PID: SIGTERM, then SIGKILL after StopGrace. It blocks until
// the process has exited, is idempotent, and does nothing on a nil Process.
func (p *Process) Stop() {
	if p == nil {
		return
	}
	_, _ = p.Terminate(syscall.SIGTERM)
}

// LogText is the whole log so far, or a note saying why it cannot be read.
func (p *Process) LogText() string {
	if p.log == "" {
		return fmt.Sprintf("(%s has no log file)", p.name)
	}
	b, err := os.ReadFile(p.log)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.log, err)
	}
	return string(b)
}

// LogTail is the last n lines of the log, for failure messages.
func (p *Process) LogTail(n int) string { return Tail(p.LogText(), n) }

// Tail keeps the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
