// Package teamstest runs an in-process Microsoft identity platform and
// Microsoft Graph for tests: an httptest server that issues tokens by the
// client-credentials grant and answers the Graph calls recordbot makes for
// Teams, enforcing what Microsoft documents: tokens it issued for Graph's
// scope, the app's resource-specific consent per team and chat (403
// without it; never for one-to-one chats), at most 50 a page ($top above
// is 400), @odata.nextLink paging, chat messages newest first with
// $orderby/$filter on createdDateTime, shared files only with a person's
// delegated token (401 otherwise), injected 429/503 with Retry-After, and
// Graph's error body {"error":{"code","message","innerError"}}. Every
// request is recorded, so tests can check what was read and in which
// order.
//
// The login route also issues tokens for any other scope (such as
// https://api.botframework.com/.default), so a Bot Framework front end can
// get its token from the same server; TokenInfo says what a token is.
//
// Nothing of it contacts any other address.
package teamstest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Options configure a Server. Empty fields get test values.
type Options struct {
	// Tenant is the one directory the login service knows.
	Tenant string
	// ClientID and ClientSecret are the app's credentials.
	ClientID, ClientSecret string
	// Clock issues and expires tokens; the real clock when nil.
	Clock clockwork.Clock
	// TokenLife is how long issued tokens last (default 1 hour).
	TokenLife time.Duration
}

// Server is the fake login service and Graph.
type Server struct {
	*httptest.Server
	Tenant, ClientID, ClientSecret string

	clock clockwork.Clock
	life  time.Duration

	mu       sync.Mutex
	users    map[string]string // id -> display name
	teams    map[string]*Team
	chats    map[string]*Chat
	tokens   map[string]Token
	files    map[string]*SharedFile // by sharing URL
	consent  map[string]bool        // people who granted delegated file access
	download map[string][]byte
	throttle []throttle
	calls    []Call
	seq      int64
}

// Token is what the server issued a token for.
type Token struct {
	// Scope is the scope asked, such as https://graph.microsoft.com/.default.
	Scope string
	// ClientID is the app it was issued to.
	ClientID string
	// User is the person of a delegated token; "" for an app token.
	User    string
	Expires time.Time
}

// Team is a team with its channels and members.
type Team struct {
	ID, Name string
	// Consented: the app is installed in the team with its
	// resource-specific consent (ChannelMessage.Read.Group...).
	Consented bool
	Members   []string
	Channels  map[string]*Channel
}

// Channel is a channel of a team.
type Channel struct {
	ID, Name string
	// MembershipType is standard, private or shared.
	MembershipType string
	// Members of a private or shared channel.
	Members []string
	// SharedWith are the teams a shared channel is shared with: their
	// members are its indirect members (allMembers).
	SharedWith []string
	Messages   []*Message // roots and replies
}

// Chat is a group, meeting or one-to-one chat.
type Chat struct {
	ID, Topic string
	// Type is oneOnOne, group or meeting.
	Type      string
	Consented bool
	Members   []string
	Messages  []*Message
}

// Message is a message to seed.
type Message struct {
	// ID defaults to the milliseconds of Created, as Teams' ids are.
	ID      string
	ReplyTo string
	// From is the author's Entra id; App, when set, makes it an app's.
	From    string
	App     string
	Created time.Time
	// HTML is the body; the server appends an <img> for each Image and an
	// <attachment> for each File.
	HTML string
	// Text, when set, makes the body of contentType text.
	Text     string
	Mentions []Mention
	// Reactions: one per person.
	Reactions []Reaction
	Edited    time.Time
	Deleted   time.Time
	// System, when set, makes a systemEventMessage with an eventDetail of
	// this @odata.type ("#microsoft.graph.membersAddedEventMessageDetail").
	System string
	// Images are inline images, served as hostedContents.
	Images [][]byte
	// Files are shared SharePoint/OneDrive files.
	Files []*SharedFile
	// Cards are other attachments (an adaptive card, a quoted message),
	// given as they appear in Graph's attachments.
	Cards []Card

	hosted []string
}

// Card is an attachment that is not a shared file: contentType
// "application/vnd.microsoft.card.adaptive", "messageReference"...; Content
// is its JSON as a string, as Graph gives it.
type Card struct {
	ID, ContentType, Content, Name string
}

