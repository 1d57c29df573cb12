package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"
)

// Conventional ports.
const (
	// DefaultPort is the manager's plain HTTP port, as for dockerd.
	DefaultPort = 2375
	// DefaultTLSPort is the manager's TLS port (classic Swarm's 3376), so
	// a manager and an engine on one machine do not collide on 2376.
	DefaultTLSPort = 3376
	// EngineTLSPort is dockerd's conventional TLS port.
	EngineTLSPort = 2376
)

// MinVersion is the oldest TLS version any hop accepts.
const MinVersion = tls.VersionTLS12

// ServerOptions are the manager listener's TLS flags, with dockerd's
// meaning:
//
//	neither            plain HTTP; the certificate flags must be unset
//	--tls              TLS with --tlscert/--tlskey, no client authentication
//	--tlsverify        TLS, and only clients presenting a certificate signed
//	                   by --tlscacert get in (implies --tls)
type ServerOptions struct {
	TLS       bool
	TLSVerify bool
	CACert    string
	Cert      string
	Key       string
}

// RegisterFlags binds the options to fs as --tls, --tlsverify,
// --tlscacert, --tlscert and --tlskey. --tls and --tlsverify are booleans.
func (o *ServerOptions) RegisterFlags(fs *flag.FlagSet) {
	fs.BoolVar(&o.TLS, "tls", false, "serve TLS with --tlscert/--tlskey (no client authentication)")
	fs.BoolVar(&o.TLSVerify, "tlsverify", false, "serve TLS and accept only clients with a certificate signed by --tlscacert (implies --tls)")
	fs.StringVar(&o.CACert, "tlscacert", "", "CA that client certificates must be signed by (with --tlsverify)")
	fs.StringVar(&o.Cert, "tlscert", "", "server certificate (PEM)")
	fs.StringVar(&o.Key, "tlskey", "", "server private key (PEM)")
}

// Enabled reports whether the listener serves TLS.
func (o ServerOptions) Enabled() bool { return o.TLS || o.TLSVerify }

// DefaultPort is the port to listen on when -H names none: DefaultTLSPort
// with TLS, DefaultPort without.
func (o ServerOptions) DefaultPort() int {
	if o.Enabled() {
		return DefaultTLSPort
	}
	return DefaultPort
}

// ValidateServerFlags refuses incomplete or contradictory flag sets,
// naming what is missing or extra. It does not read the files.
func ValidateServerFlags(o ServerOptions) error {
	set := func(pairs ...string) []string {
		var names []string
		for i := 0; i < len(pairs); i += 2 {
			if pairs[i+1] != "" {
				names = append(names, pairs[i])
			}
		}
		return names
	}
	unset := func(pairs ...string) []string {
		var names []string
		for i := 0; i < len(pairs); i += 2 {
			if pairs[i+1] == "" {
				names = append(names, pairs[i])
			}
		}
		return names
	}
	switch {
	case o.TLSVerify:
		if missing := unset("--tlscacert", o.CACert, "--tlscert", o.Cert, "--tlskey", o.Key); len(missing) > 0 {
			return fmt.Errorf("--tlsverify needs %s: clients are checked against --tlscacert and the server presents --tlscert/--tlskey "+
				"(swarm certs create writes them to DIR/manager/{ca,cert,key}.pem)", strings.Join(missing, ", "))
		}
	case o.TLS:
		if missing := unset("--tlscert", o.Cert, "--tlskey", o.Key); len(missing) > 0 {
			return fmt.Errorf("--tls needs %s (swarm certs create writes them to DIR/manager/{cert,key}.pem)", strings.Join(missing, ", "))
		}
		if o.CACert != "" {
			return errors.New("--tlscacert is ignored with --tls alone, so any client would get in: " +
				"use --tlsverify to accept only clients signed by that CA, or drop --tlscacert")
		}
	default:
		if extra := set("--tlscacert", o.CACert, "--tlscert", o.Cert, "--tlskey", o.Key); len(extra) > 0 {
			return fmt.Errorf("%s given without --tls or --tlsverify, so the manager would serve plain HTTP: "+
				"add --tlsverify (recommended) or --tls, or drop %s", strings.Join(extra, ", "), strings.Join(extra, ", "))
		}
	}
	return nil
}

// ServerConfig validates o and builds the listener's TLS configuration;
// it returns nil, nil when o asks for plain HTTP. The caller owns the
// result and may wrap its listener with tls.NewListener.
func ServerConfig(o ServerOptions) (*tls.Config, error) {
	if err := ValidateServerFlags(o); err != nil {
		return nil, err
	}
	if !o.Enabled() {
		return nil, nil
	}
	pair, err := tlsPair(o.Cert, o.Key)
	if err != nil {
		return nil, fmt.Errorf("--tlscert/--tlskey: %w", err)
	}
	if err := checkServerCert(pair, o.Cert, time.Now()); err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:   MinVersion,
		Certificates: []tls.Certificate{pair},
		// HTTP/1.1 only, like dockerd: attach, exec and events hijack the
		// connection, which HTTP/2 cannot do.
		NextProtos: []string{"http/1.1"},
		ClientAuth: tls.NoClientCert,
	}
	if o.TLSVerify {
		pool, err := certPool(o.CACert)
		if err != nil {
			return nil, fmt.Errorf("--tlscacert: %w", err)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// checkServerCert refuses a server certificate that no client would
// accept, so the mistake shows at start instead of on every connection.
func checkServerCert(pair tls.Certificate, path string, now time.Time) error {
	leaf := pair.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return fmt.Errorf("--tlscert %s: %w", path, err)
		}
	}
	if now.After(leaf.NotAfter) {
		return fmt.Errorf("--tlscert %s expired on %s: issue a new one (swarm certs create --reuse-ca --out DIR --manager HOST)",
			path, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return fmt.Errorf("--tlscert %s is not valid before %s: check this machine's clock", path, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if len(leaf.ExtKeyUsage) > 0 && !hasUsage(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		return fmt.Errorf("--tlscert %s is not a server certificate (no serverAuth extended key usage): "+
			"use DIR/manager/cert.pem from swarm certs create, not a client certificate", path)
	}
	return nil
}

func hasUsage(usages []x509.ExtKeyUsage, want x509.ExtKeyUsage) bool {
	for _, u := range usages {
		if u == want || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}
