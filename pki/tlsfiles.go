package pki

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// tlsPair loads a certificate and its key, naming both files on error.
func tlsPair(certPath, keyPath string) (tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load certificate %s with key %s: %w", certPath, keyPath, err)
	}
	return pair, nil
}

// certPool loads every certificate in a PEM file as trusted roots.
func certPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA %s: %w", path, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA %s holds no PEM certificate", path)
	}
	return pool, nil
}