// Mention is mention N of a body (<at id="N">Text</at>).
type Mention struct {
	User string
	Text string
}

// Reaction is one person's reaction.
type Reaction struct {
	Type string // "like", "heart", an emoji...
	User string
	At   time.Time
}

// SharedFile is a file shared from SharePoint or OneDrive.
type SharedFile struct {
	Name    string
	URL     string
	Content []byte
	// Readers may read it with their delegated token; nil: everyone.
	Readers []string
	id      string
}

// Call is one request the server answered.
type Call struct {
	Method string
	// Path is the URL path (unescaped).
	Path string
	// Route names what was asked: token, team, channel, chat, members,
	// messages, message, replies, hostedContent, share, download.
	Route string
	// Status is the answer's HTTP status.
	Status int
	Query  url.Values
	// Token is the bearer token sent; "" when none.
	Token string
	// At is when it came, on the server's clock.
	At time.Time
}

type throttle struct {
	status int
	after  string
}

// New starts a server; close it with Close.
func New(o Options) *Server {
	s := &Server{Tenant: o.Tenant, ClientID: o.ClientID, ClientSecret: o.ClientSecret, clock: o.Clock, life: o.TokenLife,
		users: map[string]string{}, teams: map[string]*Team{}, chats: map[string]*Chat{}, tokens: map[string]Token{},
		files: map[string]*SharedFile{}, consent: map[string]bool{}, download: map[string][]byte{}}
	if s.Tenant == "" {
		s.Tenant = "72f988bf-0000-4000-8000-00000000test"
	}
	if s.ClientID == "" {
		s.ClientID = "00000000-0000-4000-8000-0000000000a1"
	}
	if s.ClientSecret == "" {
		s.ClientSecret = "test-secret"
	}
	if s.clock == nil {
		s.clock = clockwork.NewRealClock()
	}
	if s.life <= 0 {
		s.life = time.Hour
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is both the login URL and the Graph URL of the server.

// GraphScope is the scope a Graph token is asked with.
func (s *Server) GraphScope() string { return s.URL + "/.default" }

// AddUser names a person.
func (s *Server) AddUser(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = name
}

// AddTeam adds a team; consented says the app is installed in it.
func (s *Server) AddTeam(id, name string, consented bool, members ...string) *Team {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &Team{ID: id, Name: name, Consented: consented, Members: members, Channels: map[string]*Channel{}}
	s.teams[id] = t
	return t
}

// AddChannel adds a channel to a team; members matter for private and
// shared channels. Set the returned channel's SharedWith for a shared
// channel's other teams before capturing.
func (s *Server) AddChannel(team, id, name, membershipType string, members ...string) *Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &Channel{ID: id, Name: name, MembershipType: membershipType, Members: members}
	s.teams[team].Channels[id] = c
	return c
}

// AddChat adds a chat of type oneOnOne, group or meeting.
func (s *Server) AddChat(id, topic, typ string, consented bool, members ...string) *Chat {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &Chat{ID: id, Topic: topic, Type: typ, Consented: consented, Members: members}
	s.chats[id] = c
	return c
}

// SetConsent installs or removes the app in a team or chat.
func (s *Server) SetConsent(id string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.teams[id]; t != nil {
		t.Consented = ok
	}
	if c := s.chats[id]; c != nil {
		c.Consented = ok
	}
}

// PostChannel adds a message (a root, or a reply when ReplyTo is set) to a
// channel and returns it with its id.
func (s *Server) PostChannel(team, channel string, m Message) *Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.teams[team].Channels[channel]
	mm := s.prepare(m)
	c.Messages = append(c.Messages, mm)
	return mm
}

// PostChat adds a message to a chat.
func (s *Server) PostChat(chat string, m Message) *Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chat]
	mm := s.prepare(m)
	c.Messages = append(c.Messages, mm)
	return mm
}

func (s *Server) prepare(m Message) *Message {
	mm := m
	if mm.Created.IsZero() {
		mm.Created = s.clock.Now()
	}
	mm.Created = mm.Created.UTC().Truncate(time.Millisecond)
	if mm.ID == "" {
		mm.ID = strconv.FormatInt(mm.Created.UnixMilli(), 10)
	}
	for range mm.Images {
		s.seq++
		mm.hosted = append(mm.hosted, base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("id=x_%d,type=1,url=test", s.seq))))
	}
	for _, f := range mm.Files {
		s.seq++
		f.id = fmt.Sprintf("%08X-0000-4000-8000-%012d", s.seq, s.seq)
		s.files[f.URL] = f
	}
	return &mm
}

