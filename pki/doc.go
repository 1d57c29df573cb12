// Package pki owns certificates and TLS configuration for every hop:
// `swarm certs create` (a CA, server certificates for the manager and each
// engine, client certificates for the manager and for docker CLI users),
// the manager listener's dockerd-style --tls/--tlsverify flags, and the
// client side the manager uses to reach engines, including errors that say
// which SAN is missing and how to re-issue the certificate.
//
// It uses only the standard library so that cmd/swarm, api and cluster can
// all call it without pulling in anything else.
package pki
