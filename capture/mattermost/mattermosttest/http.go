package mattermosttest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
)

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
	h("GET /api/v4/teams/{id}/members/{user}", s.getTeamMember)
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
