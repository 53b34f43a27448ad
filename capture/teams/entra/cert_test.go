package entra_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/jonboulle/clockwork"

	"github.com/recordbot/recordbot/capture/teams/entra"
	"github.com/recordbot/recordbot/capture/teams/teamstest"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func pemOf(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestParseCertificatePEM(t *testing.T) {
	c := teamstest.NewCert(t, "recordbot", t0.Add(-time.Hour), t0.Add(90*24*time.Hour))
	other := teamstest.NewCert(t, "other", t0.Add(-time.Hour), t0.Add(90*24*time.Hour))
	p8, _ := x509.MarshalPKCS8PrivateKey(c.Key)
	p1 := x509.MarshalPKCS1PrivateKey(c.Key)
	otherP8, _ := x509.MarshalPKCS8PrivateKey(other.Key)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	ecP8, _ := x509.MarshalPKCS8PrivateKey(ec)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallTpl := &x509.Certificate{SerialNumber: c.X509.SerialNumber, NotBefore: t0, NotAfter: t0.Add(time.Hour)}
	smallDER, _ := x509.CreateCertificate(rand.Reader, smallTpl, smallTpl, &small.PublicKey, small)
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: p1})

	for _, tt := range []struct {
		name string
		file []byte
		want string // "" for good
	}{
		{"PKCS#8, certificate first", cat(c.CertPEM, pemOf("PRIVATE KEY", p8)), ""},
		{"PKCS#1, key first", cat(pemOf("RSA PRIVATE KEY", p1), c.CertPEM), ""},
		{"with a chain certificate before it", cat(other.CertPEM, c.CertPEM, pemOf("PRIVATE KEY", p8)), ""},
		{"no key", c.CertPEM, "no private key"},
		{"no certificate", pemOf("PRIVATE KEY", p8), "no certificate"},
		{"another certificate's key", cat(c.CertPEM, pemOf("PRIVATE KEY", otherP8)), "does not belong to the certificate"},
		{"two keys", cat(c.CertPEM, pemOf("PRIVATE KEY", p8), pemOf("PRIVATE KEY", otherP8)), "more than one private key"},
		{"empty", nil, "no certificate and no private key"},
		{"DER, not PEM", c.X509.Raw, "not a PEM file"},
		{"encrypted PKCS#8", cat(c.CertPEM, pemOf("ENCRYPTED PRIVATE KEY", p8)), "encrypted"},
		{"encrypted PKCS#1", cat(c.CertPEM, encrypted), "encrypted"},
		{"EC key", cat(c.CertPEM, pemOf("EC PRIVATE KEY", ecDER)), "EC key"},
		{"EC key in PKCS#8", cat(c.CertPEM, pemOf("PRIVATE KEY", ecP8)), "not RSA"},
		{"1024-bit key", cat(pemOf("CERTIFICATE", smallDER), pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small))), "1024 bits"},
		{"broken key", cat(c.CertPEM, pemOf("PRIVATE KEY", []byte("nonsense"))), "not a PKCS#8 key"},
		{"broken certificate", cat(pemOf("CERTIFICATE", []byte("nonsense")), pemOf("PRIVATE KEY", p8)), "not an X.509 certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := entra.ParseCertificatePEM(tt.file)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !got.X509().Equal(c.X509) {
					t.Errorf("took the certificate %s", got.X509().Subject)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
			// Errors never carry key material.
			if strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(p8)[:40]) {
				t.Errorf("the error shows the key: %v", err)
			}
		})
	}
}

func TestLoadCertificate(t *testing.T) {
	c := teamstest.NewCert(t, "recordbot", t0.Add(-time.Hour), t0.Add(90*24*time.Hour))
	dir := t.TempDir()
	path := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(path, c.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := entra.LoadCertificate(path)
	if err != nil {
		t.Fatal(err)
	}
	s1 := sha1.Sum(c.X509.Raw)
	if got.Thumbprint() != strings.ToUpper(hexOf(s1[:])) || !got.NotAfter().Equal(c.X509.NotAfter) {
		t.Errorf("thumbprint %s, expiry %s", got.Thumbprint(), got.NotAfter())
	}
	if _, err := entra.LoadCertificate(filepath.Join(dir, "missing.pem")); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("a missing file: %v", err)
	}
	if err := os.WriteFile(path, c.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := entra.LoadCertificate(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "no private key") {
		t.Errorf("a file without its key: %v", err)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, digits[x>>4], digits[x&15])
	}
	return string(out)
}

