package teams

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/recordbot/recordbot/capture"
)

// convert turns Graph messages into capture messages, in order.
func (s *Source) convert(ctx context.Context, c *convo, msgs []gMessage, requester capture.Person) ([]capture.Message, error) {
	// Whether the person filing has let recordbot read their files is
	// asked once; each file asks for the token again when it is fetched.
	consent := s.fileConsent(ctx, c.t.Tenant, requester.ID, msgs)
	out := make([]capture.Message, 0, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		if m.created().IsZero() {
			return nil, fmt.Errorf("teams message %s: unreadable time %q", m.ID, m.CreatedDateTime.Raw)
		}
		r := render(m, c.names)
		cm := capture.Message{
			ID:           m.ID,
			Position:     i,
			Author:       author(m.From, c.names),
			Time:         m.created(),
			Text:         m.Body.Content,
			ReadableText: r.text,
			Permalink:    m.WebURL,
		}
		switch {
		case m.DeletedDateTime.Set():
			// A deleted message keeps its place; Graph gives no body.
			cm.Subtype = "deleted"
			cm.ReadableText = "(this message was deleted)"
			if t := m.DeletedDateTime.T; !t.IsZero() {
				cm.ReadableText = "(this message was deleted on " + t.Format("2006-01-02 15:04 MST") + ")"
			}
		case m.MessageType == "systemEventMessage" || m.MessageType == "unknownFutureValue" && m.EventDetail != nil:
			cm.Subtype = "system"
			cm.ReadableText = systemText(m, c.names)
		case m.MessageType != "" && m.MessageType != "message":
			cm.Subtype = m.MessageType
		}
		if m.LastEditedDateTime.Set() {
			cm.Edited = &capture.Edit{At: m.LastEditedDateTime.T}
		}
		cm.Reactions = reactions(m.Reactions, c.names)
		for k, id := range r.images {
			cm.Files = append(cm.Files, s.hostedFile(c.t, m, id, k+1))
		}
		for k, a := range m.Attachments {
			if f, ok := s.attachment(c.t, a, requester, consent); ok {
				cm.Files = append(cm.Files, f)
				continue
			}
			if line := attachmentLine(a); line != "" {
				cm.ReadableText = strings.TrimSpace(cm.ReadableText + "\n" + line)
			}
			if a.Content != "" {
				// A card's or quote's own JSON is kept as it came.
				cm.Files = append(cm.Files, inlineFile(m.ID, k+1, a))
			}
		}
		out = append(out, cm)
	}
	return out, nil
}

// author is who posted a message: a person (by Entra object id), an app
// (a bot) or, for a system event, nobody.
func author(f *gIdentitySet, names map[string]string) capture.Person {
	switch {
	case f == nil:
		return capture.Person{}
	case f.User != nil:
		return capture.Person{ID: f.User.ID, DisplayName: first(f.User.DisplayName, names[f.User.ID])}
	case f.Application != nil:
		return capture.Person{ID: f.Application.ID, DisplayName: f.Application.DisplayName, Bot: true}
	case f.Device != nil:
		return capture.Person{ID: f.Device.ID, DisplayName: f.Device.DisplayName}
	}
	return capture.Person{}
}

// reactions groups Graph's one-per-person reactions by type, in the
// order each type first appears.
func reactions(rs []gReaction, names map[string]string) []capture.Reaction {
	var out []capture.Reaction
	at := make(map[string]int)
	for _, r := range rs {
		emoji := first(r.ReactionType, r.DisplayName, "reaction")
		i, ok := at[emoji]
		if !ok {
			i = len(out)
			at[emoji] = i
			out = append(out, capture.Reaction{Emoji: emoji})
		}
		out[i].Count++
		if p := author(r.User, names); p.ID != "" {
			out[i].Users = append(out[i].Users, p)
		}
	}
	return out
}

