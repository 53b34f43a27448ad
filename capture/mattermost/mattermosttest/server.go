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
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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

// AddUser adds a user and returns it with a personal access token.
func (s *Server) AddUser(username string, roles ...string) (*model.User, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &model.User{Id: NewID(), Username: username, FirstName: strings.ToUpper(username[:1]) + username[1:],
		LastName: "Tester", Roles: cmp.Or(strings.Join(roles, " "), model.SystemUserRoleId), CreateAt: s.tick()}
	s.users[u.Id] = u
	tok := NewID()
	s.tokens[tok] = u.Id
	return u, tok
}

// AddBot adds a bot account (a user with IsBot and the default roles) and
// returns it with an access token.
func (s *Server) AddBot(username string) (*model.User, string) {
	u, tok := s.AddUser(username)
	s.mu.Lock()
	defer s.mu.Unlock()
	u.IsBot = true
	s.bots[u.Id] = &model.Bot{UserId: u.Id, Username: username, CreateAt: u.CreateAt}
	return u, tok
}

// ServerURL returns the server's address.
func (s *Server) ServerURL() string { return s.URL }

// Name returns name as the server knows it (unchanged here; a real test
// server adds a suffix to keep tests apart).
func (s *Server) Name(name string) string { return name }

// AddAdmin adds a system admin and returns it with a token.
func (s *Server) AddAdmin(username string) (*model.User, string) {
	return s.AddUser(username, model.SystemUserRoleId, model.SystemAdminRoleId)
}

// AddTeam adds a team.
func (s *Server) AddTeam(name, display string) *model.Team {
	s.mu.Lock()
	defer s.mu.Unlock()
	tm := &model.Team{Id: NewID(), Name: name, DisplayName: display, Type: model.TeamOpen, CreateAt: s.tick()}
	s.teams[tm.Id] = tm
	s.teamUsers[tm.Id] = map[string]bool{}
	return tm
}

// AddChannel adds a channel of type typ ("O", "P", "D", "G") with members.
func (s *Server) AddChannel(team *model.Team, name string, typ model.ChannelType, members ...*model.User) *model.Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := &model.Channel{Id: NewID(), Name: name, DisplayName: strings.ToUpper(name[:1]) + name[1:], Type: typ, CreateAt: s.tick()}
	if team != nil {
		ch.TeamId = team.Id
	}
	s.channels[ch.Id] = ch
	s.members[ch.Id] = map[string]bool{}
	for _, u := range members {
		s.members[ch.Id][u.Id] = true
		if team != nil {
			s.teamUsers[team.Id][u.Id] = true
		}
	}
	return ch
}

// Join adds users to a channel.
func (s *Server) Join(ch *model.Channel, users ...*model.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range users {
		s.members[ch.Id][u.Id] = true
	}
}

// File is a file attached to a new post.
type File struct {
	Name, MIME string
	Data       []byte
}

// AddPost adds a post (a reply when root is not nil) with files and
// returns it.
func (s *Server) AddPost(ch *model.Channel, u *model.User, root *model.Post, message string, files ...File) *model.Post {
	s.mu.Lock()
	p := &model.Post{Id: NewID(), ChannelId: ch.Id, UserId: u.Id, Message: message, CreateAt: s.tick()}
	p.UpdateAt = p.CreateAt
	if root != nil {
		p.RootId = root.Id
	}
	s.posts[p.Id] = p
	s.mu.Unlock()
	for _, f := range files {
		s.AddFileBytes(p, f.Name, f.MIME, f.Data)
	}
	return p
}

// AddPostAt adds a post with a given create_at (for posts made in the same
// millisecond).
func (s *Server) AddPostAt(ch *model.Channel, u *model.User, root *model.Post, message string, createAt int64) *model.Post {
	p := s.AddPost(ch, u, root, message)
	s.mu.Lock()
	p.CreateAt, p.UpdateAt = createAt, createAt
	s.mu.Unlock()
	return p
}

// Edit marks a post edited with new text.
func (s *Server) Edit(p *model.Post, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.Message = message
	p.EditAt = s.tick()
	p.UpdateAt = p.EditAt
}

// AddFile attaches a file to a post; content is called each time the file
// is downloaded, so large files need not be held in memory.
func (s *Server) AddFile(p *model.Post, name, mime string, size int64, content func() io.Reader) *model.FileInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi := &model.FileInfo{Id: NewID(), CreatorId: p.UserId, PostId: p.Id, ChannelId: p.ChannelId, CreateAt: s.tick(),
		Name: name, Extension: strings.TrimPrefix(name[strings.LastIndexByte(name, '.')+1:], "."), Size: size, MimeType: mime}
	s.files[fi.Id] = fi
	s.content[fi.Id] = content
	p.FileIds = append(p.FileIds, fi.Id)
	return fi
}

// AddFileBytes attaches a small file held in memory.
func (s *Server) AddFileBytes(p *model.Post, name, mime string, data []byte) *model.FileInfo {
	return s.AddFile(p, name, mime, int64(len(data)), func() io.Reader { return bytes.NewReader(data) })
}

// DeleteFile marks a file deleted (its info and content go away).
func (s *Server) DeleteFile(fi *model.FileInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.files, fi.Id)
	delete(s.content, fi.Id)
}