// GrantFiles records that a person granted recordbot delegated access to
// their files (Files.Read.All through sign-in) and returns their token.
func (s *Server) GrantFiles(user string) string {
	s.mu.Lock()
	s.consent[user] = true
	s.mu.Unlock()
	return s.issue(Token{Scope: s.URL + "/Files.Read.All", ClientID: s.ClientID, User: user})
}

// DelegatedToken returns a new delegated token for a person who granted
// file access, and false for one who did not.
func (s *Server) DelegatedToken(user string) (string, bool) {
	s.mu.Lock()
	ok := s.consent[user]
	s.mu.Unlock()
	if !ok {
		return "", false
	}
	return s.issue(Token{Scope: s.URL + "/Files.Read.All", ClientID: s.ClientID, User: user}), true
}

// FileToken returns a file-token lookup for teams.Config.Delegated (wrap
// it in teams.DelegatedFunc): the delegated token of a person who granted
// file access (GrantFiles), and for anyone else an error wrapping
// noConsent (pass teams.ErrNoConsent; this package does not import the
// source it tests).
func (s *Server) FileToken(noConsent error) func(ctx context.Context, tenant, user string) (string, error) {
	return func(ctx context.Context, tenant, user string) (string, error) {
		if tenant != s.Tenant {
			return "", fmt.Errorf("teamstest: tenant %s: %w", tenant, noConsent)
		}
		tok, ok := s.DelegatedToken(user)
		if !ok {
			return "", fmt.Errorf("teamstest: %s has not granted file access: %w", user, noConsent)
		}
		return tok, nil
	}
}

// Throttle makes the next n Graph requests answer status (429 or 503)
// with the Retry-After header given ("" for none).
func (s *Server) Throttle(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.throttle = append(s.throttle, throttle{status, retryAfter})
	}
}

// Calls returns the requests answered so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Routes returns the route of each request answered so far, in order.
func (s *Server) Routes() []string {
	var out []string
	for _, c := range s.Calls() {
		out = append(out, c.Route)
	}
	return out
}

// RevokeTokens forgets every token issued so far: Graph answers 401 to
// them, as to a revoked or expired token.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]Token{}
}

// TokenInfo says what a token the server issued is for; false for one it
// did not issue or that has expired.
func (s *Server) TokenInfo(tok string) (Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	if !ok || !s.clock.Now().Before(t.Expires) {
		return Token{}, false
	}
	return t, true
}

func (s *Server) issue(t Token) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "eyJ0ZXN0" + hex.EncodeToString(b)
	t.Expires = s.clock.Now().Add(s.life)
	s.mu.Lock()
	s.tokens[tok] = t
	s.mu.Unlock()
	return tok
}

func (s *Server) record(r *http.Request, route string, status int) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p, err := url.PathUnescape(r.URL.EscapedPath())
	if err != nil {
		p = r.URL.Path
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: r.Method, Path: p, Route: route, Status: status, Query: r.URL.Query(), Token: tok, At: s.clock.Now()})
	s.mu.Unlock()
}

// graphError writes Graph's error body
// (https://learn.microsoft.com/graph/errors#json-representation).
func (s *Server) graphError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]any{
			"date":              s.clock.Now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        "00000000-0000-4000-8000-000000000001",
			"client-request-id": "00000000-0000-4000-8000-000000000001",
		},
	}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	route := s.route(sw, r)
	s.record(r, route, sw.status)
}