// systemText describes a system event message from its eventDetail's type
// (https://learn.microsoft.com/graph/api/resources/eventmessagedetail).
func systemText(m *gMessage, names map[string]string) string {
	typ, _ := m.EventDetail["@odata.type"].(string)
	typ = strings.TrimSuffix(strings.TrimPrefix(typ, "#microsoft.graph."), "EventMessageDetail")
	words := map[string]string{
		"membersAdded": "members were added", "membersDeleted": "members were removed",
		"membersJoined": "members joined", "membersLeft": "members left",
		"chatRenamed": "the chat was renamed", "channelRenamed": "the channel was renamed",
		"channelAdded": "a channel was added", "channelDeleted": "a channel was deleted",
		"callStarted": "a call started", "callEnded": "a call ended",
		"callRecording": "a call was recorded", "callTranscript": "a call was transcribed",
		"meetingPolicyUpdated": "the meeting policy was updated", "messagePinned": "a message was pinned",
		"messageUnpinned": "a message was unpinned", "teamRenamed": "the team was renamed",
		"tabUpdated": "a tab was updated", "teamsAppInstalled": "an app was added",
		"teamsAppRemoved": "an app was removed", "teamsAppUpgraded": "an app was upgraded",
	}
	what := words[typ]
	if what == "" {
		what = "event " + first(typ, "(unnamed)")
	}
	var b strings.Builder
	b.WriteString("[system] " + what)
	if by, ok := m.EventDetail["initiator"].(map[string]any); ok {
		if u, ok := by["user"].(map[string]any); ok {
			id, _ := u["id"].(string)
			name, _ := u["displayName"].(string)
			if who := first(name, names[id], id); who != "" {
				b.WriteString(" by " + who)
			}
		}
	}
	for _, k := range []string{"chatDisplayName", "channelDisplayName", "teamDisplayName"} {
		if v, ok := m.EventDetail[k].(string); ok && v != "" {
			b.WriteString(": " + v)
			break
		}
	}
	return b.String()
}

// attachmentLine names an attachment that is not a shared file (a card, a
// quoted message) in the text, with the words it shows.
func attachmentLine(a gAttachment) string {
	words := cardText(a.Content)
	switch a.ContentType {
	case "messageReference":
		return strings.TrimSpace("[quotes message " + a.ID + "] " + words)
	case "":
		return ""
	}
	return strings.TrimSpace("[" + first(a.Name, a.ContentType) + "] " + words)
}

// cardText collects the words a card or quote's JSON shows: its text,
// title, subtitle and preview strings, in order, at most 64 KiB.
func cardText(content string) string {
	if content == "" {
		return ""
	}
	var v any
	if json.Unmarshal([]byte(content), &v) != nil {
		return ""
	}
	var parts []string
	size := 0
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 64 || size > 64<<10 {
			return
		}
		switch v := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				if s, ok := v[k].(string); ok {
					switch k {
					case "text", "title", "subtitle", "messagePreview":
						if s = strings.TrimSpace(s); s != "" {
							parts = append(parts, s)
							size += len(s)
						}
					}
					continue
				}
				walk(v[k], depth+1)
			}
		case []any:
			for _, x := range v {
				walk(x, depth+1)
			}
		}
	}
	walk(v, 0)
	return clean(strings.Join(parts, " | "))
}

// inlineFile keeps an attachment's own content (a card's JSON) as a file.
func inlineFile(msgID string, n int, a gAttachment) capture.File {
	body := []byte(a.Content)
	return capture.File{
		ID: first(a.ID, msgID+"/"+strconv.Itoa(n)), Name: "attachment-" + msgID + "-" + strconv.Itoa(n) + ".json",
		MIMEType: "application/json", Size: int64(len(body)), Source: "graph:chatMessage.attachments[" + strconv.Itoa(n-1) + "].content",
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
	}
}

// hostedPath is the Graph path of a message's hosted content's bytes
// (https://learn.microsoft.com/graph/api/chatmessagehostedcontent-get:
// .../hostedContents/{id}/$value).
func hostedPath(t Target, m *gMessage, id string) string {
	if t.IsChat() {
		return "/chats/" + seg(t.Channel) + "/messages/" + seg(m.ID) + "/hostedContents/" + seg(id) + "/$value"
	}
	p := channelBase(t) + "/"
	if m.ReplyToID != "" && m.ReplyToID != m.ID {
		p += seg(m.ReplyToID) + "/replies/"
	}
	return p + seg(m.ID) + "/hostedContents/" + seg(id) + "/$value"
}

