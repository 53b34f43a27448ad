// Package slacktest runs an in-process Slack for tests: an httptest server
// that answers the Web API methods recordbot calls with the payload shapes,
// pagination, error codes and HTTP 429 + Retry-After that Slack's API
// reference documents, serves private files (and Slack's HTML sign-in page
// to a request without a valid token), and offers a Socket Mode websocket.
// Tests point the real slack-go client at it with slack.OptionAPIURL.
package slacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Channel is a conversation of the fake workspace.
type Channel struct {
	ID   string
	Name string
	// Kind is "channel", "private", "dm" or "group".
	Kind    string
	Members []string
	// BotIn says whether the bot has been invited.
	BotIn bool
}

// User is a person (or bot user) of the fake workspace.
type User struct {
	ID, Name, RealName, DisplayName string
	IsBot                           bool
	// TZ is the time zone the person set in their profile, such as
	// Europe/London; users.info gives it as "tz"
	// (https://api.slack.com/types/user: "tz", the person's time zone
	// region). Empty: no tz in the answer.
	TZ string
}

// File is a private file the server serves at its URL.
type File struct {
	ContentType string
	Body        []byte
}

// Call is one recorded Web API call.
type Call struct {
	Method string
	Token  string
	Form   url.Values
	JSON   map[string]any
}

// Server is a fake Slack. Set its fields before the first request; use the
// methods afterwards (they lock).
type Server struct {
	*httptest.Server

	TeamID, TeamName, Domain string
	BotUserID, BotID         string
	// Tokens maps each valid bot token to its team id.
	Tokens map[string]string
	// AppToken is the app-level token for apps.connections.open.
	AppToken string
	// ClientID, ClientSecret and Code make oauth.v2.access answer with
	// InstallToken for team InstallTeam, granting Scopes (and, when
	// InstallUserToken is set, that user token for the installing admin
	// with UserScopes).
	ClientID, ClientSecret, Code string
	InstallToken, InstallTeam    string
	InstallUserToken             string
	// UserScopes are the user scopes oauth.v2.access says it granted in
	// authed_user.scope. New grants manifest.yml's user scopes.
	UserScopes []string
	// UserTokens maps each valid user token (xoxp-) to the person it
	// acts for. A user token sees public channels and the conversations
	// its person is a member of, nothing else; it holds only the user
	// scopes recordbot asks for, so users.info answers missing_scope.
	UserTokens map[string]string

	userCodes map[string]string // OAuth code -> person, single use
	// MaxPage caps the page size of paginated methods (like Slack, which
	// may return fewer items than asked).
	MaxPage int
	// Scopes are the scopes granted to the bot tokens, which every Web API
	// answer lists in its x-oauth-scopes header
	// (https://api.slack.com/web, "Basics"). New grants manifest.yml's.
	Scopes []string

	mu       sync.Mutex
	channels map[string]*Channel
	users    map[string]User
	messages map[string][]map[string]any // channel -> messages in ts order
	files    map[string]File
	limited  map[string][]int // method -> Retry-After seconds for the next calls
	failing  map[string][]Failure
	broken   map[string]Failure
	calls    []Call
	socket   *socket
}

// New starts a fake Slack for workspace T1 "Acme" (acme.slack.com) whose
// bot token is "xoxb-test", and stops it when the test ends.
func New(t testing.TB) *Server {
	s := &Server{
		TeamID: "T1", TeamName: "Acme", Domain: "acme.slack.com",
		BotUserID: "UBOT", BotID: "BBOT",
		Tokens:     map[string]string{"xoxb-test": "T1"},
		UserTokens: make(map[string]string),
		userCodes:  make(map[string]string),
		AppToken:   "xapp-test",
		MaxPage:    1000,
		Scopes: []string{"channels:history", "groups:history", "im:history", "mpim:history", "channels:read",
			"groups:read", "im:read", "mpim:read", "users:read", "files:read", "chat:write", "commands"},
		UserScopes: []string{"im:history", "im:read", "mpim:history", "mpim:read", "files:read"},
		channels:   make(map[string]*Channel),
		users:      make(map[string]User),
		messages:   make(map[string][]map[string]any),
		files:      make(map[string]File),
		limited:    make(map[string][]int),
		failing:    make(map[string][]Failure),
		broken:     make(map[string]Failure),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.api)
	mux.HandleFunc("/files-pri/", s.file)
	mux.HandleFunc("/socket", s.serveSocket)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// AuthorizeUser is what Slack's consent page does when person approves
// an OAuth v2 request for user scopes: it returns the code that
// oauth.v2.access exchanges for the person's user token, once
// (https://docs.slack.dev/authentication/installing-with-oauth).
func (s *Server) AuthorizeUser(person string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := "ucode-" + person + "-" + strconv.Itoa(len(s.userCodes)+len(s.calls))
	s.userCodes[code] = person
	return code
}

// UserToken returns the user token person holds, if any.
func (s *Server) UserToken(person string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok, p := range s.UserTokens {
		if p == person {
			return tok
		}
	}
	return ""
}

// GrantUserToken makes tok a valid user token of person.
func (s *Server) GrantUserToken(tok, person string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.UserTokens[tok] = person
}

// RevokeUserToken makes tok stop working, as a person removing the app's
// access in Slack does.
func (s *Server) RevokeUserToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.UserTokens, tok)
}

