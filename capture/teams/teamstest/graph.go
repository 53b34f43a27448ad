package teamstest

// Graph's routes for teams, channels and chats, and how the double writes
// its messages, as Microsoft Graph's reference documents them.

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

func (s *Server) teamRoute(w http.ResponseWriter, r *http.Request, seg []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.teams[seg[1]]
	if t == nil {
		s.graphError(w, http.StatusNotFound, "NotFound", "No team found with Group Id "+seg[1])
		return
	}
	if !t.Consented {
		s.graphError(w, http.StatusForbidden, "Forbidden",
			"Missing role permissions on the request. API requires one of 'ChannelMessage.Read.All, ChannelMessage.Read.Group'. Roles on the request ''. Resource specific consent grants on the request ''.")
		return
	}
	if len(seg) == 3 && seg[2] == "members" {
		s.list(w, r, s.members(t.Members))
		return
	}
	if len(seg) < 4 || seg[2] != "channels" {
		s.graphError(w, http.StatusBadRequest, "BadRequest", "Unsupported segment.")
		return
	}
	c := t.Channels[seg[3]]
	if c == nil {
		s.graphError(w, http.StatusNotFound, "NotFound", "Channel not found.")
		return
	}
	rest := seg[4:]
	switch {
	case len(rest) == 0:
		writeJSON(w, map[string]any{"id": c.ID, "displayName": c.Name, "membershipType": c.MembershipType,
			"webUrl": "https://teams.microsoft.com/l/channel/" + url.PathEscape(c.ID) + "/" + url.PathEscape(c.Name) + "?groupId=" + t.ID + "&tenantId=" + s.Tenant})
	case len(rest) == 1 && (rest[0] == "members" || rest[0] == "allMembers"):
		ids := c.Members
		if c.MembershipType == "standard" || c.MembershipType == "" {
			ids = t.Members
		}
		if rest[0] == "allMembers" {
			// Direct members and those of the teams the channel is
			// shared with (https://learn.microsoft.com/graph/api/channel-list-allmembers).
			ids = append([]string(nil), ids...)
			for _, other := range c.SharedWith {
				if o := s.teams[other]; o != nil {
					ids = append(ids, o.Members...)
				}
			}
		}
		s.list(w, r, s.members(ids))
	case len(rest) == 1 && rest[0] == "messages":
		var roots []*Message
		for _, m := range c.Messages {
			if m.ReplyTo == "" {
				roots = append(roots, m)
			}
		}
		s.listMessages(w, r, roots, func(m *Message) map[string]any { return s.render(m, t, c, nil) })
	default:
		s.channelMessageRoute(w, r, t, c, rest[1:])
	}
}

func (s *Server) channelMessageRoute(w http.ResponseWriter, r *http.Request, t *Team, c *Channel, rest []string) {
	if len(rest) == 0 {
		s.graphError(w, http.StatusBadRequest, "BadRequest", "Unsupported segment.")
		return
	}
	find := func(id, replyTo string) *Message {
		for _, m := range c.Messages {
			if m.ID == id && (replyTo == "" || m.ReplyTo == replyTo) {
				return m
			}
		}
		return nil
	}
	// /messages/{id} names a thread's root; a reply is reached only
	// through its root's /replies/{id}
	// (https://learn.microsoft.com/graph/api/chatmessage-get).
	m := find(rest[0], "")
	if m == nil || m.ReplyTo != "" {
		s.graphError(w, http.StatusNotFound, "NotFound", "Message not found.")
		return
	}
	rest = rest[1:]
	if len(rest) >= 2 && rest[0] == "replies" {
		reply := find(rest[1], m.ID)
		if reply == nil {
			s.graphError(w, http.StatusNotFound, "NotFound", "Reply not found.")
			return
		}
		m, rest = reply, rest[2:]
	}
	switch {
	case len(rest) == 0:
		writeJSON(w, s.render(m, t, c, nil))
	case len(rest) == 1 && rest[0] == "replies":
		var replies []*Message
		for _, x := range c.Messages {
			if x.ReplyTo == m.ID {
				replies = append(replies, x)
			}
		}
		s.listMessages(w, r, replies, func(m *Message) map[string]any { return s.render(m, t, c, nil) })
	case len(rest) == 3 && rest[0] == "hostedContents" && rest[2] == "$value":
		s.hosted(w, m, rest[1])
	default:
		s.graphError(w, http.StatusBadRequest, "BadRequest", "Unsupported segment.")
	}
}

