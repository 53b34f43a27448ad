package mattermosttest

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
)

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
