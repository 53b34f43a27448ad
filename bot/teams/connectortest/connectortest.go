// Package connectortest is a double of what Microsoft runs around a Teams
// bot, for tests on 127.0.0.1: the Bot Framework's OpenID metadata and
// signing keys (with their endorsements), a signer that mints the tokens
// the Bot Connector sends with each activity (and forged ones), the login
// service's token endpoint (client credentials), and the Bot Connector's
// conversations and activities endpoints, which check the bot's token and
// record the messages the bot sends, text or cards; and the download
// URLs of files people send the bot in their personal chat with it
// (Files).
//
// What it enforces is from Microsoft's documentation: "Authenticate
// requests with the Bot Connector API"
// (https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-authentication)
// "Send proactive messages"
// (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/conversations/send-proactive-messages)
// and "Send and receive files using bot"
// (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/bots-filesv4).
package connectortest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer is the Bot Connector's token issuer.
const Issuer = "https://api.botframework.com"

// BotScope is the scope of a token for the Bot Connector. The login
// double issues tokens for any scope ending in /.default, as the client
// credentials grant asks; the connector takes only BotScope's.
const BotScope = "https://api.botframework.com/.default"

// Server is the double. Its URL serves:
//
//	GET  /v1/.well-known/openidconfiguration   the OpenID metadata
//	GET  /v1/.well-known/keys                  the keys, with endorsements
//	POST /login/{tenant}/oauth2/v2.0/token     client credentials
//	POST /connector/v3/conversations           create a conversation
//	POST /connector/v3/conversations/{id}/activities  send a message
//	GET  /connector/v3/teams/{id}              a team's details
type Server struct {
	*httptest.Server
	AppID, AppPassword, Tenant string

	// Keys that sign tokens: Endorsed is in the key set endorsed for
	// msteams; Unendorsed is in it endorsed for another channel only;
	// Unknown is not in it.
	Endorsed, Unendorsed, Unknown Key

	mu         sync.Mutex
	tokens     map[string]string // bearer -> scope
	messages   []Message
	convs      map[string]string // conversation id -> user
	teams      map[string]string // team thread id -> group id
	keyFetches int
	loginCalls int

	t     testing.TB
	files *Files
}

// Key is a signing key and its id.
type Key struct {
	ID  string
	key *rsa.PrivateKey
}

// Message is a message the bot sent through the connector.
type Message struct {
	Conversation string
	User         string
	Text         string
	TextFormat   string
	Summary      string
	Attachments  []Attachment
}

// Attachment is a message's attachment: a card, by its content type.
type Attachment struct {
	ContentType string          `json:"contentType"`
	Content     json.RawMessage `json:"content"`
}

// New starts a double for the bot appID with its password, in tenant. It
// is closed when the test ends.
func New(t testing.TB, appID, password, tenant string) *Server {
	t.Helper()
	s := &Server{AppID: appID, AppPassword: password, Tenant: tenant, t: t,
		Endorsed: newKey(t), Unendorsed: newKey(t), Unknown: newKey(t),
		tokens: map[string]string{}, convs: map[string]string{}, teams: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/.well-known/openidconfiguration", s.metadata)
	mux.HandleFunc("GET /v1/.well-known/keys", s.keys)
	mux.HandleFunc("POST /login/{tenant}/oauth2/v2.0/token", s.login)
	mux.HandleFunc("POST /connector/v3/conversations", s.createConversation)
	mux.HandleFunc("POST /connector/v3/conversations/{id}/activities", s.sendActivity)
	mux.HandleFunc("GET /connector/v3/teams/{id}", s.teamDetails)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func newKey(t testing.TB) Key {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return Key{ID: randomID(), key: k}
}

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// MetadataURL is the OpenID metadata's address.
func (s *Server) MetadataURL() string { return s.URL + "/v1/.well-known/openidconfiguration" }

// LoginURL is the login service's address.
func (s *Server) LoginURL() string { return s.URL + "/login" }

// ServiceURL is the Bot Connector's address, as activities name it.
func (s *Server) ServiceURL() string { return s.URL + "/connector/" }

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                Issuer,
		"authorization_endpoint":                "https://invalid.botframework.com",
		"jwks_uri":                              s.URL + "/v1/.well-known/keys",
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
	})
}

func (s *Server) keys(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.keyFetches++
	s.mu.Unlock()
	jwk := func(k Key, endorsements ...string) map[string]any {
		b, _ := jose.JSONWebKey{Key: &k.key.PublicKey, KeyID: k.ID, Use: "sig", Algorithm: "RS256"}.MarshalJSON()
		var m map[string]any
		json.Unmarshal(b, &m)
		m["endorsements"] = endorsements
		return m
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{
		jwk(s.Endorsed, "msteams", "skype"),
		jwk(s.Unendorsed, "webchat"),
	}})
}

// KeyFetches is how many times the key set was fetched.
func (s *Server) KeyFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keyFetches
}

// Claims are what a minted token says.
type Claims struct {
	Issuer, Audience, ServiceURL string
	NotBefore, Expiry            time.Time
	// Key signs it (the Endorsed key when zero).
	Key Key
	// Tamper changes the payload after signing: a bad signature.
	Tamper bool
}

