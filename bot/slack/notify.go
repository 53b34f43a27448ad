package slack

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/recordbot/recordbot/bot"
	slackcap "github.com/recordbot/recordbot/capture/slack"
	"github.com/recordbot/recordbot/filing"
)

// Notify implements filing.Notifier: it tells the person who asked, in the
// thread where only they see it, every outcome the worker hands it (the
// worker decides when a person should hear one), in bot.Voice's words.
// With ThreadReceipt, a filed thread also gets a short receipt everyone
// sees.
func (a *App) Notify(ctx context.Context, o filing.Outcome) {
	var rp reply
	if err := json.Unmarshal(o.Request.Reply, &rp); err != nil || rp.Team == "" || rp.User == "" {
		a.log.Warn("slack: filing outcome without a reply address", "request", o.Request.ID)
		return
	}
	a.ephemeral(ctx, rp.Team, rp.Channel, rp.User, rp.ThreadTS, a.voice(rp.Team, rp.User).Outcome(o))
	if o.Err == nil && o.Record != nil && a.o.ThreadReceipt && rp.Channel != "" && rp.ThreadTS != "" {
		a.receipt(ctx, rp, o)
	}
}

// voice is what this front end tells the person user of team, in Slack's
// mrkdwn. Its Explain adds what only this front end can say: that
// recordbot may read a conversation only with the person's permission,
// with the link that gives it.
func (a *App) voice(team, user string) bot.Voice {
	return bot.Voice{Markup: mrkdwn{}, Platform: "Slack", Explain: func(err error) (string, bool, bool) {
		if errors.Is(err, slackcap.ErrNeedsConsent) {
			return a.consentWhy(team, user, err), true, true
		}
		return "", false, false
	}}
}

// mrkdwn is Slack's markup. Text inside it has &, < and > escaped as
// Slack asks, so a title cannot make a link or a mention
// (https://api.slack.com/reference/surfaces/formatting#escaping); a link's
// address has the characters that would end it percent-encoded.
type mrkdwn struct{}

var (
	mrkdwnEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	urlEscape    = strings.NewReplacer("<", "%3C", ">", "%3E", "|", "%7C")
)

func (mrkdwn) Bold(s string) string { return "*" + mrkdwnEscape.Replace(s) + "*" }
func (mrkdwn) Code(s string) string { return "`" + mrkdwnEscape.Replace(s) + "`" }
func (mrkdwn) Link(url, text string) string {
	return "<" + urlEscape.Replace(url) + "|" + mrkdwnEscape.Replace(text) + ">"
}

// receipt posts a short note in the thread that it was filed.
func (a *App) receipt(ctx context.Context, rp reply, o filing.Outcome) {
	api, err := a.client(ctx, rp.Team)
	if err != nil {
		return
	}
	text := "<@" + rp.User + "> filed this thread as record " + o.Record.ID + " in " + o.Record.ClassPath + "."
	if _, _, err := api.PostMessageContext(ctx, rp.Channel, slackapi.MsgOptionText(text, false), slackapi.MsgOptionTS(rp.ThreadTS)); err != nil {
		a.log.Warn("slack: could not post a thread receipt", "request", o.Request.ID, "team", rp.Team, "channel", rp.Channel, "err", errCause(err))
	}
}