func (s *Server) hosted(w http.ResponseWriter, m *Message, id string) {
	for i, h := range m.hosted {
		if h == id {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(m.Images[i])
			return
		}
	}
	s.graphError(w, http.StatusNotFound, "NotFound", "Hosted content not found.")
}

func (s *Server) chatRoute(w http.ResponseWriter, r *http.Request, seg []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[seg[1]]
	if c == nil {
		s.graphError(w, http.StatusNotFound, "NotFound", "Chat not found.")
		return
	}
	// Resource-specific consent covers group and meeting chats the app
	// is added to, never one-to-one chats between people.
	if !c.Consented || c.Type == "oneOnOne" {
		s.graphError(w, http.StatusForbidden, "Forbidden",
			"Missing role permissions on the request. API requires one of 'Chat.Read.All, ChatMessage.Read.Chat'. Roles on the request ''. Resource specific consent grants on the request ''.")
		return
	}
	rest := seg[2:]
	switch {
	case len(rest) == 0:
		writeJSON(w, map[string]any{"id": c.ID, "topic": nullable(c.Topic), "chatType": c.Type, "tenantId": s.Tenant,
			"webUrl": "https://teams.microsoft.com/l/chat/" + url.PathEscape(c.ID) + "/0?tenantId=" + s.Tenant})
	case len(rest) == 1 && rest[0] == "members":
		s.list(w, r, s.members(c.Members))
	case len(rest) == 1 && rest[0] == "messages":
		s.chatMessages(w, r, c)
	case len(rest) >= 2 && rest[0] == "messages":
		var m *Message
		for _, x := range c.Messages {
			if x.ID == rest[1] {
				m = x
			}
		}
		if m == nil {
			s.graphError(w, http.StatusNotFound, "NotFound", "Message not found.")
			return
		}
		switch {
		case len(rest) == 2:
			writeJSON(w, s.render(m, nil, nil, c))
		case len(rest) == 5 && rest[2] == "hostedContents" && rest[4] == "$value":
			s.hosted(w, m, rest[3])
		default:
			s.graphError(w, http.StatusBadRequest, "BadRequest", "Unsupported segment.")
		}
	default:
		s.graphError(w, http.StatusBadRequest, "BadRequest", "Unsupported segment.")
	}
}

// chatMessages lists a chat's messages newest first: by
// lastModifiedDateTime unless $orderby names createdDateTime, and
// filtered only when $orderby and $filter name the same property
// (https://learn.microsoft.com/graph/api/chat-list-messages).
func (s *Server) chatMessages(w http.ResponseWriter, r *http.Request, c *Chat) {
	q := r.URL.Query()
	order := strings.TrimSpace(q.Get("$orderby"))
	byCreated := false
	switch order {
	case "", "lastModifiedDateTime desc":
	case "createdDateTime desc":
		byCreated = true
	default:
		s.graphError(w, http.StatusBadRequest, "BadRequest", "Only descending order of lastModifiedDateTime or createdDateTime is supported.")
		return
	}
	var before time.Time
	if f := strings.TrimSpace(q.Get("$filter")); f != "" && byCreated {
		v, ok := strings.CutPrefix(f, "createdDateTime lt ")
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
		if !ok || err != nil {
			s.graphError(w, http.StatusBadRequest, "BadRequest", "Invalid filter clause.")
			return
		}
		before = t
	}
	ms := make([]*Message, 0, len(c.Messages))
	for _, m := range c.Messages {
		if before.IsZero() || m.Created.Before(before) {
			ms = append(ms, m)
		}
	}
	sort.SliceStable(ms, func(i, j int) bool {
		if byCreated {
			return ms[i].Created.After(ms[j].Created)
		}
		return modified(ms[i]).After(modified(ms[j]))
	})
	s.page(w, r, ms, func(m *Message) map[string]any { return s.render(m, nil, nil, c) })
}

