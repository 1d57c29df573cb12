package api_test

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/api"
	"github.com/swarmlab/swarm/cluster"
	"github.com/swarmlab/swarm/cluster/engine"
	"github.com/swarmlab/swarm/filters"
	"github.com/swarmlab/swarm/scheduler"
)

const dockerd = "/usr/sbin/dockerd"

// startDockerd runs a real engine with its own data and exec root, no
// bridge and no iptables changes, on a loopback TCP port. It is stopped
// by PID when the test ends.
func startDockerd(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("real engine test skipped in -short mode")
	}
	if _, err := os.Stat(dockerd); err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and " + dockerd)
	}
	dir, err := os.MkdirTemp("/tmp", "swt")
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	logf, err := os.Create(filepath.Join(dir, "dockerd.log"))
	require.NoError(t, err)
	cmd := exec.Command(dockerd, "--data-root", dir+"/d", "--exec-root", dir+"/x", "--pidfile", dir+"/pid",
		"-H", "tcp://"+addr, "-H", "unix://"+dir+"/s", "--bridge=none", "--iptables=false", "--ip-masq=false", "--storage-driver=vfs")
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		_ = logf.Close()
		_ = os.RemoveAll(dir)
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/_ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 100*time.Millisecond, "dockerd did not come up; see its log")
	return addr
}

// busyboxTar is a one-binary image: busybox-static and a few applets.
func busyboxTar(t *testing.T) string {
	t.Helper()
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skip("needs /bin/busybox (busybox-static)")
	}
	path := filepath.Join(t.TempDir(), "busybox.tar")
	f, err := os.Create(path)
	require.NoError(t, err)
	tw := tar.NewWriter(f)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}))
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin))}))
	_, err = tw.Write(bin)
	require.NoError(t, err)
	for _, applet := range []string{"sh", "cat", "echo", "ls", "sleep", "touch", "tty"} {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}))
	}
	require.NoError(t, tw.Close())
	require.NoError(t, f.Close())
	return path
}

func realManager(t *testing.T, addrs ...string) string {
	t.Helper()
	c, err := cluster.New(cluster.Config{
		Scheduler: scheduler.New(scheduler.Config{Filters: filters.Default()}),
		Dial: func(addr string) (cluster.Engine, error) {
			return engine.Dial(addr, engine.Options{Timeout: 10 * time.Second})
		},
		HeartbeatTimeout: 10 * time.Second,
		Rand:             rand.New(rand.NewSource(1)),
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	t.Cleanup(c.Stop)
	c.SetMembers(addrs)
	require.Eventually(t, func() bool {
		for _, n := range c.Nodes() {
			if n.State != scheduler.NodeHealthy {
				return false
			}
		}
		return len(c.Nodes()) == len(addrs)
	}, 20*time.Second, 20*time.Millisecond)
	s, err := api.New(api.Config{Cluster: api.FromCluster(c), Version: "real"})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "http://", "tcp://", 1)
}

// withStdin runs the CLI with stdin from a string.
func (d dockerCLI) withStdin(in string, args ...string) string {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/local/bin/docker", args...)
	cmd.Env = []string{"DOCKER_HOST=" + d.host, "DOCKER_CONFIG=" + d.cfg, "HOME=" + d.cfg, "PATH=/usr/bin:/bin"}
	cmd.Stdin = strings.NewReader(in)
	out, err := cmd.CombinedOutput()
	require.NoError(d.t, err, "docker %s: %s", strings.Join(args, " "), out)
	return string(out)
}

// inTTY runs the CLI under a pseudo-terminal (util-linux script).
func (d dockerCLI) inTTY(args string) string {
	d.t.Helper()
	if _, err := os.Stat("/usr/bin/script"); err != nil {
		d.t.Skip("needs /usr/bin/script for a pseudo-terminal")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/script", "-qefc", "/usr/local/bin/docker "+args, "/dev/null")
	cmd.Env = []string{"DOCKER_HOST=" + d.host, "DOCKER_CONFIG=" + d.cfg, "HOME=" + d.cfg, "PATH=/usr/bin:/bin", "TERM=xterm"}
	out, err := cmd.CombinedOutput()
	require.NoError(d.t, err, "docker %s: %s", args, out)
	return string(out)
}

func TestRealEngineStreams(t *testing.T) {
	addr := startDockerd(t)
	host := realManager(t, addr)
	d := dockerCLI{t: t, host: host, cfg: t.TempDir()}
	start := time.Now().Add(-time.Second)

	out := d.must("import", busyboxTar(t), "busybox:latest")
	assert.Contains(t, out, "sha256:", "import fanned out and streamed back")
	assert.Contains(t, d.must("images", "--format", "{{.Repository}}:{{.Tag}}"), "busybox:latest")

	t.Run("run attached prints the output", func(t *testing.T) {
		assert.Equal(t, "hello\n", d.must("run", "--rm", "busybox", "echo", "hello"))
	})
	t.Run("run -i half-closes stdin", func(t *testing.T) {
		assert.Equal(t, "piped data\n", d.withStdin("piped data\n", "run", "-i", "--rm", "busybox", "cat"))
	})
	t.Run("run -it under a tty", func(t *testing.T) {
		assert.Contains(t, d.inTTY("run -it --rm busybox tty"), "/dev/pts/")
	})
	t.Run("exec", func(t *testing.T) {
		d.must("run", "-d", "--name", "sleeper", "busybox", "sleep", "300")
		assert.Equal(t, "hi\n", d.must("exec", "sleeper", "echo", "hi"))
		d.must("exec", "-d", "sleeper", "touch", "/made")
		assert.Eventually(t, func() bool {
			out, err := d.run("exec", "sleeper", "ls", "/made")
			return err == nil && out == "/made\n"
		}, 10*time.Second, 50*time.Millisecond, "detached exec ran")
		assert.Equal(t, "in\n", d.withStdin("in\n", "exec", "-i", "sleeper", "cat"))
		assert.Contains(t, d.inTTY("exec -it sleeper tty"), "/dev/pts/")
	})
	t.Run("cp both ways", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "note.txt")
		require.NoError(t, os.WriteFile(src, []byte("copied\n"), 0o644))
		d.must("cp", src, "sleeper:/note.txt")
		assert.Equal(t, "copied\n", d.must("exec", "sleeper", "cat", "/note.txt"))
		dst := filepath.Join(t.TempDir(), "back.txt")
		d.must("cp", "sleeper:/note.txt", dst)
		got, err := os.ReadFile(dst)
		require.NoError(t, err)
		assert.Equal(t, "copied\n", string(got))
	})
	t.Run("logs -f follows until exit", func(t *testing.T) {
		d.must("run", "-d", "--name", "talker", "busybox", "sh", "-c", "echo one; sleep 1; echo two")
		assert.Equal(t, "one\ntwo\n", d.must("logs", "-f", "talker"))
	})
	t.Run("events by node", func(t *testing.T) {
		name := strings.TrimSpace(d.must("inspect", "-f", "{{.Node.Name}}", "sleeper"))
		out := d.must("events", "--since", fmt.Sprint(start.Unix()), "--until", fmt.Sprint(time.Now().Add(time.Second).Unix()),
			"--filter", "node="+name, "--filter", "container=sleeper", "--filter", "event=start",
			"--format", "{{.Actor.Attributes.name}} {{index .Actor.Attributes \"node.name\"}}")
		assert.Equal(t, "sleeper "+name+"\n", out)
	})
	d.must("rm", "-f", "sleeper", "talker")
	assert.NotContains(t, d.must("ps", "-a", "--format", "{{.Names}}"), "sleeper")
}
