// Package slacktest runs an in-process Slack for tests: an httptest server
// that answers the Web API methods recordbot calls with the payload shapes,
// pagination, error codes and HTTP 429 + Retry-After that Slack's API
// reference documents, serves private files (and Slack's HTML sign-in page
// to a request without a valid token), and offers a Socket Mode websocket.
// Tests point the real slack-go client at it with slack.OptionAPIURL.
package slacktest

import (
	"bytes"
	"encoding/base64"
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

// RateLimit makes the next calls of method ("files" for file downloads)
// answer 429 with the given Retry-After seconds, one call per value, as
// https://api.slack.com/docs/rate-limits describes.
func (s *Server) RateLimit(method string, retryAfter ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited[method] = append(s.limited[method], retryAfter...)
}

// Failure is how a Web API call fails instead of being answered. Slack
// answers an error with HTTP 200 and {"ok":false,"error":"<code>"}
// (https://api.slack.com/web, "Basics"), such as the internal_error,
// fatal_error, service_unavailable and request_timeout that any method,
// auth.revoke too, may answer when Slack is in trouble
// (https://docs.slack.dev/reference/methods/auth.revoke, "Errors"); a
// gateway in front of it may answer 5xx without JSON; and over its rate
// limit Slack answers 429 with Retry-After
// (https://api.slack.com/docs/rate-limits).
type Failure struct {
	// Error, when set, is the code of an {"ok":false} answer.
	Error string
	// Status, when set, is the HTTP status answered (with an HTML body,
	// as Slack's load balancers send).
	Status int
	// RetryAfter, with Status 429, is the Retry-After header in seconds.
	RetryAfter int
	// Drop closes the connection without an answer: a network failure.
	Drop bool
}

// Fail makes the next calls of method fail, one call per Failure, before
// the method is carried out: a transient failure.
func (s *Server) Fail(method string, fs ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing[method] = append(s.failing[method], fs...)
}

// FailAlways makes every call of method fail with f, until Recover: a
// lasting failure.
func (s *Server) FailAlways(method string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broken[method] = f
}

// Recover ends FailAlways for method.
func (s *Server) Recover(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.broken, method)
}

// failure returns the failure the current call of method meets, if any.
// s.mu is held.
func (s *Server) failure(method string) (Failure, bool) {
	if fs := s.failing[method]; len(fs) > 0 {
		s.failing[method] = fs[1:]
		return fs[0], true
	}
	f, ok := s.broken[method]
	return f, ok
}