// segments splits an escaped path into unescaped segments.
func segments(r *http.Request) []string {
	raw := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	out := make([]string, len(raw))
	for i, p := range raw {
		u, err := url.PathUnescape(p)
		if err != nil {
			u = p
		}
		out[i] = u
	}
	return out
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) string {
	seg := segments(r)
	if len(seg) == 4 && seg[1] == "oauth2" && seg[2] == "v2.0" && seg[3] == "token" {
		s.token(w, r, seg[0])
		return "token"
	}
	if len(seg) == 2 && seg[0] == "_download" {
		s.mu.Lock()
		b, ok := s.download[seg[1]]
		delete(s.download, seg[1])
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return "download"
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(b)
		return "download"
	}
	if len(seg) < 2 || seg[0] != "v1.0" || r.Method != http.MethodGet {
		s.graphError(w, http.StatusBadRequest, "BadRequest", "Invalid version or method.")
		return "unknown"
	}
	seg = seg[1:]
	route := routeName(seg)
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	info, ok := s.TokenInfo(tok)
	if tok == "" || !ok {
		s.graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or invalid.")
		return route
	}
	s.mu.Lock()
	var th *throttle
	if len(s.throttle) > 0 {
		t := s.throttle[0]
		s.throttle = s.throttle[1:]
		th = &t
	}
	s.mu.Unlock()
	if th != nil {
		if th.after != "" {
			w.Header().Set("Retry-After", th.after)
		}
		code := "TooManyRequests"
		if th.status == http.StatusServiceUnavailable {
			code = "serviceNotAvailable"
		}
		s.graphError(w, th.status, code, "Too many requests.")
		return route
	}
	if route == "share" {
		s.share(w, r, seg, info)
		return route
	}
	if info.User != "" || info.Scope != s.GraphScope() || info.ClientID != s.ClientID {
		// Only an app token for Graph reads team and chat messages here
		// (resource-specific consent is an application permission).
		s.graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
		return route
	}
	if err := checkTop(r); err != "" {
		s.graphError(w, http.StatusBadRequest, "BadRequest", err)
		return route
	}
	switch seg[0] {
	case "teams":
		s.teamRoute(w, r, seg)
	case "chats":
		s.chatRoute(w, r, seg)
	default:
		s.graphError(w, http.StatusNotFound, "NotFound", "Resource not found for the segment '"+seg[0]+"'.")
	}
	return route
}

// routeName names a Graph path for the call log.
func routeName(seg []string) string {
	n := len(seg)
	switch {
	case seg[0] == "shares":
		return "share"
	case n >= 2 && seg[n-1] == "$value":
		return "hostedContent"
	case seg[n-1] == "members" || seg[n-1] == "allMembers":
		return "members"
	case seg[n-1] == "replies":
		return "replies"
	case seg[n-1] == "messages":
		return "messages"
	case n >= 2 && (seg[n-2] == "messages" || seg[n-2] == "replies"):
		return "message"
	case seg[0] == "teams" && n == 4 && seg[2] == "channels":
		return "channel"
	case seg[0] == "teams" && n == 2:
		return "team"
	case seg[0] == "chats" && n == 2:
		return "chat"
	}
	return "unknown"
}

