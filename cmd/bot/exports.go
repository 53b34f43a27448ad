package main

import (
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
		w.uploads = &bot.Uploads{Store: w.Store}
		// Exports sent to the bot are filed as WhatsApp threads.
		w.Sources[capture.WhatsApp] = whatsapp.Source{Open: w.uploads.Open}
	}
	return w.uploads
}

// routeExports sends the outcomes of requests made via (a front end's
// ViaExport) back to that front end.
func (w *wiring) routeExports(via string, n filing.Notifier) {
	if w.Notifiers.ByVia == nil {
		w.Notifiers.ByVia = map[string]filing.Notifier{}
	}
	w.Notifiers.ByVia[via] = n
}
