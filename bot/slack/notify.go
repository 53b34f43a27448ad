package slack

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

// Notify implements filing.Notifier: it tells the person who asked, in the
// thread where only they see it, that the record was filed and where, or
// what went wrong and what to do. With ThreadReceipt, a filed thread also
// gets a short receipt everyone sees.
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
	case o.Err != nil && o.Final:
		a.ephemeral(ctx, rp.Team, rp.Channel, rp.User, rp.ThreadTS, failedText(o.Request, o.Err))
	case o.Err != nil && o.Request.Attempts <= 1:
		// Tell once that it is taking longer; the worker retries.
		a.ephemeral(ctx, rp.Team, rp.Channel, rp.User, rp.ThreadTS,
			"Filing “"+o.Request.Title+"” hit a snag ("+o.Err.Error()+"). I will keep trying and tell you how it ends.")
	}
}

func filedText(s *filing.Summary) string {
	var b strings.Builder
	b.WriteString("Filed as *" + s.ID + "* in " + s.ClassPath + ".\n")
	b.WriteString("Title: " + s.Title + " · Marking: " + s.Marking)
	b.WriteString(" · " + plural(s.Messages, "message") + ", " + plural(s.Files, "file") + "\n")
	if !s.DisposalDate.IsZero() {
		b.WriteString("Kept until " + s.DisposalDate.Format("2 January 2006") + ", then " + string(s.DisposalAction) + ".\n")
	} else if s.DisposalAction == filing.Permanent {
		b.WriteString("Kept permanently.\n")
	}
	if s.Where != "" {
		b.WriteString("Where: " + s.Where)
	}
	return strings.TrimRight(b.String(), "\n")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// failedText tells the person why filing failed and what to do.
func failedText(r filing.Request, err error) string {
	what := "Could not file “" + r.Title + "”: "
	switch {
	case errors.Is(err, capture.ErrBotNotInChannel):
		return what + err.Error() + ". Then file it again."
	case errors.Is(err, capture.ErrAccess):
		return what + err.Error() + "."
	case errors.Is(err, capture.ErrNotFound):
		return what + err.Error() + ". Nothing was filed."
	}
	return what + err.Error() + ". Nothing was filed; try again later, or tell your records team if it keeps failing (request " + r.ID + ")."
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