// checkTop refuses a $top Graph refuses: "Maximum allowed $top value is
// 50" (https://learn.microsoft.com/graph/api/chatmessage-list-replies).
func checkTop(r *http.Request) string {
	v := r.URL.Query().Get("$top")
	if v == "" {
		return ""
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 50 {
		return "Invalid page size specified: '" + v + "'. Must be between 1 and 50 inclusive."
	}
	return ""
}

// token answers the client-credentials grant
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow).
func (s *Server) token(w http.ResponseWriter, r *http.Request, tenant string) {
	fail := func(status int, code, desc string, n int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc, "error_codes": []int{n}})
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.", 900561)
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the parameter grant_type.", 900144)
		return
	}
	f := r.PostForm
	switch {
	case tenant != s.Tenant:
		fail(http.StatusBadRequest, "invalid_request", "AADSTS90002: Tenant not found.", 90002)
	case f.Get("grant_type") != "client_credentials":
		fail(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.", 70003)
	case f.Get("client_id") != s.ClientID:
		fail(http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application not found in the directory.", 700016)
	case f.Get("client_secret") != s.ClientSecret:
		fail(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.", 7000215)
	case !strings.HasSuffix(f.Get("scope"), "/.default") || strings.Contains(f.Get("scope"), " "):
		fail(http.StatusBadRequest, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.", 1002012)
	default:
		tok := s.issue(Token{Scope: f.Get("scope"), ClientID: s.ClientID})
		writeJSON(w, map[string]any{"token_type": "Bearer", "expires_in": int(s.life / time.Second),
			"ext_expires_in": int(s.life / time.Second), "access_token": tok})
	}
}

// members renders ids as aadUserConversationMembers.
func (s *Server) members(ids []string) []map[string]any {
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		out = append(out, map[string]any{
			"@odata.type": "#microsoft.graph.aadUserConversationMember",
			"id":          base64.StdEncoding.EncodeToString([]byte("member:" + id)),
			"roles":       []string{}, "displayName": s.users[id], "userId": id, "tenantId": s.Tenant,
			"email": nullable(emailOf(s.users[id])),
		})
	}
	return out
}

func emailOf(name string) string {
	if name == "" {
		return ""
	}
	return strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@contoso.example"
}

func (s *Server) teamRoute(w http.ResponseWriter, r *http.Request, seg []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.teams[seg[1]]
	if t == nil {
		s.graphError(w, http.StatusNotFound, "NotFound", "No team found with Group Id "+seg[1])
		return
	}
	if !t.Consented {
		s.graphError(w, http.StatusForbidden, "Forbidden",
			"Missing role permissions on the request. API requires one of 'ChannelMessage.Read.All, ChannelMessage.Read.Group'. Roles on the request ''. Resource specific consent grants on the request ''.")
		return
	}
	if len(seg) == 3 && seg[2] == "members" {
		s.list(w, r, s.members(t.Members))
		return
	}
	if len(seg) < 4 || seg[2] != "channels" {
		s.graphError(w, http.StatusBadRequest, "BadRequest", "Unsupported segment.")
		return
	}
	c := t.Channels[seg[3]]
	if c == nil {
		s.graphError(w, http.StatusNotFound, "NotFound", "Channel not found.")
		return
	}
	rest := seg[4:]
	switch {
	case len(rest) == 0:
		writeJSON(w, map[string]any{"id": c.ID, "displayName": c.Name, "membershipType": c.MembershipType,
			"webUrl": "https://teams.microsoft.com/l/channel/" + url.PathEscape(c.ID) + "/" + url.PathEscape(c.Name) + "?groupId=" + t.ID + "&tenantId=" + s.Tenant})
	case len(rest) == 1 && (rest[0] == "members" || rest[0] == "allMembers"):
		ids := c.Members
		if c.MembershipType == "standard" || c.MembershipType == "" {
			ids = t.Members
		}
		if rest[0] == "allMembers" {
			// Direct members and those of the teams the channel is
			// shared with (https://learn.microsoft.com/graph/api/channel-list-allmembers).
			ids = append([]string(nil), ids...)
			for _, other := range c.SharedWith {
				if o := s.teams[other]; o != nil {
					ids = append(ids, o.Members...)
				}
			}
		}
		s.list(w, r, s.members(ids))
	case len(rest) == 1 && rest[0] == "messages":
		var roots []*Message
		for _, m := range c.Messages {
			if m.ReplyTo == "" {
				roots = append(roots, m)
			}
		}
		s.listMessages(w, r, roots, func(m *Message) map[string]any { return s.render(m, t, c, nil) })
	default:
		s.channelMessageRoute(w, r, t, c, rest[1:])
	}
}

func (s *Server) channelMessageRoute(w http.ResponseWriter, r *http.Request, t *Team, c *Channel, rest []string) {
	if len(rest) == 0 {
		s.graphError(w, http.StatusBadRequest, "BadRequest", "Unsupported segment.")
		return
	}
	find := func(id, replyTo string) *Message {
		for _, m := range c.Messages {
			if m.ID == id && (replyTo == "" || m.ReplyTo == replyTo) {
				return m
			}
		}
		return nil
	}
	// /messages/{id} names a thread's root; a reply is reached only
	// through its root's /replies/{id}
	// (https://learn.microsoft.com/graph/api/chatmessage-get).
	m := find(rest[0], "")
	if m == nil || m.ReplyTo != "" {
		s.graphError(w, http.StatusNotFound, "NotFound", "Message not found.")
		return
	}
	rest = rest[1:]
	if len(rest) >= 2 && rest[0] == "replies" {
		reply := find(rest[1], m.ID)
		if reply == nil {
			s.graphError(w, http.StatusNotFound, "NotFound", "Reply not found.")
			return
		}
		m, rest = reply, rest[2:]
	}
	switch {
	case len(rest) == 0:
		writeJSON(w, s.render(m, t, c, nil))
	case len(rest) == 1 && rest[0] == "replies":
		var replies []*Message
		for _, x := range c.Messages {
			if x.ReplyTo == m.ID {
				replies = append(replies, x)
			}
		}
		s.listMessages(w, r, replies, func(m *Message) map[string]any { return s.render(m, t, c, nil) })
	case len(rest) == 3 && rest[0] == "hostedContents" && rest[2] == "$value":
		s.hosted(w, m, rest[1])
	default:
		s.graphError(w, http.StatusBadRequest, "BadRequest", "Unsupported segment.")
	}
}

func (s *Server) hosted(w http.ResponseWriter, m *Message, id string) {
	for i, h := range m.hosted {
		if h == id {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(m.Images[i])
			return
		}
	}
	s.graphError(w, http.StatusNotFound, "NotFound", "Hosted content not found.")
}

func (s *Server) chatRoute(w http.ResponseWriter, r *http.Request, seg []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[seg[1]]
	if c == nil {
		s.graphError(w, http.StatusNotFound, "NotFound", "Chat not found.")
		return
	}
	// Resource-specific consent covers group and meeting chats the app
	// is added to, never one-to-one chats between people.
	if !c.Consented || c.Type == "oneOnOne" {
		s.graphError(w, http.StatusForbidden, "Forbidden",
			"Missing role permissions on the request. API requires one of 'Chat.Read.All, ChatMessage.Read.Chat'. Roles on the request ''. Resource specific consent grants on the request ''.")
		return
	}
	rest := seg[2:]
	switch {
	case len(rest) == 0:
		writeJSON(w, map[string]any{"id": c.ID, "topic": nullable(c.Topic), "chatType": c.Type, "tenantId": s.Tenant,
			"webUrl": "https://teams.microsoft.com/l/chat/" + url.PathEscape(c.ID) + "/0?tenantId=" + s.Tenant})
	case len(rest) == 1 && rest[0] == "members":
		s.list(w, r, s.members(c.Members))
	case len(rest) == 1 && rest[0] == "messages":
		s.chatMessages(w, r, c)
	case len(rest) >= 2 && rest[0] == "messages":
		var m *Message
		for _, x := range c.Messages {
			if x.ID == rest[1] {
				m = x
			}
		}
		if m == nil {
			s.graphError(w, http.StatusNotFound, "NotFound", "Message not found.")
			return
		}
		switch {
		case len(rest) == 2:
			writeJSON(w, s.render(m, nil, nil, c))
		case len(rest) == 5 && rest[2] == "hostedContents" && rest[4] == "$value":
			s.hosted(w, m, rest[3])
		default:
			s.graphError(w, http.StatusBadRequest, "BadRequest", "Unsupported segment.")
		}
	default:
		s.graphError(w, http.StatusBadRequest, "BadRequest", "Unsupported segment.")
	}
}

// chatMessages lists a chat's messages newest first: by
// lastModifiedDateTime unless $orderby names createdDateTime, and
// filtered only when $orderby and $filter name the same property
// (https://learn.microsoft.com/graph/api/chat-list-messages).
func (s *Server) chatMessages(w http.ResponseWriter, r *http.Request, c *Chat) {
	q := r.URL.Query()
	order := strings.TrimSpace(q.Get("$orderby"))
	byCreated := false
	switch order {
	case "", "lastModifiedDateTime desc":
	case "createdDateTime desc":
		byCreated = true
	default:
		s.graphError(w, http.StatusBadRequest, "BadRequest", "Only descending order of lastModifiedDateTime or createdDateTime is supported.")
		return
	}
	var before time.Time
	if f := strings.TrimSpace(q.Get("$filter")); f != "" && byCreated {
		v, ok := strings.CutPrefix(f, "createdDateTime lt ")
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
		if !ok || err != nil {
			s.graphError(w, http.StatusBadRequest, "BadRequest", "Invalid filter clause.")
			return
		}
		before = t
	}
	ms := make([]*Message, 0, len(c.Messages))
	for _, m := range c.Messages {
		if before.IsZero() || m.Created.Before(before) {
			ms = append(ms, m)
		}
	}
	sort.SliceStable(ms, func(i, j int) bool {
		if byCreated {
			return ms[i].Created.After(ms[j].Created)
		}
		return modified(ms[i]).After(modified(ms[j]))
	})
	s.page(w, r, ms, func(m *Message) map[string]any { return s.render(m, nil, nil, c) })
}

func modified(m *Message) time.Time {
	t := m.Created
	for _, x := range []time.Time{m.Edited, m.Deleted} {
		if x.After(t) {
			t = x
		}
	}
	return t
}

// listMessages lists channel messages or replies newest first, as Graph's
// examples show them.
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, ms []*Message, render func(*Message) map[string]any) {
	ms = append([]*Message(nil), ms...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Created.After(ms[j].Created) })
	s.page(w, r, ms, render)
}

