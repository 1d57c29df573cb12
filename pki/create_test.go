package pki

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	block, _ := pem.Decode(data)
	require.NotNil(t, block, "no PEM in %s", path)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return cert
}

func ipStrings(ips []net.IP) []string {
	var out []string
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	return out
}

func testCreate(t *testing.T, opts CreateOptions) Layout {
	t.Helper()
	if opts.Out == "" {
		opts.Out = filepath.Join(t.TempDir(), "certs")
	}
	layout, err := Create(opts)
	require.NoError(t, err)
	return layout
}

func TestCreateIssuesChainedCertificatesWithSANs(t *testing.T) {
	layout := testCreate(t, CreateOptions{
		Managers: []string{"manager.example.com", "10.0.0.2"},
		Nodes:    []Node{{Name: "node1", IP: net.ParseIP("10.0.0.5")}, {Name: "node2", IP: net.ParseIP("fd00::6")}},
		Clients:  []string{"alice", "bob"},
	})
	roots := x509.NewCertPool()
	roots.AddCert(readCert(t, layout.CA))

	tests := []struct {
		name   string
		bundle Bundle
		cn     string
		dns    []string
		ips    []string
		usage  x509.ExtKeyUsage
	}{
		{"manager", layout.Manager, "manager.example.com",
			[]string{"manager.example.com", "localhost"}, []string{"10.0.0.2", "127.0.0.1", "::1"}, x509.ExtKeyUsageServerAuth},
		{"manager-client", layout.ManagerClient, ManagerClientName, nil, nil, x509.ExtKeyUsageClientAuth},
		{"node1", layout.Nodes["node1"], "node1", []string{"node1"}, []string{"10.0.0.5"}, x509.ExtKeyUsageServerAuth},
		{"node2", layout.Nodes["node2"], "node2", []string{"node2"}, []string{"fd00::6"}, x509.ExtKeyUsageServerAuth},
		{"alice", layout.Clients["alice"], "alice", nil, nil, x509.ExtKeyUsageClientAuth},
		{"bob", layout.Clients["bob"], "bob", nil, nil, x509.ExtKeyUsageClientAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NotEmpty(t, tt.bundle.Dir)
			cert := readCert(t, tt.bundle.Cert)
			_, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{tt.usage}})
			assert.NoError(t, err, "certificate must chain to the CA for its usage")
			assert.Equal(t, tt.cn, cert.Subject.CommonName)
			assert.Equal(t, tt.dns, cert.DNSNames)
			assert.Equal(t, tt.ips, ipStrings(cert.IPAddresses))
			assert.False(t, cert.IsCA)
			// The copy of the CA in the bundle is the CA.
			assert.Equal(t, readCert(t, layout.CA).Raw, readCert(t, tt.bundle.CA).Raw)

			for _, host := range append(tt.dns, tt.ips...) {
				assert.NoError(t, cert.VerifyHostname(host), "SAN %s", host)
			}
		})
	}
}

func TestCreateDefaultClientAndModes(t *testing.T) {
	layout := testCreate(t, CreateOptions{Managers: []string{"10.0.0.2"}, Nodes: []Node{{Name: "n1", IP: net.ParseIP("10.0.0.5")}}})
	require.Contains(t, layout.Clients, DefaultClient)
	client := layout.Clients[DefaultClient]
	assert.Equal(t, filepath.Join(filepath.Dir(layout.CA), "client"), client.Dir)

	keys := []string{layout.CAKey, layout.Manager.Key, layout.ManagerClient.Key, layout.Nodes["n1"].Key, client.Key}
	for _, k := range keys {
		t.Run(filepath.Base(filepath.Dir(k))+"/"+filepath.Base(k), func(t *testing.T) {
			st, err := os.Stat(k)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
		})
	}
	dirs := []string{filepath.Dir(layout.CA), layout.Manager.Dir, layout.ManagerClient.Dir, layout.Nodes["n1"].Dir, client.Dir}
	for _, d := range dirs {
		t.Run(d, func(t *testing.T) {
			st, err := os.Stat(d)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
		})
	}
	// Keys and certificates load as pairs, as dockerd and the docker CLI will.
	for _, b := range []Bundle{layout.Manager, layout.ManagerClient, layout.Nodes["n1"], client} {
		_, err := tlsPair(b.Cert, b.Key)
		assert.NoError(t, err, b.Dir)
	}
}

func TestCreateRefusesToReplaceCA(t *testing.T) {
	out := filepath.Join(t.TempDir(), "certs")
	first := testCreate(t, CreateOptions{Out: out, Managers: []string{"m1"}})
	before, err := os.ReadFile(first.CA)
	require.NoError(t, err)

	_, err = Create(CreateOptions{Out: out, Managers: []string{"m1"}})
	require.ErrorIs(t, err, ErrCAExists)
	assert.Contains(t, err.Error(), out)
	assert.Contains(t, err.Error(), "--force")
	assert.Contains(t, err.Error(), "--reuse-ca")
	after, err := os.ReadFile(first.CA)
	require.NoError(t, err)
	assert.Equal(t, before, after, "refused create must not touch the CA")

	t.Run("reuse-ca signs with the existing CA", func(t *testing.T) {
		l := testCreate(t, CreateOptions{Out: out, ReuseCA: true, Nodes: []Node{{Name: "late", IP: net.ParseIP("10.0.0.9")}}})
		roots := x509.NewCertPool()
		roots.AddCert(readCert(t, first.CA))
		_, err := readCert(t, l.Nodes["late"].Cert).Verify(x509.VerifyOptions{Roots: roots})
		assert.NoError(t, err)
		assert.Empty(t, l.Clients, "reuse-ca issues only what is asked for")
		assert.Empty(t, l.Manager.Dir)
		again, err := os.ReadFile(first.CA)
		require.NoError(t, err)
		assert.Equal(t, before, again)
	})
	t.Run("force replaces it", func(t *testing.T) {
		testCreate(t, CreateOptions{Out: out, Force: true, Managers: []string{"m1"}})
		replaced, err := os.ReadFile(first.CA)
		require.NoError(t, err)
		assert.NotEqual(t, before, replaced)
	})
}

