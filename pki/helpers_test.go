package pki

import (
	"crypto/tls"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/test/logsink"
)

// tlsServer is a TLS test server counting the requests its handler saw.
type tlsServer struct {
	*httptest.Server
	calls  atomic.Int32
	errLog *logsink.Buffer
}

func startTLSServer(t *testing.T, cfg *tls.Config, handler http.Handler) *tlsServer {
	t.Helper()
	require.NotNil(t, cfg)
	s := &tlsServer{errLog: &logsink.Buffer{}}
	if handler == nil {
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("secret")) })
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		handler.ServeHTTP(w, r)
	}))
	s.Config.ErrorLog = log.New(s.errLog, "", 0)
	s.TLS = cfg
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// port is the server's port as a string.
func (s *tlsServer) port(t *testing.T) string {
	_, port, err := net.SplitHostPort(s.Listener.Addr().String())
	require.NoError(t, err)
	return port
}

// clientTLS trusts caPath and presents b's certificate when b is set —
// always, even when its issuer is not among the CAs the server asks for,
// which Go's client would otherwise skip: the server must be the one to
// refuse it.
func clientTLS(t *testing.T, caPath string, b *Bundle) *tls.Config {
	t.Helper()
	pool, err := certPool(caPath)
	require.NoError(t, err)
	cfg := &tls.Config{RootCAs: pool}
	if b != nil {
		pair, err := tlsPair(b.Cert, b.Key)
		require.NoError(t, err)
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
	}
	return cfg
}

func httpClient(cfg *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

// issueInto signs a leaf with the CA of layout and writes it as a bundle in
// a new directory; tests use it for certificates Create never makes
// (expired ones).
func issueInto(t *testing.T, layout Layout, spec leafSpec) Bundle {
	t.Helper()
	ca, err := loadAuthority(layout.CA, layout.CAKey)
	require.NoError(t, err)
	out, err := ca.issue(spec)
	require.NoError(t, err)
	b := bundleAt(t.TempDir(), "bundle")
	require.NoError(t, writeBundle(b, ca.certPEM, out))
	return b
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}
