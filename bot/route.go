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
	Logger     *slog.Logger
}

// Notify implements filing.Notifier.
func (n *Notifiers) Notify(ctx context.Context, o filing.Outcome) {
	if nf, ok := n.ByPlatform[o.Request.Thread.Platform]; ok {
		nf.Notify(ctx, o)
		return
	}
	if n.Logger != nil {
		n.Logger.Warn("no front end to tell of a filing outcome",
			"request", o.Request.ID, "platform", o.Request.Thread.Platform, "ok", o.Err == nil)
	}
}
