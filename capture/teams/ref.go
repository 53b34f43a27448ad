// Package teams captures Microsoft Teams conversations through Microsoft
// Graph: a channel message with all its replies, or chosen messages of a
// group or meeting chat. Graph's wire types stay inside this package.
package teams

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/recordbot/recordbot/capture"
)

// Scope is what of a conversation a person chose to file.
type Scope string

// The scopes. A channel message is always filed with its whole thread;
// in a group or meeting chat, which has no threads, the person picks.
const (
	// Thread is a channel message's root with all its replies.
	Thread Scope = "thread"
	// Message is the one chat message acted on.
	Message Scope = "message"
	// Day is every chat message of the acted-on message's calendar day,
	// in the person's time zone.
	Day Scope = "day"
	// Since is every chat message from a chosen earlier message up to the
	// acted-on one, both included.
	Since Scope = "since"
)

// Target is a Teams conversation to file, decoded from a capture.Ref.
//
// The capture.Ref of a Teams target carries, in its fields:
//   - Server: the tenant (Entra directory) id.
//   - WorkspaceID: the team's group id for a channel; empty for a chat.
//   - ChannelID: the channel id ("19:…@thread.tacv2") or the chat id
//     ("19:…@thread.v2").
//   - ThreadID: "SCOPE:ID", where ID is the channel thread's root message
//     id (scope thread) or the chat message the range starts from (scopes
//     message, day, since; for day and message, the acted-on message).
//     For scope day, "@ZONE" (an IANA zone name) follows the id.
//   - MessageID: the message acted on.
type Target struct {
	Tenant  string
	Team    string // empty for a chat
	Channel string // the channel id, or the chat id
	Scope   Scope
	// From is the root message (thread), the first message (since) or the
	// acted-on message (message, day).
	From string
	// Zone is the person's time zone, for scope day.
	Zone *time.Location
	// Acted is the message the person acted on.
	Acted string
}

// IsChat reports whether t is a chat rather than a channel.
func (t Target) IsChat() bool { return t.Team == "" }

// Ref encodes t as a capture.Ref.
func (t Target) Ref() capture.Ref {
	id := string(t.Scope) + ":" + t.From
	if t.Scope == Day && t.Zone != nil {
		id += "@" + t.Zone.String()
	}
	return capture.Ref{
		Platform:    capture.Teams,
		Server:      t.Tenant,
		WorkspaceID: t.Team,
		ChannelID:   t.Channel,
		ThreadID:    id,
		MessageID:   t.Acted,
	}
}

// ErrBadRef is returned for a Ref that does not name a Teams target.
var ErrBadRef = errors.New("not a Teams conversation reference")

// TargetOf decodes a capture.Ref made by Target.Ref.
func TargetOf(r capture.Ref) (Target, error) {
	if r.Platform != capture.Teams || r.Server == "" || r.ChannelID == "" {
		return Target{}, ErrBadRef
	}
	scope, rest, ok := strings.Cut(r.ThreadID, ":")
	if !ok || rest == "" {
		return Target{}, fmt.Errorf("%w: thread %q", ErrBadRef, r.ThreadID)
	}
	t := Target{Tenant: r.Server, Team: r.WorkspaceID, Channel: r.ChannelID, Scope: Scope(scope), From: rest, Acted: r.MessageID}
	switch t.Scope {
	case Thread:
		if t.IsChat() {
			return Target{}, fmt.Errorf("%w: a chat has no threads", ErrBadRef)
		}
	case Message, Since:
		if !t.IsChat() {
			return Target{}, fmt.Errorf("%w: scope %s is for chats", ErrBadRef, scope)
		}
	case Day:
		if !t.IsChat() {
			return Target{}, fmt.Errorf("%w: scope %s is for chats", ErrBadRef, scope)
		}
		id, zone, ok := strings.Cut(rest, "@")
		if !ok {
			return Target{}, fmt.Errorf("%w: scope day needs a time zone", ErrBadRef)
		}
		loc, err := time.LoadLocation(zone)
		if err != nil || zone == "" || zone == "Local" {
			return Target{}, fmt.Errorf("%w: time zone %q", ErrBadRef, zone)
		}
		t.From, t.Zone = id, loc
	default:
		return Target{}, fmt.Errorf("%w: scope %q", ErrBadRef, scope)
	}
	if t.From == "" {
		return Target{}, fmt.Errorf("%w: no message id", ErrBadRef)
	}
	return t, nil
}