// page answers one page of $top (default 20) from $skiptoken, with an
// @odata.nextLink to the next.
func (s *Server) page(w http.ResponseWriter, r *http.Request, ms []*Message, render func(*Message) map[string]any) {
	items := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		items = append(items, render(m))
	}
	s.list(w, r, items)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, items []map[string]any) {
	q := r.URL.Query()
	top := 20
	if v := q.Get("$top"); v != "" {
		top, _ = strconv.Atoi(v)
	}
	from := 0
	if v := q.Get("$skiptoken"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "skip:"))
		if err != nil || err2 != nil || n < 0 || n > len(items) {
			s.graphError(w, http.StatusBadRequest, "BadRequest", "Invalid skip token.")
			return
		}
		from = n
	}
	to := min(from+top, len(items))
	out := map[string]any{"@odata.count": len(items[from:to]), "value": items[from:to]}
	if to < len(items) {
		q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("skip:"+strconv.Itoa(to))))
		out["@odata.nextLink"] = s.URL + r.URL.EscapedPath() + "?" + q.Encode()
	}
	writeJSON(w, out)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func (s *Server) identity(user string) map[string]any {
	if user == "" {
		return nil
	}
	return map[string]any{"application": nil, "device": nil,
		"user": map[string]any{"@odata.type": "#microsoft.graph.teamworkUserIdentity", "id": user, "displayName": nullable(s.users[user]), "userIdentityType": "aadUser"}}
}

