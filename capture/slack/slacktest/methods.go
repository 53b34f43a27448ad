package slacktest

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
)

// methodAs answers a Web API call made with the bot token (person "") or
// with person's user token.
func (s *Server) methodAs(method, team, person string, c Call) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch method {
	case "auth.test": // https://api.slack.com/methods/auth.test
		return map[string]any{"ok": true, "url": "https://" + s.Domain + "/", "team": s.TeamName,
			"user": "recordbot", "team_id": team, "user_id": s.BotUserID, "bot_id": s.BotID}
	case "conversations.info": // https://api.slack.com/methods/conversations.info
		ch, code := s.visible(c.get("channel"), false, person)
		if code != "" {
			return fail(code)
		}
		return map[string]any{"ok": true, "channel": channelJSON(ch)}
	case "conversations.members": // https://api.slack.com/methods/conversations.members: cursor pagination
		ch, code := s.visible(c.get("channel"), false, person)
		if code != "" {
			return fail(code)
		}
		members := ch.Members
		page, next := s.page(len(members), c.get("cursor"), c.get("limit"))
		return map[string]any{"ok": true, "members": members[page[0]:page[1]],
			"response_metadata": map[string]any{"next_cursor": next}}
	case "conversations.replies": // https://api.slack.com/methods/conversations.replies: a reply's ts gives the whole thread, root first
		ch, code := s.visible(c.get("channel"), true, person)
		if code != "" {
			return fail(code)
		}
		thread := s.thread(ch.ID, c.get("ts"))
		if thread == nil {
			return fail("thread_not_found")
		}
		page, next := s.page(len(thread), c.get("cursor"), c.get("limit"))
		return map[string]any{"ok": true, "messages": thread[page[0]:page[1]], "has_more": next != "",
			"response_metadata": map[string]any{"next_cursor": next}}
	case "users.info": // https://api.slack.com/methods/users.info
		u, ok := s.users[c.get("user")]
		if !ok {
			return fail("user_not_found")
		}
		user := map[string]any{
			"id": u.ID, "team_id": team, "name": u.Name, "real_name": u.RealName, "is_bot": u.IsBot,
			"profile": map[string]any{"real_name": u.RealName, "display_name": u.DisplayName},
		}
		if u.TZ != "" {
			user["tz"] = u.TZ
		}
		return map[string]any{"ok": true, "user": user}
	case "chat.getPermalink": // https://api.slack.com/methods/chat.getPermalink
		ch, code := s.visible(c.get("channel"), false, person)
		if code != "" {
			return fail(code)
		}
		ts := c.get("message_ts")
		if s.find(ch.ID, ts) == nil {
			return fail("message_not_found")
		}
		return map[string]any{"ok": true, "channel": ch.ID,
			"permalink": "https://" + s.Domain + "/archives/" + ch.ID + "/p" + strings.Replace(ts, ".", "", 1)}
	case "conversations.history":
		ch, code := s.visible(c.get("channel"), true, person)
		if code != "" {
			return fail(code)
		}
		m := s.find(ch.ID, c.get("latest"))
		if m == nil {
			return map[string]any{"ok": true, "messages": []any{}, "has_more": false}
		}
		return map[string]any{"ok": true, "messages": []any{m}, "has_more": false}
	case "views.open": // https://api.slack.com/methods/views.open: needs a trigger_id
		if c.get("trigger_id") == "" {
			return fail("invalid_trigger_id")
		}
		var view map[string]any
		_ = json.Unmarshal([]byte(c.get("view")), &view)
		if view == nil {
			return fail("invalid_arguments")
		}
		view["id"] = "V" + strconv.Itoa(len(s.calls))
		return map[string]any{"ok": true, "view": view}
	case "views.update":
		return map[string]any{"ok": true}
	case "chat.postEphemeral": // https://api.slack.com/methods/chat.postEphemeral: user_not_in_channel for a non-member
		if c.get("channel") == "" || c.get("user") == "" {
			return fail("invalid_arguments")
		}
		ch, ok := s.channels[c.get("channel")]
		if ok && !contains(ch.Members, c.get("user")) {
			return fail("user_not_in_channel")
		}
		if ok && !ch.BotIn && ch.Kind != "channel" {
			// The bot cannot post, even ephemerally, into a conversation
			// it cannot see: a DM or group DM it is not in.
			return fail("channel_not_found")
		}
		return map[string]any{"ok": true, "message_ts": "1700000000.000001"}
	case "chat.postMessage":
		if c.get("channel") == "" {
			return fail("channel_not_found")
		}
		return map[string]any{"ok": true, "channel": c.get("channel"), "ts": "1700000000.000002",
			"message": map[string]any{"text": c.get("text")}}
	}
	return fail("unknown_method")
}

// visible returns the channel if the bot (person "") or person's user
// token may read it, else Slack's code: a public channel the bot is not
// in answers not_in_channel for history; a private channel, DM or group
// DM that the token's user is not in answers channel_not_found for
// everything, as if it did not exist
// (https://docs.slack.dev/reference/methods/conversations.info,
// https://docs.slack.dev/reference/methods/conversations.replies).
func (s *Server) visible(id string, history bool, person string) (*Channel, string) {
	ch, ok := s.channels[id]
	if !ok {
		return nil, "channel_not_found"
	}
	if person != "" {
		if ch.Kind != "channel" && !contains(ch.Members, person) {
			return nil, "channel_not_found"
		}
		return ch, ""
	}
	if !ch.BotIn {
		if ch.Kind != "channel" {
			return nil, "channel_not_found"
		}
		if history {
			return nil, "not_in_channel"
		}
	}
	return ch, ""
}

func channelJSON(ch *Channel) map[string]any {
	return map[string]any{
		"id": ch.ID, "name": ch.Name,
		"is_channel": ch.Kind == "channel" || ch.Kind == "private",
		"is_group":   false, "is_im": ch.Kind == "dm", "is_mpim": ch.Kind == "group",
		"is_private": ch.Kind != "channel", "is_member": ch.BotIn,
	}
}

// thread returns the thread containing ts: its root, then its replies.
func (s *Server) thread(channel, ts string) []map[string]any {
	m := s.find(channel, ts)
	if m == nil {
		return nil
	}
	root := ts
	if t, ok := m["thread_ts"].(string); ok && t != "" {
		root = t
	}
	var out []map[string]any
	for _, x := range s.messages[channel] {
		t, _ := x["thread_ts"].(string)
		if x["ts"] == root || t == root {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) find(channel, ts string) map[string]any {
	for _, m := range s.messages[channel] {
		if m["ts"] == ts {
			return m
		}
	}
	return nil
}

// page returns the [from, to) window of a cursor-paginated list and the
// next cursor ("" at the end). Cursors are opaque base64, like Slack's.
func (s *Server) page(n int, cursor, limit string) ([2]int, string) {
	from := 0
	if cursor != "" {
		b, err := base64.StdEncoding.DecodeString(cursor)
		if err == nil {
			from, _ = strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		}
	}
	size, _ := strconv.Atoi(limit)
	if size <= 0 {
		size = 100
	}
	if size > s.MaxPage {
		size = s.MaxPage
	}
	from = min(from, n)
	to := min(from+size, n)
	next := ""
	if to < n {
		next = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(to)))
	}
	return [2]int{from, to}, next
}
