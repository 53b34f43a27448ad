package teams

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// Graph's wire types: only the fields recordbot reads. They stay inside
// this package. The shapes are those of the chatMessage resource
// (https://learn.microsoft.com/graph/api/resources/chatmessage) and of the
// collections Graph pages with @odata.nextLink
// (https://learn.microsoft.com/graph/paging).

// page is one page of a Graph collection.
type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

// gMessage is a chatMessage.
type gMessage struct {
	ID                   string         `json:"id"`
	ReplyToID            string         `json:"replyToId"`
	MessageType          string         `json:"messageType"`
	CreatedDateTime      gTime          `json:"createdDateTime"`
	LastModifiedDateTime gTime          `json:"lastModifiedDateTime"`
	LastEditedDateTime   gTime          `json:"lastEditedDateTime"`
	DeletedDateTime      gTime          `json:"deletedDateTime"`
	Subject              string         `json:"subject"`
	ChatID               string         `json:"chatId"`
	WebURL               string         `json:"webUrl"`
	From                 *gIdentitySet  `json:"from"`
	Body                 gBody          `json:"body"`
	Attachments          []gAttachment  `json:"attachments"`
	Mentions             []gMention     `json:"mentions"`
	Reactions            []gReaction    `json:"reactions"`
	EventDetail          map[string]any `json:"eventDetail"`
	ChannelIdentity      *struct {
		TeamID    string `json:"teamId"`
		ChannelID string `json:"channelId"`
	} `json:"channelIdentity"`
}

// gIdentitySet is who did something: a person, an app or a device.
type gIdentitySet struct {
	User        *gIdentity `json:"user"`
	Application *gIdentity `json:"application"`
	Device      *gIdentity `json:"device"`
}

type gIdentity struct {
	ID               string `json:"id"`
	DisplayName      string `json:"displayName"`
	UserIdentityType string `json:"userIdentityType"`
}

type gBody struct {
	ContentType string `json:"contentType"` // "text" or "html"
	Content     string `json:"content"`
}

// gAttachment is a chatMessageAttachment: a file shared from SharePoint or
// OneDrive has contentType "reference" and its address in contentUrl
// (https://learn.microsoft.com/graph/api/resources/chatmessageattachment).
type gAttachment struct {
	ID          string `json:"id"`
	ContentType string `json:"contentType"`
	ContentURL  string `json:"contentUrl"`
	Content     string `json:"content"`
	Name        string `json:"name"`
}

// gMention is a chatMessageMention: the body holds <at id="N">text</at>
// for mention N (https://learn.microsoft.com/graph/api/resources/chatmessagemention).
type gMention struct {
	ID          int           `json:"id"`
	MentionText string        `json:"mentionText"`
	Mentioned   *gIdentitySet `json:"mentioned"`
}

// gReaction is a chatMessageReaction: one person's reaction
// (https://learn.microsoft.com/graph/api/resources/chatmessagereaction).
type gReaction struct {
	ReactionType    string        `json:"reactionType"`
	DisplayName     string        `json:"displayName"`
	CreatedDateTime gTime         `json:"createdDateTime"`
	User            *gIdentitySet `json:"user"`
}

// gMember is a conversationMember of a team, channel or chat; an Entra
// person is an aadUserConversationMember with their object id in userId
// (https://learn.microsoft.com/graph/api/resources/aaduserconversationmember).
type gMember struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	UserID      string `json:"userId"`
	TenantID    string `json:"tenantId"`
}

// gChannel is a channel: membershipType is standard, private or shared
// (https://learn.microsoft.com/graph/api/resources/channel).
type gChannel struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName"`
	MembershipType string `json:"membershipType"`
	WebURL         string `json:"webUrl"`
}

// gChat is a chat: chatType is oneOnOne, group or meeting
// (https://learn.microsoft.com/graph/api/resources/chat).
type gChat struct {
	ID       string `json:"id"`
	Topic    string `json:"topic"`
	ChatType string `json:"chatType"`
	WebURL   string `json:"webUrl"`
}

// gError is Graph's error body: {"error":{"code","message","innerError"}}
// (https://learn.microsoft.com/graph/errors#json-representation).
type gError struct {
	Error struct {
		Code       string         `json:"code"`
		Message    string         `json:"message"`
		InnerError map[string]any `json:"innerError"`
	} `json:"error"`
}

// gTime is a Graph DateTimeOffset: null or an ISO 8601 time. A value that
// does not parse is kept as written and its time left zero (Graph's own
// reference shows one: "2021-03-1706:47:05.123Z" in the example of
// https://learn.microsoft.com/graph/api/chat-list-messages).
type gTime struct {
	T   time.Time
	Raw string
}

func (t *gTime) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*t = gTime{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t.Raw = s
	if v, err := time.Parse(time.RFC3339Nano, s); err == nil {
		t.T = v.UTC()
	} else {
		t.T = time.Time{}
	}
	return nil
}

// Set reports whether the time was given at all (even unreadably).
func (t gTime) Set() bool { return t.Raw != "" }

// created is when the message was posted: its createdDateTime, or, when
// Graph gives none that reads, the time its id names (a Teams message id
// is the millisecond of its posting: the webUrl's createdTime repeats it,
// https://learn.microsoft.com/graph/api/chatmessage-list-replies). Zero
// when neither says.
func (m *gMessage) created() time.Time {
	if !m.CreatedDateTime.T.IsZero() {
		return m.CreatedDateTime.T
	}
	ms, err := strconv.ParseInt(m.ID, 10, 64)
	if err != nil {
		return time.Time{}
	}
	t := time.UnixMilli(ms).UTC()
	if t.Year() < 2016 || t.Year() > 2200 { // Teams began in 2016
		return time.Time{}
	}
	return t
}
