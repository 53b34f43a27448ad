package teams

import (
	"context"
	"encoding/json"

	"github.com/recordbot/recordbot/filing"
)

// Notify implements filing.Notifier: it tells the person who asked, in
// their personal chat with the bot, every outcome the worker hands it (the
// worker decides when a person should hear one), in bot.Voice's words. The
// message goes only to the service URL of the activity they asked in,
// when an authenticated activity named it or it is one of Microsoft's
// (Connector.Send).
func (a *App) Notify(ctx context.Context, o filing.Outcome) {
	var to Personal
	if err := json.Unmarshal(o.Request.Reply, &to); err != nil || to.User == "" || to.ServiceURL == "" {
		a.log.Warn("teams: filing outcome without a reply address", "request", o.Request.ID)
		return
	}
	if to.Tenant != a.o.Tenant {
		a.log.Warn("teams: filing outcome for another tenant; not sent", "request", o.Request.ID)
		return
	}
	// "Filing…" is sent after the dialog's answer; the worker may be
	// done first.
	a.toldFirst(ctx, o.Request.ID)
	text := a.voice(markdown{}).Outcome(o)
	if o.Record != nil && o.Record.UnavailableFiles > 0 && a.o.Consent != nil {
		// Shared files may have been kept as links for want of the
		// person's permission: say how to give it, for next time.
		if has, err := a.o.Consent.Has(ctx, to.Tenant, o.Request.RequestedBy.ID); err == nil && !has {
			text += "\n\nFiles shared in that conversation were kept as links only: recordbot may not read your files. " +
				"To keep the files themselves in what you file next, write **" + sayAllow + "** to me."
		}
	}
	if err := a.o.Messenger.Send(ctx, to, text); err != nil {
		a.log.Warn("teams: could not tell a person the outcome of their request", "request", o.Request.ID, "user", to.User, "err", err)
	}
}
