package mattermosttest

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"
)

// SetTimezone sets a user's profile time zone as the web app does
// (model.User.Timezone: useAutomaticTimezone, automaticTimezone,
// manualTimezone); POST /users/ids returns it.
func (s *Server) SetTimezone(u *model.User, automatic, manual string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	use := "false"
	if automatic != "" {
		use = "true"
	}
	s.users[u.Id].Timezone = model.StringMap{"useAutomaticTimezone": use, "automaticTimezone": automatic, "manualTimezone": manual}
}

// SendDM posts message with files from one user to another in their
// direct message channel (made once per pair), and pushes the posted
// event to both users' WebSocket clients as Mattermost 6.7.2 does
// (app/notification.go SendNotifications): data channel_type "D",
// channel_name, channel_display_name "@sender", sender_name, team_id
// empty, and post, the post as JSON with file_ids and metadata.files.
func (s *Server) SendDM(from, to *model.User, message string, files ...File) *model.Post {
	return s.sendDM(from, to, message, func(p *model.Post) {
		for _, f := range files {
			s.AddFileBytes(p, f.Name, f.MIME, f.Data)
		}
	})
}

// SendDMFile sends one file of size bytes, whose content is read from
// content at each download (so a large file need not be in memory).
func (s *Server) SendDMFile(from, to *model.User, name, mime string, size int64, content func() io.Reader) *model.Post {
	return s.sendDM(from, to, "", func(p *model.Post) { s.AddFile(p, name, mime, size, content) })
}

func (s *Server) sendDM(from, to *model.User, message string, attach func(p *model.Post)) *model.Post {
	s.mu.Lock()
	name := model.GetDMNameFromIds(from.Id, to.Id)
	var ch *model.Channel
	for _, c := range s.channels {
		if c.Name == name {
			ch = c
		}
	}
	if ch == nil {
		ch = &model.Channel{Id: NewID(), Name: name, Type: model.ChannelTypeDirect, CreateAt: s.tick()}
		s.channels[ch.Id] = ch
		s.members[ch.Id] = map[string]bool{from.Id: true, to.Id: true}
	}
	s.mu.Unlock()
	p := s.AddPost(ch, from, nil, message)
	attach(p)
	s.mu.Lock()
	out := p.Clone()
	var infos []*model.FileInfo
	for _, id := range p.FileIds {
		infos = append(infos, s.files[id])
	}
	s.mu.Unlock()
	if len(infos) > 0 {
		out.Metadata = &model.PostMetadata{Files: infos}
	}
	b, _ := json.Marshal(out)
	mentions, _ := json.Marshal([]string{to.Id})
	ev := model.NewWebSocketEvent(model.WebsocketEventPosted, "", ch.Id, "", nil, "")
	ev = ev.SetData(map[string]any{
		"channel_display_name": "@" + from.Username, "channel_name": ch.Name, "channel_type": string(model.ChannelTypeDirect),
		"sender_name": "@" + from.Username, "team_id": "", "set_online": true, "post": string(b), "mentions": string(mentions),
	})
	s.broadcast(ev, func(userID string) bool { return userID == from.Id || userID == to.Id })
	return p
}

// getTeamMember answers GET /teams/{id}/members/{user} as api4/team.go
// getTeamMember does: the caller needs view_team (a member of the team,
// or a system admin), else 403; a user who is not a member, 404.
func (s *Server) getTeamMember(w http.ResponseWriter, r *http.Request, me *model.User) {
	tm, ok := s.teams[r.PathValue("id")]
	if !ok {
		writeErr(w, 404, "app.team.get.find.app_error", "Unable to find the existing team.")
		return
	}
	if !s.teamUsers[tm.Id][me.Id] && !isAdmin(me) {
		writePermErr(w, me, model.PermissionViewTeam.Id)
		return
	}
	uid := r.PathValue("user")
	if !s.teamUsers[tm.Id][uid] {
		writeErr(w, 404, "app.team.get_member.missing.app_error", "No team member found for that user ID and team ID.")
		return
	}
	writeJSON(w, 200, &model.TeamMember{TeamId: tm.Id, UserId: uid, Roles: "team_user"})
}