func modified(m *Message) time.Time {
	t := m.Created
	for _, x := range []time.Time{m.Edited, m.Deleted} {
		if x.After(t) {
			t = x
		}
	}
	return t
}

// listMessages lists channel messages or replies newest first, as Graph's
// examples show them.
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, ms []*Message, render func(*Message) map[string]any) {
	ms = append([]*Message(nil), ms...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Created.After(ms[j].Created) })
	s.page(w, r, ms, render)
}

// page answers one page of $top (default 20) from $skiptoken, with an
// @odata.nextLink to the next.
func (s *Server) page(w http.ResponseWriter, r *http.Request, ms []*Message, render func(*Message) map[string]any) {
	items := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		items = append(items, render(m))
	}
	s.list(w, r, items)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, items []map[string]any) {
	q := r.URL.Query()
	top := 20
	if v := q.Get("$top"); v != "" {
		top, _ = strconv.Atoi(v)
	}
	from := 0
	if v := q.Get("$skiptoken"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "skip:"))
		if err != nil || err2 != nil || n < 0 || n > len(items) {
			s.graphError(w, http.StatusBadRequest, "BadRequest", "Invalid skip token.")
			return
		}
		from = n
	}
	to := min(from+top, len(items))
	out := map[string]any{"@odata.count": len(items[from:to]), "value": items[from:to]}
	if to < len(items) {
		q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("skip:"+strconv.Itoa(to))))
		out["@odata.nextLink"] = s.URL + r.URL.EscapedPath() + "?" + q.Encode()
	}
	writeJSON(w, out)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func (s *Server) identity(user string) map[string]any {
	if user == "" {
		return nil
	}
	return map[string]any{"application": nil, "device": nil,
		"user": map[string]any{"@odata.type": "#microsoft.graph.teamworkUserIdentity", "id": user, "displayName": nullable(s.users[user]), "userIdentityType": "aadUser"}}
}

// render is a message as Graph's chatMessage JSON.
func (s *Server) render(m *Message, t *Team, c *Channel, chat *Chat) map[string]any {
	body := map[string]any{"contentType": "html", "content": m.HTML}
	var attachments []map[string]any
	html := m.HTML
	var base string
	switch {
	case chat != nil:
		base = s.URL + "/v1.0/chats/" + chat.ID + "/messages/" + m.ID
	case m.ReplyTo != "":
		base = s.URL + "/v1.0/teams/" + t.ID + "/channels/" + c.ID + "/messages/" + m.ReplyTo + "/replies/" + m.ID
	default:
		base = s.URL + "/v1.0/teams/" + t.ID + "/channels/" + c.ID + "/messages/" + m.ID
	}
	for _, h := range m.hosted {
		html += `<div><span><img height="63" src="` + base + `/hostedContents/` + h + `/$value" width="67" style="vertical-align:bottom"></span></div>`
	}
	for _, f := range m.Files {
		html += `<attachment id="` + f.id + `"></attachment>`
		attachments = append(attachments, map[string]any{"id": f.id, "contentType": "reference", "contentUrl": f.URL,
			"content": nil, "name": f.Name, "thumbnailUrl": nil})
	}
	for _, c := range m.Cards {
		html += `<attachment id="` + c.ID + `"></attachment>`
		attachments = append(attachments, map[string]any{"id": c.ID, "contentType": c.ContentType, "contentUrl": nil,
			"content": c.Content, "name": nullable(c.Name), "thumbnailUrl": nil})
	}
	body["content"] = html
	if m.Text != "" {
		body = map[string]any{"contentType": "text", "content": m.Text}
	}
	var mentions []map[string]any
	for i, mn := range m.Mentions {
		mentions = append(mentions, map[string]any{"id": i, "mentionText": mn.Text, "mentioned": s.identity(mn.User)})
	}
	var reactions []map[string]any
	for _, r := range m.Reactions {
		reactions = append(reactions, map[string]any{"reactionType": r.Type, "displayName": nil,
			"createdDateTime": timeOrNull(r.At), "user": map[string]any{"application": nil, "device": nil,
				"user": map[string]any{"id": r.User, "displayName": nil, "userIdentityType": "aadUser"}}})
	}
	out := map[string]any{
		"id": m.ID, "replyToId": nullable(m.ReplyTo), "etag": m.ID, "messageType": "message",
		"createdDateTime": timeOrNull(m.Created), "lastModifiedDateTime": timeOrNull(modified(m)),
		"lastEditedDateTime": timeOrNull(m.Edited), "deletedDateTime": timeOrNull(m.Deleted),
		"subject": nil, "summary": nil, "importance": "normal", "locale": "en-us",
		"from": s.identity(m.From), "body": body, "attachments": orEmpty(attachments),
		"mentions": orEmpty(mentions), "reactions": orEmpty(reactions), "eventDetail": nil, "policyViolation": nil,
		"messageHistory": []any{},
	}
	if m.App != "" {
		out["from"] = map[string]any{"user": nil, "device": nil,
			"application": map[string]any{"id": m.App, "displayName": s.users[m.App], "applicationIdentityType": "bot"}}
	}
	if !m.Deleted.IsZero() {
		// A deleted message keeps its place with an empty body.
		out["body"] = map[string]any{"contentType": "text", "content": ""}
		out["attachments"], out["mentions"], out["reactions"] = []any{}, []any{}, []any{}
	}
	if m.System != "" {
		out["messageType"] = "systemEventMessage"
		out["from"] = nil
		out["body"] = map[string]any{"contentType": "html", "content": "<systemEventMessage/>"}
		out["eventDetail"] = map[string]any{"@odata.type": m.System, "initiator": s.identity(m.From)}
	}
	if chat != nil {
		out["chatId"] = chat.ID
		out["webUrl"] = nil
		out["channelIdentity"] = nil
	} else {
		out["chatId"] = nil
		out["channelIdentity"] = map[string]any{"teamId": t.ID, "channelId": c.ID}
		web := "https://teams.microsoft.com/l/message/" + url.PathEscape(c.ID) + "/" + m.ID + "?groupId=" + t.ID + "&tenantId=" + s.Tenant + "&createdTime=" + m.ID
		if m.ReplyTo != "" {
			web += "&parentMessageId=" + m.ReplyTo
		}
		out["webUrl"] = web
	}
	return out
}

