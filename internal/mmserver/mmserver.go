// Package mmserver gives tests a real Mattermost server to drive as people
// do: teams, users, channels, threads, edits, reactions and files made
// through API v4 with the real model.Client4, each user acting with their
// own session.
//
// The server is the one `.ci/mattermost` starts and describes in
// RECORDBOT_TEST_MATTERMOST_URL, RECORDBOT_TEST_MATTERMOST_ADMIN and
// RECORDBOT_TEST_MATTERMOST_PASSWORD (its first user, a system admin).
// Without it the tests fail rather than skip. Tests that need it build
// with the tag mmserver, so the fast suite (`bash .ci/test`) does not.
//
// Its seeding methods have the signatures of mattermosttest.Server's, so
// one contract test runs against the fake and the real server alike.
// Names are made unique per run (a suffix is added), since tests share one
// server; display names are kept as given.
package mmserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/capture/mattermost/mattermosttest"
)

// Server is a real Mattermost server seen by one test.
type Server struct {
	// URL is the server's address, such as http://127.0.0.1:8065.
	URL string
	// Admin is a client logged in as the system admin.
	Admin *model.Client4
	// AdminUser is the system admin.
	AdminUser *model.User
	// AdminToken is the admin's session token.
	AdminToken string

	t      testing.TB
	suffix string

	mu     sync.Mutex
	tokens map[string]string // user id -> session or access token
}

// Connect logs in to the test server as its admin, or fails t.
func Connect(t testing.TB) *Server {
	t.Helper()
	url := os.Getenv("RECORDBOT_TEST_MATTERMOST_URL")
	if url == "" {
		t.Fatal("no test Mattermost server: run these tests through `bash .ci/mattermost bash .ci/test -tags mmserver` " +
			"(as .ci/run does), which starts one, or set RECORDBOT_TEST_MATTERMOST_URL, RECORDBOT_TEST_MATTERMOST_ADMIN and RECORDBOT_TEST_MATTERMOST_PASSWORD")
	}
	s := &Server{URL: strings.TrimRight(url, "/"), t: t, suffix: randomHex(3), tokens: map[string]string{}}
	c := newClient(s.URL)
	u, _, err := c.Login(ctx(), os.Getenv("RECORDBOT_TEST_MATTERMOST_ADMIN"), os.Getenv("RECORDBOT_TEST_MATTERMOST_PASSWORD"))
	if err != nil {
		t.Fatalf("log in to the test Mattermost at %s as its admin: %v", s.URL, err)
	}
	s.Admin, s.AdminUser, s.AdminToken = c, u, c.AuthToken
	s.tokens[u.Id] = c.AuthToken
	return s
}

func ctx() context.Context { return context.Background() }

// newClient returns a client of the server whose requests time out, so a
// hung server fails the test rather than stalling it.
func newClient(url string) *model.Client4 {
	c := model.NewAPIv4Client(url)
	c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Name returns name made unique for this test: name-<suffix>.
func (s *Server) Name(name string) string { return strings.ToLower(name) + "-" + s.suffix }

// ServerURL returns the server's address.
func (s *Server) ServerURL() string { return s.URL }

// Client returns a client acting as the user whose token is token.
func (s *Server) Client(token string) *model.Client4 {
	c := newClient(s.URL)
	c.SetToken(token)
	return c
}

// As returns a client acting as user u (made by this Server).
func (s *Server) As(u *model.User) *model.Client4 {
	s.mu.Lock()
	tok := s.tokens[u.Id]
	s.mu.Unlock()
	if tok == "" {
		s.t.Fatalf("mmserver: no session for user %s", u.Id)
	}
	return s.Client(tok)
}

func (s *Server) check(what string, err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatalf("mmserver: %s: %v", what, err)
	}
}

// AddTeam creates an open team; name gets this test's suffix.
func (s *Server) AddTeam(name, display string) *model.Team {
	s.t.Helper()
	tm, _, err := s.Admin.CreateTeam(ctx(), &model.Team{Name: s.Name(name), DisplayName: display, Type: model.TeamOpen})
	s.check("create team "+name, err)
	_, _, err = s.Admin.AddTeamMember(ctx(), tm.Id, s.AdminUser.Id)
	s.check("add the admin to team "+name, err)
	return tm
}

