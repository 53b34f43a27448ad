package mattermosttest

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

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
