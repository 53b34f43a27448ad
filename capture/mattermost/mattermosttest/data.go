package mattermosttest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

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
