package teams

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/recordbot/recordbot/capture"
	teamscap "github.com/recordbot/recordbot/capture/teams"
)

// activity is the part of a Bot Framework activity recordbot reads
// (https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference#activity-object),
// with Teams' channelData and the action's value
// ("Create and send dialogs", https://learn.microsoft.com/en-us/microsoftteams/platform/messaging-extensions/how-to/action-commands/create-task-module).
type activity struct {
	Type          string `json:"type"`
	Name          string `json:"name"`
	ID            string `json:"id"`
	ChannelID     string `json:"channelId"`
	ServiceURL    string `json:"serviceUrl"`
	LocalTimezone string `json:"localTimezone"`
	// Text is a message's text (what a person writes to the bot).
	Text string `json:"text"`
	From struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		AADObjectID string `json:"aadObjectId"`
	} `json:"from"`
	Conversation struct {
		ID               string `json:"id"`
		ConversationType string `json:"conversationType"`
		TenantID         string `json:"tenantId"`
	} `json:"conversation"`
	ChannelData struct {
		Tenant struct {
			ID string `json:"id"`
		} `json:"tenant"`
		Team struct {
			ID         string `json:"id"`
			AADGroupID string `json:"aadGroupId"`
		} `json:"team"`
		Channel struct {
			ID string `json:"id"`
		} `json:"channel"`
	} `json:"channelData"`
	Entities []struct {
		Type     string `json:"type"`
		Timezone string `json:"timezone"`
	} `json:"entities"`
	Value json.RawMessage `json:"value"`
	// Attachments are a message's files (dm.go).
	Attachments []attachment `json:"attachments"`
}

// tenant is the activity's tenant: channelData's, else the conversation's.
func (a *activity) tenant() string {
	if a.ChannelData.Tenant.ID != "" {
		return a.ChannelData.Tenant.ID
	}
	return a.Conversation.TenantID
}

// person is who sent the activity, as filing names them: their Entra
// object id (which Graph's member lists hold) and display name.
func (a *activity) person() capture.Person {
	return capture.Person{ID: a.From.AADObjectID, DisplayName: a.From.Name}
}

// zone is the person's time zone as their Teams client sends it, or def.
func (a *activity) zone(def *time.Location) *time.Location {
	names := []string{a.LocalTimezone}
	for _, e := range a.Entities {
		if e.Type == "clientInfo" {
			names = append(names, e.Timezone)
		}
	}
	for _, n := range names {
		if n == "" || n == "Local" {
			continue
		}
		if loc, err := time.LoadLocation(n); err == nil {
			return loc
		}
	}
	return def
}

// actionValue is an action invoke's value: the command and, from a
// message's "…" menu, the message; from the dialog, the form's data.
type actionValue struct {
	CommandID      string          `json:"commandId"`
	CommandContext string          `json:"commandContext"`
	MessagePayload *messagePayload `json:"messagePayload"`
	Data           json.RawMessage `json:"data"`
}

// messagePayload is the message the action was taken on.
type messagePayload struct {
	ID            string `json:"id"`
	ReplyToID     string `json:"replyToId"`
	LinkToMessage string `json:"linkToMessage"`
}

// Conversation kinds (conversation.conversationType).
const (
	kindPersonal  = "personal"
	kindGroupChat = "groupChat"
	kindChannel   = "channel"
)

// where says where the action was taken: the target to resolve (the
// channel thread, or the chat message) and whether it is a chat. ok is
// false for a one-to-one chat, or an action without a message.
func (a *activity) where(m *messagePayload) (t teamscap.Target, ok bool) {
	if m == nil || m.ID == "" {
		return t, false
	}
	t.Tenant = a.tenant()
	t.Acted = m.ID
	switch a.kind() {
	case kindChannel:
		t.Team = a.ChannelData.Team.AADGroupID // the thread id when not sent: fetchTask asks for it
		if t.Team == "" {
			t.Team = a.ChannelData.Team.ID
		}
		t.Channel = a.ChannelData.Channel.ID
		// A reply's conversation id names its thread's root
		// ("19:…@thread.skype;messageid=ROOT"); so does its replyToId.
		t.Scope, t.From = teamscap.Thread, m.ID
		if m.ReplyToID != "" {
			t.From = m.ReplyToID
		} else if _, root, found := strings.Cut(a.Conversation.ID, ";messageid="); found && root != "" {
			t.From = root
		}
		return t, t.Team != "" && t.Channel != ""
	case kindGroupChat:
		t.Channel, _, _ = strings.Cut(a.Conversation.ID, ";")
		t.Scope, t.From = teamscap.Message, m.ID
		return t, t.Channel != ""
	}
	return t, false // personal: a one-to-one chat
}

// kind is the kind of conversation the activity comes from. Teams names
// it in conversation.conversationType, but not for every one: an action
// in a meeting chat comes without it ("Payload activity properties when a
// dialog is invoked from a meeting chat",
// https://learn.microsoft.com/en-us/microsoftteams/platform/messaging-extensions/how-to/action-commands/create-task-module);
// a channel is known by its channel id, a one-to-one chat by its type or
// its id ("a:…" for a chat with the bot), and any other chat is a group
// or meeting chat.
func (a *activity) kind() string {
	switch {
	case a.Conversation.ConversationType == kindPersonal:
		return kindPersonal
	case a.Conversation.ConversationType == kindChannel || a.ChannelData.Channel.ID != "":
		return kindChannel
	case a.Conversation.ConversationType == kindGroupChat || strings.HasPrefix(a.Conversation.ID, "19:"):
		return kindGroupChat
	}
	return kindPersonal
}

// messageIDFromLink reads the chat and message ids of a Teams message
// link ("Copy link": https://teams.microsoft.com/l/message/CHAT/MESSAGE?…).
func messageIDFromLink(link string) (chat, msg string, ok bool) {
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil || u.Scheme != "https" {
		return "", "", false
	}
	parts := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	if len(parts) != 4 || parts[0] != "l" || parts[1] != "message" {
		return "", "", false
	}
	chat, err1 := url.PathUnescape(parts[2])
	msg, err2 := url.PathUnescape(parts[3])
	if err1 != nil || err2 != nil || chat == "" || msg == "" {
		return "", "", false
	}
	return chat, msg, true
}
