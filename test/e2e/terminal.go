package e2e

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// Terminal runs a docker command under a pseudo-terminal made by util-linux `script`, so
// `docker run -it` and `docker exec -it` see a real TTY on stdin and stdout, and lets a test
// type into it and wait for output. `script` (always on Debian) spares the module a pty
// library. Close it with Wait or Kill.
type Terminal struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	chunks chan string // output as it arrives; closed at EOF
	seen   strings.Builder
}

// StartTerminal starts `docker ARGS…` against host under a new pseudo-terminal. The args are
// passed to the shell that script runs, so they are quoted here.
func StartTerminal(ctx context.Context, host string, args ...string) (*Terminal, error) {
	quoted := make([]string, 0, len(args)+1)
	quoted = append(quoted, "docker")
	for _, a := range args {
		quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	// -q: no "Script started" banner; -f: flush at once; -e: exit with docker's status.
	cmd := exec.CommandContext(ctx, "script", "-qfec", strings.Join(quoted, " "), "/dev/null")
	cmd.Env = DockerEnv(host, "TERM=dumb")
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("terminal stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("terminal stdout: %w", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start script: %w", err)
	}
	t := &Terminal{cmd: cmd, stdin: stdin, chunks: make(chan string, 64)}
	go func() {
		defer close(t.chunks)
		buf := make([]byte, 4096)
		for {
			n, err := stdout.Read(buf)
			if n > 0 {
				t.chunks <- string(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	return t, nil
}

// Type sends keystrokes to the terminal.
func (t *Terminal) Type(s string) error {
	_, err := io.WriteString(t.stdin, s)
	return err
}

// Expect waits until the output since the previous Expect contains want, and returns that
// output. It fails when the output ends or wait passes first.
func (t *Terminal) Expect(want string, wait time.Duration) (string, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		if s := t.seen.String(); strings.Contains(s, want) {
			_, rest, _ := strings.Cut(s, want)
			t.seen.Reset()
			t.seen.WriteString(rest)
			return s, nil
		}
		select {
		case c, ok := <-t.chunks:
			if !ok {
				return t.seen.String(), fmt.Errorf("terminal closed before %q appeared", want)
			}
			t.seen.WriteString(c)
		case <-timer.C:
			return t.seen.String(), fmt.Errorf("%q did not appear within %s", want, wait)
		}
	}
}

// Wait drains the output and waits for the command to exit; the error is docker's exit
// status as script passes it on.
func (t *Terminal) Wait() error {
	for range t.chunks {
	}
	_ = t.stdin.Close()
	return t.cmd.Wait()
}

// Kill ends the command (by its PID) if it is still running and reaps it.
func (t *Terminal) Kill() {
	_ = t.cmd.Process.Kill()
	_ = t.Wait()
}