// AddUser creates a user (first name the username capitalised, last name
// Tester, as the fake does) and logs them in; it returns the user and
// their session token. roles beyond system_user are granted by the admin.
func (s *Server) AddUser(username string, roles ...string) (*model.User, string) {
	s.t.Helper()
	name := s.Name(username)
	pw := "Aa1!" + randomHex(12)
	u, _, err := s.Admin.CreateUser(ctx(), &model.User{Username: name, Email: name + "@example.org", Password: pw,
		FirstName: strings.ToUpper(username[:1]) + username[1:], LastName: "Tester"})
	s.check("create user "+username, err)
	if extra := strings.Join(roles, " "); extra != "" && extra != model.SystemUserRoleId {
		_, err = s.Admin.UpdateUserRoles(ctx(), u.Id, extra)
		s.check("set the roles of "+username, err)
	}
	c := newClient(s.URL)
	u, _, err = c.Login(ctx(), name, pw)
	s.check("log in as "+username, err)
	s.mu.Lock()
	s.tokens[u.Id] = c.AuthToken
	s.mu.Unlock()
	return u, c.AuthToken
}

// AddAdmin creates a system admin and returns it with a session token.
func (s *Server) AddAdmin(username string) (*model.User, string) {
	return s.AddUser(username, model.SystemUserRoleId, model.SystemAdminRoleId)
}

// AddBot creates a bot account with the default roles and an access token
// for it, as an admin would for an integration.
func (s *Server) AddBot(username string) (*model.User, string) {
	s.t.Helper()
	b, _, err := s.Admin.CreateBot(ctx(), &model.Bot{Username: s.Name(username), DisplayName: username})
	s.check("create bot "+username, err)
	tok, _, err := s.Admin.CreateUserAccessToken(ctx(), b.UserId, "test", 0)
	s.check("create a token for bot "+username, err)
	u, _, err := s.Admin.GetUser(ctx(), b.UserId, "")
	s.check("read bot user "+username, err)
	s.mu.Lock()
	s.tokens[u.Id] = tok.Token
	s.mu.Unlock()
	return u, tok.Token
}

// AddChannel creates a channel of type typ ("O" or "P") on team with
// members (added to the team first); its display name is name capitalised.
func (s *Server) AddChannel(team *model.Team, name string, typ model.ChannelType, members ...*model.User) *model.Channel {
	s.t.Helper()
	ch, _, err := s.Admin.CreateChannel(ctx(), &model.Channel{TeamId: team.Id, Name: s.Name(name),
		DisplayName: strings.ToUpper(name[:1]) + name[1:], Type: typ})
	s.check("create channel "+name, err)
	s.Join(ch, members...)
	// The admin created it and so is a member; tests expect only members.
	if _, err := s.Admin.RemoveUserFromChannel(ctx(), ch.Id, s.AdminUser.Id); err != nil {
		s.check("leave channel "+name, err)
	}
	return ch
}

// Join adds users to a channel (and to its team first).
func (s *Server) Join(ch *model.Channel, users ...*model.User) {
	s.t.Helper()
	for _, u := range users {
		if ch.TeamId != "" {
			_, _, err := s.Admin.AddTeamMember(ctx(), ch.TeamId, u.Id)
			s.check("add a user to the team", err)
		}
		_, _, err := s.Admin.AddChannelMember(ctx(), ch.Id, u.Id)
		s.check("add a user to the channel", err)
	}
}

// AddPost posts message as u in ch (a reply when root is not nil), with
// files uploaded first, as the webapp does.
func (s *Server) AddPost(ch *model.Channel, u *model.User, root *model.Post, message string, files ...mattermosttest.File) *model.Post {
	s.t.Helper()
	c := s.As(u)
	p := &model.Post{ChannelId: ch.Id, Message: message}
	if root != nil {
		p.RootId = root.Id
	}
	for _, f := range files {
		up, _, err := c.UploadFile(ctx(), f.Data, ch.Id, f.Name)
		s.check("upload "+f.Name, err)
		p.FileIds = append(p.FileIds, up.FileInfos[0].Id)
	}
	p, _, err := c.CreatePost(ctx(), p)
	s.check("create a post", err)
	return p
}

// Edit changes a post's text as its author, which marks it edited.
func (s *Server) Edit(p *model.Post, message string) {
	s.t.Helper()
	u := &model.User{Id: p.UserId}
	np, _, err := s.As(u).PatchPost(ctx(), p.Id, &model.PostPatch{Message: &message})
	s.check("edit a post", err)
	p.Message, p.EditAt, p.UpdateAt = np.Message, np.EditAt, np.UpdateAt
}

// React adds u's reaction to p; the server pushes reaction_added to the
// channel's members.
func (s *Server) React(p *model.Post, u *model.User, emoji string) *model.Reaction {
	s.t.Helper()
	r, _, err := s.As(u).SaveReaction(ctx(), &model.Reaction{UserId: u.Id, PostId: p.Id, EmojiName: emoji})
	s.check("react to a post", err)
	return r
}
