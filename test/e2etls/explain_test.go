package e2etls

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/pki"
	"github.com/swarmlab/swarm/test/e2e"
)

// A manager that does not trust the engines' CA keeps them out of
// placement, and `docker info` says why in words an operator can act on
// (which engine, what is wrong, how to fix it), not a bare x509 error.
func TestUntrustedEngineCertificateIsExplainedInInfo(t *testing.T) {
	env := Need(t)
	ctx := context.Background()
	other := t.TempDir()
	out, err := exec.CommandContext(ctx, env.Bin, "certs", "create", "--out", other, "--manager", e2e.BridgeIP).CombinedOutput()
	require.NoError(t, err, "swarm certs create: %s", out)
	addr, err := e2e.FreeBridgePort()
	require.NoError(t, err)
	c := func(parts ...string) string {
		return filepath.Join(append([]string{other, "manager-client"}, parts...)...)
	}
	m, err := e2e.LaunchManager(ctx, env.Lab, t.TempDir(), e2e.ManagerOptions{
		Bin: env.Bin, Addr: addr, Healthy: -1,
		Flags: []string{"--engine-tlscacert", c("ca.pem"), "--engine-tlscert", c("cert.pem"), "--engine-tlskey", c("key.pem")},
	})
	require.NoError(t, err)
	defer m.Stop()

	var info string
	require.Eventually(t, func() bool {
		r := e2e.RunDocker(ctx, "tcp://"+addr, "info")
		info = r.Stdout
		return r.Err == nil && strings.Count(info, pki.ReasonUnknownCA) == len(env.Lab.Engines)
	}, 30*time.Second, 200*time.Millisecond, "every engine's error explains the CA; docker info:\n%s", info)
	assert.NotContains(t, info, "Status: Healthy", "no engine it cannot verify takes containers")
	for _, e := range env.Lab.Engines {
		assert.Contains(t, info, "engine "+e.Addr+": "+pki.ReasonUnknownCA, "names the engine %s", e.Name)
	}
	r := e2e.RunDocker(ctx, "tcp://"+addr, "run", "-d", "busybox", "true")
	assert.Error(t, r.Err, "nothing is placed on engines the manager cannot verify")
}
