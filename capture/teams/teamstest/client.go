package teamstest

// Client authentication at the token endpoint: a client secret, or a
// client assertion (a JWT signed with the key of the certificate uploaded
// to the app registration), never both.
//
// The assertion's rules are those of "Microsoft identity platform
// application authentication certificate credentials"
// (https://learn.microsoft.com/entra/identity-platform/certificate-credentials):
// client_assertion_type urn:ietf:params:oauth:client-assertion-type:jwt-bearer;
// header alg PS256 (RS256 in the page's earlier version) and x5t#S256
// (x5t, SHA-1, earlier) naming the certificate; claims aud the token
// endpoint, iss the client id, sub the same as iss, jti, exp, nbf. The
// refusals carry the AADSTS numbers of "Microsoft Entra authentication
// and authorization error codes"
// (https://learn.microsoft.com/entra/identity-platform/reference-error-codes)
// and, where that page has none for the case, of Entra's answers people
// quote (cited at each).
//
// A reused jti is not refused: Entra documents no such check (the page
// asks the client for a unique jti, and says nothing of the server
// remembering them). This double allows no clock skew.

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// assertionType is the one client_assertion_type Entra takes.
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// ClientAuth is one client authentication the token endpoint judged.
type ClientAuth struct {
	// Method is client_secret, client_assertion, both joined by "+", or
	// "" when the request held neither.
	Method string
	// GrantType and Scope are the request's.
	GrantType, Scope string
	// Refused is the AADSTS number of a refusal; 0 when accepted.
	Refused int
}

// ClientAuths are the client authentications judged so far, in order.
func (s *Server) ClientAuths() []ClientAuth {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ClientAuth(nil), s.auths...)
}

// refusal is a token endpoint's error answer.
type refusal struct {
	status     int
	code, desc string
	n          int
}

func invalidClient(n int, desc string) *refusal {
	return &refusal{status: http.StatusUnauthorized, code: "invalid_client", desc: desc, n: n}
}

func invalidRequest(n int, desc string) *refusal {
	return &refusal{status: http.StatusBadRequest, code: "invalid_request", desc: desc, n: n}
}