// render is a message as Graph's chatMessage JSON.
func (s *Server) render(m *Message, t *Team, c *Channel, chat *Chat) map[string]any {
	body := map[string]any{"contentType": "html", "content": m.HTML}
	var attachments []map[string]any
	html := m.HTML
	var base string
	switch {
	case chat != nil:
		base = s.URL + "/v1.0/chats/" + chat.ID + "/messages/" + m.ID
	case m.ReplyTo != "":
		base = s.URL + "/v1.0/teams/" + t.ID + "/channels/" + c.ID + "/messages/" + m.ReplyTo + "/replies/" + m.ID
	default:
		base = s.URL + "/v1.0/teams/" + t.ID + "/channels/" + c.ID + "/messages/" + m.ID
	}
	for _, h := range m.hosted {
		html += `<div><span><img height="63" src="` + base + `/hostedContents/` + h + `/$value" width="67" style="vertical-align:bottom"></span></div>`
	}
	for _, f := range m.Files {
		html += `<attachment id="` + f.id + `"></attachment>`
		attachments = append(attachments, map[string]any{"id": f.id, "contentType": "reference", "contentUrl": f.URL,
			"content": nil, "name": f.Name, "thumbnailUrl": nil})
	}
	for _, c := range m.Cards {
		html += `<attachment id="` + c.ID + `"></attachment>`
		attachments = append(attachments, map[string]any{"id": c.ID, "contentType": c.ContentType, "contentUrl": nil,
			"content": c.Content, "name": nullable(c.Name), "thumbnailUrl": nil})
	}
	body["content"] = html
	if m.Text != "" {
		body = map[string]any{"contentType": "text", "content": m.Text}
	}
	var mentions []map[string]any
	for i, mn := range m.Mentions {
		mentions = append(mentions, map[string]any{"id": i, "mentionText": mn.Text, "mentioned": s.identity(mn.User)})
	}
	var reactions []map[string]any
	for _, r := range m.Reactions {
		reactions = append(reactions, map[string]any{"reactionType": r.Type, "displayName": nil,
			"createdDateTime": timeOrNull(r.At), "user": map[string]any{"application": nil, "device": nil,
				"user": map[string]any{"id": r.User, "displayName": nil, "userIdentityType": "aadUser"}}})
	}
	out := map[string]any{
		"id": m.ID, "replyToId": nullable(m.ReplyTo), "etag": m.ID, "messageType": "message",
		"createdDateTime": timeOrNull(m.Created), "lastModifiedDateTime": timeOrNull(modified(m)),
		"lastEditedDateTime": timeOrNull(m.Edited), "deletedDateTime": timeOrNull(m.Deleted),
		"subject": nil, "summary": nil, "importance": "normal", "locale": "en-us",
		"from": s.identity(m.From), "body": body, "attachments": orEmpty(attachments),
		"mentions": orEmpty(mentions), "reactions": orEmpty(reactions), "eventDetail": nil, "policyViolation": nil,
		"messageHistory": []any{},
	}
	if m.App != "" {
		out["from"] = map[string]any{"user": nil, "device": nil,
			"application": map[string]any{"id": m.App, "displayName": s.users[m.App], "applicationIdentityType": "bot"}}
	}
	if !m.Deleted.IsZero() {
		// A deleted message keeps its place with an empty body.
		out["body"] = map[string]any{"contentType": "text", "content": ""}
		out["attachments"], out["mentions"], out["reactions"] = []any{}, []any{}, []any{}
	}
	if m.System != "" {
		out["messageType"] = "systemEventMessage"
		out["from"] = nil
		out["body"] = map[string]any{"contentType": "html", "content": "<systemEventMessage/>"}
		out["eventDetail"] = map[string]any{"@odata.type": m.System, "initiator": s.identity(m.From)}
	}
	if chat != nil {
		out["chatId"] = chat.ID
		out["webUrl"] = nil
		out["channelIdentity"] = nil
	} else {
		out["chatId"] = nil
		out["channelIdentity"] = map[string]any{"teamId": t.ID, "channelId": c.ID}
		web := "https://teams.microsoft.com/l/message/" + url.PathEscape(c.ID) + "/" + m.ID + "?groupId=" + t.ID + "&tenantId=" + s.Tenant + "&createdTime=" + m.ID
		if m.ReplyTo != "" {
			web += "&parentMessageId=" + m.ReplyTo
		}
		out["webUrl"] = web
	}
	return out
}