func orEmpty(v []map[string]any) any {
	if v == nil {
		return []any{}
	}
	return v
}

// share serves GET /shares/{u!...}/driveItem/content to a person's
// delegated token for a file they may read: a redirect to a
// pre-authenticated download address, as Graph answers
// (https://learn.microsoft.com/graph/api/driveitem-get-content: "302
// Found"). An app token is refused with 401: resource-specific consent
// does not reach SharePoint or OneDrive.
func (s *Server) share(w http.ResponseWriter, r *http.Request, seg []string, info Token) {
	if info.User == "" {
		s.graphError(w, http.StatusUnauthorized, "unauthenticated", "The caller is not authenticated.")
		return
	}
	if !strings.Contains(info.Scope, "Files.Read") {
		s.graphError(w, http.StatusForbidden, "accessDenied", "Either scp or roles claim need to be present in the token.")
		return
	}
	if len(seg) != 4 || seg[2] != "driveItem" || seg[3] != "content" || !strings.HasPrefix(seg[1], "u!") {
		s.graphError(w, http.StatusBadRequest, "invalidRequest", "Invalid sharing token.")
		return
	}
	link, err := base64.RawURLEncoding.DecodeString(seg[1][2:])
	if err != nil {
		s.graphError(w, http.StatusBadRequest, "invalidRequest", "Invalid sharing token.")
		return
	}
	s.mu.Lock()
	f := s.files[string(link)]
	allowed := f != nil && s.consent[info.User] && (f.Readers == nil || contains(f.Readers, info.User))
	var key string
	if allowed {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		key = hex.EncodeToString(b)
		s.download[key] = f.Content
	}
	s.mu.Unlock()
	switch {
	case f == nil:
		s.graphError(w, http.StatusNotFound, "itemNotFound", "The resource could not be found.")
	case !allowed:
		s.graphError(w, http.StatusForbidden, "accessDenied", "Access denied.")
	default:
		w.Header().Set("Location", s.URL+"/_download/"+key)
		w.WriteHeader(http.StatusFound)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
