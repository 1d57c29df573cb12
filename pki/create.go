package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Validity of what Create issues when CreateOptions leaves it zero.
const (
	DefaultCAValidity   = 10 * 365 * 24 * time.Hour
	DefaultLeafValidity = 2 * 365 * 24 * time.Hour
)

// Names inside the --out directory. Every bundle directory holds ca.pem,
// cert.pem and key.pem, which is what the docker CLI reads from
// DOCKER_CERT_PATH and what dockerd's --tlscacert/--tlscert/--tlskey expect.
const (
	CAFile           = "ca.pem"
	CAKeyFile        = "ca-key.pem"
	CertFile         = "cert.pem"
	KeyFile          = "key.pem"
	ManagerDir       = "manager"
	ManagerClientDir = "manager-client"
	NodesDir         = "nodes"
	DefaultClient    = "client"
	// ManagerClientName is the CommonName of the certificate the manager
	// presents to engines.
	ManagerClientName = "swarm-manager"
)

// Modes of what Create writes: private keys and their directories are
// readable by the owner only.
const (
	keyMode  os.FileMode = 0o600
	certMode os.FileMode = 0o644
	dirMode  os.FileMode = 0o700
)

// ErrCAExists is returned (wrapped) by Create when the output directory
// already holds a CA and neither Force nor ReuseCA is set.
var ErrCAExists = errors.New("CA already exists")

// Node is one engine: its certificate carries Name as a DNS SAN and IP as
// an IP SAN.
type Node struct {
	Name string
	IP   net.IP
}

// CreateOptions is what `swarm certs create` was asked for.
type CreateOptions struct {
	// Out is the directory everything is written to; created 0700 if missing.
	Out string
	// Managers are host names and IPs the manager is reached at; each
	// becomes a DNS or IP SAN next to localhost, 127.0.0.1 and ::1.
	Managers []string
	// Nodes get one server certificate each, in nodes/NAME/.
	Nodes []Node
	// Clients get one docker CLI client certificate each, in NAME/.
	// Empty means one client named "client" (unless ReuseCA is set).
	Clients []string
	// Force replaces an existing CA. Every certificate it signed stops
	// being trusted by anything that gets the new ca.pem.
	Force bool
	// ReuseCA signs with the CA already in Out instead of making one, so a
	// node or client can be added or re-issued without touching the rest.
	// Only what is asked for is issued: no default client, and the manager
	// certificates only when Managers is set.
	ReuseCA bool
	// Validity of the issued leaves; zero means DefaultLeafValidity.
	Validity time.Duration
	// Now is the issue time; zero means time.Now(). Tests set it.
	Now time.Time
}

// Bundle is one directory laid out for dockerd or the docker CLI.
type Bundle struct {
	Dir  string
	CA   string
	Cert string
	Key  string
}

// Layout says where Create wrote everything. Bundles that were not issued
// (see ReuseCA) are zero.
type Layout struct {
	CA    string
	CAKey string
	// Manager is the manager listener's server certificate
	// (--tlscacert/--tlscert/--tlskey of `swarm manage`).
	Manager Bundle
	// ManagerClient is what the manager presents to engines
	// (--engine-tlscacert/--engine-tlscert/--engine-tlskey).
	ManagerClient Bundle
	// Nodes maps node name to the engine's server bundle (dockerd
	// --tlsverify --tlscacert --tlscert --tlskey).
	Nodes map[string]Bundle
	// Clients maps client name to a DOCKER_CERT_PATH directory.
	Clients map[string]Bundle
}

