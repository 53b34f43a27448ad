package bot

import (
	"context"
	"log/slog"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

// Notifiers routes each filing outcome to the front end of the platform the
// request came from.
type Notifiers struct {
	ByPlatform map[capture.Platform]filing.Notifier
	// ByVia routes requests by how they were made (filing.Request.Via)
	// before ByPlatform: a WhatsApp export sent to the bot is answered
	// on the chat platform it was sent on.
	ByVia  map[string]filing.Notifier
	Logger *slog.Logger
}

// Notify implements filing.Notifier.
func (n *Notifiers) Notify(ctx context.Context, o filing.Outcome) {
	if nf, ok := n.ByVia[o.Request.Via]; ok {
		nf.Notify(ctx, o)
		return
	}
	if nf, ok := n.ByPlatform[o.Request.Thread.Platform]; ok {
		nf.Notify(ctx, o)
		return
	}
	if n.Logger != nil {
		n.Logger.Warn("no front end to tell of a filing outcome",
			"request", o.Request.ID, "platform", o.Request.Thread.Platform, "ok", o.Err == nil)
	}
}
