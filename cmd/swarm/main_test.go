package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnixListenerIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "swarm.sock")
	require.NoError(t, os.WriteFile(path, nil, 0o666), "a stale socket file from an earlier run")
	ls, err := listen([]listenAddr{{Network: "unix", Addr: path}}, nil)
	require.NoError(t, err)
	defer ls[0].Close()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "whoever reaches the manager controls every engine")
	assert.NotZero(t, fi.Mode()&os.ModeSocket)
}

func TestListenErrorNamesTheAddress(t *testing.T) {
	ls, err := listen([]listenAddr{{Network: "tcp", Addr: "127.0.0.1:0"}}, nil)
	require.NoError(t, err)
	defer ls[0].Close()
	taken := ls[0].Addr().String()
	_, err = listen([]listenAddr{{Network: "tcp", Addr: taken}}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-H tcp://"+taken)
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no command", nil, 2, "", "Usage: swarm COMMAND"},
		{"unknown command", []string{"frob"}, 2, "", `unknown command "frob"`},
		{"version", []string{"version"}, 0, "swarm version ", ""},
		{"manage help", []string{"manage", "--help"}, 0, "", "-strategy"},
		{"bad manage flag", []string{"manage", "--strategy", "x", "nodes://a:1"}, 2, "", "valid strategies are spread, binpack, random"},
		{"bad discovery", []string{"manage", "-H", "127.0.0.1:1", "nodes://a:99999"}, 2, "", "a:99999"},
		{"join without advertise", []string{"join", "token://x"}, 2, "", "--advertise is mandatory"},
		{"join with nodes discovery", []string{"join", "--advertise", "10.0.0.1:2375", "nodes://a:1"}, 2, "", "nodes:// discovery needs no agent"},
		{"create", []string{"create"}, 0, "", ""},
		{"list nodes", []string{"list", "nodes://a:1,b:2"}, 0, "a:1\nb:2\n", ""},
		{"certs help", []string{"certs", "--help"}, 0, "Usage: swarm certs create", ""},
		{"certs without create", []string{"certs"}, 2, "", "usage: swarm certs create"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			assert.Equal(t, tt.code, code, "stderr: %s", stderr.String())
			assert.Contains(t, stdout.String(), tt.stdout)
			assert.Contains(t, stderr.String(), tt.stderr)
		})
	}
}