func (f Failure) write(w http.ResponseWriter) {
	switch {
	case f.Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		http.Error(w, "", http.StatusBadGateway)
	case f.Status != 0:
		if f.Status == http.StatusTooManyRequests && f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(f.Status)
		io.WriteString(w, "<!DOCTYPE html><html><body>Slack is having trouble</body></html>")
	default:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(fail(f.Error))
	}
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

// userMethod answers a call made with person's user token: the
// conversation methods see only what person may see; users.info needs
// users:read, which recordbot does not ask people for
// (https://docs.slack.dev/reference/methods/users.info); auth.revoke
// ends the token.
func (s *Server) userMethod(method, person string, c Call) map[string]any {
	switch method {
	case "users.info":
		return map[string]any{"ok": false, "error": "missing_scope", "needed": "users:read", "provided": strings.Join(s.UserScopes, ",")}
	case "auth.revoke":
		return s.revoke(c)
	case "auth.test": // https://docs.slack.dev/reference/methods/auth.test: any token, no scope
		return map[string]any{"ok": true, "url": "https://" + s.Domain + "/", "team": s.TeamName,
			"user": person, "team_id": s.TeamID, "user_id": person}
	case "conversations.info", "conversations.members", "conversations.replies", "conversations.history":
		// The person granted im:* and mpim:* only; a channel's type needs
		// channels:* or groups:* (https://docs.slack.dev/reference/methods/conversations.info).
		s.mu.Lock()
		ch, ok := s.channels[c.get("channel")]
		s.mu.Unlock()
		if ok && ch.Kind != "dm" && ch.Kind != "group" && contains(ch.Members, person) {
			return map[string]any{"ok": false, "error": "missing_scope", "needed": "groups:read", "provided": strings.Join(s.UserScopes, ",")}
		}
		return s.methodAs(method, s.TeamID, person, c)
	case "chat.getPermalink":
		return s.methodAs(method, s.TeamID, person, c)
	}
	return fail("not_allowed_token_type")
}

// revoke answers auth.revoke (https://docs.slack.dev/reference/methods/auth.revoke):
// the calling token, bot or user, stops working and Slack answers
// {"ok":true,"revoked":true}; with test=1 ("a testing mode where the
// specified token will not actually be revoked") it stays valid and the
// answer says revoked false. A token Slack does not know has already
// been answered invalid_auth by api.
func (s *Server) revoke(c Call) map[string]any {
	if t := c.get("test"); t == "1" || t == "true" {
		return map[string]any{"ok": true, "revoked": false}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.Tokens, c.Token)
	delete(s.UserTokens, c.Token)
	return map[string]any{"ok": true, "revoked": true}
}

func (s *Server) method(method, team string, c Call) map[string]any {
	if method == "auth.revoke" {
		return s.revoke(c)
	}
	return s.methodAs(method, team, "", c)
}

// methodAs answers a Web API call made with the bot token (person "") or
// with person's user token.
func (s *Server) methodAs(method, team, person string, c Call) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch method {
	case "auth.test": // https://api.slack.com/methods/auth.test
		return map[string]any{"ok": true, "url": "https://" + s.Domain + "/", "team": s.TeamName,
			"user": "recordbot", "team_id": team, "user_id": s.BotUserID, "bot_id": s.BotID}
	case "conversations.info": // https://api.slack.com/methods/conversations.info
		ch, code := s.visible(c.get("channel"), false, person)
		if code != "" {
			return fail(code)
		}
		return map[string]any{"ok": true, "channel": channelJSON(ch)}
	case "conversations.members": // https://api.slack.com/methods/conversations.members: cursor pagination
		ch, code := s.visible(c.get("channel"), false, person)
		if code != "" {
			return fail(code)
		}
		members := ch.Members
		page, next := s.page(len(members), c.get("cursor"), c.get("limit"))
		return map[string]any{"ok": true, "members": members[page[0]:page[1]],
			"response_metadata": map[string]any{"next_cursor": next}}
	case "conversations.replies": // https://api.slack.com/methods/conversations.replies: a reply's ts gives the whole thread, root first
		ch, code := s.visible(c.get("channel"), true, person)
		if code != "" {
			return fail(code)
		}
		thread := s.thread(ch.ID, c.get("ts"))
		if thread == nil {
			return fail("thread_not_found")
		}
		page, next := s.page(len(thread), c.get("cursor"), c.get("limit"))
		return map[string]any{"ok": true, "messages": thread[page[0]:page[1]], "has_more": next != "",
			"response_metadata": map[string]any{"next_cursor": next}}
	case "users.info": // https://api.slack.com/methods/users.info
		u, ok := s.users[c.get("user")]
		if !ok {
			return fail("user_not_found")
		}
		user := map[string]any{
			"id": u.ID, "team_id": team, "name": u.Name, "real_name": u.RealName, "is_bot": u.IsBot,
			"profile": map[string]any{"real_name": u.RealName, "display_name": u.DisplayName},
		}
		if u.TZ != "" {
			user["tz"] = u.TZ
		}
		return map[string]any{"ok": true, "user": user}
	case "chat.getPermalink": // https://api.slack.com/methods/chat.getPermalink
		ch, code := s.visible(c.get("channel"), false, person)
		if code != "" {
			return fail(code)
		}
		ts := c.get("message_ts")
		if s.find(ch.ID, ts) == nil {
			return fail("message_not_found")
		}
		return map[string]any{"ok": true, "channel": ch.ID,
			"permalink": "https://" + s.Domain + "/archives/" + ch.ID + "/p" + strings.Replace(ts, ".", "", 1)}
	case "conversations.history":
		ch, code := s.visible(c.get("channel"), true, person)
		if code != "" {
			return fail(code)
		}
		m := s.find(ch.ID, c.get("latest"))
		if m == nil {
			return map[string]any{"ok": true, "messages": []any{}, "has_more": false}
		}
		return map[string]any{"ok": true, "messages": []any{m}, "has_more": false}
	case "views.open": // https://api.slack.com/methods/views.open: needs a trigger_id
		if c.get("trigger_id") == "" {
			return fail("invalid_trigger_id")
		}
		var view map[string]any
		_ = json.Unmarshal([]byte(c.get("view")), &view)
		if view == nil {
			return fail("invalid_arguments")
		}
		view["id"] = "V" + strconv.Itoa(len(s.calls))
		return map[string]any{"ok": true, "view": view}
	case "views.update":
		return map[string]any{"ok": true}
	case "chat.postEphemeral": // https://api.slack.com/methods/chat.postEphemeral: user_not_in_channel for a non-member
		if c.get("channel") == "" || c.get("user") == "" {
			return fail("invalid_arguments")
		}
		ch, ok := s.channels[c.get("channel")]
		if ok && !contains(ch.Members, c.get("user")) {
			return fail("user_not_in_channel")
		}
		if ok && !ch.BotIn && ch.Kind != "channel" {
			// The bot cannot post, even ephemerally, into a conversation
			// it cannot see: a DM or group DM it is not in.
			return fail("channel_not_found")
		}
		return map[string]any{"ok": true, "message_ts": "1700000000.000001"}
	case "chat.postMessage":
		if c.get("channel") == "" {
			return fail("channel_not_found")
		}
		return map[string]any{"ok": true, "channel": c.get("channel"), "ts": "1700000000.000002",
			"message": map[string]any{"text": c.get("text")}}
	}
	return fail("unknown_method")
}

