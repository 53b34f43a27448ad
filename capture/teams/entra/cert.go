package entra

// A certificate credential: the app proves who it is with a JWT (the
// client assertion) signed with the private key of a certificate whose
// public part is uploaded to the app registration ("Certificates &
// secrets", Certificates).
//
// The assertion is built as "Microsoft identity platform application
// authentication certificate credentials" documents it
// (https://learn.microsoft.com/entra/identity-platform/certificate-credentials):
// header alg PS256 ("Use PSS padding"), typ JWT, x5t#S256 the base64url
// SHA-256 thumbprint of the certificate's DER encoding (and x5t, its SHA-1
// thumbprint, which the page's earlier version asked for and the portal
// shows); claims aud the token endpoint, iss and sub the client id, jti a
// GUID, nbf and iat now, exp "5-10 minutes after nbf at most"; sent as
// client_assertion with client_assertion_type
// urn:ietf:params:oauth:client-assertion-type:jwt-bearer.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/jonboulle/clockwork"
)

// AssertionType is client_assertion_type for a certificate's assertion.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLife is how long an assertion is valid: the page asks for
// "5-10 minutes after nbf at most".
const assertionLife = 10 * time.Minute

// minRSABits is the smallest key Entra takes: AADSTS50032 WeakRsaKey
// ("the erroneous user attempt to use a weak RSA key",
// https://learn.microsoft.com/entra/identity-platform/reference-error-codes);
// the portal's upload and New-SelfSignedCertificate use 2048 bits.
const minRSABits = 2048

// ErrCertificateExpired is wrapped by the errors of a certificate past its
// NotAfter (or before its NotBefore).
var ErrCertificateExpired = errors.New("certificate expired")

// Certificate is a certificate credential: the certificate the app
// registration holds and its private key. Make one with
// ParseCertificatePEM or LoadCertificate.
type Certificate struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
	// Clock dates the assertions; the real clock when nil.
	Clock clockwork.Clock
}

// LoadCertificate reads a PEM file holding the certificate and its
// private key (see ParseCertificatePEM). The error names the file, never
// its contents.
func LoadCertificate(path string) (*Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("entra: the certificate file: %w", err)
	}
	c, err := ParseCertificatePEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseCertificatePEM reads the certificate and its RSA private key from
// PEM, the way admins export them (openssl, or a .pfx converted with
// openssl pkcs12 -nodes): a CERTIFICATE block (other certificates of the
// chain may follow or precede it) and a PRIVATE KEY (PKCS#8) or RSA
// PRIVATE KEY (PKCS#1) block, unencrypted. It does not look at the dates:
// see Check.
func ParseCertificatePEM(b []byte) (*Certificate, error) {
	var certs []*x509.Certificate
	var key *rsa.PrivateKey
	keys := 0
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("entra: a CERTIFICATE block is not an X.509 certificate: %v", err)
			}
			certs = append(certs, c)
		case "PRIVATE KEY", "RSA PRIVATE KEY":
			keys++
			if strings.Contains(blk.Headers["Proc-Type"], "ENCRYPTED") {
				return nil, errors.New("entra: the private key is encrypted: export it without a password (openssl pkey -in key.pem -out plain.pem), and keep the file readable by the bot only")
			}
			k, err := parseRSAKey(blk)
			if err != nil {
				return nil, err
			}
			key = k
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("entra: the private key is encrypted: export it without a password (openssl pkey -in key.pem -out plain.pem), and keep the file readable by the bot only")
		case "EC PRIVATE KEY":
			return nil, errors.New("entra: the private key is an EC key: Entra's client assertions are signed with RSA (PS256/RS256): make an RSA certificate (openssl req -newkey rsa:2048 ...)")
		}
	}
	switch {
	case len(certs) == 0 && key == nil:
		if len(b) > 0 && !strings.Contains(string(b), "-----BEGIN") {
			return nil, errors.New("entra: not a PEM file: want the certificate and its private key in PEM (a .pfx converts with: openssl pkcs12 -in app.pfx -nodes -out app.pem)")
		}
		return nil, errors.New("entra: the file holds no certificate and no private key: want both, in PEM")
	case keys > 1:
		return nil, errors.New("entra: the file holds more than one private key: keep only the certificate's")
	case key == nil:
		return nil, errors.New("entra: the file holds no private key: put the certificate's private key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY) in the same file as the certificate")
	case len(certs) == 0:
		return nil, errors.New("entra: the file holds no certificate (BEGIN CERTIFICATE): put the certificate uploaded to the app registration in the same file as its private key")
	}
	if key.N.BitLen() < minRSABits {
		return nil, fmt.Errorf("entra: the private key has %d bits; Entra refuses RSA keys under %d bits", key.N.BitLen(), minRSABits)
	}
	// The certificate is the one whose public key is the key's: a chain
	// may come with it.
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&key.PublicKey) {
			return &Certificate{cert: c, key: key}, nil
		}
	}
	if len(certs) == 1 {
		return nil, fmt.Errorf("entra: the private key does not belong to the certificate (subject %q, SHA-1 thumbprint %s): put the certificate and its own key in the file", certs[0].Subject.String(), thumbHex(sha1Of(certs[0].Raw)))
	}
	return nil, fmt.Errorf("entra: the private key belongs to none of the file's %d certificates", len(certs))
}

