package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/discovery/token"
)

func TestDiscoveryForLog(t *testing.T) {
	tests := []struct{ in, want string }{
		{"token://AWU9G8FN7SreOKJigZO3bOAWhxa", "token://AWU9G8FN…"},
		{"TOKEN://AWU9G8FN7SreOKJigZO3bOAWhxa", "token://AWU9G8FN…"},
		{"token://short", "token://short"},
		{"nodes://10.0.0.1:2375,10.0.0.2:2375", "nodes://10.0.0.1:2375,10.0.0.2:2375"},
		{"file:///etc/swarm/nodes", "file:///etc/swarm/nodes"},
		{"10.0.0.1:2375", "10.0.0.1:2375"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, discoveryForLog(tt.in))
		})
	}
}

// TestManagerLogsNoToken runs the manager on token:// discovery: the token
// is the cluster's gossip secret, so its log names the discovery by the
// token's first characters only.
func TestManagerLogsNoToken(t *testing.T) {
	tok, err := token.Create(nil)
	require.NoError(t, err)
	cfg, err := parseManage([]string{"-H", "tcp://" + freeAddr(t), "--gossip-addr", "127.0.0.1:0", "token://" + tok}, noEnv, io.Discard)
	require.NoError(t, err)

	logs, stop := startManager(t, cfg)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "msg=listening") },
		10*time.Second, 10*time.Millisecond, "the manager never logged that it listens: %s", logs.String())
	require.NoError(t, stop())

	out := logs.String()
	assert.Contains(t, out, "discovery=token://"+tok[:tokenShown]+"…")
	assert.NotContains(t, out, tok[tokenShown:], "the token's secret part is in the log")
}
