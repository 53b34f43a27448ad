package slacktest

import (
	"net/http"
	"strconv"
	"strings"
)

// userMethod answers a call made with person's user token: the
// conversation methods see only what person may see; users.info needs
// users:read, which recordbot does not ask people for
// (https://docs.slack.dev/reference/methods/users.info); auth.revoke
// ends the token.
func (s *Server) userMethod(method, person string, c Call) map[string]any {
	switch method {
	case "users.info":
		return map[string]any{"ok": false, "error": "missing_scope", "needed": "users:read", "provided": strings.Join(s.UserScopes, ",")}
	case "auth.revoke":
		return s.revoke(c)
	case "auth.test": // https://docs.slack.dev/reference/methods/auth.test: any token, no scope
		return map[string]any{"ok": true, "url": "https://" + s.Domain + "/", "team": s.TeamName,
			"user": person, "team_id": s.TeamID, "user_id": person}
	case "conversations.info", "conversations.members", "conversations.replies", "conversations.history":
		// The person granted im:* and mpim:* only; a channel's type needs
		// channels:* or groups:* (https://docs.slack.dev/reference/methods/conversations.info).
		s.mu.Lock()
		ch, ok := s.channels[c.get("channel")]
		s.mu.Unlock()
		if ok && ch.Kind != "dm" && ch.Kind != "group" && contains(ch.Members, person) {
			return map[string]any{"ok": false, "error": "missing_scope", "needed": "groups:read", "provided": strings.Join(s.UserScopes, ",")}
		}
		return s.methodAs(method, s.TeamID, person, c)
	case "chat.getPermalink":
		return s.methodAs(method, s.TeamID, person, c)
	}
	return fail("not_allowed_token_type")
}

// revoke answers auth.revoke (https://docs.slack.dev/reference/methods/auth.revoke):
// the calling token, bot or user, stops working and Slack answers
// {"ok":true,"revoked":true}; with test=1 ("a testing mode where the
// specified token will not actually be revoked") it stays valid and the
// answer says revoked false. A token Slack does not know has already
// been answered invalid_auth by api.
func (s *Server) revoke(c Call) map[string]any {
	if t := c.get("test"); t == "1" || t == "true" {
		return map[string]any{"ok": true, "revoked": false}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.Tokens, c.Token)
	delete(s.UserTokens, c.Token)
	return map[string]any{"ok": true, "revoked": true}
}

func (s *Server) oauthAccess(r *http.Request, c Call) map[string]any {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = c.get("client_id"), c.get("client_secret")
	}
	// https://docs.slack.dev/reference/methods/oauth.v2.access, "Errors":
	// invalid_client_id for a client id Slack does not know,
	// bad_client_secret for the wrong secret, invalid_code for a code it
	// did not give or that was used already.
	if id != s.ClientID || s.ClientID == "" {
		return fail("invalid_client_id")
	}
	if secret != s.ClientSecret {
		return fail("bad_client_secret")
	}
	s.mu.Lock()
	person, userCode := s.userCodes[c.get("code")]
	delete(s.userCodes, c.get("code")) // a code works once
	s.mu.Unlock()
	if userCode {
		// A request for user scopes only: no bot token, the person's
		// token in authed_user (https://docs.slack.dev/reference/methods/oauth.v2.access,
		// https://docs.slack.dev/authentication/installing-with-oauth).
		s.mu.Lock()
		tok := "xoxp-" + s.TeamID + "-" + person + "-" + strconv.Itoa(len(s.calls))
		s.UserTokens[tok] = person
		s.mu.Unlock()
		return map[string]any{
			"ok": true, "app_id": "A1",
			"authed_user": map[string]any{"id": person, "scope": strings.Join(s.UserScopes, ","),
				"access_token": tok, "token_type": "user"},
			"team":       map[string]any{"id": s.TeamID, "name": s.TeamName},
			"enterprise": nil, "is_enterprise_install": false,
		}
	}
	if c.get("code") != s.Code || s.Code == "" {
		return fail("invalid_code")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Tokens[s.InstallToken] = s.InstallTeam
	// The bot's scopes in "scope"; the installing person in authed_user,
	// with a user token only when user scopes were granted too
	// (https://docs.slack.dev/reference/methods/oauth.v2.access, "Example
	// response"). Slack's scopes add up: the answer lists every scope the
	// app holds in the workspace, not only those of this request.
	admin := map[string]any{"id": "UADMIN"}
	if s.InstallUserToken != "" {
		s.UserTokens[s.InstallUserToken] = "UADMIN"
		admin["scope"], admin["access_token"], admin["token_type"] = strings.Join(s.UserScopes, ","), s.InstallUserToken, "user"
	}
	return map[string]any{
		"ok": true, "access_token": s.InstallToken, "token_type": "bot",
		"scope": strings.Join(s.Scopes, ","), "bot_user_id": s.BotUserID, "app_id": "A1",
		"team":        map[string]any{"id": s.InstallTeam, "name": "Installed Team"},
		"enterprise":  nil,
		"authed_user": admin,
	}
}
