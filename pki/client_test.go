package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEngineClientConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		opts ClientOptions
		want string
	}{
		{"cert without CA", ClientOptions{Cert: "c", Key: "k"}, "engine TLS needs --engine-tlscacert"},
		{"cert without key", ClientOptions{CACert: "ca", Cert: "c"}, "engine TLS needs --engine-tlskey"},
		{"key without cert", ClientOptions{CACert: "ca", Key: "k"}, "engine TLS needs --engine-tlscert"},
		{"allow plain alone", ClientOptions{AllowPlain: true}, "--engine-allow-plain without --engine-tlscacert"},
		{"missing CA file", ClientOptions{CACert: "/nonexistent/ca.pem"}, "--engine-tlscacert: read CA /nonexistent/ca.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := engineClientConfig(tt.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			_, err = NewEnginePolicy(tt.opts)
			assert.ErrorContains(t, err, tt.want)
		})
	}
	cfg, err := engineClientConfig(ClientOptions{})
	require.NoError(t, err)
	assert.Nil(t, cfg, "no engine TLS settings means plain engines")
}

func TestEnginePolicyConfigFor(t *testing.T) {
	layout := testCreate(t, CreateOptions{Managers: []string{"m"}})
	mc := layout.ManagerClient
	withTLS := ClientOptions{CACert: mc.CA, Cert: mc.Cert, Key: mc.Key}
	mixed := withTLS
	mixed.AllowPlain = true
	tests := []struct {
		name       string
		opts       ClientOptions
		addr       string
		wantTLS    bool
		serverName string
		wantErr    []string
	}{
		{"plain manager, bare", ClientOptions{}, "10.0.0.5:2375", false, "", nil},
		{"plain manager, tcp", ClientOptions{}, "tcp://10.0.0.5:2375", false, "", nil},
		{"plain manager, https refused", ClientOptions{}, "https://10.0.0.5:2376", false, "", []string{"https://10.0.0.5:2376", "--engine-tlscacert"}},
		{"tls, bare", withTLS, "10.0.0.5:2376", true, "10.0.0.5", nil},
		{"tls, ipv6", withTLS, "tcp://[fd00::5]:2376", true, "fd00::5", nil},
		{"tls, dns", withTLS, "https://node1.example.com:2376", true, "node1.example.com", nil},
		{"tls, plain refused", withTLS, "http://10.0.0.5:2375", false, "", []string{"http://10.0.0.5:2375", "--engine-allow-plain"}},
		{"mixed, plain allowed", mixed, "http://10.0.0.5:2375", false, "", nil},
		{"mixed, bare is tls", mixed, "10.0.0.6:2376", true, "10.0.0.6", nil},
		{"bad address", withTLS, "10.0.0.5", false, "", []string{`"10.0.0.5"`, "HOST:PORT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewEnginePolicy(tt.opts)
			require.NoError(t, err)
			cfg, err := p.ConfigFor(tt.addr)
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, w := range tt.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			if !tt.wantTLS {
				assert.Nil(t, cfg)
				return
			}
			require.NotNil(t, cfg)
			assert.Equal(t, tt.serverName, cfg.ServerName)
			assert.Len(t, cfg.Certificates, 1)
			assert.NotNil(t, cfg.RootCAs)
			assert.False(t, cfg.InsecureSkipVerify)
		})
	}
}

// engineCase is one engine the manager dials in TestEngineHandshakeErrors.
type engineCase struct {
	name       string
	engine     Bundle        // the engine's server certificate (and CA it trusts)
	manager    ClientOptions // the manager's engine TLS settings
	plain      bool          // the engine serves plain HTTP
	wantReason string        // "" means the request succeeds
	wantText   []string
}

