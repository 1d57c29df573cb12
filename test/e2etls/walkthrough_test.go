package e2etls

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/pki"
	"github.com/swarmlab/swarm/test/e2e"
)

func TestInfoOverTLSShowsFourHealthyNodes(t *testing.T) {
	env := Need(t)
	out := docker(t, env, "info")
	assert.Contains(t, out, " Nodes: 4\n")
	assert.Equal(t, 4, strings.Count(out, "Status: Healthy"), "docker info:\n%s", out)

	var pairs [][2]string
	require.NoError(t, json.Unmarshal([]byte(docker(t, env, "info", "--format", "{{json .SystemStatus}}")), &pairs))
	ci, err := e2e.ParseSystemStatus(pairs)
	require.NoError(t, err)
	require.Len(t, ci.Nodes, 4)
	for _, e := range env.Lab.Engines {
		n, ok := ci.Node(e.Name)
		if !assert.True(t, ok, "node %s in docker info", e.Name) {
			continue
		}
		assert.Equal(t, e.IP+":2376", n.Addr, "the manager reaches %s on its TLS port", e.Name)
		assert.Equal(t, "Healthy", n.Status, "%s: %s", e.Name, n.Error)
		for k, v := range e2e.SeedLabels[e.Name] {
			assert.Equal(t, v, n.Labels[k], "label %s of %s", k, e.Name)
		}
	}
}

func TestRedisWithConstraintsLandsOnBackend1OverTLS(t *testing.T) {
	env := Need(t)
	name := e2e.UniqueName(t, "redis")
	t.Cleanup(func() {
		if r := runDocker(context.Background(), env.ClientCerts(), "rm", "-f", name); r.Err != nil {
			t.Logf("cleanup: %s", r)
		}
	})
	id := strings.TrimSpace(docker(t, env, "run", "-d", "--name", name,
		"--env", "constraint:public!=yes", "--env", "constraint:model==high-memory", "redis"))
	require.Len(t, id, 64, "docker run -d prints the new container's ID")
	node := strings.TrimSpace(docker(t, env, "inspect", "--type", "container", "-f", "{{.Node.Name}}", name))
	assert.Equal(t, "backend1", node)
	assert.Contains(t, strings.Fields(docker(t, env, "ps", "--format", "{{.Names}}")), "backend1/"+name)

	// The engine itself, asked over its own TLS port with the same client certificate.
	backend1, err := env.Lab.Engine("backend1")
	require.NoError(t, err)
	direct := runEngineDocker(t, env, backend1, "ps", "-q", "--no-trunc", "--filter", "name="+name)
	assert.Equal(t, id, strings.TrimSpace(direct), "backend1 runs the container")
}

func TestAttachedRunOverTLS(t *testing.T) {
	env := Need(t)
	out := docker(t, env, "run", "--rm", "busybox", "echo", "hi")
	assert.Equal(t, "hi\n", out)
	in := strings.NewReader("through the hijacked stream\n")
	r := runDockerIn(context.Background(), env.ClientCerts(), in, "run", "--rm", "-i", "busybox", "cat")
	require.NoError(t, r.Err, "%s", r)
	assert.Equal(t, "through the hijacked stream\n", r.Stdout, "stdin reaches the container and its output comes back after stdin closed")
}

