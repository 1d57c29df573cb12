package pki

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateServerFlags(t *testing.T) {
	tests := []struct {
		name string
		opts ServerOptions
		want []string // empty: valid
	}{
		{"plain", ServerOptions{}, nil},
		{"tls", ServerOptions{TLS: true, Cert: "c", Key: "k"}, nil},
		{"tlsverify", ServerOptions{TLSVerify: true, CACert: "ca", Cert: "c", Key: "k"}, nil},
		{"tls and tlsverify", ServerOptions{TLS: true, TLSVerify: true, CACert: "ca", Cert: "c", Key: "k"}, nil},
		{"tlsverify without CA", ServerOptions{TLSVerify: true, Cert: "c", Key: "k"}, []string{"--tlsverify needs --tlscacert:"}},
		{"tlsverify without anything", ServerOptions{TLSVerify: true}, []string{"--tlsverify needs --tlscacert, --tlscert, --tlskey"}},
		{"tlsverify without key", ServerOptions{TLSVerify: true, CACert: "ca", Cert: "c"}, []string{"--tlsverify needs --tlskey"}},
		{"tls without cert", ServerOptions{TLS: true, Key: "k"}, []string{"--tls needs --tlscert"}},
		{"tls with CA", ServerOptions{TLS: true, CACert: "ca", Cert: "c", Key: "k"}, []string{"--tlscacert is ignored with --tls alone", "--tlsverify"}},
		{"cert without tls", ServerOptions{Cert: "c", Key: "k"}, []string{"--tlscert, --tlskey given without --tls or --tlsverify"}},
		{"CA without tls", ServerOptions{CACert: "ca"}, []string{"--tlscacert given without"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateServerFlags(tt.opts)
			if len(tt.want) == 0 {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			_, cfgErr := ServerConfig(tt.opts)
			assert.EqualError(t, cfgErr, err.Error(), "ServerConfig validates the same way")
		})
	}
}

func TestServerOptionsDefaultPort(t *testing.T) {
	assert.Equal(t, 2375, ServerOptions{}.DefaultPort())
	assert.Equal(t, 3376, ServerOptions{TLS: true}.DefaultPort())
	assert.Equal(t, 3376, ServerOptions{TLSVerify: true}.DefaultPort())
}

func TestServerConfigPlainIsNil(t *testing.T) {
	cfg, err := ServerConfig(ServerOptions{})
	require.NoError(t, err)
	assert.Nil(t, cfg)
}

func TestServerConfigBadFiles(t *testing.T) {
	layout := testCreate(t, CreateOptions{Managers: []string{"127.0.0.1"}, Nodes: []Node{{Name: "n1", IP: net.ParseIP("10.0.0.5")}}})
	m := layout.Manager
	expired := issueInto(t, layout, leafSpec{commonName: "old", ips: []net.IP{net.ParseIP("127.0.0.1")}, usage: x509.ExtKeyUsageServerAuth,
		notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-24 * time.Hour)})
	notPEM := writeTemp(t, "ca.pem", "not a certificate")
	tests := []struct {
		name string
		opts ServerOptions
		want []string
	}{
		{"missing cert file", ServerOptions{TLS: true, Cert: filepath.Join(t.TempDir(), "nope.pem"), Key: m.Key}, []string{"--tlscert/--tlskey", "nope.pem"}},
		{"key of another cert", ServerOptions{TLS: true, Cert: m.Cert, Key: layout.ManagerClient.Key}, []string{"--tlscert/--tlskey", m.Cert}},
		{"CA without certificates", ServerOptions{TLSVerify: true, CACert: notPEM, Cert: m.Cert, Key: m.Key}, []string{"--tlscacert", "no PEM certificate"}},
		{"client certificate as server", ServerOptions{TLS: true, Cert: layout.ManagerClient.Cert, Key: layout.ManagerClient.Key}, []string{"not a server certificate"}},
		{"expired server certificate", ServerOptions{TLS: true, Cert: expired.Cert, Key: expired.Key}, []string{"expired on"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ServerConfig(tt.opts)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestTLSVerifyRefusesBadClients is the issue's acceptance test: with
// --tlsverify only a client certificate signed by the CA gets a response,
// and the handler never runs for the others.
func TestTLSVerifyRefusesBadClients(t *testing.T) {
	layout := testCreate(t, CreateOptions{Managers: []string{"127.0.0.1"}, Nodes: []Node{{Name: "n1", IP: net.ParseIP("127.0.0.1")}}})
	other := testCreate(t, CreateOptions{Managers: []string{"127.0.0.1"}})
	expired := issueInto(t, layout, leafSpec{commonName: "late", usage: x509.ExtKeyUsageClientAuth,
		notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-time.Hour)})
	serverCert := layout.Nodes["n1"]
	good := layout.Clients[DefaultClient]
	otherClient := other.Clients[DefaultClient]

	cfg, err := ServerConfig(ServerOptions{TLSVerify: true, CACert: layout.Manager.CA, Cert: layout.Manager.Cert, Key: layout.Manager.Key})
	require.NoError(t, err)
	assert.Equal(t, tls.RequireAndVerifyClientCert, cfg.ClientAuth)
	assert.Equal(t, uint16(tls.VersionTLS12), cfg.MinVersion)

	tests := []struct {
		name   string
		client *tls.Config
		ok     bool
		// wantLog is why the server refused, as it logs it.
		wantLog string
	}{
		{"no certificate", clientTLS(t, layout.CA, nil), false, "client didn't provide a certificate"},
		{"certificate from another CA", clientTLS(t, layout.CA, &otherClient), false, "unknown authority"},
		{"expired certificate", clientTLS(t, layout.CA, &expired), false, "expired"},
		{"server certificate used as client", clientTLS(t, layout.CA, &serverCert), false, "incompatible key usage"},
		{"TLS 1.1", func() *tls.Config {
			c := clientTLS(t, layout.CA, &good)
			c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
			return c
		}(), false, "unsupported versions"},
		{"signed by the CA", clientTLS(t, layout.CA, &good), true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startTLSServer(t, cfg, nil)
			resp, err := httpClient(tt.client).Get(srv.URL + "/info")
			if !tt.ok {
				require.Error(t, err, "the server must refuse this client")
				assert.Contains(t, err.Error(), "tls")
				assert.Equal(t, int32(0), srv.calls.Load(), "the handler must not run for a refused client")
				assert.Eventually(t, func() bool {
					log := srv.errLog.String()
					return strings.Contains(log, "TLS handshake error") && strings.Contains(log, tt.wantLog)
				}, 5*time.Second, 10*time.Millisecond, "the server logs why it refused the handshake")
				return
			}
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, "secret", string(body))
			assert.Equal(t, int32(1), srv.calls.Load())
		})
	}
}

func TestTLSWithoutVerifyServesClientsWithoutCertificates(t *testing.T) {
	layout := testCreate(t, CreateOptions{Managers: []string{"127.0.0.1"}})
	cfg, err := ServerConfig(ServerOptions{TLS: true, Cert: layout.Manager.Cert, Key: layout.Manager.Key})
	require.NoError(t, err)
	assert.Equal(t, tls.NoClientCert, cfg.ClientAuth)
	srv := startTLSServer(t, cfg, nil)
	resp, err := httpClient(clientTLS(t, layout.CA, nil)).Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, int32(1), srv.calls.Load())
}
