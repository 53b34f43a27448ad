package teamstest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// Cert is a self-signed certificate for tests, made as an admin makes
// one for an app registration (openssl req -x509 -newkey rsa:2048).
type Cert struct {
	X509 *x509.Certificate
	Key  *rsa.PrivateKey
	// PEM is the certificate followed by its key (PKCS#8), the file the
	// bot reads.
	PEM []byte
	// CertPEM is the certificate alone, the part uploaded to the app
	// registration.
	CertPEM []byte
}

// NewCert makes a 2048-bit RSA certificate valid from notBefore to
// notAfter.
func NewCert(t testing.TB, subject string, notBefore, notAfter time.Time) Cert {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: subject},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	all := append(append([]byte(nil), certPEM...), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})...)
	return Cert{X509: cert, Key: key, PEM: all, CertPEM: certPEM}
}