func TestClientsWithoutTheRightCertificateGetNothing(t *testing.T) {
	env := Need(t)
	caPEM, err := os.ReadFile(filepath.Join(env.Certs, "ca.pem"))
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(caPEM))

	t.Run("no certificate: the manager closes before answering", func(t *testing.T) {
		got, err := rawTLSRequest(ManagerAddr, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
		assert.Error(t, err)
		assert.Empty(t, got, "not one byte of an answer")
	})
	t.Run("no certificate: an engine closes before answering", func(t *testing.T) {
		e, err := env.Lab.Engine("backend1")
		require.NoError(t, err)
		got, err := rawTLSRequest(e.Addr, &tls.Config{RootCAs: roots, ServerName: e.IP, MinVersion: tls.VersionTLS12})
		assert.Error(t, err)
		assert.Empty(t, got)
	})
	t.Run("certificate from another CA: the docker CLI is refused", func(t *testing.T) {
		other, err := pki.Create(pki.CreateOptions{Out: filepath.Join(t.TempDir(), "other"), Managers: []string{e2e.BridgeIP}, Clients: []string{"mallory"}})
		require.NoError(t, err)
		// The real CA, so the CLI trusts the manager; a client certificate it never signed.
		dir := t.TempDir()
		copyFile(t, filepath.Join(env.Certs, "ca.pem"), filepath.Join(dir, "ca.pem"))
		copyFile(t, other.Clients["mallory"].Cert, filepath.Join(dir, "cert.pem"))
		copyFile(t, other.Clients["mallory"].Key, filepath.Join(dir, "key.pem"))
		r := runDocker(context.Background(), dir, "info")
		require.Error(t, r.Err, "%s", r)
		assert.Regexp(t, `bad certificate|unknown certificate authority|certificate required`, r.Stderr)
		assert.NotContains(t, r.Stdout, "Nodes")
		assert.NotContains(t, r.Stdout+r.Stderr, "backend1")
	})
	t.Run("plain HTTP to the TLS port gets no cluster data", func(t *testing.T) {
		cmd := e2e.DockerCmd(context.Background(), "tcp://"+ManagerAddr, "info")
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "%s", out)
		assert.Contains(t, string(out), "HTTPS server")
		assert.NotContains(t, string(out), "backend1")
	})
	t.Run("engines have no plain TCP port", func(t *testing.T) {
		for _, e := range env.Lab.Engines {
			conn, err := net.DialTimeout("tcp", e.IP+":2375", 2*time.Second)
			if err == nil {
				conn.Close()
			}
			assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "%s:2375 must refuse connections, got %v", e.IP, err)
		}
	})
}

// rawTLSRequest sends GET /info over TLS with cfg and returns whatever came back.
func rawTLSRequest(addr string, cfg *tls.Config) (string, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return "", err // TLS 1.2: the server's refusal ends the handshake itself
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET /info HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", addr); err != nil {
		return "", err
	}
	// TLS 1.3: the handshake completes on the client first; the refusal arrives as an alert.
	got, err := io.ReadAll(conn)
	if err == nil {
		err = errors.New("the connection ended cleanly")
	}
	return string(got), err
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, data, 0o600))
}

// runEngineDocker runs the docker CLI directly against one engine's TLS port.
func runEngineDocker(t *testing.T, env *Env, e e2e.Engine, args ...string) string {
	t.Helper()
	cmd := e2e.DockerCmd(context.Background(), "tcp://"+e.Addr, args...)
	cmd.Env = append(cmd.Env, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH="+env.ClientCerts())
	out, err := cmd.Output()
	require.NoError(t, err, "docker -H tcp://%s %s: %s", e.Addr, strings.Join(args, " "), out)
	return string(out)
}

// TestEngineRestartOverTLS: lab.sh's fault commands work in TLS mode, and the manager
// reconnects to a restarted engine over TLS.
func TestEngineRestartOverTLS(t *testing.T) {
	env := Need(t)
	status := func() string {
		r := runDocker(context.Background(), env.ClientCerts(), "info", "--format", "{{json .SystemStatus}}")
		if r.Err != nil {
			return r.Stderr
		}
		var pairs [][2]string
		if err := json.Unmarshal([]byte(r.Stdout), &pairs); err != nil {
			return err.Error()
		}
		ci, err := e2e.ParseSystemStatus(pairs)
		if err != nil {
			return err.Error()
		}
		n, _ := ci.Node("backend2")
		return n.Status
	}
	ctx := context.Background()
	require.NoError(t, env.Lab.StopEngine(ctx, "backend2"))
	t.Cleanup(func() { _ = env.Lab.StartEngine(ctx, "backend2") })
	var last string
	if !assert.Eventually(t, func() bool { last = status(); return last == "Unhealthy" },
		30*time.Second, 200*time.Millisecond, "backend2 stopped") {
		t.Logf("last status of backend2: %q", last)
	}
	require.NoError(t, env.Lab.StartEngine(ctx, "backend2"))
	if !assert.Eventually(t, func() bool { last = status(); return last == "Healthy" },
		30*time.Second, 200*time.Millisecond, "backend2 restarted") {
		t.Logf("last status of backend2: %q", last)
	}
}