// visible returns the channel if the bot (person "") or person's user
// token may read it, else Slack's code: a public channel the bot is not
// in answers not_in_channel for history; a private channel, DM or group
// DM that the token's user is not in answers channel_not_found for
// everything, as if it did not exist
// (https://docs.slack.dev/reference/methods/conversations.info,
// https://docs.slack.dev/reference/methods/conversations.replies).
func (s *Server) visible(id string, history bool, person string) (*Channel, string) {
	ch, ok := s.channels[id]
	if !ok {
		return nil, "channel_not_found"
	}
	if person != "" {
		if ch.Kind != "channel" && !contains(ch.Members, person) {
			return nil, "channel_not_found"
		}
		return ch, ""
	}
	if !ch.BotIn {
		if ch.Kind != "channel" {
			return nil, "channel_not_found"
		}
		if history {
			return nil, "not_in_channel"
		}
	}
	return ch, ""
}

func channelJSON(ch *Channel) map[string]any {
	return map[string]any{
		"id": ch.ID, "name": ch.Name,
		"is_channel": ch.Kind == "channel" || ch.Kind == "private",
		"is_group":   false, "is_im": ch.Kind == "dm", "is_mpim": ch.Kind == "group",
		"is_private": ch.Kind != "channel", "is_member": ch.BotIn,
	}
}

// thread returns the thread containing ts: its root, then its replies.
func (s *Server) thread(channel, ts string) []map[string]any {
	m := s.find(channel, ts)
	if m == nil {
		return nil
	}
	root := ts
	if t, ok := m["thread_ts"].(string); ok && t != "" {
		root = t
	}
	var out []map[string]any
	for _, x := range s.messages[channel] {
		t, _ := x["thread_ts"].(string)
		if x["ts"] == root || t == root {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) find(channel, ts string) map[string]any {
	for _, m := range s.messages[channel] {
		if m["ts"] == ts {
			return m
		}
	}
	return nil
}

// page returns the [from, to) window of a cursor-paginated list and the
// next cursor ("" at the end). Cursors are opaque base64, like Slack's.
func (s *Server) page(n int, cursor, limit string) ([2]int, string) {
	from := 0
	if cursor != "" {
		b, err := base64.StdEncoding.DecodeString(cursor)
		if err == nil {
			from, _ = strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		}
	}
	size, _ := strconv.Atoi(limit)
	if size <= 0 {
		size = 100
	}
	if size > s.MaxPage {
		size = s.MaxPage
	}
	from = min(from, n)
	to := min(from+size, n)
	next := ""
	if to < n {
		next = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(to)))
	}
	return [2]int{from, to}, next
}

func (s *Server) oauthAccess(r *http.Request, c Call) map[string]any {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = c.get("client_id"), c.get("client_secret")
	}
	// https://docs.slack.dev/reference/methods/oauth.v2.access, "Errors":
	// invalid_client_id for a client id Slack does not know,
	// bad_client_secret for the wrong secret, invalid_code for a code it
	// did not give or that was used already.
	if id != s.ClientID || s.ClientID == "" {
		return fail("invalid_client_id")
	}
	if secret != s.ClientSecret {
		return fail("bad_client_secret")
	}
	s.mu.Lock()
	person, userCode := s.userCodes[c.get("code")]
	delete(s.userCodes, c.get("code")) // a code works once
	s.mu.Unlock()
	if userCode {
		// A request for user scopes only: no bot token, the person's
		// token in authed_user (https://docs.slack.dev/reference/methods/oauth.v2.access,
		// https://docs.slack.dev/authentication/installing-with-oauth).
		s.mu.Lock()
		tok := "xoxp-" + s.TeamID + "-" + person + "-" + strconv.Itoa(len(s.calls))
		s.UserTokens[tok] = person
		s.mu.Unlock()
		return map[string]any{
			"ok": true, "app_id": "A1",
			"authed_user": map[string]any{"id": person, "scope": strings.Join(s.UserScopes, ","),
				"access_token": tok, "token_type": "user"},
			"team":       map[string]any{"id": s.TeamID, "name": s.TeamName},
			"enterprise": nil, "is_enterprise_install": false,
		}
	}
	if c.get("code") != s.Code || s.Code == "" {
		return fail("invalid_code")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Tokens[s.InstallToken] = s.InstallTeam
	// The bot's scopes in "scope"; the installing person in authed_user,
	// with a user token only when user scopes were granted too
	// (https://docs.slack.dev/reference/methods/oauth.v2.access, "Example
	// response"). Slack's scopes add up: the answer lists every scope the
	// app holds in the workspace, not only those of this request.
	admin := map[string]any{"id": "UADMIN"}
	if s.InstallUserToken != "" {
		s.UserTokens[s.InstallUserToken] = "UADMIN"
		admin["scope"], admin["access_token"], admin["token_type"] = strings.Join(s.UserScopes, ","), s.InstallUserToken, "user"
	}
	return map[string]any{
		"ok": true, "access_token": s.InstallToken, "token_type": "bot",
		"scope": strings.Join(s.Scopes, ","), "bot_user_id": s.BotUserID, "app_id": "A1",
		"team":        map[string]any{"id": s.InstallTeam, "name": "Installed Team"},
		"enterprise":  nil,
		"authed_user": admin,
	}
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