func TestCertificateCheck(t *testing.T) {
	c := teamstest.NewCert(t, "recordbot", t0.Add(-time.Hour), t0.Add(24*time.Hour))
	cert, err := entra.NewCertificate(c.X509, c.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.Check(t0); err != nil {
		t.Errorf("valid certificate: %v", err)
	}
	err = cert.Check(t0.Add(25 * time.Hour))
	if !errors.Is(err, entra.ErrCertificateExpired) || !strings.Contains(err.Error(), "expired on 2026-12-07") {
		t.Errorf("expired certificate: %v", err)
	}
	if err := cert.Check(t0.Add(-2 * time.Hour)); !errors.Is(err, entra.ErrCertificateExpired) {
		t.Errorf("certificate not valid yet: %v", err)
	}
	// An expired certificate signs nothing.
	cert.Clock = clockwork.NewFakeClockAt(t0.Add(25 * time.Hour))
	if err := cert.Authenticate(url.Values{"client_id": {"app"}}, "https://login.example/t/oauth2/v2.0/token"); !errors.Is(err, entra.ErrCertificateExpired) {
		t.Errorf("Authenticate with an expired certificate: %v", err)
	}
	other := teamstest.NewCert(t, "other", t0, t0.Add(time.Hour))
	if _, err := entra.NewCertificate(c.X509, other.Key); err == nil {
		t.Errorf("NewCertificate took another certificate's key")
	}
}

// TestCertificateAssertion: the assertion is as Microsoft documents it
// (https://learn.microsoft.com/entra/identity-platform/certificate-credentials).
func TestCertificateAssertion(t *testing.T) {
	c := teamstest.NewCert(t, "recordbot", t0.Add(-time.Hour), t0.Add(24*time.Hour))
	cert, err := entra.NewCertificate(c.X509, c.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert.Clock = clockwork.NewFakeClockAt(t0)
	const app = "0b7f8a2c-1d3e-4f50-8a6b-7c9d0e1f2a3b"
	const tokenURL = "https://login.microsoftonline.com/5d2e1c0b-aaaa-4bbb-8ccc-123456789abc/oauth2/v2.0/token"
	form := url.Values{"client_id": {app}, "client_secret": {"left over"}}
	if err := cert.Authenticate(form, tokenURL); err != nil {
		t.Fatal(err)
	}
	if form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || form.Has("client_secret") {
		t.Errorf("form %v", form)
	}
	tok, err := jwt.ParseSigned(form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.PS256})
	if err != nil {
		t.Fatalf("not a PS256 JWT: %v", err)
	}
	h := tok.Headers[0]
	s256 := sha256.Sum256(c.X509.Raw)
	s1 := sha1.Sum(c.X509.Raw)
	if h.ExtraHeaders["typ"] != "JWT" || h.ExtraHeaders["x5t#S256"] != base64.RawURLEncoding.EncodeToString(s256[:]) ||
		h.ExtraHeaders["x5t"] != base64.RawURLEncoding.EncodeToString(s1[:]) {
		t.Errorf("header %+v", h)
	}
	var claims jwt.Claims
	if err := tok.Claims(&c.Key.PublicKey, &claims); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if len(claims.Audience) != 1 || claims.Audience[0] != tokenURL || claims.Issuer != app || claims.Subject != app ||
		!claims.NotBefore.Time().Equal(t0) || !claims.IssuedAt.Time().Equal(t0) || !claims.Expiry.Time().Equal(t0.Add(10*time.Minute)) {
		t.Errorf("claims %+v", claims)
	}
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !guid.MatchString(claims.ID) {
		t.Errorf("jti %q is not a GUID", claims.ID)
	}
	// Each assertion has its own jti.
	form2 := url.Values{"client_id": {app}}
	if err := cert.Authenticate(form2, tokenURL); err != nil {
		t.Fatal(err)
	}
	tok2, _ := jwt.ParseSigned(form2.Get("client_assertion"), []jose.SignatureAlgorithm{jose.PS256})
	var claims2 jwt.Claims
	if err := tok2.UnsafeClaimsWithoutVerification(&claims2); err != nil || claims2.ID == claims.ID {
		t.Errorf("second jti %q, first %q", claims2.ID, claims.ID)
	}
	// Kind names the certificate, not its key.
	k := cert.Kind()
	if !strings.HasPrefix(k, "certificate SHA-256 "+cert.ThumbprintSHA256()[:16]) {
		t.Errorf("Kind() = %q", k)
	}
	if err := cert.Authenticate(url.Values{}, tokenURL); err == nil {
		t.Errorf("an assertion without a client id")
	}
}

// TestCertificateAgainstDouble is the contract: entra.Client with a
// certificate gets tokens from the double, which checks the assertion as
// Entra does, and is refused as Entra refuses.
func TestCertificateAgainstDouble(t *testing.T) {
	now := time.Now()
	reg := teamstest.NewCert(t, "recordbot", now.Add(-time.Hour), now.Add(24*time.Hour))
	other := teamstest.NewCert(t, "not uploaded", now.Add(-time.Hour), now.Add(24*time.Hour))
	clock := clockwork.NewFakeClockAt(now)
	s := teamstest.New(teamstest.Options{Certificate: reg.X509, Clock: clock})
	defer s.Close()
	client := func(c teamstest.Cert, cl clockwork.Clock) *entra.Client {
		cert, err := entra.ParseCertificatePEM(c.PEM)
		if err != nil {
			t.Fatal(err)
		}
		cert.Clock = cl
		return &entra.Client{LoginURL: s.URL, Tenant: s.Tenant, ClientID: s.ClientID, Credential: cert, HTTPClient: s.Client()}
	}
	ctx := context.Background()
	for _, scope := range []string{s.GraphScope(), "https://api.botframework.com/.default"} {
		tok, err := client(reg, clock).ClientCredentials(ctx, scope)
		if err != nil {
			t.Fatalf("%s: %v", scope, err)
		}
		if info, ok := s.TokenInfo(tok.AccessToken); !ok || info.Scope != scope || info.ClientID != s.ClientID {
			t.Errorf("%s: token %+v", scope, info)
		}
	}
	for _, a := range s.ClientAuths() {
		if a.Method != "client_assertion" || a.Refused != 0 {
			t.Errorf("client authentication %+v", a)
		}
	}
	refused := func(name string, c *entra.Client, n int) {
		t.Helper()
		_, err := c.ClientCredentials(ctx, s.GraphScope())
		var e *entra.Error
		if !errors.As(err, &e) || e.Code != "invalid_client" || !e.Has(n) || !e.AppRefused() || e.Transient() {
			t.Errorf("%s: %v, want invalid_client AADSTS%d", name, err, n)
		}
	}
	refused("a certificate not uploaded", client(other, clock), 700027)
	refused("the bot's clock 20 minutes slow", client(reg, clockwork.NewFakeClockAt(now.Add(-20*time.Minute))), 700024)
	refused("the bot's clock 5 minutes fast", client(reg, clockwork.NewFakeClockAt(now.Add(5*time.Minute))), 700024)
	refused("a secret for an app with only a certificate", &entra.Client{LoginURL: s.URL, Tenant: s.Tenant, ClientID: s.ClientID,
		Credential: entra.Secret("guess"), HTTPClient: s.Client()}, 7000215)
}

// BenchmarkCertificateAssertion is the cost of one client assertion
// (signed once per token asked for; tokens are cached for their life).
func BenchmarkCertificateAssertion(b *testing.B) {
	c := teamstest.NewCert(b, "recordbot", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	cert, err := entra.NewCertificate(c.X509, c.Key)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := cert.Authenticate(url.Values{"client_id": {"app"}}, "https://login.microsoftonline.com/t/oauth2/v2.0/token"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/assertion")
}
