package main

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func noEnv(string) string { return "" }

func TestParseManageDefaults(t *testing.T) {
	cfg, err := parseManage([]string{"nodes://10.0.0.1:2375"}, noEnv, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []listenAddr{{Network: "tcp", Addr: "127.0.0.1:2375"}}, cfg.Hosts)
	assert.Equal(t, "spread", cfg.Strategy)
	assert.Equal(t, knownFilters, cfg.Filters)
	assert.Equal(t, 0.05, cfg.Overcommit)
	assert.Equal(t, 30*time.Second, cfg.RefreshMin)
	assert.Equal(t, 60*time.Second, cfg.RefreshMax)
	assert.Equal(t, 3, cfg.FailureRetry)
	assert.Equal(t, "nodes://10.0.0.1:2375", cfg.Discovery)
	assert.Equal(t, 10*time.Minute, cfg.LostRetention)
	assert.Equal(t, 1024, cfg.MaxHijacked, "--max-hijacked default")
}

func TestParseManageFlags(t *testing.T) {
	args := []string{
		"-H", "tcp://0.0.0.0:2375", "-H", "unix:///run/swarm.sock", "--strategy", "binpack",
		"--filter", "health", "--filter=port,constraint", "--cluster-opt", "swarm.overcommit=0.5",
		"--cluster-opt", "swarm.createretry=2", "--engine-refresh-min-interval", "1s",
		"--engine-refresh-max-interval", "2s", "--engine-failure-retry", "5", "-l", "debug",
		"--max-hijacked", "64", "token://abc",
	}
	cfg, err := parseManage(args, noEnv, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []listenAddr{{"tcp", "0.0.0.0:2375"}, {"unix", "/run/swarm.sock"}}, cfg.Hosts)
	assert.Equal(t, "binpack", cfg.Strategy)
	assert.Equal(t, []string{"health", "port", "constraint"}, cfg.Filters)
	assert.Equal(t, 0.5, cfg.Overcommit)
	assert.Equal(t, 2, cfg.CreateRetry)
	assert.Equal(t, time.Second, cfg.RefreshMin)
	assert.Equal(t, 2*time.Second, cfg.RefreshMax)
	assert.Equal(t, 5, cfg.FailureRetry)
	assert.Equal(t, "debug", cfg.LogLevel)
	assert.Equal(t, "token://abc", cfg.Discovery)
	assert.Equal(t, 64, cfg.MaxHijacked)
}

func TestParseManageFlagsAfterDiscovery(t *testing.T) {
	cfg, err := parseManage([]string{"file:///etc/nodes", "-H", ":3375", "--strategy=random"}, noEnv, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "file:///etc/nodes", cfg.Discovery)
	assert.Equal(t, []listenAddr{{"tcp", ":3375"}}, cfg.Hosts)
	assert.Equal(t, "random", cfg.Strategy)
}

func TestParseManageEnvironment(t *testing.T) {
	env := map[string]string{"SWARM_HOST": "tcp://0.0.0.0:4000", "SWARM_DISCOVERY": "nodes://a:1"}
	cfg, err := parseManage(nil, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []listenAddr{{"tcp", "0.0.0.0:4000"}}, cfg.Hosts)
	assert.Equal(t, "nodes://a:1", cfg.Discovery)
}

func TestParseManageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no discovery", nil, "missing discovery"},
		{"lost retention", []string{"--lost-node-retention", "-1s", "nodes://a:1"}, "--lost-node-retention -1s: must be between 0"},
		{"two discoveries", []string{"nodes://a:1", "nodes://b:1"}, "expected one discovery argument"},
		{"bad strategy", []string{"--strategy", "fastest", "nodes://a:1"}, `--strategy "fastest": valid strategies are spread, binpack, random`},
		{"bad filter", []string{"--filter", "gpu", "nodes://a:1"}, `--filter "gpu": valid filters are`},
		{"host without port", []string{"-H", "tcp://0.0.0.0", "nodes://a:1"}, `-H "tcp://0.0.0.0": missing port`},
		{"host port range", []string{"-H", "tcp://0.0.0.0:70000", "nodes://a:1"}, "port must be between 1 and 65535"},
		{"host scheme", []string{"-H", "http://0.0.0.0:80", "nodes://a:1"}, `unknown scheme "http"`},
		{"unix relative", []string{"-H", "unix://sock", "nodes://a:1"}, "absolute path"},
		{"overcommit", []string{"--cluster-opt", "swarm.overcommit=lots", "nodes://a:1"}, "overcommit must be a number from 0 to 10"},
		{"createretry", []string{"--cluster-opt", "swarm.createretry=-1", "nodes://a:1"}, "createretry must be a whole number between 0 and 100"},
		{"unknown cluster opt", []string{"--cluster-opt", "swarm.magic=1", "nodes://a:1"}, `unknown option; valid options are swarm.overcommit, swarm.createretry`},
		{"cluster opt form", []string{"--cluster-opt", "swarm.overcommit", "nodes://a:1"}, "expected KEY=VALUE"},
		{"refresh order", []string{"--engine-refresh-min-interval", "10s", "--engine-refresh-max-interval", "5s", "nodes://a:1"}, "must be at least --engine-refresh-min-interval"},
		{"failure retry", []string{"--engine-failure-retry", "0", "nodes://a:1"}, "--engine-failure-retry 0: must be between 1 and 100"},
		{"heartbeat", []string{"--heartbeat", "1ms", "nodes://a:1"}, "--heartbeat 1ms: must be between 100ms and 1h"},
		{"tlsverify without ca", []string{"--tlsverify", "--tlscert", "c.pem", "--tlskey", "k.pem", "nodes://a:1"}, "--tlscacert"},
		{"log level", []string{"-l", "loud", "nodes://a:1"}, `-l "loud": valid levels`},
		{"unknown flag", []string{"--frobnicate", "nodes://a:1"}, "flag provided but not defined: -frobnicate"},
		{"pprof off loopback", []string{"--pprof", "0.0.0.0:6060", "nodes://a:1"}, "loopback address"},
		{"max hijacked zero", []string{"--max-hijacked", "0", "nodes://a:1"}, "--max-hijacked 0: must be between 1 and 100000"},
		{"max hijacked huge", []string{"--max-hijacked", "1000001", "nodes://a:1"}, "--max-hijacked 1000001: must be between 1 and 100000"},
		{"max hijacked form", []string{"--max-hijacked", "many", "nodes://a:1"}, `invalid value "many" for flag -max-hijacked`},
		{"discovery opt", []string{"--discovery-opt", "kv.cacertfile=/ca.pem", "nodes://a:1"}, `--discovery-opt "kv.cacertfile=/ca.pem": no discovery source takes options`},
		{"pprof form", []string{"--pprof", "6060", "nodes://a:1"}, `--pprof "6060": want 127.0.0.1:PORT`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseManage(tt.args, noEnv, io.Discard)
			require.Error(t, err)
			var ue *usageError
			assert.ErrorAs(t, err, &ue)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestParseManagePprof(t *testing.T) {
	cfg, err := parseManage([]string{"--pprof", "127.0.0.1:6060", "nodes://a:1"}, noEnv, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:6060", cfg.Pprof)
}