func TestCreateReuseCAWithoutCA(t *testing.T) {
	_, err := Create(CreateOptions{Out: t.TempDir(), ReuseCA: true, Clients: []string{"x"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--reuse-ca")
	assert.Contains(t, err.Error(), "without --reuse-ca")
}

func TestCreateValidityFromNow(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	layout := testCreate(t, CreateOptions{Managers: []string{"m"}, Now: now, Validity: 48 * time.Hour})
	cert := readCert(t, layout.Manager.Cert)
	assert.Equal(t, now.Add(48*time.Hour), cert.NotAfter.UTC())
	assert.Equal(t, now.Add(-clockSkew), cert.NotBefore.UTC())
}

func TestCreateInvalidOptionsWriteNothing(t *testing.T) {
	tests := []struct {
		name string
		opts CreateOptions
		want []string
	}{
		{"no out", CreateOptions{Managers: []string{"m"}}, []string{"--out DIR is required"}},
		{"no manager", CreateOptions{Out: "x"}, []string{"--manager is required"}},
		{"manager with port", CreateOptions{Out: "x", Managers: []string{"m:3376"}}, []string{`"m:3376"`, "without a port"}},
		{"manager bad name", CreateOptions{Out: "x", Managers: []string{"a b"}}, []string{`"a b"`, "DNS name"}},
		{"manager unspecified", CreateOptions{Out: "x", Managers: []string{"0.0.0.0"}}, []string{`"0.0.0.0"`, "unspecified"}},
		{"node without IP", CreateOptions{Out: "x", Managers: []string{"m"}, Nodes: []Node{{Name: "n"}}}, []string{"NAME=IP", `"n"`}},
		{"node bad name", CreateOptions{Out: "x", Managers: []string{"m"}, Nodes: []Node{{Name: "../etc", IP: net.ParseIP("10.0.0.1")}}}, []string{"../etc"}},
		{"duplicate node", CreateOptions{Out: "x", Managers: []string{"m"}, Nodes: []Node{
			{Name: "n", IP: net.ParseIP("10.0.0.1")}, {Name: "n", IP: net.ParseIP("10.0.0.2")}}}, []string{"--node n given twice"}},
		{"empty client", CreateOptions{Out: "x", Managers: []string{"m"}, Clients: []string{""}}, []string{"--client", "empty name"}},
		{"reserved client", CreateOptions{Out: "x", Managers: []string{"m"}, Clients: []string{"nodes"}}, []string{`"nodes"`, "used by swarm certs"}},
		{"duplicate client", CreateOptions{Out: "x", Managers: []string{"m"}, Clients: []string{"a", "a"}}, []string{"--client a given twice"}},
		{"force and reuse", CreateOptions{Out: "x", Managers: []string{"m"}, Force: true, ReuseCA: true}, []string{"contradict"}},
		{"reuse nothing", CreateOptions{Out: "x", ReuseCA: true}, []string{"nothing to issue"}},
		{"negative validity", CreateOptions{Out: "x", Managers: []string{"m"}, Validity: -time.Hour}, []string{"negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.opts.Out != "" {
				tt.opts.Out = filepath.Join(dir, tt.opts.Out)
			}
			_, err := Create(tt.opts)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, entries, "nothing may be written for invalid options")
		})
	}
}

func TestLayoutInstructions(t *testing.T) {
	layout := testCreate(t, CreateOptions{Managers: []string{"m"}, Nodes: []Node{{Name: "n1", IP: net.ParseIP("10.0.0.5")}}})
	text := layout.Instructions()
	for _, want := range []string{
		"--tlsverify --tlscacert " + layout.Nodes["n1"].CA,
		"--engine-tlscert " + layout.ManagerClient.Cert,
		"--tlskey " + layout.Manager.Key,
		"DOCKER_CERT_PATH=" + layout.Clients[DefaultClient].Dir,
		"tcp://0.0.0.0:2376", "tcp://0.0.0.0:3376",
	} {
		assert.Contains(t, text, want)
	}
	reuse := Layout{Nodes: map[string]Bundle{"n2": bundleAt("d", "nodes/n2")}}
	assert.NotContains(t, reuse.Instructions(), "swarm manage", "nothing about bundles that were not issued")
}

func TestCreateReuseCALeavesNeverOutliveTheCA(t *testing.T) {
	out := filepath.Join(t.TempDir(), "certs")
	now := time.Now()
	first := testCreate(t, CreateOptions{Out: out, Managers: []string{"m"}, Now: now})
	caEnd := readCert(t, first.CA).NotAfter

	l := testCreate(t, CreateOptions{Out: out, ReuseCA: true, Clients: []string{"late"}, Now: caEnd.Add(-time.Hour)})
	assert.Equal(t, caEnd, readCert(t, l.Clients["late"].Cert).NotAfter)

	_, err := Create(CreateOptions{Out: out, ReuseCA: true, Clients: []string{"later"}, Now: caEnd.Add(time.Hour)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "expired on")
	assert.Contains(t, err.Error(), "--force")
}
