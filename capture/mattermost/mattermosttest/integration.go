package mattermosttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

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