func orEmpty(v []map[string]any) any {
	if v == nil {
		return []any{}
	}
	return v
}

// share serves GET /shares/{u!...}/driveItem/content to a person's
// delegated token for a file they may read: a redirect to a
// pre-authenticated download address, as Graph answers
// (https://learn.microsoft.com/graph/api/driveitem-get-content: "302
// Found"). An app token is refused with 401: resource-specific consent
// does not reach SharePoint or OneDrive.
func (s *Server) share(w http.ResponseWriter, r *http.Request, seg []string, info Token) {
	if info.User == "" {
		s.graphError(w, http.StatusUnauthorized, "unauthenticated", "The caller is not authenticated.")
		return
	}
	if len(seg) != 4 || seg[2] != "driveItem" || seg[3] != "content" || !strings.HasPrefix(seg[1], "u!") {
		s.graphError(w, http.StatusBadRequest, "invalidRequest", "Invalid sharing token.")
		return
	}
	link, err := base64.RawURLEncoding.DecodeString(seg[1][2:])
	if err != nil {
		s.graphError(w, http.StatusBadRequest, "invalidRequest", "Invalid sharing token.")
		return
	}
	s.mu.Lock()
	f := s.files[string(link)]
	allowed := f != nil && s.consent[info.User] && (f.Readers == nil || contains(f.Readers, info.User))
	var key string
	if allowed {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		key = hex.EncodeToString(b)
		s.download[key] = f.Content
	}
	s.mu.Unlock()
	switch {
	case f == nil:
		s.graphError(w, http.StatusNotFound, "itemNotFound", "The resource could not be found.")
	case !allowed:
		s.graphError(w, http.StatusForbidden, "accessDenied", "Access denied.")
	default:
		w.Header().Set("Location", s.URL+"/_download/"+key)
		w.WriteHeader(http.StatusFound)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
