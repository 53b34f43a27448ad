package teamstest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The delegated sign-in, as "Microsoft identity platform and OAuth 2.0
// authorization code flow" documents it
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow):
//   - the authorization endpoint accepts only a registered redirect URI
//     (otherwise an error page, no redirect: AADSTS50011) and the app's
//     client id (AADSTS700016); it needs response_type=code; a
//     code_challenge_method other than S256 or plain is refused;
//   - a signed-in person (Browser) who consents is sent back with a code
//     and the state as given; one who declines with error=access_denied;
//     a tenant where only admins may consent shows "Need admin approval"
//     and sends nobody back;
//   - a code lasts 10 minutes ("Authorization codes are short lived,
//     typically they expire after about 10 minutes"), is redeemed once
//     (AADSTS54005), only with the redirect URI it was issued for and,
//     when a code_challenge was given, the matching code_verifier
//     (AADSTS50148);
//   - the answer holds an access token, a refresh token when
//     offline_access was asked, and an ID token when openid was, whose
//     oid and name need the profile scope ("ID token claims reference",
//     https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference);
//   - a refresh token gives a new access token and a new refresh token
//     (the old one stays valid); once the person's consent is revoked it
//     is refused with invalid_grant.

// codeLife is how long an authorization code lasts.
const codeLife = 10 * time.Minute

// refreshLife is how long a refresh token lasts unused (90 days for
// anything but a single-page app: "Refresh token lifetime",
// https://learn.microsoft.com/entra/identity-platform/refresh-tokens).
const refreshLife = 90 * 24 * time.Hour

// sessionCookie names the person signed in to a Browser.
const sessionCookie = "teamstest-session"

type authCode struct {
	user, redirect, challenge, method, nonce string
	scopes                                   []string
	expires                                  time.Time
	used                                     bool
}

type refreshGrant struct {
	user    string
	scopes  []string
	expires time.Time
}

// oauthState is the server's delegated sign-in state.
type oauthState struct {
	redirects []string
	sessions  map[string]string // session cookie -> user
	declines  map[string]bool
	adminOnly bool
	codes     map[string]*authCode
	refreshes map[string]refreshGrant
}

// RegisterRedirect registers a Web redirect URI of the app, as an admin
// does in the app registration's Authentication page.
func (s *Server) RegisterRedirect(uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.redirects = append(s.oauth.redirects, uri)
}

// Browser returns an HTTP client standing for user's browser, signed in
// to the login service: it follows the login service's redirects to the
// app's callback, as a browser does.
func (s *Server) Browser(user string) *http.Client {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	session := hex.EncodeToString(b)
	s.mu.Lock()
	s.oauth.sessions[session] = user
	s.mu.Unlock()
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(s.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: session, Path: "/"}})
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// Decline makes user decline the consent prompt.
func (s *Server) Decline(user string, decline bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.declines[user] = decline
}

// AdminConsentOnly makes the tenant let only admins consent for apps.
func (s *Server) AdminConsentOnly(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.adminOnly = on
}

// RevokeConsent takes back user's delegated consent: their refresh
// tokens are refused from then on, and Graph refuses their files.
func (s *Server) RevokeConsent(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.consent[user] = false
	for tok, g := range s.oauth.refreshes {
		if g.user == user {
			delete(s.oauth.refreshes, tok)
		}
	}
}

// errorPage is the login service's own error page: what it shows when it
// cannot trust the redirect URI.
func errorPage(w http.ResponseWriter, n int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, "<html><body><h1>Sign in</h1><p>AADSTS%d: %s</p></body></html>", n, html.EscapeString(msg))
}

