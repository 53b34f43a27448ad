package main

import (
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
	"github.com/recordbot/recordbot/filing"
)

// exportUploads returns the one keeper of the WhatsApp exports people
// send to the bot, in Slack or Mattermost alike: the first call makes it
// and registers the WhatsApp source that files them, once.
func (w *wiring) exportUploads() *bot.Uploads {
	if w.uploads == nil {
		w.uploads = &bot.Uploads{Store: w.Store, Logger: w.Logger}
		if w.Config != nil {
			w.uploads.KeepFor = time.Duration(w.Config.WhatsAppKeepDays) * 24 * time.Hour
		}
		// Exports sent to the bot are filed as WhatsApp threads.
		w.Sources[capture.WhatsApp] = whatsapp.Source{Open: w.uploads.Open}
		// Those not filed are deleted after WHATSAPP_KEEP_DAYS.
		if w.Go != nil {
			w.Go("whatsapp uploads expiry", w.uploads.Run)
		}
	}
	return w.uploads
}

// routeExports sends the outcomes of requests made via (a front end's
// ViaExport) back to that front end.
func (w *wiring) routeExports(via string, n filing.Notifier) {
	if w.Notifiers.ByVia == nil {
		w.Notifiers.ByVia = map[string]filing.Notifier{}
	}
	// Once told, the export filed is deleted: the record holds it.
	w.Notifiers.ByVia[via] = w.exportUploads().Filed(n)
}