// React adds a reaction and pushes reaction_added to WebSocket clients of
// the channel's members.
func (s *Server) React(p *model.Post, u *model.User, emoji string) *model.Reaction {
	s.mu.Lock()
	r := &model.Reaction{UserId: u.Id, PostId: p.Id, EmojiName: emoji, CreateAt: s.tick(), ChannelId: p.ChannelId}
	s.reactions[p.Id] = append(s.reactions[p.Id], r)
	p.HasReactions = true
	members := s.members[p.ChannelId]
	s.mu.Unlock()
	b, _ := json.Marshal(r)
	ev := model.NewWebSocketEvent(model.WebsocketEventReactionAdded, "", p.ChannelId, "", nil, "")
	ev = ev.SetData(map[string]any{"reaction": string(b)})
	s.broadcast(ev, func(userID string) bool { return members[userID] })
	return r
}

// Post returns a copy of the stored post.
func (s *Server) Post(id string) *model.Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.posts[id]; ok {
		return p.Clone()
	}
	return nil
}

// ChannelType returns the type of channel id ("" when there is none).
// Call it under Lock.
func (s *Server) ChannelType(id string) model.ChannelType {
	if ch, ok := s.channels[id]; ok {
		return ch.Type
	}
	return ""
}

// Commands returns the slash commands registered on team.
func (s *Server) Commands(teamID string) []*model.Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*model.Command
	for _, c := range s.commands {
		if c.TeamId == teamID && c.DeleteAt == 0 {
			out = append(out, c)
		}
	}
	return out
}

// Bots returns the bot accounts, deleted ones included.
func (s *Server) Bots() []*model.Bot {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*model.Bot
	for _, b := range s.bots {
		out = append(out, b)
	}
	return out
}

// ActiveTokens returns the active access tokens of a user.
func (s *Server) ActiveTokens(userID string) []*model.UserAccessToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*model.UserAccessToken
	for _, t := range s.uats {
		if t.UserId == userID && t.IsActive {
			out = append(out, t)
		}
	}
	return out
}

// TeamMember reports whether user is on team.
func (s *Server) TeamMember(teamID, userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.teamUsers[teamID][userID]
}

// MessagesTo returns what the bots told user: ephemeral posts (through a
// command's response_url) and posts in direct message channels with the
// user that others wrote, in order.
func (s *Server) MessagesTo(userID string) []*model.Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*model.Post
	for _, e := range s.Ephemeral {
		if e.UserID == userID {
			out = append(out, e.Post)
		}
	}
	for _, p := range s.posts {
		ch := s.channels[p.ChannelId]
		if ch != nil && ch.Type == model.ChannelTypeDirect && s.members[ch.Id][userID] && p.UserId != userID {
			out = append(out, p.Clone())
		}
	}
	slices.SortStableFunc(out, func(a, b *model.Post) int { return cmp.Compare(a.CreateAt, b.CreateAt) })
	return out
}

// EphemeralFor returns the ephemeral posts shown to a user.
func (s *Server) EphemeralFor(userID string) []*model.Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*model.Post
	for _, e := range s.Ephemeral {
		if e.UserID == userID {
			out = append(out, e.Post)
		}
	}
	return out
}

// OpenedDialogs returns the dialogs opened so far.
func (s *Server) OpenedDialogs() []model.OpenDialogRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.Dialogs)
}

// NewTrigger issues a trigger id for user, valid for TriggerTTL.
func (s *Server) NewTrigger(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := NewID() + ":" + userID
	s.triggers[id] = triggerInfo{user: userID, at: time.Now()}
	return id
}

// --- HTTP ---

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, f func(w http.ResponseWriter, r *http.Request, me *model.User)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			s.calls.Add(1)
			s.mu.Lock()
			s.routeCalls[pattern]++
			n := s.calls.Load()
			limited := s.rateLimit > 0 && n%int64(s.rateLimit) == 0
			ra := s.retryAfter
			s.mu.Unlock()
			if limited {
				s.throttled.Add(1)
				w.Header().Set("Retry-After", strconv.Itoa(ra))
				w.Header().Set("X-RateLimit-Limit", "10")
				w.Header().Set("X-RateLimit-Remaining", "0")
				w.Header().Set("X-RateLimit-Reset", strconv.Itoa(ra))
				http.Error(w, "limit exceeded\n", http.StatusTooManyRequests)
				return
			}
			me := s.auth(r)
			if me == nil {
				writeErr(w, http.StatusUnauthorized, "api.context.session_expired.app_error", "Invalid or expired session, please login again.")
				return
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			f(w, r, me)
		})
	}
	h("GET /api/v4/users/me", func(w http.ResponseWriter, r *http.Request, me *model.User) { writeJSON(w, 200, me) })
	h("POST /api/v4/users/ids", s.getUsersByIDs)
	h("GET /api/v4/posts/{id}", s.getPost)
	h("GET /api/v4/posts/{id}/thread", s.getThread)
	h("GET /api/v4/posts/{id}/reactions", s.getReactions)
	h("GET /api/v4/posts/{id}/files/info", s.getPostFiles)
	h("GET /api/v4/files/{id}", s.getFile)
	h("GET /api/v4/files/{id}/info", s.getFileInfo)
	h("GET /api/v4/channels/{id}", s.getChannel)
	h("GET /api/v4/channels/{id}/members/{user}", s.getChannelMember)
	h("GET /api/v4/teams/{id}", s.getTeam)
	h("GET /api/v4/teams/name/{name}", s.getTeamByName)
	h("POST /api/v4/teams/{id}/members", s.addTeamMember)
	h("POST /api/v4/posts/ephemeral", s.postEphemeral)
	h("POST /api/v4/posts", s.createPost)
	h("POST /api/v4/channels/direct", s.createDirect)
	h("POST /api/v4/actions/dialogs/open", s.openDialog)
	h("POST /api/v4/bots", s.createBot)
	h("GET /api/v4/bots", s.listBots)
	h("POST /api/v4/bots/{id}/enable", s.enableBot)
	h("POST /api/v4/bots/{id}/disable", s.disableBot)
	h("POST /api/v4/users/{id}/tokens", s.createToken)
	h("GET /api/v4/users/{id}/tokens", s.listTokens)
	h("POST /api/v4/users/tokens/revoke", s.revokeToken)
	h("POST /api/v4/commands", s.createCommand)
	h("GET /api/v4/commands", s.listCommands)
	h("DELETE /api/v4/commands/{id}", s.deleteCommand)
	mux.HandleFunc("GET /api/v4/websocket", s.websocket)
	mux.HandleFunc("POST /hooks/commands/{id}", s.commandHook)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, "api.context.404.app_error", "Sorry, we could not find the page.")
	})
	return mux
}

