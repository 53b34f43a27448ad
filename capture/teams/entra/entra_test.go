package entra_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/capture/teams/entra"
)

// answering is a token endpoint that answers every request with status
// and body, and keeps the last form it was sent.
func answering(t *testing.T, status int, body string, form *url.Values) *entra.Client {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/tenant-1/oauth2/v2.0/token" || r.Method != http.MethodPost {
			t.Errorf("asked %s %s", r.Method, r.URL.Path)
		}
		r.ParseForm()
		if form != nil {
			*form = r.PostForm
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return &entra.Client{LoginURL: s.URL + "/", Tenant: "tenant-1", ClientID: "app-1", Credential: entra.Secret("s3cret-value"), HTTPClient: s.Client()}
}

func TestRequestToken(t *testing.T) {
	var form url.Values
	c := answering(t, 200, `{"token_type":"Bearer","expires_in":3599,"access_token":"tok-1","scope":"Files.Read.All User.Read"}`, &form)
	tok, err := c.ClientCredentials(context.Background(), "https://graph.microsoft.com/.default")
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "tok-1" || tok.Life().Seconds() != 3599 || !tok.Has("files.read.all") || tok.Has("Chat.Read") {
		t.Errorf("token %+v", tok)
	}
	if form.Get("client_id") != "app-1" || form.Get("client_secret") != "s3cret-value" || form.Get("grant_type") != "client_credentials" ||
		form.Get("scope") != "https://graph.microsoft.com/.default" {
		t.Errorf("sent %v", form)
	}
	if _, err := answering(t, 200, `{"token_type":"Bearer"}`, nil).ClientCredentials(context.Background(), "x/.default"); err == nil {
		t.Errorf("an answer without an access token was taken")
	}
}

// TestRequestErrors: the endpoint's error body ("Error response",
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#error-response)
// becomes an *entra.Error with the code and the AADSTS numbers, and
// without the description, which may echo the request.
func TestRequestErrors(t *testing.T) {
	for _, tt := range []struct {
		name               string
		status             int
		body               string
		code               string
		codes              []int
		transient, refused bool
	}{
		{"wrong secret", 401, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. s3cret-value","error_codes":[7000215],"trace_id":"x"}`,
			"invalid_client", []int{7000215}, false, true},
		{"certificate not uploaded", 401, `{"error":"invalid_client","error_description":"AADSTS700027: Client assertion failed signature validation.","error_codes":[700027]}`,
			"invalid_client", []int{700027}, false, true},
		{"two numbers", 401, `{"error":"invalid_client","error_description":"AADSTS70002: Error validating credentials. AADSTS50012: Client assertion audience claim does not match Realm issuer.","error_codes":[70002,50012]}`,
			"invalid_client", []int{70002, 50012}, false, true},
		{"tenant not found", 400, `{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'x' not found.","error_codes":[90002]}`,
			"invalid_request", []int{90002}, false, true},
		{"app not in the tenant", 400, `{"error":"unauthorized_client","error_description":"AADSTS700016: Application not found in the directory.","error_codes":[700016]}`,
			"unauthorized_client", []int{700016}, false, true},
		{"bad scope", 400, `{"error":"invalid_scope","error_description":"AADSTS1002012: bad scope","error_codes":[1002012]}`,
			"invalid_scope", []int{1002012}, false, false},
		{"throttled", 429, `{"error":"temporarily_unavailable","error_codes":[90055]}`, "temporarily_unavailable", []int{90055}, true, false},
		{"temporarily unavailable", 400, `{"error":"temporarily_unavailable","error_description":"busy"}`, "temporarily_unavailable", nil, true, false},
		{"server error, not JSON", 503, `<html>Service Unavailable</html>`, "", nil, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := answering(t, tt.status, tt.body, nil).ClientCredentials(context.Background(), "https://graph.microsoft.com/.default")
			var e *entra.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want *entra.Error", err, err)
			}
			if e.Status != tt.status || e.Code != tt.code || !slices.Equal(e.Codes, tt.codes) {
				t.Errorf("got %+v, want %d %s %v", e, tt.status, tt.code, tt.codes)
			}
			if e.Transient() != tt.transient || e.AppRefused() != tt.refused {
				t.Errorf("Transient %v AppRefused %v, want %v %v", e.Transient(), e.AppRefused(), tt.transient, tt.refused)
			}
			for _, n := range tt.codes {
				if !e.Has(n) || !strings.Contains(e.Error(), "AADSTS"+itoa(n)) {
					t.Errorf("%v lacks AADSTS%d", e, n)
				}
			}
			if e.Has(1) {
				t.Errorf("Has(1) on %v", e)
			}
			// The description is not kept: it may echo the request.
			for _, w := range []string{"Invalid client secret", "s3cret-value", "Tenant 'x'", "busy", "html", "audience"} {
				if strings.Contains(e.Error(), w) {
					t.Errorf("the error keeps the description: %v", e)
				}
			}
		})
	}
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

func TestRequestNoCredential(t *testing.T) {
	c := &entra.Client{LoginURL: "http://127.0.0.1:1", Tenant: "t", ClientID: "a"}
	if _, err := c.ClientCredentials(context.Background(), "x/.default"); err == nil {
		t.Errorf("a request without a credential")
	}
	c.Credential = entra.Secret("")
	if _, err := c.ClientCredentials(context.Background(), "x/.default"); err == nil || !strings.Contains(err.Error(), "empty client secret") {
		t.Errorf("an empty secret: %v", err)
	}
	if got := (&entra.Client{Tenant: "t/x"}).TokenURL(); got != "https://login.microsoftonline.com/t%2Fx/oauth2/v2.0/token" {
		t.Errorf("TokenURL %s", got)
	}
}

// TestTokenGrants: the scope of a token answer, as Entra lists it (with or
// without Graph's address, URL-encoded in the documented examples, or
// not at all, which means the scopes asked).
func TestTokenGrants(t *testing.T) {
	const want = "https://graph.microsoft.com/Files.Read.All"
	for scope, ok := range map[string]bool{
		"openid profile offline_access https://graph.microsoft.com/Files.Read.All": true,
		"Files.Read.All User.Read":                           true,
		"https%3A%2F%2Fgraph.microsoft.com%2FFiles.Read.All": true,
		"https%3A%2F%2Fgraph.microsoft.com%2Ffiles.read.all": true,
		"":                                       true,
		"openid profile offline_access":          false,
		"https://graph.microsoft.com/Files.Read": false,
		"https://graph.microsoft.com/Files.Read.All.Evil":    false,
		"https%3A%2F%2Fgraph.microsoft.com%2FSites.Read.All": false,
	} {
		if got := (&entra.Token{Scope: scope}).Grants(want); got != ok {
			t.Errorf("Grants(%q) = %v, want %v", scope, got, ok)
		}
	}
}
