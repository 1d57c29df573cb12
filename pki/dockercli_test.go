package pki

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dockerCLI is where the lab installs the docker CLI.
const dockerCLI = "/usr/local/bin/docker"

const fakeServerVersion = "swarm/pki-test"

// fakeEngine answers /_ping and /version the way dockerd does, which is
// all `docker version` needs.
func fakeEngine() http.Handler {
	mux := http.NewServeMux()
	ping := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("API-Version", "1.45")
		w.Header().Set("OSType", "linux")
		w.Header().Set("Docker-Experimental", "false")
		_, _ = w.Write([]byte("OK"))
	}
	version := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"Platform":      map[string]string{"Name": "swarm"},
			"Version":       fakeServerVersion,
			"ApiVersion":    "1.45",
			"MinAPIVersion": "1.24",
			"Os":            "linux",
			"Arch":          "amd64",
		})
	}
	mux.HandleFunc("/_ping", ping)
	mux.HandleFunc("/{ver}/_ping", ping)
	mux.HandleFunc("/version", version)
	mux.HandleFunc("/{ver}/version", version)
	return mux
}

// runDocker runs the docker CLI with a clean configuration and the given
// extra environment; it returns stdout and the error (stderr included).
func runDocker(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, dockerCLI, args...)
	home := t.TempDir()
	cmd.Env = append([]string{"HOME=" + home, "DOCKER_CONFIG=" + filepath.Join(home, ".docker"), "PATH=" + os.Getenv("PATH")}, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), &cliError{err: err, stderr: stderr.String()}
	}
	return strings.TrimSpace(string(out)), nil
}

type cliError struct {
	err    error
	stderr string
}

func (e *cliError) Error() string { return e.err.Error() + ": " + e.stderr }

// TestDockerCLIOverTLSVerify drives the real docker CLI against a listener
// built with ServerConfig(--tlsverify) and certificates from Create.
func TestDockerCLIOverTLSVerify(t *testing.T) {
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Skipf("docker CLI not installed at %s: %v", dockerCLI, err)
	}
	layout := testCreate(t, CreateOptions{Managers: []string{"manager.example.com"}, Clients: []string{"client", "alice"}})
	other := testCreate(t, CreateOptions{Managers: []string{"127.0.0.1"}})
	cfg, err := ServerConfig(ServerOptions{TLSVerify: true, CACert: layout.Manager.CA, Cert: layout.Manager.Cert, Key: layout.Manager.Key})
	require.NoError(t, err)
	srv := startTLSServer(t, cfg, fakeEngine())
	host := "tcp://127.0.0.1:" + srv.port(t)

	// A client directory with the right CA but a certificate from another
	// CA: the CLI trusts the server, the server must refuse the CLI.
	foreign := Bundle{Dir: t.TempDir()}
	for src, dst := range map[string]string{layout.CA: CAFile, other.Clients[DefaultClient].Cert: CertFile, other.Clients[DefaultClient].Key: KeyFile} {
		data, err := os.ReadFile(src)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(foreign.Dir, dst), data, 0o600))
	}

	alice := layout.Clients["alice"]
	tests := []struct {
		name string
		env  []string
		args []string
		ok   bool
	}{
		{"DOCKER_CERT_PATH", []string{"DOCKER_HOST=" + host, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + layout.Clients[DefaultClient].Dir},
			[]string{"version", "--format", "{{.Server.Version}}"}, true},
		{"flags", nil, []string{"--tlsverify", "--tlscacert", alice.CA, "--tlscert", alice.Cert, "--tlskey", alice.Key,
			"-H", host, "version", "--format", "{{.Server.Version}}"}, true},
		{"certificate from another CA", []string{"DOCKER_HOST=" + host, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=" + foreign.Dir},
			[]string{"version", "--format", "{{.Server.Version}}"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.calls.Load()
			out, err := runDocker(t, tt.env, tt.args...)
			if !tt.ok {
				require.Error(t, err, "docker must fail, printed %q", out)
				assert.NotContains(t, out, fakeServerVersion)
				assert.Equal(t, before, srv.calls.Load(), "the refused CLI must reach no handler")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, fakeServerVersion, out)
			assert.Greater(t, srv.calls.Load(), before)
		})
	}
}
