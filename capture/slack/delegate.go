package slack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/recordbot/recordbot/capture"
)

// Delegated access. A bot cannot join a 1:1 direct message, and a group
// direct message cannot gain members, so the bot token cannot read them:
// Slack answers channel_not_found, as it does for any conversation the
// token's user is not in (https://docs.slack.dev/reference/methods/conversations.info,
// https://docs.slack.dev/reference/methods/conversations.replies). A
// participant who allows recordbot to read the conversations they file
// grants a user token with the user scopes in UserScopes; recordbot then
// reads such a conversation with the token of the person filing it, and
// only when the bot's own token cannot.

// UserScopes are the user token scopes recordbot asks a person for (also
// in manifest.yml): read direct and group messages (im:history,
// mpim:history: https://docs.slack.dev/reference/scopes/im.history,
// https://docs.slack.dev/reference/scopes/mpim.history), see their
// members and kind (im:read, mpim:read, for conversations.info and
// conversations.members) and download their files (files:read). Names of
// people and the permalink are read with the bot token or need no scope
// (chat.getPermalink: https://docs.slack.dev/reference/methods/chat.getPermalink).
var UserScopes = []string{"im:history", "im:read", "mpim:history", "mpim:read", "files:read"}

// ErrNoUserToken is what a UserTokenFunc returns for a person who has not
// allowed recordbot to read the conversations they file.
var ErrNoUserToken = errors.New("the person has not allowed recordbot to read their conversations")

// ErrNeedsConsent matches a *ConsentError.
var ErrNeedsConsent = errors.New("recordbot needs the person's permission to read this conversation")

// ConsentError says that the bot cannot read a conversation, and that the
// person filing can let recordbot read it by allowing it to read the
// conversations they file (or, when Maybe is set and it is a private
// channel, by inviting the bot). It matches ErrNeedsConsent and
// capture.ErrAccess: without that permission the person cannot file it.
type ConsentError struct {
	// Maybe is set when the conversation may also be a private channel
	// (its id does not say it is a direct message), into which the bot
	// can be invited instead.
	Maybe bool
	// Again is set when the person had allowed it, but their permission
	// no longer works (revoked, or lacking a scope), and was forgotten.
	Again bool
}

func (e *ConsentError) Error() string {
	switch {
	case e.Maybe:
		return "recordbot cannot read this conversation. If it is a private channel, invite @recordbot to it (/invite @recordbot). " +
			"If it is a direct or group message, which recordbot cannot join, it needs your permission to read the conversations you file"
	case e.Again:
		return "your permission for recordbot to read the conversations you file no longer works (it was revoked): it needs it again to read this direct or group message"
	}
	return "recordbot cannot join direct or group messages: it needs your permission to read the conversations you file"
}

// Is makes errors.Is match ErrNeedsConsent and capture.ErrAccess.
func (e *ConsentError) Is(target error) bool {
	return target == ErrNeedsConsent || target == capture.ErrAccess
}

// errNotDirect: a person's token was asked about a conversation that is
// not a direct or group message, which their scopes do not reach.
var errNotDirect = errors.New("not a direct or group message")

// reader returns the session that reads the conversation ref names for
// requester, with the conversation: the bot's own when its token can read
// it; the requester's delegated access when the bot cannot and it is a
// direct or group message the requester granted recordbot; otherwise an
// error saying what to do.
func (s *Source) reader(ctx context.Context, ref capture.Ref, requester capture.Person) (*session, capture.Channel, error) {
	ss, err := s.session(ctx, ref.WorkspaceID)
	if err != nil {
		return nil, capture.Channel{}, err
	}
	ch, err := ss.channel(ctx, ref.ChannelID)
	if err == nil || !errors.Is(err, capture.ErrBotNotInChannel) {
		return ss, ch, err
	}
	// The bot cannot see it: a direct message (D…), a group message, or
	// a private channel the bot was not invited to.
	dm := strings.HasPrefix(ref.ChannelID, "D")
	if s.userToken == nil || requester.ID == "" {
		if dm {
			return nil, ch, &ConsentError{}
		}
		return nil, ch, err
	}
	tok, terr := s.userToken(ctx, ref.WorkspaceID, requester.ID)
	if errors.Is(terr, ErrNoUserToken) {
		return nil, ch, &ConsentError{Maybe: !dm}
	}
	if terr != nil {
		return nil, ch, fmt.Errorf("slack: read the person's permission: %w", terr)
	}
	us := &session{s: s, w: ss.w, api: s.client(tok), bot: ss, teamID: ss.teamID, delegatedFor: requester.ID}
	uch, uerr := us.channel(ctx, ref.ChannelID)
	if errors.Is(uerr, errNotDirect) {
		// The person's scopes reach only direct and group messages: it is
		// a channel, which the bot can be invited to.
		return nil, ch, err
	}
	if uerr != nil {
		return nil, ch, uerr
	}
	if uch.Kind != "dm" && uch.Kind != "group" {
		// A channel: the bot can be invited, so it reads with its own
		// token or not at all.
		return nil, uch, err
	}
	s.log.Debug("slack: reading a direct or group message with the requester's permission",
		"team", ss.teamID, "channel", uch.ID, "user", requester.ID)
	return us, uch, nil
}

// mapUserErr is mapErr for calls made with a person's user token.
func (ss *session) mapUserErr(err error, ch capture.Channel) error {
	if ch.Kind == "" && strings.HasPrefix(ch.ID, "D") {
		ch.Kind = "dm"
	}
	switch code := slackCode(err); code {
	case "not_in_channel", "channel_not_found":
		// The token's owner cannot see it: not a member.
		return notMember(ch)
	case "thread_not_found", "message_not_found":
		return threadGone(fmt.Errorf("read %s with the requester's permission: %w", channelLabel(ch), err))
	case "missing_scope":
		// The user scopes cover direct and group messages only: Slack
		// answers missing_scope for a channel (conversations.info needs
		// the scope of the conversation's type:
		// https://docs.slack.dev/reference/methods/conversations.info).
		return fmt.Errorf("%w: %w", errNotDirect, err)
	case "invalid_auth", "account_inactive", "token_revoked", "not_authed", "token_expired":
		if ss.s.userFailed != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			ss.s.userFailed(ctx, ss.teamID, ss.delegatedFor)
			cancel()
		}
		ss.s.log.Info("slack: a person's permission no longer works; forgotten", "team", ss.teamID, "user", ss.delegatedFor, "code", code)
		return &ConsentError{Again: true}
	}
	return err
}