func parseRSAKey(blk *pem.Block) (*rsa.PrivateKey, error) {
	if blk.Type == "RSA PRIVATE KEY" {
		k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("entra: the RSA PRIVATE KEY block is not a PKCS#1 RSA key: %v", err)
		}
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("entra: the PRIVATE KEY block is not a PKCS#8 key: %v", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("entra: the private key is a %T, not RSA: Entra's client assertions are signed with RSA (PS256/RS256)", k)
	}
	return rk, nil
}

// NewCertificate makes a credential of a certificate and its key (for
// tests and callers that hold them already).
func NewCertificate(cert *x509.Certificate, key *rsa.PrivateKey) (*Certificate, error) {
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("entra: the private key does not belong to the certificate")
	}
	return &Certificate{cert: cert, key: key}, nil
}

// X509 is the certificate (its public part, the one to upload).
func (c *Certificate) X509() *x509.Certificate { return c.cert }

// NotAfter is when the certificate expires.
func (c *Certificate) NotAfter() time.Time { return c.cert.NotAfter }

// Thumbprint is the certificate's SHA-1 thumbprint in hex, as the app
// registration's "Certificates & secrets" shows it.
func (c *Certificate) Thumbprint() string { return thumbHex(sha1Of(c.cert.Raw)) }

// ThumbprintSHA256 is its SHA-256 thumbprint in hex.
func (c *Certificate) ThumbprintSHA256() string { return thumbHex(sha256Of(c.cert.Raw)) }

func thumbHex(sum []byte) string { return strings.ToUpper(hex.EncodeToString(sum)) }

func sha1Of(der []byte) []byte {
	s := sha1.Sum(der)
	return s[:]
}

func sha256Of(der []byte) []byte {
	s := sha256.Sum256(der)
	return s[:]
}

// Check says whether the certificate is valid at now: an error wrapping
// ErrCertificateExpired when it has expired or is not valid yet.
func (c *Certificate) Check(now time.Time) error {
	switch {
	case now.After(c.cert.NotAfter):
		return fmt.Errorf("entra: the certificate %s expired on %s: %w (make a new one and upload it to the app registration)",
			c.Thumbprint(), c.cert.NotAfter.UTC().Format(time.DateOnly), ErrCertificateExpired)
	case now.Before(c.cert.NotBefore):
		return fmt.Errorf("entra: the certificate %s is not valid before %s: %w", c.Thumbprint(), c.cert.NotBefore.UTC().Format(time.RFC3339), ErrCertificateExpired)
	}
	return nil
}

// Kind implements Credential: the certificate's SHA-256 thumbprint,
// shortened; never key material.
func (c *Certificate) Kind() string {
	return "certificate SHA-256 " + c.ThumbprintSHA256()[:16] + "…"
}

func (c *Certificate) now() time.Time {
	if c.Clock == nil {
		return time.Now()
	}
	return c.Clock.Now()
}

// Authenticate implements Credential: it adds client_assertion_type and
// a fresh client_assertion for the token endpoint at tokenURL, as the
// client form["client_id"] names.
func (c *Certificate) Authenticate(form url.Values, tokenURL string) error {
	id := form.Get("client_id")
	if id == "" {
		return errors.New("entra: no client id for the certificate's assertion")
	}
	now := c.now()
	if err := c.Check(now); err != nil {
		return err
	}
	a, err := c.Assertion(id, tokenURL, now)
	if err != nil {
		return err
	}
	form.Del("client_secret")
	form.Set("client_assertion_type", AssertionType)
	form.Set("client_assertion", a)
	return nil
}

// Assertion is the signed client assertion of client id for the token
// endpoint at tokenURL, issued at now.
func (c *Certificate) Assertion(clientID, tokenURL string, now time.Time) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT").
		WithHeader("x5t#S256", base64.RawURLEncoding.EncodeToString(sha256Of(c.cert.Raw))).
		WithHeader("x5t", base64.RawURLEncoding.EncodeToString(sha1Of(c.cert.Raw)))
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: c.key}, opts)
	if err != nil {
		return "", fmt.Errorf("entra: the certificate's key cannot sign: %w", err)
	}
	jti, err := guid()
	if err != nil {
		return "", err
	}
	claims := jwt.Claims{
		Audience:  jwt.Audience{tokenURL},
		Issuer:    clientID,
		Subject:   clientID,
		ID:        jti,
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		Expiry:    jwt.NewNumericDate(now.Add(assertionLife)),
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("entra: signing the client assertion: %w", err)
	}
	return s, nil
}

// guid is a random (version 4) GUID, the page's jti.
func guid() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}