// Uninstall does what uninstalling the app from team does: every token
// of the app in that workspace, the bot's and the people's, stops working
// (https://docs.slack.dev/reference/events/app_uninstalled). Slack then
// sends app_uninstalled, which the test sends itself.
func (s *Server) Uninstall(team string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok, t := range s.Tokens {
		if t == team {
			delete(s.Tokens, tok)
		}
	}
	if team == s.TeamID {
		clear(s.UserTokens)
	}
}

// APIURL is the Web API base URL to give slack.OptionAPIURL.
func (s *Server) APIURL() string { return s.URL + "/api/" }

// AddChannel adds a conversation.
func (s *Server) AddChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cc := c
	s.channels[c.ID] = &cc
}

// AddUser adds a person.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// AddMessages adds messages, as Slack's JSON shapes them, to channel.
func (s *Server) AddMessages(channel string, msgs ...map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages[channel] = append(s.messages[channel], msgs...)
	sort.SliceStable(s.messages[channel], func(i, j int) bool {
		return tsLess(s.messages[channel][i]["ts"].(string), s.messages[channel][j]["ts"].(string))
	})
}

// AddFile serves body at path (under /files-pri/) and returns its URL.
func (s *Server) AddFile(path, contentType string, body []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files["/files-pri/"+path] = File{ContentType: contentType, Body: body}
	return s.URL + "/files-pri/" + path
}

// Calls returns the recorded calls of method ("" for all).
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// CallCount returns how many calls each method got.
func (s *Server) CallCount() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := make(map[string]int)
	for _, c := range s.calls {
		n[c.Method]++
	}
	return n
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	body, _ := io.ReadAll(r.Body)
	call := Call{Method: method}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		call.Token = tok
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(body, &call.JSON)
	} else {
		call.Form, _ = url.ParseQuery(string(body))
		for k, v := range r.URL.Query() {
			call.Form[k] = v
		}
		if t := call.Form.Get("token"); t != "" {
			call.Token = t
		}
	}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	if ra := s.limited[method]; len(ra) > 0 {
		s.limited[method] = ra[1:]
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(ra[0]))
		http.Error(w, "", http.StatusTooManyRequests)
		return
	}
	if f, ok := s.failure(method); ok {
		s.mu.Unlock()
		f.write(w)
		return
	}
	s.mu.Unlock()

	var res map[string]any
	switch method {
	case "oauth.v2.access":
		res = s.oauthAccess(r, call)
	case "apps.connections.open":
		if call.Token != s.AppToken || s.AppToken == "" {
			res = fail("invalid_auth")
		} else {
			res = map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(s.URL, "http") + "/socket"}
		}
	default:
		s.mu.Lock()
		team, ok := s.Tokens[call.Token]
		who, isUser := s.UserTokens[call.Token]
		s.mu.Unlock()
		if isUser {
			res = s.userMethod(method, who, call)
			break
		}
		if !ok {
			if call.Token == "" {
				res = fail("not_authed")
			} else {
				res = fail("invalid_auth")
			}
			break
		}
		w.Header().Set("X-OAuth-Scopes", strings.Join(s.Scopes, ","))
		res = s.method(method, team, call)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(res)
}

func fail(code string) map[string]any { return map[string]any{"ok": false, "error": code} }

func (c Call) get(k string) string {
	if c.JSON != nil {
		if v, ok := c.JSON[k]; ok {
			if s, ok := v.(string); ok {
				return s
			}
			b, _ := json.Marshal(v)
			return string(b)
		}
		return ""
	}
	return c.Form.Get(k)
}

// Get returns a parameter of the call, form or JSON.
func (c Call) Get(k string) string { return c.get(k) }

func (s *Server) method(method, team string, c Call) map[string]any {
	if method == "auth.revoke" {
		return s.revoke(c)
	}
	return s.methodAs(method, team, "", c)
}

// file serves a private file: url_private needs the bot token in an
// Authorization header (https://api.slack.com/types/file#auth), and Slack
// answers a request without a valid token with 200 and its HTML sign-in
// page, not an error status.
func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, ok := s.files[r.URL.Path]
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	_, valid := s.Tokens[tok]
	if _, user := s.UserTokens[tok]; user {
		valid = true
	}
	s.calls = append(s.calls, Call{Method: "files", Token: tok, Form: url.Values{"path": {r.URL.Path}}})
	if ra := s.limited["files"]; len(ra) > 0 {
		// RateLimit("files", ...) limits downloads as Slack limits any
		// request: 429 and Retry-After in seconds
		// (https://api.slack.com/docs/rate-limits).
		s.limited["files"] = ra[1:]
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(ra[0]))
		http.Error(w, "", http.StatusTooManyRequests)
		return
	}
	s.mu.Unlock()
	if !valid {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Acme</body></html>")
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Body)))
	io.Copy(w, bytes.NewReader(f.Body))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func tsLess(a, b string) bool {
	as, af, _ := strings.Cut(a, ".")
	bs, bf, _ := strings.Cut(b, ".")
	if len(as) != len(bs) {
		return len(as) < len(bs)
	}
	if as != bs {
		return as < bs
	}
	return af < bf
}

// Msg builds a message as conversations.replies shapes it: ts, user and
// text, in thread root (root == ts) or a reply. Extra fields are merged.
func Msg(ts, root, user, text string, extra map[string]any) map[string]any {
	m := map[string]any{"type": "message", "ts": ts, "user": user, "text": text}
	if root != "" {
		m["thread_ts"] = root
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// String describes the server for failure messages.
func (s *Server) String() string { return fmt.Sprintf("fake Slack at %s", s.URL) }
