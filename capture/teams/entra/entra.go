// Package entra is recordbot's client of the Microsoft identity platform's
// token endpoint ({login}/{tenant}/oauth2/v2.0/token): the one place the
// app proves who it is (a client secret, or a certificate) and reads the
// endpoint's answers and errors. The Teams capture source gets its Graph
// token here, the Teams front end its Bot Connector token and people's
// file tokens (the authorization code and refresh token grants).
//
// Rules from "Microsoft identity platform and the OAuth 2.0 client
// credentials flow"
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow)
// and "Microsoft identity platform and OAuth 2.0 authorization code flow"
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow).
package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DefaultLoginURL is the public cloud's login service.
const DefaultLoginURL = "https://login.microsoftonline.com"

// maxAnswer caps what is read of the token endpoint's answer.
const maxAnswer = 1 << 20

// Credential is how the app proves who it is at the token endpoint.
type Credential interface {
	// Authenticate adds the app's proof to a token request's form, for
	// the token endpoint at tokenURL (a certificate's assertion names it).
	Authenticate(form url.Values, tokenURL string) error
	// Kind names the credential for people ("client secret",
	// "certificate …"), never its value.
	Kind() string
}

// Secret is a client secret (the app registration's "Certificates &
// secrets", a client secret), sent as client_secret.
type Secret string

// Authenticate implements Credential.
func (s Secret) Authenticate(form url.Values, _ string) error {
	if s == "" {
		return errors.New("entra: empty client secret")
	}
	form.Set("client_secret", string(s))
	return nil
}

// Kind implements Credential.
func (Secret) Kind() string { return "client secret" }

// Client asks one tenant's token endpoint for tokens as one app.
type Client struct {
	// LoginURL is the login service (DefaultLoginURL when empty).
	LoginURL string
	// Tenant is the organisation's tenant id.
	Tenant string
	// ClientID is the app's client (application) id.
	ClientID   string
	Credential Credential
	// HTTPClient makes the calls (one with a 30-second timeout when nil).
	HTTPClient *http.Client
}

// TokenURL is the tenant's token endpoint.
func (c *Client) TokenURL() string {
	return c.root() + "/" + url.PathEscape(c.Tenant) + "/oauth2/v2.0/token"
}

// AuthorizeURL is the tenant's authorization endpoint.
func (c *Client) AuthorizeURL() string {
	return c.root() + "/" + url.PathEscape(c.Tenant) + "/oauth2/v2.0/authorize"
}

func (c *Client) root() string {
	if c.LoginURL == "" {
		return DefaultLoginURL
	}
	return strings.TrimRight(c.LoginURL, "/")
}

// Token is a successful answer of the token endpoint.
type Token struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

// Life is how long the access token lasts.
func (t *Token) Life() time.Duration { return time.Duration(t.ExpiresIn) * time.Second }

// Scopes are the scopes the token holds, as the answer lists them (its
// documented examples show them URL-encoded: "https%3A%2F%2Fgraph.microsoft.com%2Fmail.read").
func (t *Token) Scopes() []string {
	s := t.Scope
	if u, err := url.QueryUnescape(s); err == nil && strings.Contains(s, "%") {
		s = u
	}
	return strings.Fields(s)
}

// Has reports whether the token holds scope (compared without case, as
// Entra's scope names are).
func (t *Token) Has(scope string) bool {
	return slices.ContainsFunc(t.Scopes(), func(s string) bool { return strings.EqualFold(s, scope) })
}

// Grants reports whether the answer gives scope, a resource's scope
// ("https://graph.microsoft.com/Files.Read.All"): Entra lists a
// resource's scopes with or without the resource's address, and an
// answer that names no scope is for the scopes asked ("scope ... if
// omitted, the token is for the scopes requested on the initial leg",
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow).
func (t *Token) Grants(scope string) bool {
	if len(t.Scopes()) == 0 {
		return true
	}
	_, short, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(scope, "https://"), "http://"), "/")
	return t.Has(scope) || t.Has(short)
}

// Error is the token endpoint refusing a request, or failing. Its
// error_description is not kept: it may echo the request.
type Error struct {
	Status int
	// Code is the OAuth error code (invalid_client, invalid_grant...).
	Code string
	// Codes are Entra's AADSTS numbers (error_codes).
	Codes []int
}

func (e *Error) Error() string {
	s := fmt.Sprintf("entra: the token endpoint answered HTTP %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	for _, n := range e.Codes {
		s += fmt.Sprintf(" AADSTS%d", n)
	}
	return s
}

// Has reports whether Entra named AADSTS number n.
func (e *Error) Has(n int) bool { return slices.Contains(e.Codes, n) }

// Transient reports whether trying again later may succeed: the endpoint
// was throttling or failing, not refusing.
func (e *Error) Transient() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500 || e.Code == "temporarily_unavailable"
}

// AppRefused reports whether the endpoint refused the app itself (its id,
// credential or tenant), which only an admin can put right.
func (e *Error) AppRefused() bool {
	switch e.Code {
	case "invalid_client", "unauthorized_client":
		return true
	}
	// AADSTS90002: tenant not found; AADSTS700016: application not found
	// in the directory.
	return e.Has(90002) || e.Has(700016)
}

// Request posts form (grant_type and the grant's fields) to the token
// endpoint with the app's id and credential, and returns the answer.
func (c *Client) Request(ctx context.Context, form url.Values) (*Token, error) {
	if c.Credential == nil {
		return nil, errors.New("entra: no credential")
	}
	form.Set("client_id", c.ClientID)
	if err := c.Credential.Authenticate(form, c.TokenURL()); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("entra: login service: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("entra: login service: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		// {"error": "invalid_client", "error_description": "AADSTS…",
		// "error_codes": [7000215], ...} ("Error response" on both pages).
		var e struct {
			Error string `json:"error"`
			Codes []int  `json:"error_codes"`
		}
		_ = json.Unmarshal(body, &e)
		return nil, &Error{Status: resp.StatusCode, Code: e.Error, Codes: e.Codes}
	}
	var t Token
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return nil, errors.New("entra: the login service's answer holds no access token")
	}
	return &t, nil
}

// ClientCredentials gets the app's own token for scope (a resource's
// "/.default") by the client credentials grant.
func (c *Client) ClientCredentials(ctx context.Context, scope string) (*Token, error) {
	return c.Request(ctx, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}})
}
