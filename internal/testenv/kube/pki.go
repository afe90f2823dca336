package kube

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki holds the files of the control plane's certificates and keys.
type pki struct {
	caCert      []byte // PEM, trusted by clients
	caFile      string
	certFile    string // API server serving certificate
	keyFile     string
	saKeyFile   string // service-account signing key (private; the public half is derived)
	tokenFile   string // static token file: the admin in system:masters
	adminToken  string
	caKey       *ecdsa.PrivateKey
	caTemplate  *x509.Certificate
	serialLimit *big.Int
}

// newPKI writes a self-signed CA, a serving certificate for 127.0.0.1 and
// localhost, a service-account key and a static admin token into dir.
func newPKI(dir string) (*pki, error) {
	p := &pki{serialLimit: new(big.Int).Lsh(big.NewInt(1), 62)}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ca key: %w", err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kiln-test-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create ca certificate: %w", err)
	}
	p.caKey, p.caTemplate = caKey, ca
	p.caCert = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})

	serveKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate serving key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, p.serialLimit)
	if err != nil {
		return nil, fmt.Errorf("serial: %w", err)
	}
	serve := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	serveDER, err := x509.CreateCertificate(rand.Reader, serve, ca, &serveKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create serving certificate: %w", err)
	}
	serveKeyDER, err := x509.MarshalECPrivateKey(serveKey)
	if err != nil {
		return nil, fmt.Errorf("marshal serving key: %w", err)
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate service-account key: %w", err)
	}
	saKeyDER, err := x509.MarshalECPrivateKey(saKey)
	if err != nil {
		return nil, fmt.Errorf("marshal service-account key: %w", err)
	}
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	p.adminToken = fmt.Sprintf("%x", tok)

	p.caFile = filepath.Join(dir, "ca.crt")
	p.certFile = filepath.Join(dir, "apiserver.crt")
	p.keyFile = filepath.Join(dir, "apiserver.key")
	p.saKeyFile = filepath.Join(dir, "sa.key")
	p.tokenFile = filepath.Join(dir, "tokens.csv")
	files := []struct {
		path string
		data []byte
	}{
		{p.caFile, p.caCert},
		{p.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: serveDER})},
		{p.keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: serveKeyDER})},
		{p.saKeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: saKeyDER})},
		// token,user,uid,"groups"
		{p.tokenFile, []byte(p.adminToken + `,kiln-admin,kiln-admin,"system:masters"` + "\n")},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return p, nil
}