// Create writes a CA and the certificates opts asks for, and returns where
// they are. It validates opts first and writes nothing when they are bad.
// It refuses to replace an existing CA (ErrCAExists) unless opts.Force is
// set; with opts.ReuseCA it signs with that CA instead.
func Create(opts CreateOptions) (Layout, error) {
	if err := opts.Validate(); err != nil {
		return Layout{}, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	validity := opts.Validity
	if validity == 0 {
		validity = DefaultLeafValidity
	}
	layout := Layout{
		CA:      filepath.Join(opts.Out, CAFile),
		CAKey:   filepath.Join(opts.Out, CAKeyFile),
		Nodes:   map[string]Bundle{},
		Clients: map[string]Bundle{},
	}
	ca, err := prepareAuthority(opts, layout, now)
	if err != nil {
		return Layout{}, err
	}

	// Sign everything before writing anything, so a signing failure leaves
	// no half-written directory behind.
	var plan []planned
	if !now.Before(ca.cert.NotAfter) {
		return Layout{}, fmt.Errorf("CA %s expired on %s: create a new one with --force and redistribute the certificates",
			layout.CA, ca.cert.NotAfter.UTC().Format(time.RFC3339))
	}
	leaf := func(b Bundle, spec leafSpec) {
		spec.notBefore = now.Add(-clockSkew)
		// A leaf outliving its CA would fail verification anyway.
		spec.notAfter = minTime(now.Add(validity), ca.cert.NotAfter)
		plan = append(plan, planned{bundle: b, spec: spec})
	}
	if len(opts.Managers) > 0 {
		layout.Manager = bundleAt(opts.Out, ManagerDir)
		dns, ips := managerSANs(opts.Managers)
		leaf(layout.Manager, leafSpec{commonName: opts.Managers[0], dns: dns, ips: ips, usage: x509.ExtKeyUsageServerAuth})
		layout.ManagerClient = bundleAt(opts.Out, ManagerClientDir)
		leaf(layout.ManagerClient, leafSpec{commonName: ManagerClientName, usage: x509.ExtKeyUsageClientAuth})
	}
	for _, n := range opts.Nodes {
		b := bundleAt(opts.Out, filepath.Join(NodesDir, n.Name))
		layout.Nodes[n.Name] = b
		leaf(b, leafSpec{commonName: n.Name, dns: []string{n.Name}, ips: []net.IP{n.IP}, usage: x509.ExtKeyUsageServerAuth})
	}
	clients := opts.Clients
	if len(clients) == 0 && !opts.ReuseCA {
		clients = []string{DefaultClient}
	}
	for _, name := range clients {
		b := bundleAt(opts.Out, name)
		layout.Clients[name] = b
		leaf(b, leafSpec{commonName: name, usage: x509.ExtKeyUsageClientAuth})
	}
	for i := range plan {
		if plan[i].out, err = ca.issue(plan[i].spec); err != nil {
			return Layout{}, err
		}
	}

	if err := mkdirPrivate(opts.Out); err != nil {
		return Layout{}, err
	}
	if ca.keyPEM != nil {
		if err := writeFile(layout.CAKey, ca.keyPEM, keyMode); err != nil {
			return Layout{}, err
		}
		if err := writeFile(layout.CA, ca.certPEM, certMode); err != nil {
			return Layout{}, err
		}
	}
	for _, p := range plan {
		if err := writeBundle(p.bundle, ca.certPEM, p.out); err != nil {
			return Layout{}, err
		}
	}
	return layout, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// planned is one leaf to sign and where it goes.
type planned struct {
	bundle Bundle
	spec   leafSpec
	out    issued
}

// newCA is the authority Create signs with; keyPEM is set only when the CA
// is new and must be written.
type newCA struct {
	*authority
	keyPEM []byte
}

func prepareAuthority(opts CreateOptions, layout Layout, now time.Time) (newCA, error) {
	_, certErr := os.Stat(layout.CA)
	_, keyErr := os.Stat(layout.CAKey)
	exists := certErr == nil || keyErr == nil
	if opts.ReuseCA {
		a, err := loadAuthority(layout.CA, layout.CAKey)
		if err != nil {
			return newCA{}, fmt.Errorf("--reuse-ca: %w (run without --reuse-ca to create a CA in %s)", err, opts.Out)
		}
		return newCA{authority: a}, nil
	}
	if exists && !opts.Force {
		return newCA{}, fmt.Errorf("%s: %w; refusing to replace it because every certificate it signed would stop being trusted: "+
			"pass --reuse-ca to sign new certificates with it, --force to replace it, or choose another --out", opts.Out, ErrCAExists)
	}
	a, keyPEM, err := newAuthority(now, DefaultCAValidity)
	if err != nil {
		return newCA{}, err
	}
	return newCA{authority: a, keyPEM: keyPEM}, nil
}

func bundleAt(out, rel string) Bundle {
	dir := filepath.Join(out, rel)
	return Bundle{
		Dir:  dir,
		CA:   filepath.Join(dir, CAFile),
		Cert: filepath.Join(dir, CertFile),
		Key:  filepath.Join(dir, KeyFile),
	}
}

// managerSANs splits the manager names into DNS and IP SANs, adds the
// loopback names so a docker CLI on the manager's own machine can connect,
// and drops duplicates.
func managerSANs(managers []string) ([]string, []net.IP) {
	var dns []string
	var ips []net.IP
	seen := map[string]bool{}
	for _, m := range append(append([]string{}, managers...), "localhost", "127.0.0.1", "::1") {
		if ip := net.ParseIP(m); ip != nil {
			if !seen[ip.String()] {
				seen[ip.String()] = true
				ips = append(ips, ip)
			}
			continue
		}
		if !seen[m] {
			seen[m] = true
			dns = append(dns, m)
		}
	}
	return dns, ips
}

func writeBundle(b Bundle, caPEM []byte, out issued) error {
	if err := mkdirPrivate(filepath.Dir(b.Dir)); err != nil {
		return err
	}
	if err := mkdirPrivate(b.Dir); err != nil {
		return err
	}
	if err := os.Chmod(b.Dir, dirMode); err != nil {
		return fmt.Errorf("restrict %s to its owner: %w", b.Dir, err)
	}
	if err := writeFile(b.Key, out.keyPEM, keyMode); err != nil {
		return err
	}
	if err := writeFile(b.Cert, out.certPEM, certMode); err != nil {
		return err
	}
	return writeFile(b.CA, caPEM, certMode)
}

// mkdirPrivate creates dir (and parents) with mode 0700 when missing; an
// existing directory keeps its mode, so --out . never changes the current
// directory's permissions.
func mkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	return nil
}

// writeFile replaces path atomically: the content goes to a temporary file
// created 0600 in the same directory, gets its final mode, then is renamed,
// so a key is never readable by others even for a moment.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("set mode of %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
