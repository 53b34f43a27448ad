// Package mattermosttest is an in-process Mattermost server for tests: an
// httptest.Server answering the REST API v4 routes recordbot uses with the
// payload shapes of Mattermost's API reference (posts and threads with
// paging, users, channels, teams, files, reactions, bots, access tokens,
// slash commands and their response_url, direct messages, interactive
// dialogs), a WebSocket that pushes events, HTTP 429 with Retry-After on
// demand, and the calls Mattermost makes to an integration (slash command,
// dialog submission, button action, dynamic select lookup), built as
// Mattermost builds them.
//
// It refuses what a real server (6.7.2, read from its source) refuses,
// with the same status codes and bodies: perPage over 200 on a thread,
// POST /posts/ephemeral without create_post_ephemeral (which only system
// admins hold), reading a channel one may not see, creating a post where
// one is not a member. The contract tests of capture/mattermost run
// against it and against a real server (internal/mmserver), so the two
// cannot drift apart.
//
// It is kept for what 6.7.2 cannot show: newer servers send root_id with a
// slash command typed in a thread (6.7.2 does not), rate limiting on
// demand, and servers without thread paging.
//
// The real model.Client4 and model.WebSocketClient talk to it.
package mattermosttest

import (
	"io"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// Server is a fake Mattermost. Its exported maps may be read and changed
// by tests under Lock/Unlock, or through the helper methods.
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	users     map[string]*model.User
	tokens    map[string]string // token -> user id
	teams     map[string]*model.Team
	teamUsers map[string]map[string]bool
	channels  map[string]*model.Channel
	members   map[string]map[string]bool
	posts     map[string]*model.Post
	reactions map[string][]*model.Reaction
	files     map[string]*model.FileInfo
	content   map[string]func() io.Reader
	bots      map[string]*model.Bot
	uats      map[string]*model.UserAccessToken // by id
	commands  map[string]*model.Command
	triggers  map[string]triggerInfo
	hooks     map[string]*model.CommandWebhook
	pendingID map[string]string // pending_post_id -> post id
	clock     int64

	// Ephemeral holds every ephemeral post shown to a person (through a
	// command's response_url), in order.
	Ephemeral []model.PostEphemeral
	// Dialogs holds every dialog opened, in order.
	Dialogs []model.OpenDialogRequest
	// Config switches features as the System Console does.
	Config Config

	// rateLimit answers every n-th API request with 429 once.
	rateLimit  int
	retryAfter int
	calls      atomic.Int64
	routeCalls map[string]int
	throttled  atomic.Int64

	wsMu  sync.Mutex
	wsCon map[*wsConn]bool
	// TriggerTTL is how long a trigger id stays valid (3 s, as Mattermost).
	TriggerTTL time.Duration

	t testing.TB
}

// Config mirrors the ServiceSettings recordbot depends on.
type Config struct {
	DisableBotAccounts bool
	DisableUserTokens  bool
	DisableCommands    bool
	// NoThreadPaging makes /posts/{id}/thread ignore paging parameters, as
	// servers before paging did.
	NoThreadPaging bool
	// OmitMetadata leaves post metadata out, so clients must fetch
	// reactions and file infos themselves.
	OmitMetadata bool
	// MaxPerPage lowers the thread page limit below MaxPerPage (200).
	MaxPerPage int
}

type triggerInfo struct {
	user string
	at   time.Time
}

// New starts a fake Mattermost, closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{
		users: map[string]*model.User{}, tokens: map[string]string{},
		teams: map[string]*model.Team{}, teamUsers: map[string]map[string]bool{},
		channels: map[string]*model.Channel{}, members: map[string]map[string]bool{},
		posts: map[string]*model.Post{}, reactions: map[string][]*model.Reaction{},
		files: map[string]*model.FileInfo{}, content: map[string]func() io.Reader{},
		bots: map[string]*model.Bot{}, uats: map[string]*model.UserAccessToken{},
		commands: map[string]*model.Command{}, triggers: map[string]triggerInfo{},
		hooks: map[string]*model.CommandWebhook{}, pendingID: map[string]string{},
		routeCalls: map[string]int{}, wsCon: map[*wsConn]bool{},
		clock: 1_700_000_000_000, TriggerTTL: 3 * time.Second, t: t,
	}
	s.Server = httptest.NewServer(s.routes())
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and its WebSocket connections.
func (s *Server) Close() {
	s.wsMu.Lock()
	for c := range s.wsCon {
		c.conn.Close()
	}
	s.wsMu.Unlock()
	s.Server.Close()
}

// Lock locks the server's data for a test to change it directly.
func (s *Server) Lock() { s.mu.Lock() }

// Unlock undoes Lock.
func (s *Server) Unlock() { s.mu.Unlock() }

// RateLimit makes every n-th API request answer 429 with Retry-After
// seconds (0 turns it off).
func (s *Server) RateLimit(every, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimit, s.retryAfter = every, retryAfter
}

// Calls returns how many API requests were made, and how many of them
// were answered 429.
func (s *Server) Calls() (total, throttled int64) { return s.calls.Load(), s.throttled.Load() }

// RouteCalls returns how often each route pattern was called.
func (s *Server) RouteCalls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.routeCalls))
	for k, v := range s.routeCalls {
		out[k] = v
	}
	return out
}

func (s *Server) tick() int64 { s.clock += 1000; return s.clock }

// NewID returns a fresh Mattermost id (26 characters).
func NewID() string { return model.NewId() }