func TestEngineHandshakeErrors(t *testing.T) {
	layout := testCreate(t, CreateOptions{Managers: []string{"m"}, Nodes: []Node{
		{Name: "node1", IP: net.ParseIP("10.0.0.9")},
		{Name: "local", IP: net.ParseIP("127.0.0.1")},
	}})
	other := testCreate(t, CreateOptions{Managers: []string{"m"}, Nodes: []Node{{Name: "stranger", IP: net.ParseIP("127.0.0.1")}}})
	expired := issueInto(t, layout, leafSpec{commonName: "old", dns: []string{"old"}, ips: []net.IP{net.ParseIP("127.0.0.1")},
		usage: x509.ExtKeyUsageServerAuth, notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-time.Hour)})
	mc := layout.ManagerClient
	manager := ClientOptions{CACert: mc.CA, Cert: mc.Cert, Key: mc.Key}

	tests := []engineCase{
		{name: "right certificate", engine: layout.Nodes["local"], manager: manager},
		{name: "missing IP SAN", engine: layout.Nodes["node1"], manager: manager, wantReason: ReasonMissingSAN,
			wantText: []string{"127.0.0.1", "DNS SANs [node1]", "IP SANs [10.0.0.9]", "swarm certs create --out DIR --reuse-ca --node node1=127.0.0.1"}},
		{name: "other CA", engine: other.Nodes["stranger"], manager: manager, wantReason: ReasonUnknownCA,
			wantText: []string{"--engine-tlscacert", `issuer "swarm CA `}},
		{name: "expired", engine: expired, manager: manager, wantReason: ReasonExpired, wantText: []string{"valid from", "--reuse-ca"}},
		{name: "no client certificate", engine: layout.Nodes["local"], manager: ClientOptions{CACert: mc.CA}, wantReason: ReasonClientRejected,
			wantText: []string{"certificate required", "--engine-tlscert"}},
		{name: "plain engine", plain: true, manager: manager, wantReason: ReasonPlainEngine, wantText: []string{"--engine-allow-plain", "--tlsverify"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, calls := startEngine(t, tt)
			policy, err := NewEnginePolicy(tt.manager)
			require.NoError(t, err)
			cfg, err := policy.ConfigFor(addr)
			require.NoError(t, err)
			resp, err := httpClient(cfg).Get("https://" + addr + "/_ping")
			if tt.wantReason == "" {
				require.NoError(t, err)
				resp.Body.Close()
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Nil(t, ExplainVerifyError(addr, err))
				return
			}
			require.Error(t, err)
			explained := ExplainVerifyError(addr, err)
			var ve *VerifyError
			require.True(t, errors.As(explained, &ve), "want a *VerifyError, got %v", explained)
			assert.Equal(t, tt.wantReason, ve.Reason)
			assert.Equal(t, addr, ve.Addr)
			assert.ErrorIs(t, explained, err, "the original error stays reachable")
			assert.Contains(t, explained.Error(), "engine "+addr)
			for _, w := range tt.wantText {
				assert.Contains(t, explained.Error(), w)
			}
			assert.Same(t, explained, ExplainVerifyError(addr, explained), "explaining twice changes nothing")
			if !tt.plain {
				assert.Equal(t, int32(0), calls(), "a failed handshake serves nothing")
			}
		})
	}
}

// startEngine serves /_ping like an engine with tt's certificate (with
// --tlsverify against the engine bundle's CA) or in plain HTTP.
func startEngine(t *testing.T, tt engineCase) (string, func() int32) {
	t.Helper()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("OK")) })
	if tt.plain {
		srv := httptest.NewServer(ok)
		t.Cleanup(srv.Close)
		return srv.Listener.Addr().String(), func() int32 { return 0 }
	}
	cfg, err := ServerConfig(ServerOptions{TLSVerify: true, CACert: tt.engine.CA, Cert: tt.engine.Cert, Key: tt.engine.Key})
	if tt.wantReason == ReasonExpired {
		// ServerConfig refuses an expired certificate at start; a real
		// engine might still serve one, so build the config by hand.
		require.ErrorContains(t, err, "expired")
		pair, err := tlsPair(tt.engine.Cert, tt.engine.Key)
		require.NoError(t, err)
		pool, err := certPool(tt.engine.CA)
		require.NoError(t, err)
		cfg = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	} else {
		require.NoError(t, err)
	}
	srv := startTLSServer(t, cfg, ok)
	return srv.Listener.Addr().String(), srv.calls.Load
}

func TestExplainVerifyErrorLeavesOtherErrorsAlone(t *testing.T) {
	assert.NoError(t, ExplainVerifyError("10.0.0.5:2376", nil))
	refused := errors.New("dial tcp 10.0.0.5:2376: connect: connection refused")
	assert.Same(t, refused, ExplainVerifyError("10.0.0.5:2376", refused))
	// A HostnameError built by hand (as x509 returns it, by value) is
	// explained even without a live handshake.
	cert := &x509.Certificate{DNSNames: []string{"node1"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.9")}}
	err := fmt.Errorf("wrapped: %w", x509.HostnameError{Certificate: cert, Host: "node1.lan"})
	explained := ExplainVerifyError("node1.lan:2376", err)
	assert.Contains(t, explained.Error(), "--node node1.lan=IP")
	assert.Contains(t, explained.Error(), "DNS SANs [node1] and IP SANs [10.0.0.9]")
}
