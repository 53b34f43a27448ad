package slack

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/recordbot/recordbot/capture"
	slackcap "github.com/recordbot/recordbot/capture/slack"
	"github.com/recordbot/recordbot/filing"
)

// Notify implements filing.Notifier: it tells the person who asked, in the
// thread where only they see it, that the record was filed and where, or
// what went wrong and what to do. With ThreadReceipt, a filed thread also
// gets a short receipt everyone sees. Messages name the record by its
// class path and id, never by where the store keeps it (a bucket's
// address, a local path), and give the text of errors that were written
// for people only.
func (a *App) Notify(ctx context.Context, o filing.Outcome) {
	var rp reply
	if err := json.Unmarshal(o.Request.Reply, &rp); err != nil || rp.Team == "" || rp.User == "" {
		a.log.Warn("slack: filing outcome without a reply address", "request", o.Request.ID)
		return
	}
	switch {
	case o.Err == nil && o.Record != nil:
		a.ephemeral(ctx, rp.Team, rp.Channel, rp.User, rp.ThreadTS, filedText(o.Record))
		if a.o.ThreadReceipt && rp.Channel != "" && rp.ThreadTS != "" {
			a.receipt(ctx, rp, o)
		}
	case o.Err != nil && o.Final && errors.Is(o.Err, slackcap.ErrNeedsConsent):
		a.ephemeral(ctx, rp.Team, rp.Channel, rp.User, rp.ThreadTS, "Could not file “"+o.Request.Title+"”. "+a.consentText(rp.Team, rp.User, o.Err))
	case o.Err != nil && o.Final:
		a.ephemeral(ctx, rp.Team, rp.Channel, rp.User, rp.ThreadTS, failedText(o.Request, o.Err))
	case o.Err != nil && errors.Is(o.Err, capture.ErrRateLimited):
		// Not an attempt: the worker waits as Slack asked and goes on.
		a.ephemeral(ctx, rp.Team, rp.Channel, rp.User, rp.ThreadTS, rateLimitedText(o.Request, o.Err))
	case o.Err != nil && o.Request.Attempts <= 1:
		// Tell once that it is taking longer; the worker retries.
		a.ephemeral(ctx, rp.Team, rp.Channel, rp.User, rp.ThreadTS,
			"Filing “"+o.Request.Title+"” hit a snag ("+personText(o.Err)+"). I will keep trying and tell you how it ends.")
	}
}

func filedText(s *filing.Summary) string {
	var b strings.Builder
	b.WriteString("Filed as record *" + filing.ShortID(s.ID) + "* in " + s.ClassPath + ".\n")
	b.WriteString("Title: " + s.Title + " · Marking: " + s.Marking)
	b.WriteString(" · " + plural(s.Messages, "message") + ", " + plural(s.Files, "file") + "\n")
	if !s.DisposalDate.IsZero() {
		b.WriteString("Kept until " + s.DisposalDate.Format("2 January 2006") + ", then " + string(s.DisposalAction) + ".\n")
	} else if s.DisposalAction == filing.Permanent {
		b.WriteString("Kept permanently.\n")
	}
	b.WriteString("Record id: " + s.ID + " (your records team finds it with `bot records show " + s.ID + "`).")
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// personText is what a person is told of err: its text when it was written
// for people (who may not file the thread, the bot not in the channel, the
// thread gone, the app needing its admin), else a plain sentence, since
// other errors can carry store addresses and paths.
func personText(err error) string {
	if errors.Is(err, capture.ErrAccess) || errors.Is(err, capture.ErrBotNotInChannel) ||
		errors.Is(err, capture.ErrNotFound) || errors.Is(err, capture.ErrRateLimited) || errors.Is(err, slackcap.ErrApp) {
		return err.Error()
	}
	return "recordbot or its record store had a problem"
}

// failedText tells the person why filing failed and what to do.
func failedText(r filing.Request, err error) string {
	what := "Could not file “" + r.Title + "”: " + personText(err)
	switch {
	case errors.Is(err, capture.ErrBotNotInChannel):
		return what + ". Then file it again."
	case errors.Is(err, capture.ErrAccess), errors.Is(err, slackcap.ErrApp):
		return what + "."
	case errors.Is(err, capture.ErrNotFound):
		return what + ". Nothing was filed."
	}
	return what + ". Nothing was filed; try again later, or tell your records team if it keeps failing (request " + r.ID + ")."
}

// rateLimitedText says that Slack is slowing the filing down and when it
// goes on.
func rateLimitedText(r filing.Request, err error) string {
	wait := time.Minute
	if rl, ok := errors.AsType[*capture.RateLimitError](err); ok && rl.RetryAfter > wait {
		wait = rl.RetryAfter
	}
	mins := int((wait + time.Minute - 1) / time.Minute)
	when := "about 1 minute"
	if mins > 1 {
		when = "about " + strconv.Itoa(mins) + " minutes"
	}
	return "Slack is rate limiting us; filing “" + r.Title + "” will resume in " + when + ". Nothing is lost: I will tell you here when the record is filed."
}

// receipt posts a short note in the thread that it was filed.
func (a *App) receipt(ctx context.Context, rp reply, o filing.Outcome) {
	api, err := a.client(ctx, rp.Team)
	if err != nil {
		return
	}
	text := "<@" + rp.User + "> filed this thread as record " + o.Record.ID + " in " + o.Record.ClassPath + "."
	if _, _, err := api.PostMessageContext(ctx, rp.Channel, slackapi.MsgOptionText(text, false), slackapi.MsgOptionTS(rp.ThreadTS)); err != nil {
		a.log.Warn("slack: could not post a thread receipt", "request", o.Request.ID, "team", rp.Team, "channel", rp.Channel, "err", errText(err))
	}
}
