package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// What went wrong in a failed handshake with an engine, as said to users.
const (
	ReasonMissingSAN      = "its certificate does not cover the address the manager dials"
	ReasonUnknownCA       = "its certificate is signed by a CA the manager does not trust"
	ReasonExpired         = "its certificate is expired or not yet valid"
	ReasonPlainEngine     = "it answered in plain HTTP, not TLS"
	ReasonClientRejected  = "it rejected the manager's client certificate"
	ReasonWrongUsage      = "its certificate is not a server certificate"
	reasonRemoteTLSPrefix = "remote error: tls: "
)

// VerifyError is a failed TLS handshake with an engine, explained: Reason
// is one of the Reason constants, Hint says how to fix it, Err is the
// original error (errors.Is/As see through it).
type VerifyError struct {
	Addr   string
	Reason string
	Hint   string
	Err    error
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("engine %s: %s; %s (%v)", e.Addr, e.Reason, e.Hint, e.Err)
}

func (e *VerifyError) Unwrap() error { return e.Err }

// ExplainVerifyError turns the error of a failed request or handshake with
// the engine at addr into a *VerifyError when it is a TLS problem the
// operator can fix, naming the address, the certificate's SANs and the
// command to re-issue it. Other errors (and nil) are returned unchanged,
// as are errors already explained.
func ExplainVerifyError(addr string, err error) error {
	if err == nil {
		return nil
	}
	var done *VerifyError
	if errors.As(err, &done) {
		return err
	}
	explained := func(reason, hint string) error {
		return &VerifyError{Addr: addr, Reason: reason, Hint: hint, Err: err}
	}

	var hostErr x509.HostnameError
	var hostErrPtr *x509.HostnameError
	switch {
	case errors.As(err, &hostErrPtr):
		return explained(ReasonMissingSAN, missingSANHint(addr, *hostErrPtr))
	case errors.As(err, &hostErr):
		return explained(ReasonMissingSAN, missingSANHint(addr, hostErr))
	}
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		issuer := "unknown issuer"
		if unknown.Cert != nil {
			issuer = fmt.Sprintf("issuer %q", unknown.Cert.Issuer.CommonName)
		}
		return explained(ReasonUnknownCA, fmt.Sprintf("%s; --engine-tlscacert must be the CA that signed the engine's --tlscert "+
			"(with swarm certs: DIR/ca.pem, the same CA as DIR/nodes/NAME/cert.pem)", issuer))
	}
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) {
		switch invalid.Reason {
		case x509.Expired:
			hint := "check the clocks, or re-issue it with: swarm certs create --out DIR --reuse-ca --node NAME=IP"
			if invalid.Cert != nil {
				hint = fmt.Sprintf("it is valid from %s to %s; %s", invalid.Cert.NotBefore.UTC().Format(time.RFC3339),
					invalid.Cert.NotAfter.UTC().Format(time.RFC3339), hint)
			}
			return explained(ReasonExpired, hint)
		case x509.IncompatibleUsage:
			return explained(ReasonWrongUsage, "start the engine with DIR/nodes/NAME/cert.pem, not a client certificate")
		}
	}
	var record tls.RecordHeaderError
	// net/http replaces the record error by ErrSchemeMismatch when the
	// answer looks like HTTP.
	if errors.As(err, &record) || errors.Is(err, http.ErrSchemeMismatch) {
		return explained(ReasonPlainEngine, fmt.Sprintf("start it with --tlsverify (port %d by convention), "+
			"or advertise it as http://%s and start the manager with --engine-allow-plain", EngineTLSPort, stripScheme(addr)))
	}
	if alert, ok := remoteAlert(err); ok {
		return explained(ReasonClientRejected, fmt.Sprintf("the engine said %q: the manager's --engine-tlscert must be a client "+
			"certificate signed by the engine's --tlscacert and still valid (with swarm certs: DIR/manager-client/)", alert))
	}
	return err
}

// missingSANHint lists what the certificate covers and the command that
// issues one covering addr.
func missingSANHint(addr string, he x509.HostnameError) string {
	host := he.Host
	var dns, ips []string
	name := "NAME"
	if c := he.Certificate; c != nil {
		dns = c.DNSNames
		for _, ip := range c.IPAddresses {
			ips = append(ips, ip.String())
		}
		if c.Subject.CommonName != "" {
			name = c.Subject.CommonName
		}
	}
	fix := fmt.Sprintf("swarm certs create --out DIR --reuse-ca --node %s=%s", name, host)
	if net.ParseIP(host) == nil {
		fix = fmt.Sprintf("swarm certs create --out DIR --reuse-ca --node %s=IP", host)
	}
	return fmt.Sprintf("the manager dials %s but the certificate (CN %q) has DNS SANs [%s] and IP SANs [%s]; "+
		"re-issue it with `%s` and restart the engine with the new DIR/nodes/.../{cert,key}.pem, "+
		"or advertise the engine at an address the certificate covers",
		host, name, strings.Join(dns, ", "), strings.Join(ips, ", "), fix)
}

// remoteAlert recognises an alert the engine sent about our certificate.
// crypto/tls reports those as a net.OpError whose alert type is not
// exported, so the text is all there is to match.
func remoteAlert(err error) (string, bool) {
	msg := err.Error()
	i := strings.Index(msg, reasonRemoteTLSPrefix)
	if i < 0 {
		return "", false
	}
	alert := msg[i+len(reasonRemoteTLSPrefix):]
	for _, a := range []string{"bad certificate", "certificate required", "unknown certificate authority",
		"expired certificate", "unsupported certificate", "certificate revoked", "certificate unknown"} {
		if strings.HasPrefix(alert, a) {
			return a, true
		}
	}
	return "", false
}

func stripScheme(addr string) string {
	for _, s := range []string{"tcp://", "http://", "https://"} {
		addr = strings.TrimPrefix(addr, s)
	}
	return addr
}
