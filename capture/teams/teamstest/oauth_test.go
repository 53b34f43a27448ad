package teamstest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/recordbot/recordbot/capture/teams/teamstest"
)

const redirect = "https://records.example.org/teams/oauth/callback"

// authorize follows an authorization request in user's browser and
// returns where the login service sends it back (nil when it does not)
// and the status of its last answer.
func authorize(t *testing.T, s *teamstest.Server, user string, q url.Values) (*url.URL, int) {
	t.Helper()
	b := s.Browser(user)
	var back *url.URL
	b.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
		back = r.URL
		return http.ErrUseLastResponse
	}
	resp, err := b.Get(s.URL + "/" + s.Tenant + "/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return back, resp.StatusCode
}

func authQuery(s *teamstest.Server, verifier string) url.Values {
	sum := sha256.Sum256([]byte(verifier))
	return url.Values{"client_id": {s.ClientID}, "response_type": {"code"}, "redirect_uri": {redirect}, "state": {"st-1"}, "nonce": {"n-1"},
		"scope": {"openid profile offline_access Files.Read.All"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
}

func redeem(s *teamstest.Server, code, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {s.ClientID}, "client_secret": {s.ClientSecret}, "code": {code},
		"redirect_uri": {redirect}, "code_verifier": {verifier}, "scope": {"openid profile offline_access Files.Read.All"}}
}

// aadsts is the AADSTS number of a token endpoint's error answer.
func aadsts(body map[string]any) int {
	codes, _ := body["error_codes"].([]any)
	if len(codes) == 0 {
		return 0
	}
	n, _ := codes[0].(float64)
	return int(n)
}

// TestAuthorizationCodeFlow: the sign-in's rules as Microsoft documents
// them, and what the tokens say.
func TestAuthorizationCodeFlow(t *testing.T) {
	clock := clockwork.NewFakeClock()
	s := teamstest.New(teamstest.Options{Clock: clock})
	defer s.Close()
	s.AddUser("u-bob", "Bob Baker")

	// An unregistered redirect URI: an error page, nobody sent back.
	if back, status := authorize(t, s, "u-bob", authQuery(s, "v")); back != nil || status != http.StatusBadRequest {
		t.Fatalf("unregistered redirect: sent to %v (HTTP %d)", back, status)
	}
	s.RegisterRedirect(redirect)
	back, _ := authorize(t, s, "u-bob", authQuery(s, "verifier-1"))
	if back == nil || back.Query().Get("state") != "st-1" || back.Query().Get("code") == "" {
		t.Fatalf("sent back to %v", back)
	}
	code := back.Query().Get("code")

	// The wrong verifier is refused, and the code is then spent.
	if status, body := token(t, s, s.Tenant, redeem(s, code, "verifier-2")); status != http.StatusBadRequest || body["error"] != "invalid_grant" || aadsts(body) != 50148 {
		t.Errorf("a wrong code_verifier: %d %v", status, body)
	}
	if status, body := token(t, s, s.Tenant, redeem(s, code, "verifier-1")); status != http.StatusBadRequest || aadsts(body) != 54005 {
		t.Errorf("a spent code: %d %v", status, body)
	}

	// A good redemption: access, refresh and ID tokens.
	back, _ = authorize(t, s, "u-bob", authQuery(s, "verifier-3"))
	status, body := token(t, s, s.Tenant, redeem(s, back.Query().Get("code"), "verifier-3"))
	if status != http.StatusOK || body["refresh_token"] == nil || body["id_token"] == nil {
		t.Fatalf("redemption: %d %v", status, body)
	}
	if info, ok := s.TokenInfo(body["access_token"].(string)); !ok || info.User != "u-bob" || !strings.HasSuffix(info.Scope, "/Files.Read.All") {
		t.Errorf("the access token is %+v", info)
	}
	var claims map[string]any
	parts := strings.Split(body["id_token"].(string), ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(raw, &claims)
	if claims["oid"] != "u-bob" || claims["tid"] != s.Tenant || claims["aud"] != s.ClientID || claims["nonce"] != "n-1" {
		t.Errorf("the ID token says %v", claims)
	}

	// Without the profile scope the ID token names no oid.
	q := authQuery(s, "verifier-4")
	q.Set("scope", "openid offline_access Files.Read.All")
	back, _ = authorize(t, s, "u-bob", q)
	form := redeem(s, back.Query().Get("code"), "verifier-4")
	form.Set("scope", q.Get("scope"))
	_, body = token(t, s, s.Tenant, form)
	parts = strings.Split(body["id_token"].(string), ".")
	raw, _ = base64.RawURLEncoding.DecodeString(parts[1])
	claims = nil
	json.Unmarshal(raw, &claims)
	if _, ok := claims["oid"]; ok {
		t.Errorf("an ID token without the profile scope has an oid: %v", claims)
	}

	// A code lasts 10 minutes.
	back, _ = authorize(t, s, "u-bob", authQuery(s, "verifier-5"))
	clock.Advance(11 * time.Minute)
	if status, body := token(t, s, s.Tenant, redeem(s, back.Query().Get("code"), "verifier-5")); status != http.StatusBadRequest || aadsts(body) != 70008 {
		t.Errorf("a code 11 minutes old: %d %v", status, body)
	}

	// A refresh token renews itself; once consent is revoked, it is refused.
	refresh := func(rt string) (int, map[string]any) {
		return token(t, s, s.Tenant, url.Values{"grant_type": {"refresh_token"}, "client_id": {s.ClientID}, "client_secret": {s.ClientSecret},
			"refresh_token": {rt}, "scope": {"openid profile offline_access Files.Read.All"}})
	}
	_, good := token(t, s, s.Tenant, redeem(s, mustCode(t, s), "v-ok"))
	rt := good["refresh_token"]
	status, body = refresh(rt.(string))
	if status != http.StatusOK || body["refresh_token"] == rt || body["access_token"] == nil {
		t.Errorf("refresh: %d %v", status, body)
	}
	// Scopes beyond those granted are refused.
	if status, body := token(t, s, s.Tenant, url.Values{"grant_type": {"refresh_token"}, "client_id": {s.ClientID}, "client_secret": {s.ClientSecret},
		"refresh_token": {body["refresh_token"].(string)}, "scope": {"openid offline_access Mail.Read"}}); status != http.StatusBadRequest || body["error"] != "invalid_scope" {
		t.Errorf("a refresh asking more than was granted: %d %v", status, body)
	}
	s.RevokeConsent("u-bob")
	if status, body := refresh(body["refresh_token"].(string)); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("refresh after revocation: %d %v", status, body)
	}

	// A person who declines, and a tenant where only admins consent.
	s.Decline("u-bob", true)
	if back, _ := authorize(t, s, "u-bob", authQuery(s, "x")); back == nil || back.Query().Get("error") != "access_denied" || back.Query().Get("state") != "st-1" {
		t.Errorf("a declined consent sends back %v", back)
	}
	s.Decline("u-bob", false)
	s.AdminConsentOnly(true)
	if back, status := authorize(t, s, "u-bob", authQuery(s, "x")); back != nil || status != http.StatusOK {
		t.Errorf("admin consent only: sent to %v (HTTP %d)", back, status)
	}
}

// mustCode signs u-bob in with verifier "v-ok" and returns the code.
func mustCode(t *testing.T, s *teamstest.Server) string {
	t.Helper()
	back, _ := authorize(t, s, "u-bob", authQuery(s, "v-ok"))
	if back == nil || back.Query().Get("code") == "" {
		t.Fatalf("no code: %v", back)
	}
	return back.Query().Get("code")
}
