package e2etls

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/swarmlab/swarm/test/e2e"
)

// startManager starts `swarm manage --tlsverify` on ManagerAddr, as test/e2e starts its
// plain manager, with the certificates of `swarm certs create`: its listener certificate for
// clients, its client certificate for the engines. It returns once `docker info` over TLS
// shows every engine healthy.
func startManager(env *Env, dir string) (*e2e.Manager, error) {
	c := func(parts ...string) string { return filepath.Join(append([]string{env.Certs}, parts...)...) }
	return e2e.LaunchManager(context.Background(), env.Lab, dir, e2e.ManagerOptions{
		Bin:  env.Bin,
		Addr: ManagerAddr,
		Flags: []string{
			"--tlsverify", "--tlscacert", c("manager", "ca.pem"), "--tlscert", c("manager", "cert.pem"), "--tlskey", c("manager", "key.pem"),
			"--engine-tlscacert", c("manager-client", "ca.pem"), "--engine-tlscert", c("manager-client", "cert.pem"),
			"--engine-tlskey", c("manager-client", "key.pem"),
		},
		Docker: func(ctx context.Context, args ...string) e2e.Result {
			return runDocker(ctx, env.ClientCerts(), args...)
		},
	})
}

// runDocker runs the docker CLI against the manager over TLS, the way a user does:
// DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH=certDir, DOCKER_HOST=tcp://10.77.0.1:3376.
// It never fails the test; check Result.Err.
func runDocker(ctx context.Context, certDir string, args ...string) e2e.Result {
	return runDockerIn(ctx, certDir, nil, args...)
}

// runDockerIn is runDocker with stdin (nil for none).
func runDockerIn(ctx context.Context, certDir string, stdin io.Reader, args ...string) e2e.Result {
	ctx, cancel := context.WithTimeout(ctx, e2e.CommandTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = e2e.DockerEnv("tcp://"+ManagerAddr, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH="+certDir)
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdin = stdin
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return e2e.Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
}

// docker runs the docker CLI over TLS as the lab's client and fails the test unless it
// exits 0; it returns stdout.
func docker(t testing.TB, env *Env, args ...string) string {
	t.Helper()
	r := runDocker(context.Background(), env.ClientCerts(), args...)
	if r.Err != nil {
		t.Fatalf("%s", r)
	}
	return r.Stdout
}
