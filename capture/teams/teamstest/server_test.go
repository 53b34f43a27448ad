package teamstest_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/recordbot/recordbot/capture/teams/teamstest"
)

func token(t *testing.T, s *teamstest.Server, tenant string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := s.Client().PostForm(s.URL+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func creds(s *teamstest.Server, scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID}, "client_secret": {s.ClientSecret}, "scope": {scope}}
}

func get(t *testing.T, s *teamstest.Server, tok, path string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	client := *s.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func graphCode(t *testing.T, b []byte) string {
	t.Helper()
	var e struct {
		Error struct {
			Code       string         `json:"code"`
			Message    string         `json:"message"`
			InnerError map[string]any `json:"innerError"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" || e.Error.InnerError["request-id"] == nil {
		t.Fatalf("not Graph's error body: %s", b)
	}
	return e.Error.Code
}

func TestLogin(t *testing.T) {
	clock := clockwork.NewFakeClock()
	s := teamstest.New(teamstest.Options{Clock: clock})
	defer s.Close()
	for name, c := range map[string]struct {
		tenant string
		form   url.Values
		status int
		code   string
	}{
		"wrong tenant": {"other", creds(s, s.GraphScope()), 400, "invalid_request"},
		"wrong secret": {s.Tenant, url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID}, "client_secret": {"x"}, "scope": {s.GraphScope()}}, 401, "invalid_client"},
		"wrong app":    {s.Tenant, url.Values{"grant_type": {"client_credentials"}, "client_id": {"x"}, "client_secret": {s.ClientSecret}, "scope": {s.GraphScope()}}, 400, "unauthorized_client"},
		"no .default":  {s.Tenant, creds(s, s.URL+"/ChannelMessage.Read.All"), 400, "invalid_scope"},
		"wrong grant":  {s.Tenant, url.Values{"grant_type": {"password"}, "client_id": {s.ClientID}, "client_secret": {s.ClientSecret}, "scope": {s.GraphScope()}}, 400, "unsupported_grant_type"},
	} {
		status, body := token(t, s, c.tenant, c.form)
		if status != c.status || body["error"] != c.code || !strings.HasPrefix(body["error_description"].(string), "AADSTS") {
			t.Errorf("%s: %d %v", name, status, body)
		}
	}
	status, body := token(t, s, s.Tenant, creds(s, s.GraphScope()))
	if status != 200 || body["token_type"] != "Bearer" || body["expires_in"].(float64) != 3600 {
		t.Fatalf("token: %d %v", status, body)
	}
	info, ok := s.TokenInfo(body["access_token"].(string))
	if !ok || info.Scope != s.GraphScope() || info.User != "" {
		t.Errorf("info %+v", info)
	}
	clock.Advance(time.Hour)
	if _, ok := s.TokenInfo(body["access_token"].(string)); ok {
		t.Errorf("an expired token is still good")
	}
	// A Bot Framework token is issued, and refused by Graph.
	status, body = token(t, s, s.Tenant, creds(s, "https://api.botframework.com/.default"))
	if status != 200 {
		t.Fatalf("bot framework token: %d %v", status, body)
	}
	bf := body["access_token"].(string)
	if info, ok := s.TokenInfo(bf); !ok || info.Scope != "https://api.botframework.com/.default" {
		t.Errorf("bot framework token %+v", info)
	}
	s.AddTeam("tm", "T", true, "u")
	if status, _, b := get(t, s, bf, "/v1.0/teams/tm/members"); status != 401 || graphCode(t, b) != "InvalidAuthenticationToken" {
		t.Errorf("Graph took a Bot Framework token: %d", status)
	}
}

func TestGraphRules(t *testing.T) {
	s := teamstest.New(teamstest.Options{})
	defer s.Close()
	_, body := token(t, s, s.Tenant, creds(s, s.GraphScope()))
	tok := body["access_token"].(string)
	s.AddTeam("tm", "T", true, "u1")
	s.AddTeam("closed", "C", false, "u1")
	s.AddChannel("tm", "19:c@thread.tacv2", "General", "standard")
	root := s.PostChannel("tm", "19:c@thread.tacv2", teamstest.Message{From: "u1", Created: time.Unix(1700000000, 0), HTML: "root"})
	for i := range 120 {
		s.PostChannel("tm", "19:c@thread.tacv2", teamstest.Message{From: "u1", ReplyTo: root.ID, Created: time.Unix(1700000001+int64(i), 0), HTML: "r"})
	}
	replies := "/v1.0/teams/tm/channels/" + url.PathEscape("19:c@thread.tacv2") + "/messages/" + root.ID + "/replies"

	if status, _, b := get(t, s, "", replies); status != 401 || graphCode(t, b) != "InvalidAuthenticationToken" {
		t.Errorf("no token: %d", status)
	}
	if status, _, b := get(t, s, tok, replies+"?$top=51"); status != 400 || graphCode(t, b) != "BadRequest" {
		t.Errorf("$top=51: %d", status)
	}
	if status, _, b := get(t, s, tok, "/v1.0/teams/closed/members"); status != 403 || graphCode(t, b) != "Forbidden" {
		t.Errorf("no consent: %d", status)
	}
	// Paging: 20 by default, 50 at most, newest first, every reply once.
	next := replies
	seen := map[string]bool{}
	var last string
	pages := 0
	for next != "" {
		status, _, b := get(t, s, tok, strings.TrimPrefix(next, s.URL))
		if status != 200 {
			t.Fatalf("%s: %d %s", next, status, b)
		}
		var p struct {
			Value []struct {
				ID              string `json:"id"`
				CreatedDateTime string `json:"createdDateTime"`
			} `json:"value"`
			Next string `json:"@odata.nextLink"`
		}
		_ = json.Unmarshal(b, &p)
		if pages == 0 && len(p.Value) != 20 {
			t.Errorf("default page of %d", len(p.Value))
		}
		for _, m := range p.Value {
			if seen[m.ID] || (last != "" && m.CreatedDateTime > last) {
				t.Errorf("reply %s twice or out of order", m.ID)
			}
			seen[m.ID], last = true, m.CreatedDateTime
		}
		next = p.Next
		if next != "" && pages == 0 {
			next += "&%24top=50"
		}
		pages++
	}
	if len(seen) != 120 || pages != 3 {
		t.Errorf("%d replies in %d pages", len(seen), pages)
	}
	// Throttling as injected.
	s.Throttle(1, 429, "5")
	if status, h, b := get(t, s, tok, replies); status != 429 || h.Get("Retry-After") != "5" || graphCode(t, b) != "TooManyRequests" {
		t.Errorf("throttle: %d %v", status, h)
	}
}

func TestShares(t *testing.T) {
	s := teamstest.New(teamstest.Options{})
	defer s.Close()
	_, body := token(t, s, s.Tenant, creds(s, s.GraphScope()))
	app := body["access_token"].(string)
	s.AddTeam("tm", "T", true, "u1")
	s.AddChannel("tm", "19:c@thread.tacv2", "General", "standard")
	link := "https://contoso.sharepoint.com/sites/T/Shared%20Documents/a.docx"
	s.PostChannel("tm", "19:c@thread.tacv2", teamstest.Message{From: "u1", HTML: "f",
		Files: []*teamstest.SharedFile{{Name: "a.docx", URL: link, Content: []byte("content")}}})
	path := "/v1.0/shares/u!" + base64.RawURLEncoding.EncodeToString([]byte(link)) + "/driveItem/content"
	if status, _, b := get(t, s, app, path); status != 401 || graphCode(t, b) != "unauthenticated" {
		t.Errorf("app token on a share: %d", status)
	}
	if _, ok := s.DelegatedToken("u1"); ok {
		t.Errorf("a delegated token before consent")
	}
	user := s.GrantFiles("u1")
	status, h, _ := get(t, s, user, path)
	if status != http.StatusFound || h.Get("Location") == "" {
		t.Fatalf("share: %d", status)
	}
	if status, _, b := get(t, s, "", strings.TrimPrefix(h.Get("Location"), s.URL)); status != 200 || string(b) != "content" {
		t.Errorf("download: %d %q", status, b)
	}
}