// hostedFile is an inline image, fetched with the app's token from the
// message's own hostedContents path (built from ids, whatever host the
// body's src names).
func (s *Source) hostedFile(t Target, m *gMessage, id string, n int) capture.File {
	path := hostedPath(t, m, id)
	c, scope := chatClass, ""
	if !t.IsChat() {
		c, scope = channelClass, t.Team
	}
	f := capture.File{ID: m.ID + "/" + id, Name: "image-" + m.ID + "-" + strconv.Itoa(n), Size: -1, Source: s.graphRoot + "/v1.0" + path}
	f.Open = func(ctx context.Context) (io.ReadCloser, error) {
		resp, err := s.send(ctx, c, scope, path, s.appTok)
		if err != nil {
			return nil, fileErr("inline image", err)
		}
		return resp.Body, nil
	}
	return f
}

// consentState is whether the person filing granted file access.
type consentState struct {
	ok     bool
	reason string
}

// fileConsent asks Delegated once, when some message shares a file.
func (s *Source) fileConsent(ctx context.Context, tenant, user string, msgs []gMessage) consentState {
	shared := slices.ContainsFunc(msgs, func(m gMessage) bool {
		return slices.ContainsFunc(m.Attachments, func(a gAttachment) bool { return a.ContentType == "reference" })
	})
	if !shared {
		return consentState{}
	}
	if s.cfg.Delegated == nil {
		return consentState{reason: "not fetched: recordbot is not set up to read files shared in Teams (they live in SharePoint or OneDrive); only the link is kept"}
	}
	_, err := s.cfg.Delegated.FileToken(ctx, tenant, user)
	switch {
	case err == nil:
		return consentState{ok: true}
	case errors.Is(err, ErrNoConsent):
		return consentState{reason: "not fetched: the person filing has not let recordbot read their files (sign in from recordbot's card to allow it); only the link is kept"}
	}
	s.log.WarnContext(ctx, "teams: could not get the filer's file token", "err", err)
	return consentState{reason: "not fetched: recordbot could not get the filing person's permission to read files; only the link is kept"}
}

// attachment turns a shared file (contentType "reference": a SharePoint or
// OneDrive item) into a capture.File, fetched as the person filing through
// Graph's shares API; without their consent it is kept as missing with
// its link and the reason.
func (s *Source) attachment(t Target, a gAttachment, requester capture.Person, consent consentState) (capture.File, bool) {
	if a.ContentType != "reference" {
		return capture.File{}, false
	}
	f := capture.File{ID: first(a.ID, a.ContentURL), Name: first(a.Name, "shared-file"), Size: -1, Source: a.ContentURL}
	if !consent.ok {
		f.Error = consent.reason
		return f, true
	}
	path := "/shares/" + shareID(a.ContentURL) + "/driveItem/content"
	tok := func(ctx context.Context, fresh bool) (string, error) {
		return s.cfg.Delegated.FileToken(ctx, t.Tenant, requester.ID)
	}
	f.Open = func(ctx context.Context) (io.ReadCloser, error) {
		resp, err := s.send(ctx, chatClass, "", path, tok)
		if err != nil {
			if errors.Is(err, ErrNoConsent) {
				return nil, fmt.Errorf("shared file: %w: %w", capture.ErrAccess, err)
			}
			return nil, fileErr("shared file", err)
		}
		return resp.Body, nil
	}
	return f, true
}

// shareID encodes a sharing URL for /shares/{id}: "u!" and the URL in
// unpadded base64url (https://learn.microsoft.com/graph/api/shares-get,
// "Encoding sharing URLs").
func shareID(link string) string {
	return "u!" + base64.RawURLEncoding.EncodeToString([]byte(link))
}

// fileErr says why a file could not be fetched, matching capture's errors
// so filing records it as missing with the reason.
func fileErr(what string, err error) error {
	switch statusOf(err) {
	case http.StatusNotFound, http.StatusGone:
		return fmt.Errorf("%s: gone: %w: %w", what, capture.ErrNotFound, err)
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%s: refused: %w: %w", what, capture.ErrAccess, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
