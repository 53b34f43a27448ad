package mattermosttest

import (
	"encoding/json"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"
)

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