// authenticateClient checks the app's proof of identity in a token
// request: its client secret or a client assertion. It answers the
// request and returns false when the proof is refused.
func (s *Server) authenticateClient(f url.Values, tokenURL string, fail tokenFail) bool {
	a := ClientAuth{GrantType: f.Get("grant_type"), Scope: f.Get("scope")}
	_, secret := f["client_secret"]
	_, assertion := f["client_assertion"]
	_, assertionTyp := f["client_assertion_type"]
	var r *refusal
	switch {
	case secret && (assertion || assertionTyp):
		// "The client MUST NOT use more than one authentication method in
		// each request" (RFC 6749 section 2.3), answered invalid_request
		// (section 5.2: "utilizes more than one mechanism for
		// authenticating the client"); AADSTS90023 is Entra's
		// InvalidRequest.
		a.Method = "client_secret+client_assertion"
		r = invalidRequest(90023, "AADSTS90023: The request holds both 'client_secret' and 'client_assertion': send one.")
	case assertion || assertionTyp:
		a.Method = "client_assertion"
		r = s.checkAssertion(f, tokenURL)
	case secret:
		a.Method = "client_secret"
		if s.ClientSecret == "" || f.Get("client_secret") != s.ClientSecret {
			r = invalidClient(7000215, "AADSTS7000215: Invalid client secret provided.")
		}
	default:
		r = invalidClient(7000218, "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	if r != nil {
		a.Refused = r.n
	}
	s.mu.Lock()
	s.auths = append(s.auths, a)
	s.mu.Unlock()
	if r != nil {
		fail(r.status, r.code, r.desc, r.n)
		return false
	}
	return true
}

// checkAssertion judges a client assertion for the token endpoint at
// tokenURL; nil when it is good.
func (s *Server) checkAssertion(f url.Values, tokenURL string) *refusal {
	switch t := f.Get("client_assertion_type"); {
	case t == "":
		return invalidRequest(900144, "AADSTS900144: The request body must contain the following parameter: 'client_assertion_type'.")
	case t != assertionType:
		// AADSTS90100 InvalidRequestParameter: "The parameter is empty or
		// not valid."
		return invalidRequest(90100, "AADSTS90100: client_assertion_type is not valid: want "+assertionType+".")
	case f.Get("client_assertion") == "":
		return invalidRequest(900144, "AADSTS900144: The request body must contain the following parameter: 'client_assertion'.")
	}
	// Only the RSA signatures the page names; "none", HS256 and the
	// others do not parse.
	tok, err := jwt.ParseSigned(f.Get("client_assertion"), []jose.SignatureAlgorithm{jose.PS256, jose.RS256})
	if err != nil || len(tok.Headers) != 1 {
		// AADSTS50027 InvalidJwtToken: "token format isn't proper".
		return invalidClient(50027, "AADSTS50027: JWT token is invalid or malformed.")
	}
	h := tok.Headers[0]
	// AADSTS700027: "Client assertion failed signature validation"; the
	// reasons are those of Entra's answers ("The key was not found.",
	// "Key was found, but use of the key to verify the signature
	// failed.", quoted in
	// https://github.com/Azure/azure-sdk-for-net/pull/11194 and
	// https://github.com/microsoftgraph/msgraph-sdk-php/issues/1585).
	x5t256, _ := h.ExtraHeaders["x5t#S256"].(string)
	x5t, _ := h.ExtraHeaders["x5t"].(string)
	used := thumbOf(x5t256, x5t)
	keyNotFound := invalidClient(700027, fmt.Sprintf("AADSTS700027: Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '%s']", used))
	if s.cert == nil || (x5t256 == "" && x5t == "") {
		return keyNotFound
	}
	s256 := sha256.Sum256(s.cert.Raw)
	s1 := sha1.Sum(s.cert.Raw)
	if x5t256 != "" && x5t256 != base64.RawURLEncoding.EncodeToString(s256[:]) ||
		x5t != "" && x5t != base64.RawURLEncoding.EncodeToString(s1[:]) {
		return keyNotFound
	}
	var c jwt.Claims
	if err := tok.Claims(s.cert.PublicKey, &c); err != nil {
		return invalidClient(700027, fmt.Sprintf("AADSTS700027: Client assertion failed signature validation. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '%s']", used))
	}
	now := s.clock.Now()
	if now.After(s.cert.NotAfter) || now.Before(s.cert.NotBefore) {
		return invalidClient(700027, fmt.Sprintf("AADSTS700027: Client assertion failed signature validation. [Reason - The key used is expired., Thumbprint of key used by client: '%s']", used))
	}
	// The audience is this token endpoint, alone: Entra refuses a list
	// (https://github.com/panva/openid-client/issues/348) and another
	// endpoint, answering AADSTS70002 with AADSTS50012 "Client assertion
	// audience claim does not match Realm issuer"
	// (https://github.com/AzureAD/azure-activedirectory-library-for-python/issues/79).
	if len(c.Audience) != 1 || c.Audience[0] != tokenURL {
		return invalidClient(50012, "AADSTS70002: Error validating credentials. AADSTS50012: Client assertion audience claim does not match Realm issuer.")
	}
	switch {
	case c.Issuer != s.ClientID:
		// AADSTS50027 InvalidJwtToken: "unexpected issuer".
		return invalidClient(50027, "AADSTS50027: Invalid JWT token: unexpected issuer; the assertion's iss must be the client id.")
	case c.Subject != c.Issuer:
		// AADSTS50048 SubjectMismatchesIssuer: "Subject mismatches Issuer
		// claim in the client assertion."
		return invalidClient(50048, "AADSTS50048: Subject mismatches Issuer claim in the client assertion.")
	case c.ID == "":
		// AADSTS90014 MissingRequiredField: "an expected field isn't
		// present in the credential".
		return invalidClient(90014, "AADSTS90014: The required field 'jti' is missing from the credential.")
	case c.Expiry == nil:
		return invalidClient(90014, "AADSTS90014: The required field 'exp' is missing from the credential.")
	}
	// exp: "on or after which the JWT must not be accepted"; nbf: "before
	// which the JWT MUST NOT be accepted". AADSTS700024's words are
	// Entra's (quoted in
	// https://github.com/AzureAD/microsoft-authentication-library-for-dotnet/issues/4951).
	exp := c.Expiry.Time()
	var nbf time.Time
	if c.NotBefore != nil {
		nbf = c.NotBefore.Time()
	}
	if !now.Before(exp) || now.Before(nbf) {
		return invalidClient(700024, fmt.Sprintf("AADSTS700024: Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.",
			now.UTC().Format(time.RFC3339), nbf.UTC().Format(time.RFC3339), exp.UTC().Format(time.RFC3339)))
	}
	return nil
}

// thumbOf is the hex thumbprint an assertion's header names, as Entra
// quotes it.
func thumbOf(x5t256, x5t string) string {
	v := x5t256
	if v == "" {
		v = x5t
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return ""
	}
	return strings.ToUpper(hex.EncodeToString(b))
}