// authorize answers the authorization endpoint.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, tenant string) {
	q := r.URL.Query()
	s.mu.Lock()
	registered := slices.Contains(s.oauth.redirects, q.Get("redirect_uri"))
	s.mu.Unlock()
	switch {
	case tenant != s.Tenant:
		errorPage(w, 90002, "Tenant not found.")
		return
	case q.Get("client_id") != s.ClientID:
		errorPage(w, 700016, "Application not found in the directory.")
		return
	case !registered:
		errorPage(w, 50011, "The redirect URI specified in the request does not match the redirect URIs configured for the application.")
		return
	}
	back := func(v url.Values) {
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		u, _ := url.Parse(q.Get("redirect_uri"))
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	fail := func(code string, n int, msg string) {
		back(url.Values{"error": {code}, "error_description": {fmt.Sprintf("AADSTS%d: %s", n, msg)}})
	}
	scopes := strings.Fields(q.Get("scope"))
	method := q.Get("code_challenge_method")
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", 700054, "response_type 'code' is expected.")
		return
	case len(scopes) == 0:
		fail("invalid_request", 900144, "The request body must contain the parameter scope.")
		return
	case q.Get("code_challenge") != "" && method != "S256" && method != "plain" && method != "":
		fail("invalid_request", 501491, "Invalid size of Code_Challenge parameter.")
		return
	}
	for i, sc := range scopes {
		switch {
		case sc == "Files.Read.All" || strings.EqualFold(sc, s.URL+"/Files.Read.All"):
			scopes[i] = s.URL + "/Files.Read.All"
		case sc == "openid" || sc == "profile" || sc == "offline_access" || sc == "email":
		default:
			fail("invalid_scope", 70011, "The provided value for the input parameter 'scope' isn't valid.")
			return
		}
	}
	c, err := r.Cookie(sessionCookie)
	s.mu.Lock()
	user := ""
	if err == nil {
		user = s.oauth.sessions[c.Value]
	}
	declines, adminOnly := s.oauth.declines[user], s.oauth.adminOnly
	s.mu.Unlock()
	switch {
	case user == "":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<html><body><h1>Sign in to your account</h1></body></html>")
		return
	case adminOnly:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<html><body><h1>Need admin approval</h1><p>AADSTS90094: recordbot needs permission to access resources in your organization that only an admin can grant.</p></body></html>")
		return
	case declines:
		fail("access_denied", 65004, "User declined to consent to access the app.")
		return
	}
	if method == "" && q.Get("code_challenge") != "" {
		method = "plain"
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	code := "0.AAAA" + hex.EncodeToString(b)
	s.mu.Lock()
	s.oauth.codes[code] = &authCode{user: user, redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), method: method,
		nonce: q.Get("nonce"), scopes: scopes, expires: s.clock.Now().Add(codeLife)}
	s.mu.Unlock()
	back(url.Values{"code": {code}, "session_state": {"00000000-0000-4000-8000-000000000000"}})
}

// authorizationCode answers the authorization code grant.
func (s *Server) authorizationCode(w http.ResponseWriter, f url.Values, fail tokenFail) {
	s.mu.Lock()
	c := s.oauth.codes[f.Get("code")]
	var problem func()
	switch {
	case c == nil:
		problem = func() {
			fail(http.StatusBadRequest, "invalid_grant", "AADSTS9002313: Invalid request. Request is malformed or invalid.", 9002313)
		}
	case c.used:
		problem = func() {
			fail(http.StatusBadRequest, "invalid_grant", "AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.", 54005)
		}
	case !s.clock.Now().Before(c.expires):
		problem = func() {
			fail(http.StatusBadRequest, "invalid_grant", "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.", 70008)
		}
	case f.Get("redirect_uri") != c.redirect:
		problem = func() {
			fail(http.StatusBadRequest, "invalid_grant", "AADSTS50011: The redirect URI specified in the request does not match the redirect URI the code was issued for.", 50011)
		}
	case c.challenge != "" && !pkceMatches(c.challenge, c.method, f.Get("code_verifier")):
		problem = func() {
			fail(http.StatusBadRequest, "invalid_grant", "AADSTS50148: The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.", 50148)
		}
	}
	if c != nil {
		c.used = true // a code is redeemed once, whatever else was wrong
	}
	var code authCode
	if problem == nil {
		code = *c
		s.consent[c.user] = true
	}
	s.mu.Unlock()
	if problem != nil {
		problem()
		return
	}
	if !within(f.Get("scope"), code.scopes, s.URL) {
		fail(http.StatusBadRequest, "invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' isn't valid.", 70011)
		return
	}
	s.grant(w, code.user, code.scopes, code.nonce)
}

