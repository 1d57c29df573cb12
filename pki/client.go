package pki

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
)

// ClientOptions are the manager's TLS settings for talking to engines,
// separate from the listener's: the manager is a client of every engine.
type ClientOptions struct {
	// CACert verifies the engines' server certificates. Required for TLS.
	CACert string
	// Cert and Key are the client certificate the manager presents to
	// engines started with --tlsverify; both or neither.
	Cert string
	Key  string
	// AllowPlain lets engines advertised as http://HOST:PORT be reached
	// without TLS while the others use it. Without it, a manager with
	// engine TLS settings refuses plain engines.
	AllowPlain bool
}

// RegisterFlags binds the options to fs as --engine-tlscacert,
// --engine-tlscert, --engine-tlskey and --engine-allow-plain (a boolean).
func (o *ClientOptions) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.CACert, "engine-tlscacert", "", "CA that engine certificates must be signed by; enables TLS to engines")
	fs.StringVar(&o.Cert, "engine-tlscert", "", "client certificate the manager presents to engines")
	fs.StringVar(&o.Key, "engine-tlskey", "", "private key of --engine-tlscert")
	fs.BoolVar(&o.AllowPlain, "engine-allow-plain", false, "with engine TLS, also accept engines advertised as http://HOST:PORT without TLS")
}

// Enabled reports whether any engine TLS setting was given.
func (o ClientOptions) Enabled() bool { return o.CACert != "" || o.Cert != "" || o.Key != "" }

// validate names what is missing from an incomplete set.
func (o ClientOptions) validate() error {
	if !o.Enabled() {
		if o.AllowPlain {
			return errors.New("--engine-allow-plain without --engine-tlscacert: engines are already all plain; " +
				"add the engine TLS flags or drop --engine-allow-plain")
		}
		return nil
	}
	if o.CACert == "" {
		return errors.New("engine TLS needs --engine-tlscacert: the CA that signed the engines' certificates " +
			"(swarm certs create writes it to DIR/manager-client/ca.pem)")
	}
	if (o.Cert == "") != (o.Key == "") {
		missing := "--engine-tlskey"
		if o.Cert == "" {
			missing = "--engine-tlscert"
		}
		return fmt.Errorf("engine TLS needs %s: --engine-tlscert and --engine-tlskey go together "+
			"(swarm certs create writes them to DIR/manager-client/{cert,key}.pem)", missing)
	}
	return nil
}

// engineClientConfig builds the TLS configuration the manager uses to reach
// engines: engines must present a certificate signed by CACert whose SANs
// cover the address they are dialled at (Go checks an IP address against
// the IP SANs), and the manager presents Cert/Key. It returns nil, nil when
// no engine TLS setting is given. NewEnginePolicy is its only caller:
// ConfigFor then pins the name verified to each engine's advertised address.
func engineClientConfig(o ClientOptions) (*tls.Config, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if !o.Enabled() {
		return nil, nil
	}
	pool, err := certPool(o.CACert)
	if err != nil {
		return nil, fmt.Errorf("--engine-tlscacert: %w", err)
	}
	cfg := &tls.Config{MinVersion: MinVersion, RootCAs: pool}
	if o.Cert != "" {
		pair, err := tlsPair(o.Cert, o.Key)
		if err != nil {
			return nil, fmt.Errorf("--engine-tlscert/--engine-tlskey: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// EnginePolicy decides, per engine address, whether to use TLS and with
// which configuration. It is immutable and safe for concurrent use.
type EnginePolicy struct {
	tls        *tls.Config
	allowPlain bool
}

// NewEnginePolicy validates o and loads its files.
func NewEnginePolicy(o ClientOptions) (*EnginePolicy, error) {
	cfg, err := engineClientConfig(o)
	if err != nil {
		return nil, err
	}
	return &EnginePolicy{tls: cfg, allowPlain: o.AllowPlain}, nil
}

// ConfigFor returns the TLS configuration for the engine advertised at
// addr, or nil for plain HTTP. addr is HOST:PORT, optionally prefixed by
// tcp://, http:// or https://:
//
//	without engine TLS   http://, tcp:// and bare are plain; https:// is refused
//	with engine TLS      https://, tcp:// and bare use TLS; http:// is plain
//	                     only with AllowPlain, refused otherwise
//
// The returned configuration is a fresh copy whose ServerName is addr's
// host, so the engine's certificate must carry that name or IP as a SAN.
func (p *EnginePolicy) ConfigFor(addr string) (*tls.Config, error) {
	scheme, rest := "", addr
	for _, s := range []string{"tcp://", "http://", "https://"} {
		if strings.HasPrefix(addr, s) {
			scheme, rest = strings.TrimSuffix(s, "://"), strings.TrimPrefix(addr, s)
			break
		}
	}
	host, _, err := net.SplitHostPort(strings.TrimSuffix(rest, "/"))
	if err != nil || host == "" {
		return nil, fmt.Errorf("engine address %q: want [http://|https://]HOST:PORT, e.g. 10.0.0.5:2376", addr)
	}
	switch {
	case scheme == "http" && p.tls != nil && !p.allowPlain:
		return nil, fmt.Errorf("engine %s is plain HTTP but the manager talks TLS to engines: "+
			"start that engine with --tlsverify, or start the manager with --engine-allow-plain to mix plain and TLS engines", addr)
	case scheme == "http" || p.tls == nil:
		if scheme == "https" {
			return nil, fmt.Errorf("engine %s is advertised with https:// but the manager has no engine TLS settings: "+
				"pass --engine-tlscacert, --engine-tlscert and --engine-tlskey", addr)
		}
		return nil, nil
	}
	cfg := p.tls.Clone()
	cfg.ServerName = host
	return cfg, nil
}