func (s *Server) auth(r *http.Request) *model.User {
	tok := ""
	if v := r.Header.Get("Authorization"); v != "" {
		typ, t, _ := strings.Cut(v, " ")
		if strings.EqualFold(typ, "bearer") || strings.EqualFold(typ, "token") {
			tok = t
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	uid, ok := s.tokens[tok]
	if !ok {
		return nil
	}
	u := s.users[uid]
	if u == nil || u.DeleteAt != 0 {
		return nil
	}
	return u
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, id, msg string) {
	writeJSON(w, code, &model.AppError{Id: id, Message: msg, StatusCode: code, RequestId: NewID()})
}

// writePermErr answers as the server's MakePermissionError does.
func writePermErr(w http.ResponseWriter, me *model.User, perm string) {
	writeJSON(w, 403, &model.AppError{Id: "api.context.permissions.app_error", Message: "You do not have the appropriate permissions.",
		DetailedError: "userId=" + me.Id + ", permission=" + perm + ",", StatusCode: 403, RequestId: NewID()})
}

// writeParamErr answers as the server's SetInvalidParam does.
func writeParamErr(w http.ResponseWriter, name string) {
	writeErr(w, 400, "api.context.invalid_body_param.app_error", "Invalid or missing "+name+" in request body.")
}

func isAdmin(u *model.User) bool { return strings.Contains(u.Roles, model.SystemAdminRoleId) }

func (s *Server) canRead(u *model.User, ch *model.Channel) bool {
	if s.members[ch.Id][u.Id] {
		return true
	}
	return ch.Type == model.ChannelTypeOpen && s.teamUsers[ch.TeamId][u.Id] && !u.IsBot
}

func (s *Server) getUsersByIDs(w http.ResponseWriter, r *http.Request, me *model.User) {
	var ids []string
	if err := json.NewDecoder(r.Body).Decode(&ids); err != nil || len(ids) == 0 {
		writeErr(w, 400, "api.context.invalid_body_param.app_error", "Invalid or missing user_ids in request body.")
		return
	}
	if len(ids) > 1000 {
		writeErr(w, 400, "api.context.invalid_body_param.app_error", "too many user ids")
		return
	}
	out := []*model.User{}
	for _, id := range ids {
		if u, ok := s.users[id]; ok {
			out = append(out, u)
		}
	}
	writeJSON(w, 200, out)
}

func (s *Server) readablePost(w http.ResponseWriter, me *model.User, id string) *model.Post {
	p, ok := s.posts[id]
	if !ok || p.DeleteAt != 0 {
		writeErr(w, 404, "app.post.get.app_error", "Unable to get the post.")
		return nil
	}
	if !s.canRead(me, s.channels[p.ChannelId]) {
		writeErr(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return nil
	}
	return p
}

// forClient returns the post as the API sends it, with metadata.
func (s *Server) forClient(p *model.Post) *model.Post {
	c := p.Clone()
	if s.Config.OmitMetadata {
		c.Metadata = nil
		return c
	}
	md := &model.PostMetadata{}
	md.Reactions = slices.Clone(s.reactions[p.Id])
	for _, id := range p.FileIds {
		if fi, ok := s.files[id]; ok {
			md.Files = append(md.Files, fi)
		}
	}
	c.Metadata = md
	return c
}

func (s *Server) getPost(w http.ResponseWriter, r *http.Request, me *model.User) {
	if p := s.readablePost(w, me, r.PathValue("id")); p != nil {
		writeJSON(w, 200, s.forClient(p))
	}
}

// getThread answers GET /posts/{id}/thread as the server's SqlPostStore.Get
// does: the requested post first, then the thread's posts ordered by
// (create_at, id) in the asked direction, after fromCreateAt/fromPost,
// perPage of them, with has_next.
func (s *Server) getThread(w http.ResponseWriter, r *http.Request, me *model.User) {
	p := s.readablePost(w, me, r.PathValue("id"))
	if p == nil {
		return
	}
	q := r.URL.Query()
	perPage := 0
	if v := q.Get("perPage"); v != "" && !s.Config.NoThreadPaging {
		// api4/post.go getPostThread: more than web.PerPageMaximum (200)
		// is refused.
		n, err := strconv.Atoi(v)
		if err != nil || n > MaxPerPage || (s.Config.MaxPerPage > 0 && n > s.Config.MaxPerPage) {
			writeParamErr(w, "perPage")
			return
		}
		perPage = n
	}
	fromCreateAt, _ := strconv.ParseInt(q.Get("fromCreateAt"), 10, 64)
	fromPost, dir := q.Get("fromPost"), q.Get("direction")
	if s.Config.NoThreadPaging {
		perPage, fromCreateAt, fromPost, dir = 0, 0, "", ""
	}
	rootID := cmp.Or(p.RootId, p.Id)
	var thread []*model.Post
	for _, x := range s.posts {
		if (x.Id == rootID || x.RootId == rootID) && x.DeleteAt == 0 {
			thread = append(thread, x)
		}
	}
	asc := func(a, b *model.Post) int {
		return cmp.Or(cmp.Compare(a.CreateAt, b.CreateAt), strings.Compare(a.Id, b.Id))
	}
	switch dir {
	case "down":
		slices.SortFunc(thread, asc)
	case "up":
		slices.SortFunc(thread, func(a, b *model.Post) int { return -asc(a, b) })
	}
	if fromCreateAt != 0 {
		var keep []*model.Post
		for _, x := range thread {
			var ok bool
			if dir == "down" {
				ok = x.CreateAt > fromCreateAt || (fromPost != "" && x.CreateAt == fromCreateAt && x.Id > fromPost)
			} else {
				ok = x.CreateAt < fromCreateAt || (fromPost != "" && x.CreateAt == fromCreateAt && x.Id < fromPost)
			}
			if ok {
				keep = append(keep, x)
			}
		}
		thread = keep
	}
	hasNext := false
	if perPage != 0 && len(thread) > perPage {
		hasNext = true
		thread = thread[:perPage]
	}
	pl := model.NewPostList()
	pl.AddPost(s.forClient(p))
	pl.AddOrder(p.Id)
	for _, x := range thread {
		if x.Id == p.Id {
			continue
		}
		pl.AddPost(s.forClient(x))
		pl.AddOrder(x.Id)
	}
	if !s.Config.NoThreadPaging {
		pl.HasNext = &hasNext
	}
	writeJSON(w, 200, pl)
}

func (s *Server) getReactions(w http.ResponseWriter, r *http.Request, me *model.User) {
	if p := s.readablePost(w, me, r.PathValue("id")); p != nil {
		writeJSON(w, 200, append([]*model.Reaction{}, s.reactions[p.Id]...))
	}
}

func (s *Server) getPostFiles(w http.ResponseWriter, r *http.Request, me *model.User) {
	p := s.readablePost(w, me, r.PathValue("id"))
	if p == nil {
		return
	}
	out := []*model.FileInfo{}
	for _, id := range p.FileIds {
		if fi, ok := s.files[id]; ok {
			out = append(out, fi)
		}
	}
	writeJSON(w, 200, out)
}

func (s *Server) readableFile(w http.ResponseWriter, me *model.User, id string) *model.FileInfo {
	fi, ok := s.files[id]
	if !ok {
		writeErr(w, 404, "app.file_info.get.app_error", "Unable to get the file info.")
		return nil
	}
	if !s.canRead(me, s.channels[fi.ChannelId]) {
		writeErr(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return nil
	}
	return fi
}

func (s *Server) getFileInfo(w http.ResponseWriter, r *http.Request, me *model.User) {
	if fi := s.readableFile(w, me, r.PathValue("id")); fi != nil {
		writeJSON(w, 200, fi)
	}
}

func (s *Server) getFile(w http.ResponseWriter, r *http.Request, me *model.User) {
	fi := s.readableFile(w, me, r.PathValue("id"))
	if fi == nil {
		return
	}
	body := s.content[fi.Id]()
	s.mu.Unlock() // stream without holding the lock
	defer s.mu.Lock()
	w.Header().Set("Content-Type", fi.MimeType)
	w.Header().Set("Content-Length", strconv.FormatInt(fi.Size, 10))
	w.Header().Set("Content-Disposition", "attachment;filename=\""+fi.Name+"\"")
	w.WriteHeader(200)
	io.Copy(w, body)
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request, me *model.User) {
	ch, ok := s.channels[r.PathValue("id")]
	if !ok {
		writeErr(w, 404, "app.channel.get.existing.app_error", "Unable to find the existing channel.")
		return
	}
	if !s.canRead(me, ch) {
		writeErr(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return
	}
	writeJSON(w, 200, ch)
}

func (s *Server) getChannelMember(w http.ResponseWriter, r *http.Request, me *model.User) {
	ch, ok := s.channels[r.PathValue("id")]
	if !ok {
		writeErr(w, 404, "app.channel.get.existing.app_error", "Unable to find the existing channel.")
		return
	}
	if !s.canRead(me, ch) {
		writeErr(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return
	}
	uid := r.PathValue("user")
	if uid == "me" {
		uid = me.Id
	}
	if !s.members[ch.Id][uid] {
		writeErr(w, 404, "app.channel.get_member.missing.app_error", "No channel member found for that user ID and channel ID.")
		return
	}
	writeJSON(w, 200, &model.ChannelMember{ChannelId: ch.Id, UserId: uid, Roles: "channel_user"})
}

func (s *Server) getTeam(w http.ResponseWriter, r *http.Request, me *model.User) {
	if tm, ok := s.teams[r.PathValue("id")]; ok {
		writeJSON(w, 200, tm)
		return
	}
	writeErr(w, 404, "app.team.get.find.app_error", "Unable to find the existing team.")
}

func (s *Server) getTeamByName(w http.ResponseWriter, r *http.Request, me *model.User) {
	for _, tm := range s.teams {
		if tm.Name == r.PathValue("name") {
			writeJSON(w, 200, tm)
			return
		}
	}
	writeErr(w, 404, "app.team.get_by_name.missing.app_error", "Unable to find the existing team.")
}

func (s *Server) addTeamMember(w http.ResponseWriter, r *http.Request, me *model.User) {
	var m model.TeamMember
	json.NewDecoder(r.Body).Decode(&m)
	tm, ok := s.teams[r.PathValue("id")]
	if !ok {
		writeErr(w, 404, "app.team.get.find.app_error", "Unable to find the existing team.")
		return
	}
	if !isAdmin(me) {
		writeErr(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return
	}
	s.teamUsers[tm.Id][m.UserId] = true
	writeJSON(w, 201, &model.TeamMember{TeamId: tm.Id, UserId: m.UserId, Roles: "team_user"})
}

// MaxPerPage is the server's web.PerPageMaximum.
const MaxPerPage = 200

// postEphemeral answers as api4/post.go createEphemeralPost does: only a
// session holding create_post_ephemeral (system admins, by default; never
// a bot account with the default roles) may post one.
func (s *Server) postEphemeral(w http.ResponseWriter, r *http.Request, me *model.User) {
	var pe model.PostEphemeral
	json.NewDecoder(r.Body).Decode(&pe)
	if pe.UserID == "" {
		writeParamErr(w, "user_id")
		return
	}
	if pe.Post == nil {
		writeParamErr(w, "post")
		return
	}
	if !isAdmin(me) {
		writePermErr(w, me, model.PermissionCreatePostEphemeral.Id)
		return
	}
	pe.Post.Id = NewID()
	pe.Post.UserId = me.Id
	pe.Post.CreateAt = s.tick()
	pe.Post.Type = model.PostTypeEphemeral
	s.Ephemeral = append(s.Ephemeral, pe)
	writeJSON(w, 201, pe.Post)
}

// createPost answers POST /posts: the author must be a member of the
// channel (create_post is a channel permission); a repeated
// pending_post_id within 30 seconds returns the post already made, as
// app/post.go deduplicateCreatePost does.
func (s *Server) createPost(w http.ResponseWriter, r *http.Request, me *model.User) {
	var p model.Post
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		writeParamErr(w, "post")
		return
	}
	ch, ok := s.channels[p.ChannelId]
	if !ok {
		writeParamErr(w, "channel_id")
		return
	}
	if !s.members[ch.Id][me.Id] {
		writePermErr(w, me, model.PermissionCreatePost.Id)
		return
	}
	if id, ok := s.pendingID[p.PendingPostId]; ok && p.PendingPostId != "" {
		writeJSON(w, 201, s.forClient(s.posts[id]))
		return
	}
	np := &model.Post{Id: NewID(), ChannelId: ch.Id, UserId: me.Id, RootId: p.RootId, Message: p.Message, CreateAt: s.tick(),
		PendingPostId: p.PendingPostId}
	np.UpdateAt = np.CreateAt
	np.SetProps(p.GetProps())
	s.posts[np.Id] = np
	if p.PendingPostId != "" {
		s.pendingID[p.PendingPostId] = np.Id
	}
	writeJSON(w, 201, s.forClient(np))
}

// createDirect answers POST /channels/direct: the caller must be one of
// the two users; the channel is made once per pair.
func (s *Server) createDirect(w http.ResponseWriter, r *http.Request, me *model.User) {
	var ids []string
	json.NewDecoder(r.Body).Decode(&ids)
	if len(ids) != 2 {
		writeParamErr(w, "user_ids")
		return
	}
	if ids[0] != me.Id && ids[1] != me.Id && !isAdmin(me) {
		writePermErr(w, me, model.PermissionManageSystem.Id)
		return
	}
	for _, id := range ids {
		if _, ok := s.users[id]; !ok {
			writeErr(w, 400, "api.context.invalid_body_param.app_error", "Invalid or missing user_id in request body.")
			return
		}
	}
	name := model.GetDMNameFromIds(ids[0], ids[1])
	for _, ch := range s.channels {
		if ch.Name == name {
			writeJSON(w, 201, ch)
			return
		}
	}
	ch := &model.Channel{Id: NewID(), Name: name, Type: model.ChannelTypeDirect, CreateAt: s.tick()}
	s.channels[ch.Id] = ch
	s.members[ch.Id] = map[string]bool{ids[0]: true, ids[1]: true}
	writeJSON(w, 201, ch)
}

// commandHook answers a slash command's response_url as
// app/webhook.go HandleCommandWebhook does: 30 minutes and 5 uses, then
// 400; an ephemeral response is shown to the person who ran the command.
func (s *Server) commandHook(w http.ResponseWriter, r *http.Request) {
	var cr model.CommandResponse
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&cr); err != nil {
		writeErr(w, 400, "app.command_webhook.handle_command_webhook.parse", "Unable to parse incoming data.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	hook, ok := s.hooks[r.PathValue("id")]
	if !ok {
		writeErr(w, 404, "app.command_webhook.get.missing", "Unable to find the webhook.")
		return
	}
	if hook.UseCount >= 5 || time.Since(time.UnixMilli(hook.CreateAt)) > model.CommandWebhookLifetime*time.Millisecond {
		writeErr(w, 400, "app.command_webhook.try_use.invalid", "Invalid webhook.")
		return
	}
	hook.UseCount++
	if cr.ResponseType == model.CommandResponseTypeEphemeral || cr.ResponseType == "" {
		p := &model.Post{Id: NewID(), ChannelId: hook.ChannelId, RootId: hook.RootId, Message: cr.Text, CreateAt: s.tick(), Type: model.PostTypeEphemeral}
		s.Ephemeral = append(s.Ephemeral, model.PostEphemeral{UserID: hook.UserId, Post: p})
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte("ok"))
}

// AgeHooks makes every command response_url older by d (to test what
// happens after its 30 minutes).
func (s *Server) AgeHooks(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.hooks {
		h.CreateAt -= d.Milliseconds()
	}
}

func (s *Server) openDialog(w http.ResponseWriter, r *http.Request, me *model.User) {
	var req model.OpenDialogRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, 400, "api.context.invalid_body_param.app_error", "Invalid or missing dialog in request body.")
		return
	}
	ti, ok := s.triggers[req.TriggerId]
	if !ok || time.Since(ti.at) > s.TriggerTTL {
		writeErr(w, 400, "interactive_message.decode_trigger_id.expired", "Trigger ID for interactive dialog is expired.")
		return
	}
	if req.URL == "" {
		writeErr(w, 400, "api.context.invalid_body_param.app_error", "Invalid or missing url in request body.")
		return
	}
	if err := req.Dialog.IsValid(); err != nil {
		writeErr(w, 400, "app.open_interactive_dialog.invalid", err.Error())
		return
	}
	delete(s.triggers, req.TriggerId)
	s.Dialogs = append(s.Dialogs, req)
	writeJSON(w, 200, map[string]string{"status": "OK"})
}

func (s *Server) createBot(w http.ResponseWriter, r *http.Request, me *model.User) {
	if s.Config.DisableBotAccounts {
		writeErr(w, 403, "api.bot.create_disabled", "Bot creation has been disabled.")
		return
	}
	if !isAdmin(me) {
		writeErr(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return
	}
	var b model.Bot
	json.NewDecoder(r.Body).Decode(&b)
	for _, u := range s.users {
		if u.Username == b.Username {
			writeErr(w, 400, "app.user.save.username_exists.app_error", "An account with that username already exists.")
			return
		}
	}
	u := &model.User{Id: NewID(), Username: b.Username, FirstName: b.DisplayName, IsBot: true, Roles: model.SystemUserRoleId, CreateAt: s.tick()}
	s.users[u.Id] = u
	nb := &model.Bot{UserId: u.Id, Username: b.Username, DisplayName: b.DisplayName, Description: b.Description, OwnerId: me.Id, CreateAt: u.CreateAt, UpdateAt: u.CreateAt}
	s.bots[u.Id] = nb
	writeJSON(w, 201, nb)
}

func (s *Server) listBots(w http.ResponseWriter, r *http.Request, me *model.User) {
	if !isAdmin(me) {
		writeErr(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	per = cmp.Or(per, 60)
	incl := r.URL.Query().Get("include_deleted") == "true"
	var all []*model.Bot
	for _, b := range s.bots {
		if b.DeleteAt == 0 || incl {
			all = append(all, b)
		}
	}
	slices.SortFunc(all, func(a, b *model.Bot) int { return strings.Compare(a.UserId, b.UserId) })
	out := []*model.Bot{}
	for i := page * per; i < len(all) && i < (page+1)*per; i++ {
		out = append(out, all[i])
	}
	writeJSON(w, 200, out)
}

func (s *Server) enableBot(w http.ResponseWriter, r *http.Request, me *model.User) {
	b, ok := s.bots[r.PathValue("id")]
	if !ok {
		writeErr(w, 404, "store.sql_bot.get.missing.app_error", "Bot does not exist.")
		return
	}
	b.DeleteAt = 0
	s.users[b.UserId].DeleteAt = 0
	writeJSON(w, 200, b)
}

func (s *Server) disableBot(w http.ResponseWriter, r *http.Request, me *model.User) {
	b, ok := s.bots[r.PathValue("id")]
	if !ok {
		writeErr(w, 404, "store.sql_bot.get.missing.app_error", "Bot does not exist.")
		return
	}
	if !isAdmin(me) {
		writeErr(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return
	}
	b.DeleteAt = s.tick()
	s.users[b.UserId].DeleteAt = b.DeleteAt
	writeJSON(w, 200, b)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, me *model.User) {
	if s.Config.DisableUserTokens {
		writeErr(w, 501, "app.user_access_token.disabled", "Personal access tokens are disabled on this server. Please contact your system administrator for details.")
		return
	}
	uid := r.PathValue("id")
	if !isAdmin(me) && uid != me.Id {
		writeErr(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return
	}
	if _, ok := s.users[uid]; !ok {
		writeErr(w, 404, "app.user.missing_account.const", "Unable to find the user.")
		return
	}
	var req model.UserAccessToken
	json.NewDecoder(r.Body).Decode(&req)
	t := &model.UserAccessToken{Id: NewID(), Token: NewID(), UserId: uid, Description: req.Description, IsActive: true}
	s.uats[t.Id] = t
	s.tokens[t.Token] = uid
	writeJSON(w, 200, t)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, me *model.User) {
	if !isAdmin(me) && r.PathValue("id") != me.Id {
		writeErr(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return
	}
	out := []*model.UserAccessToken{}
	for _, t := range s.uats {
		if t.UserId == r.PathValue("id") {
			c := *t
			c.Token = ""
			out = append(out, &c)
		}
	}
	writeJSON(w, 200, out)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, me *model.User) {
	var req map[string]string
	json.NewDecoder(r.Body).Decode(&req)
	t, ok := s.uats[req["token_id"]]
	if !ok {
		writeErr(w, 404, "app.user_access_token.get_by_id.app_error", "Unable to get the token.")
		return
	}
	if !isAdmin(me) && t.UserId != me.Id {
		writeErr(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return
	}
	t.IsActive = false
	delete(s.tokens, t.Token)
	writeJSON(w, 200, map[string]string{"status": "OK"})
}

func (s *Server) createCommand(w http.ResponseWriter, r *http.Request, me *model.User) {
	if s.Config.DisableCommands {
		writeErr(w, 501, "api.command.disabled.app_error", "Commands have been disabled by the system admin.")
		return
	}
	var c model.Command
	json.NewDecoder(r.Body).Decode(&c)
	if _, ok := s.teams[c.TeamId]; !ok {
		writeErr(w, 404, "app.team.get.find.app_error", "Unable to find the existing team.")
		return
	}
	if !isAdmin(me) {
		writeErr(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return
	}
	c.Trigger = strings.ToLower(c.Trigger)
	for _, x := range s.commands {
		if x.TeamId == c.TeamId && x.Trigger == c.Trigger && x.DeleteAt == 0 {
			writeErr(w, 400, "api.command.duplicate_trigger.app_error", "This trigger word is already in use. Please choose another word.")
			return
		}
	}
	c.Id, c.Token, c.CreatorId, c.CreateAt = NewID(), NewID(), me.Id, s.tick()
	c.UpdateAt = c.CreateAt
	if err := c.IsValid(); err != nil {
		writeErr(w, 400, err.Id, err.Error())
		return
	}
	s.commands[c.Id] = &c
	writeJSON(w, 201, &c)
}

func (s *Server) listCommands(w http.ResponseWriter, r *http.Request, me *model.User) {
	if s.Config.DisableCommands {
		writeErr(w, 501, "api.command.disabled.app_error", "Commands have been disabled by the system admin.")
		return
	}
	teamID := r.URL.Query().Get("team_id")
	if _, ok := s.teams[teamID]; !ok {
		writeErr(w, 404, "app.team.get.find.app_error", "Unable to find the existing team.")
		return
	}
	out := []*model.Command{}
	for _, c := range s.commands {
		if c.TeamId == teamID && c.DeleteAt == 0 {
			x := *c
			if !isAdmin(me) {
				x.Token = ""
			}
			out = append(out, &x)
		}
	}
	slices.SortFunc(out, func(a, b *model.Command) int { return cmp.Compare(a.CreateAt, b.CreateAt) })
	writeJSON(w, 200, out)
}

func (s *Server) deleteCommand(w http.ResponseWriter, r *http.Request, me *model.User) {
	c, ok := s.commands[r.PathValue("id")]
	if !ok || c.DeleteAt != 0 {
		writeErr(w, 404, "app.command.getcommand.app_error", "Unable to get the command.")
		return
	}
	if !isAdmin(me) {
		writeErr(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return
	}
	c.DeleteAt = s.tick()
	writeJSON(w, 200, map[string]string{"status": "OK"})
}

// --- WebSocket ---

type wsConn struct {
	conn   *websocket.Conn
	userID string
	mu     sync.Mutex
	seq    int64
}

func (c *wsConn) send(v []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn.WriteMessage(websocket.TextMessage, v)
}

func (s *Server) websocket(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &wsConn{conn: conn}
	defer conn.Close()
	// The client authenticates with its first message.
	var req model.WebSocketRequest
	if err := conn.ReadJSON(&req); err != nil || req.Action != string(model.WebsocketAuthenticationChallenge) {
		return
	}
	tok, _ := req.Data["token"].(string)
	s.mu.Lock()
	uid := s.tokens[tok]
	s.mu.Unlock()
	if uid == "" {
		b, _ := json.Marshal(model.NewWebSocketError(req.Seq, model.NewAppError("ServeWebSocket", "api.web_socket_router.not_authenticated.app_error", nil, "", 401)))
		c.send(b)
		return
	}
	c.userID = uid
	b, _ := json.Marshal(model.NewWebSocketResponse(model.StatusOk, req.Seq, nil))
	c.send(b)
	hello := model.NewWebSocketEvent(model.WebsocketEventHello, "", "", uid, nil, "")
	hello = hello.SetData(map[string]any{"server_version": "10.0.0"})
	hb, _ := hello.ToJSON()
	c.send(hb)
	s.wsMu.Lock()
	s.wsCon[c] = true
	s.wsMu.Unlock()
	defer func() {
		s.wsMu.Lock()
		delete(s.wsCon, c)
		s.wsMu.Unlock()
	}()
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			return
		}
	}
}

// WebSocketClients returns how many authenticated WebSocket clients are
// connected.
func (s *Server) WebSocketClients() int {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	return len(s.wsCon)
}

// DropWebSockets closes every WebSocket connection (clients must
// reconnect).
func (s *Server) DropWebSockets() {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	for c := range s.wsCon {
		c.conn.Close()
		delete(s.wsCon, c)
	}
}

func (s *Server) broadcast(ev *model.WebSocketEvent, to func(userID string) bool) {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	for c := range s.wsCon {
		if !to(c.userID) {
			continue
		}
		c.seq++
		b, _ := ev.SetSequence(c.seq).ToJSON()
		c.send(b)
	}
}

// SendRaw sends a raw WebSocket frame to every client (for event JSON
// fixtures).
func (s *Server) SendRaw(frame []byte) {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	for c := range s.wsCon {
		c.send(frame)
	}
}

// --- Mattermost calling the integration ---

// SlashCommand runs a custom slash command as a user types it: the server
// finds the team's command by trigger and POSTs the form Mattermost sends
// (token, team_id, team_domain, channel_id, channel_name, user_id,
// user_name, command, text, trigger_id, root_id when rootID is set,
// response_url) with Authorization: Token <token>. It returns the status
// and the decoded command response.
func (s *Server) SlashCommand(teamID, channelID, userID, line, rootID string) (int, *model.CommandResponse, error) {
	trigger, text, _ := strings.Cut(strings.TrimPrefix(line, "/"), " ")
	s.mu.Lock()
	var cmd *model.Command
	for _, c := range s.commands {
		if c.TeamId == teamID && c.Trigger == trigger && c.DeleteAt == 0 {
			cmd = c
		}
	}
	team, ch, u := s.teams[teamID], s.channels[channelID], s.users[userID]
	s.mu.Unlock()
	if cmd == nil || team == nil || ch == nil || u == nil {
		return 0, nil, fmt.Errorf("mattermosttest: no /%s command on team %s (or unknown channel/user)", trigger, teamID)
	}
	p := make(map[string][]string)
	set := func(k, v string) { p[k] = []string{v} }
	set("token", cmd.Token)
	set("team_id", cmd.TeamId)
	set("team_domain", team.Name)
	set("channel_id", ch.Id)
	set("channel_name", ch.Name)
	set("user_id", u.Id)
	set("user_name", u.Username)
	set("command", "/"+trigger)
	set("text", text)
	set("trigger_id", s.NewTrigger(u.Id))
	if rootID != "" {
		set("root_id", rootID)
	}
	hook := &model.CommandWebhook{Id: NewID(), CreateAt: time.Now().UnixMilli(), CommandId: cmd.Id, UserId: u.Id, ChannelId: ch.Id, RootId: rootID}
	s.mu.Lock()
	s.hooks[hook.Id] = hook
	s.mu.Unlock()
	set("response_url", s.URL+"/hooks/commands/"+hook.Id)
	body := encodeForm(p)
	req, err := http.NewRequest(http.MethodPost, cmd.URL, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Token "+cmd.Token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return resp.StatusCode, nil, nil
	}
	cr, err := model.CommandResponseFromHTTPBody(resp.Header.Get("Content-Type"), resp.Body)
	return resp.StatusCode, cr, err
}

func encodeForm(p map[string][]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range p[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(queryEscape(k) + "=" + queryEscape(v))
		}
	}
	return b.String()
}

// SubmitDialog submits dialog d (as opened) with values, as the webapp
// and server do: POST the SubmitDialogRequest JSON to the dialog's URL.
func (s *Server) SubmitDialog(d model.OpenDialogRequest, userID, channelID, teamID string, values map[string]any) (int, *model.SubmitDialogResponse, error) {
	req := model.SubmitDialogRequest{
		Type: "dialog_submission", CallbackId: d.Dialog.CallbackId, State: d.Dialog.State,
		UserId: userID, ChannelId: channelID, TeamId: teamID, Submission: values,
	}
	return s.postJSON(d.URL, req)
}

// LookupDialog asks a dynamic select's data_source_url for options, as the
// server does (type "dialog_lookup", the typed query in submission).
func (s *Server) LookupDialog(d model.OpenDialogRequest, field, userID, channelID, teamID, query string) (*model.LookupDialogResponse, error) {
	var url string
	for _, e := range d.Dialog.Elements {
		if e.Name == field {
			url = e.DataSourceURL
		}
	}
	req := model.SubmitDialogRequest{
		Type: "dialog_lookup", CallbackId: d.Dialog.CallbackId, State: d.Dialog.State,
		UserId: userID, ChannelId: channelID, TeamId: teamID,
		Submission: map[string]any{"query": query, "selected_field": field},
	}
	b, _ := json.Marshal(req)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("lookup: HTTP %d", resp.StatusCode)
	}
	var out model.LookupDialogResponse
	return &out, json.NewDecoder(resp.Body).Decode(&out)
}

// ClickButton presses button actionID of an ephemeral or normal post as
// userID: the server POSTs the PostActionIntegrationRequest (with a fresh
// trigger id and the action's context) to the action's URL.
func (s *Server) ClickButton(post *model.Post, actionID, userID string) (int, *model.PostActionIntegrationResponse, error) {
	var action *model.PostAction
	for _, a := range post.Attachments() {
		for _, x := range a.Actions {
			if x.Id == actionID {
				action = x
			}
		}
	}
	if action == nil || action.Integration == nil {
		return 0, nil, fmt.Errorf("mattermosttest: post has no action %q", actionID)
	}
	s.mu.Lock()
	ch := s.channels[post.ChannelId]
	u := s.users[userID]
	team := s.teams[ch.TeamId]
	s.mu.Unlock()
	req := model.PostActionIntegrationRequest{
		UserId: userID, UserName: u.Username, ChannelId: ch.Id, ChannelName: ch.Name,
		PostId: post.Id, TriggerId: s.NewTrigger(userID), Type: model.PostActionTypeButton,
		Context: action.Integration.Context,
	}
	if team != nil {
		req.TeamId, req.TeamName = team.Id, team.Name
	}
	b, _ := json.Marshal(req)
	resp, err := http.Post(action.Integration.URL, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out model.PostActionIntegrationResponse
	if resp.StatusCode == 200 {
		json.NewDecoder(resp.Body).Decode(&out)
	}
	return resp.StatusCode, &out, nil
}

func (s *Server) postJSON(url string, v any) (int, *model.SubmitDialogResponse, error) {
	b, _ := json.Marshal(v)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out model.SubmitDialogResponse
	body, _ := io.ReadAll(resp.Body)
	if len(body) > 0 {
		if err := json.Unmarshal(body, &out); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("dialog response is not JSON: %q", body)
		}
	}
	return resp.StatusCode, &out, nil
}

func queryEscape(s string) string { return url.QueryEscape(s) }