// within reports whether the scopes of a token request (none: those
// granted) are among those granted, Graph's named with or without its
// address (graph).
func within(asked string, granted []string, graph string) bool {
	for _, sc := range strings.Fields(asked) {
		if sc == "Files.Read.All" {
			sc = graph + "/Files.Read.All"
		}
		if !slices.ContainsFunc(granted, func(g string) bool { return strings.EqualFold(g, sc) }) {
			return false
		}
	}
	return true
}

// pkceMatches checks a code verifier against its challenge (RFC 7636,
// 4.6).
func pkceMatches(challenge, method, verifier string) bool {
	if verifier == "" {
		return false
	}
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		return base64.RawURLEncoding.EncodeToString(sum[:]) == challenge
	}
	return verifier == challenge
}

// refreshToken answers the refresh token grant.
func (s *Server) refreshToken(w http.ResponseWriter, f url.Values, fail tokenFail) {
	s.mu.Lock()
	g, ok := s.oauth.refreshes[f.Get("refresh_token")]
	expired := ok && !s.clock.Now().Before(g.expires)
	s.mu.Unlock()
	switch {
	case !ok:
		fail(http.StatusBadRequest, "invalid_grant", "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed.", 50173)
		return
	case expired:
		fail(http.StatusBadRequest, "invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity.", 700082)
		return
	case !within(f.Get("scope"), g.scopes, s.URL):
		// "The scopes requested in this leg must be equivalent to or a
		// subset of the scopes requested in the original
		// authorization_code request leg" (same page).
		fail(http.StatusBadRequest, "invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' isn't valid.", 70011)
		return
	}
	s.grant(w, g.user, g.scopes, "")
}

// grant answers a delegated grant for user with scopes.
func (s *Server) grant(w http.ResponseWriter, user string, scopes []string, nonce string) {
	var resource []string
	for _, sc := range scopes {
		if strings.Contains(sc, "/") {
			resource = append(resource, sc)
		}
	}
	out := map[string]any{"token_type": "Bearer", "scope": strings.Join(scopes, " "), "expires_in": int(s.life / time.Second),
		"ext_expires_in": int(s.life / time.Second),
		"access_token":   s.issue(Token{Scope: strings.Join(resource, " "), ClientID: s.ClientID, User: user})}
	if slices.Contains(scopes, "offline_access") {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		rt := "1.AAAA" + hex.EncodeToString(b)
		s.mu.Lock()
		s.oauth.refreshes[rt] = refreshGrant{user: user, scopes: scopes, expires: s.clock.Now().Add(refreshLife)}
		s.mu.Unlock()
		out["refresh_token"] = rt
	}
	if slices.Contains(scopes, "openid") {
		idt, err := s.idToken(user, slices.Contains(scopes, "profile"), nonce)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out["id_token"] = idt
	}
	writeJSON(w, out)
}

var (
	idKeyOnce sync.Once
	idKey     *rsa.PrivateKey
	idKeyErr  error
)

// idToken signs an ID token for user (RS256, with a key made once per
// test process).
func (s *Server) idToken(user string, profile bool, nonce string) (string, error) {
	idKeyOnce.Do(func() { idKey, idKeyErr = rsa.GenerateKey(rand.Reader, 2048) })
	if idKeyErr != nil {
		return "", idKeyErr
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: idKey},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "teamstest"))
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	claims := map[string]any{
		"aud": s.ClientID, "iss": s.URL + "/" + s.Tenant + "/v2.0", "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "tid": s.Tenant, "sub": "pairwise-" + user, "ver": "2.0",
	}
	if profile {
		s.mu.Lock()
		claims["oid"], claims["name"] = user, s.users[user]
		s.mu.Unlock()
		claims["preferred_username"] = emailOf(fmt.Sprint(claims["name"]))
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	return jwt.Signed(sig).Claims(claims).Serialize()
}
