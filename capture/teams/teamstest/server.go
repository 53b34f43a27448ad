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
// The login service also runs the delegated sign-in (oauth.go): the
// authorization endpoint for a person's Browser, and the authorization
// code and refresh token grants, with the rules Microsoft documents.
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
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	// Certificate is the certificate uploaded to the app registration:
	// the login service then takes client assertions signed with its key
	// (client.go). With a Certificate and no ClientSecret, the app has no
	// secret and only assertions are taken.
	Certificate *x509.Certificate
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
	cert  *x509.Certificate

	mu       sync.Mutex
	auths    []ClientAuth
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
	oauth    oauthState
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
	s := &Server{Tenant: o.Tenant, ClientID: o.ClientID, ClientSecret: o.ClientSecret, clock: o.Clock, life: o.TokenLife, cert: o.Certificate,
		users: map[string]string{}, teams: map[string]*Team{}, chats: map[string]*Chat{}, tokens: map[string]Token{},
		files: map[string]*SharedFile{}, consent: map[string]bool{}, download: map[string][]byte{},
		oauth: oauthState{sessions: map[string]string{}, declines: map[string]bool{}, codes: map[string]*authCode{}, refreshes: map[string]refreshGrant{}}}
	if s.Tenant == "" {
		s.Tenant = "72f988bf-0000-4000-8000-00000000test"
	}
	if s.ClientID == "" {
		s.ClientID = "00000000-0000-4000-8000-0000000000a1"
	}
	if s.ClientSecret == "" && s.cert == nil {
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