// Claims returns the claims of a genuine token for an activity sent at
// now through this double's connector.
func (s *Server) Claims(now time.Time) Claims {
	return Claims{Issuer: Issuer, Audience: s.AppID, ServiceURL: s.ServiceURL(), NotBefore: now.Add(-time.Minute), Expiry: now.Add(time.Hour), Key: s.Endorsed}
}

// Sign mints a token with c.
func (s *Server) Sign(t testing.TB, c Claims) string {
	t.Helper()
	k := c.Key
	if k.key == nil {
		k = s.Endorsed
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.ID))
	if err != nil {
		t.Fatal(err)
	}
	std := jwt.Claims{Issuer: c.Issuer, Audience: jwt.Audience{c.Audience}, NotBefore: jwt.NewNumericDate(c.NotBefore), Expiry: jwt.NewNumericDate(c.Expiry)}
	own := map[string]any{"serviceurl": c.ServiceURL}
	tok, err := jwt.Signed(sig).Claims(std).Claims(own).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	if c.Tamper {
		// Re-encode the payload with another audience, keeping the
		// signature: it no longer matches.
		parts := strings.Split(tok, ".")
		forged := jwt.Claims{Issuer: c.Issuer, Audience: jwt.Audience{c.Audience, "tampered"}, NotBefore: std.NotBefore, Expiry: std.Expiry}
		b, _ := json.Marshal(struct {
			jwt.Claims
			ServiceURL string `json:"serviceurl"`
		}{forged, c.ServiceURL})
		parts[1] = base64URL(b)
		tok = strings.Join(parts, ".")
	}
	return tok
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.loginCalls++
	s.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	f := r.PostForm
	switch {
	case r.PathValue("tenant") != s.Tenant:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "AADSTS90002: Tenant not found."})
	case f.Get("grant_type") != "client_credentials":
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
	case f.Get("client_id") != s.AppID || f.Get("client_secret") != s.AppPassword:
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
	case !strings.HasSuffix(f.Get("scope"), "/.default"):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_scope"})
	default:
		tok := "bf-" + randomID()
		s.mu.Lock()
		s.tokens[tok] = f.Get("scope")
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
	}
}

// LoginCalls is how many tokens were asked for.
func (s *Server) LoginCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loginCalls
}

// authorized checks the bot's bearer token: one this double issued for
// the Bot Connector's scope.
func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	return ok && s.tokens[tok] == BotScope
}

func (s *Server) createConversation(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Authorization has been denied for this request."})
		return
	}
	var in struct {
		Bot     struct{ ID string } `json:"bot"`
		Members []struct {
			ID string `json:"id"`
		} `json:"members"`
		ChannelData struct {
			Tenant struct{ ID string } `json:"tenant"`
		} `json:"channelData"`
		IsGroup bool `json:"isGroup"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.Members) != 1 || in.IsGroup ||
		in.Bot.ID != "28:"+s.AppID || in.ChannelData.Tenant.ID != s.Tenant || in.Members[0].ID == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "BadArgument", "message": "Invalid conversation parameters"}})
		return
	}
	id := "a:" + randomID()
	s.mu.Lock()
	s.convs[id] = in.Members[0].ID
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

func (s *Server) sendActivity(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Authorization has been denied for this request."})
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	user, ok := s.convs[id]
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "ConversationNotFound", "message": "Conversation not found."}})
		return
	}
	var in struct {
		Type        string       `json:"type"`
		Text        string       `json:"text"`
		TextFormat  string       `json:"textFormat"`
		Summary     string       `json:"summary"`
		Attachments []Attachment `json:"attachments"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Type != "message" || (in.Text == "" && len(in.Attachments) == 0) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "BadArgument", "message": "Invalid activity"}})
		return
	}
	s.mu.Lock()
	s.messages = append(s.messages, Message{Conversation: id, User: user, Text: in.Text, TextFormat: in.TextFormat, Summary: in.Summary, Attachments: in.Attachments})
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]string{"id": randomID()})
}

// Messages are the messages the bot sent, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// MessagesTo are the texts of the messages the bot sent to user's
// personal chat (a card's is "").
func (s *Server) MessagesTo(user string) []string {
	var out []string
	for _, m := range s.Messages() {
		if m.User == user {
			out = append(out, m.Text)
		}
	}
	return out
}

// CardsTo are the Adaptive Cards the bot sent to user's personal chat, in
// order: each attachment of content type
// application/vnd.microsoft.card.adaptive, its content.
func (s *Server) CardsTo(user string) []json.RawMessage {
	var out []json.RawMessage
	for _, m := range s.Messages() {
		for _, a := range m.Attachments {
			if m.User == user && a.ContentType == "application/vnd.microsoft.card.adaptive" {
				out = append(out, a.Content)
			}
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func base64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// AddTeam makes the connector know a team: its thread id, as activities
// name it, and its Microsoft 365 group id, as Graph does.
func (s *Server) AddTeam(threadID, groupID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.teams[threadID] = groupID
}

// teamDetails answers "Get team details"
// (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/get-teams-context#get-team-details).
func (s *Server) teamDetails(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Authorization has been denied for this request."})
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	g, ok := s.teams[id]
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "NotFound", "message": "Team not found."}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": id, "name": "Team", "aadGroupId": g})
}
