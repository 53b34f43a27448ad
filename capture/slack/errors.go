package slack

import (
	"fmt"

	"github.com/recordbot/recordbot/capture"
)

// mapErr turns Slack's error codes into capture Problems: the advice is
// for the person filing (or the app's admin); the Slack error stays their
// cause, for the logs.
func (ss *session) mapErr(err error, ch capture.Channel) error {
	if ss.delegatedFor != "" {
		return ss.mapUserErr(err, ch)
	}
	switch code := slackCode(err); code {
	case "not_in_channel", "channel_not_found":
		return &capture.Problem{Kind: capture.BotNotInChannel, Advice: "recordbot is not in that channel: invite it with /invite @recordbot, then file the thread again",
			Err: fmt.Errorf("read %s: %w", channelLabel(ch), err)}
	case "thread_not_found", "message_not_found":
		return threadGone(fmt.Errorf("read %s: %w", channelLabel(ch), err))
	case "missing_scope":
		return &capture.Problem{Kind: capture.AppNeedsAdmin,
			Advice: "recordbot's Slack app lacks a permission: a workspace admin must update it from manifest.yml and reinstall it", Err: err}
	case "invalid_auth", "account_inactive", "token_revoked", "not_authed":
		return tokenRefused(code, err)
	}
	return err
}

// tokenRefused is the bot token Slack no longer takes.
func tokenRefused(code string, err error) error {
	return &capture.Problem{Kind: capture.AppNeedsAdmin,
		Advice: "Slack no longer accepts recordbot's token for this workspace (" + code + "): a workspace admin must reinstall the app", Err: err}
}

// threadGone is a thread Slack no longer has.
func threadGone(err error) error {
	return &capture.Problem{Kind: capture.NotFound, Advice: "the thread no longer exists (was it deleted?)", Err: err}
}

// notMember refuses a person who is not a member of ch, naming ch only
// when it is a public channel.
func notMember(ch capture.Channel) error {
	return &capture.Problem{Kind: capture.NoAccess, Advice: "only members of " + outsiderLabel(ch) + " can file its threads",
		Err: fmt.Errorf("the requester is not a member of %s", ch.ID)}
}

// outsiderLabel names ch for someone who is not a member of it: a public
// channel by its name, anything else without one.
func outsiderLabel(ch capture.Channel) string {
	switch {
	case ch.Kind == "channel" && ch.Name != "":
		return "#" + ch.Name
	case ch.Kind == "dm":
		return "a direct message"
	case ch.Kind == "group":
		return "a group message"
	}
	return "the channel"
}

func channelLabel(ch capture.Channel) string {
	switch {
	case ch.Kind == "dm":
		return "this direct message"
	case ch.Kind == "group":
		return "this group message"
	case ch.Name != "":
		return "#" + ch.Name
	case ch.ID != "":
		return "channel " + ch.ID
	}
	return "the channel"
}
