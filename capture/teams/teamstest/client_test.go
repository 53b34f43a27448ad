package teamstest_test

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/jonboulle/clockwork"

	"github.com/recordbot/recordbot/capture/teams/teamstest"
)

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertion is what a forged or genuine client assertion is made of.
type assertion struct {
	alg     jose.SignatureAlgorithm
	key     any // signing key
	headers map[jose.HeaderKey]any
	claims  map[string]any
}

// genuine is an assertion made as Microsoft documents it, for the
// certificate c at the server s, issued at now.
func genuine(s *teamstest.Server, c teamstest.Cert, now time.Time) assertion {
	s256 := sha256.Sum256(c.X509.Raw)
	return assertion{alg: jose.PS256, key: c.Key,
		headers: map[jose.HeaderKey]any{"typ": "JWT", "x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:])},
		claims: map[string]any{"aud": s.URL + "/" + s.Tenant + "/oauth2/v2.0/token", "iss": s.ClientID, "sub": s.ClientID,
			"jti": "5b1f0e36-8c0c-4c1e-9a7e-3f5d2b9c1a00", "nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}}
}

func (a assertion) sign(t *testing.T) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	for k, v := range a.headers {
		opts.WithHeader(k, v)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: a.alg, Key: a.key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(sig).Claims(a.claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned is the assertion with alg "none" and no signature.
func (a assertion) unsigned(t *testing.T) string {
	h := map[string]any{"alg": "none"}
	for k, v := range a.headers {
		h[string(k)] = v
	}
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(a.claims)
	return base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb) + "."
}

func assertionForm(s *teamstest.Server, jwt string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID}, "scope": {s.GraphScope()},
		"client_assertion_type": {jwtBearer}, "client_assertion": {jwt}}
}

func TestClientAssertion(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(now)
	registered := teamstest.NewCert(t, "recordbot", now.Add(-24*time.Hour), now.Add(365*24*time.Hour))
	other := teamstest.NewCert(t, "someone else", now.Add(-24*time.Hour), now.Add(365*24*time.Hour))
	s := teamstest.New(teamstest.Options{Clock: clock, Certificate: registered.X509})
	defer s.Close()
	s1 := sha1.Sum(registered.X509.Raw)
	x5tSHA1 := base64.RawURLEncoding.EncodeToString(s1[:])
	otherS256 := sha256.Sum256(other.X509.Raw)

	type forge func(a *assertion)
	for _, c := range []struct {
		name   string
		forge  forge
		raw    func(a assertion) string // instead of signing
		status int
		code   string
		n      float64
	}{
		{name: "genuine PS256 with x5t#S256", forge: func(*assertion) {}, status: 200},
		{name: "genuine RS256 with x5t (the page's earlier version)", forge: func(a *assertion) {
			a.alg = jose.RS256
			a.headers = map[jose.HeaderKey]any{"typ": "JWT", "x5t": x5tSHA1}
		}, status: 200},
		{name: "signed by another key, naming the registered certificate", forge: func(a *assertion) { a.key = other.Key },
			status: 401, code: "invalid_client", n: 700027},
		{name: "an unregistered certificate", forge: func(a *assertion) {
			a.key = other.Key
			a.headers["x5t#S256"] = base64.RawURLEncoding.EncodeToString(otherS256[:])
		}, status: 401, code: "invalid_client", n: 700027},
		{name: "no thumbprint", forge: func(a *assertion) { delete(a.headers, "x5t#S256") },
			status: 401, code: "invalid_client", n: 700027},
		{name: "x5t#S256 right, x5t another's", forge: func(a *assertion) {
			s := sha1.Sum(other.X509.Raw)
			a.headers["x5t"] = base64.RawURLEncoding.EncodeToString(s[:])
		}, status: 401, code: "invalid_client", n: 700027},
		{name: "wrong aud", forge: func(a *assertion) {
			a.claims["aud"] = "https://login.microsoftonline.com/" + s.Tenant + "/oauth2/v2.0/token"
		},
			status: 401, code: "invalid_client", n: 50012},
		{name: "aud a list", forge: func(a *assertion) { a.claims["aud"] = []string{a.claims["aud"].(string), s.URL} },
			status: 401, code: "invalid_client", n: 50012},
		{name: "expired", forge: func(a *assertion) {
			a.claims["nbf"], a.claims["exp"] = now.Add(-20*time.Minute).Unix(), now.Add(-10*time.Minute).Unix()
		}, status: 401, code: "invalid_client", n: 700024},
		{name: "exp now", forge: func(a *assertion) { a.claims["exp"] = now.Unix() }, status: 401, code: "invalid_client", n: 700024},
		{name: "nbf in the future", forge: func(a *assertion) { a.claims["nbf"] = now.Add(time.Minute).Unix() },
			status: 401, code: "invalid_client", n: 700024},
		{name: "no exp", forge: func(a *assertion) { delete(a.claims, "exp") }, status: 401, code: "invalid_client", n: 90014},
		{name: "wrong iss", forge: func(a *assertion) { a.claims["iss"], a.claims["sub"] = "another-app", "another-app" },
			status: 401, code: "invalid_client", n: 50027},
		{name: "wrong sub", forge: func(a *assertion) { a.claims["sub"] = "another-app" }, status: 401, code: "invalid_client", n: 50048},
		{name: "no jti", forge: func(a *assertion) { delete(a.claims, "jti") }, status: 401, code: "invalid_client", n: 90014},
		{name: "alg none", forge: func(*assertion) {}, raw: func(a assertion) string { return a.unsigned(t) },
			status: 401, code: "invalid_client", n: 50027},
		{name: "HS256 keyed with the public certificate", forge: func(a *assertion) {
			a.alg, a.key = jose.HS256, registered.X509.Raw
		}, status: 401, code: "invalid_client", n: 50027},
		{name: "not a JWT", forge: func(*assertion) {}, raw: func(assertion) string { return "not-a-jwt" },
			status: 401, code: "invalid_client", n: 50027},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := genuine(s, registered, now)
			c.forge(&a)
			var raw string
			if c.raw != nil {
				raw = c.raw(a)
			} else {
				raw = a.sign(t)
			}
			status, body := token(t, s, s.Tenant, assertionForm(s, raw))
			if status != c.status {
				t.Fatalf("answered %d %v, want %d", status, body, c.status)
			}
			if c.status == 200 {
				if info, ok := s.TokenInfo(body["access_token"].(string)); !ok || info.Scope != s.GraphScope() {
					t.Errorf("token %+v %v", info, ok)
				}
				return
			}
			codes, _ := body["error_codes"].([]any)
			desc, _ := body["error_description"].(string)
			if body["error"] != c.code || len(codes) != 1 || codes[0] != c.n || !strings.Contains(desc, "AADSTS") {
				t.Errorf("answered %v, want %s AADSTS%v", body, c.code, c.n)
			}
		})
	}

	// The request's own rules.
	good := genuine(s, registered, now).sign(t)
	for _, c := range []struct {
		name   string
		edit   func(f url.Values)
		status int
		code   string
		n      float64
	}{
		{"secret and assertion", func(f url.Values) { f.Set("client_secret", "anything") }, 400, "invalid_request", 90023},
		{"no assertion type", func(f url.Values) { f.Del("client_assertion_type") }, 400, "invalid_request", 900144},
		{"another assertion type", func(f url.Values) {
			f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
		}, 400, "invalid_request", 90100},
		{"type without assertion", func(f url.Values) { f.Del("client_assertion") }, 400, "invalid_request", 900144},
		{"neither secret nor assertion", func(f url.Values) { f.Del("client_assertion"); f.Del("client_assertion_type") }, 401, "invalid_client", 7000218},
		{"a secret, and the app has none", func(f url.Values) {
			f.Del("client_assertion")
			f.Del("client_assertion_type")
			f.Set("client_secret", "")
		}, 401, "invalid_client", 7000215},
	} {
		f := assertionForm(s, good)
		c.edit(f)
		status, body := token(t, s, s.Tenant, f)
		codes, _ := body["error_codes"].([]any)
		if status != c.status || body["error"] != c.code || len(codes) != 1 || codes[0] != c.n {
			t.Errorf("%s: answered %d %v, want %d %s AADSTS%v", c.name, status, body, c.status, c.code, c.n)
		}
	}

	// The same assertion is taken again: Entra documents no replay check.
	if status, body := token(t, s, s.Tenant, assertionForm(s, good)); status != 200 {
		t.Errorf("a genuine assertion sent again: %d %v", status, body)
	}

	auths := s.ClientAuths()
	last := auths[len(auths)-1]
	if last.Method != "client_assertion" || last.Refused != 0 || last.Scope != s.GraphScope() || last.GrantType != "client_credentials" {
		t.Errorf("last client authentication %+v", last)
	}

	// Once the registered certificate has expired, its assertions are refused.
	clock.Advance(366 * 24 * time.Hour)
	a := genuine(s, registered, clock.Now())
	if status, body := token(t, s, s.Tenant, assertionForm(s, a.sign(t))); status != 401 || body["error_codes"].([]any)[0] != float64(700027) {
		t.Errorf("an expired certificate's assertion: %d %v", status, body)
	}
}

// TestClientAssertionNoCertificate: an app without a certificate refuses
// every assertion, and keeps its secret.
func TestClientAssertionNoCertificate(t *testing.T) {
	now := time.Now()
	s := teamstest.New(teamstest.Options{})
	defer s.Close()
	c := teamstest.NewCert(t, "recordbot", now.Add(-time.Hour), now.Add(time.Hour))
	status, body := token(t, s, s.Tenant, assertionForm(s, genuine(s, c, now).sign(t)))
	if status != 401 || body["error"] != "invalid_client" || body["error_codes"].([]any)[0] != float64(700027) {
		t.Errorf("assertion for an app with no certificate: %d %v", status, body)
	}
	if status, body := token(t, s, s.Tenant, creds(s, s.GraphScope())); status != 200 {
		t.Errorf("secret: %d %v", status, body)
	}
	if a := s.ClientAuths(); len(a) != 2 || a[0].Method != "client_assertion" || a[0].Refused != 700027 || a[1].Method != "client_secret" || a[1].Refused != 0 {
		t.Errorf("client authentications %+v", a)
	}
}
