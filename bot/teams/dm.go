package teams

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/recordbot/recordbot/bot"
)

// A file a person sends the bot in their personal chat with it: Teams
// uploads it to the sender's OneDrive and hands the bot a message whose
// attachment of type FileDownloadInfo names it, with a pre-authenticated,
// short-lived download URL ("Receive files in personal chat", "Send and
// receive files using bot",
// https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/bots-filesv4).
// It works only with "supportsFiles": true in the manifest's bot, and only
// in the personal scope. The file is taken as a WhatsApp chat export
// (whatsapp.go, bot.Intake).

// FileDownloadInfo is the content type of a file's attachment in a
// message to the bot.
const FileDownloadInfo = "application/vnd.microsoft.teams.file.download.info"

// attachment is one of a message's attachments: for a file, its name and
// FileDownloadInfo's content.
type attachment struct {
	ContentType string          `json:"contentType"`
	Name        string          `json:"name"`
	Content     json.RawMessage `json:"content"`
}

// fileInfo is FileDownloadInfo's content.
type fileInfo struct {
	DownloadURL string `json:"downloadUrl"`
	UniqueID    string `json:"uniqueId"`
	FileType    string `json:"fileType"`
}

// sentFile is a file sent to the bot, as its message names it.
type sentFile struct {
	Name string
	fileInfo
}

// files are the files a message to the bot carries; the rest of its
// attachments (the message's own HTML, cards) are not files.
func (a *activity) files() []sentFile {
	var out []sentFile
	for _, at := range a.Attachments {
		if at.ContentType != FileDownloadInfo {
			continue
		}
		var fi fileInfo
		json.Unmarshal(at.Content, &fi) // a file without a download URL is refused when taken
		out = append(out, sentFile{Name: at.Name, fileInfo: fi})
	}
	return out
}

// dmsAtOnce is how many messages with files are taken at once (each
// waits for one of the intake's slots to read in, bot.Uploads.AtOnce): in
// a flood of them, the person whose message finds none free is told to
// send it again later.
const dmsAtOnce = 16

// personalFiles answers a message with files in a person's personal chat
// with the bot: one is taken as a WhatsApp export, more are refused. Nil
// for a message without files (the bot's words, consent_http.go), or
// when the bot takes no exports.
func (a *App) personalFiles(act *activity) func(context.Context) {
	files := act.files()
	if len(files) == 0 || a.o.Exports == nil {
		return nil
	}
	to := Personal{ServiceURL: act.ServiceURL, Tenant: act.tenant(), User: act.From.ID}
	who, zone := act.person(), act.zoneName()
	return func(ctx context.Context) {
		// Longer than the other work after an answer: the download and
		// the reading are bounded by bot.ExportTimeout.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bot.ExportTimeout)
		defer cancel()
		select {
		case a.dms <- struct{}{}:
			defer func() { <-a.dms }()
		default:
			a.log.Warn("teams: too many exports sent at once; one is refused", "user", to.User)
			a.sendText(ctx, to, "Sorry, I am busy with other exports. Please send it again later.")
			return
		}
		switch {
		case who.ID == "":
			a.sendText(ctx, to, "Teams did not say who you are; send the file again.")
		case len(files) > 1:
			a.sendText(ctx, to, a.intake().Answer(len(files)))
		default:
			a.receiveExport(ctx, to, who, zone, files[0])
		}
	}
}

// zoneName is the time zone name the person's Teams client sent, "" when
// none.
func (a *activity) zoneName() string {
	if z := strings.TrimSpace(a.LocalTimezone); z != "" {
		return z
	}
	for _, e := range a.Entities {
		if e.Type == "clientInfo" && strings.TrimSpace(e.Timezone) != "" {
			return strings.TrimSpace(e.Timezone)
		}
	}
	return ""
}

// sendText sends text to the person's personal chat, logging a failure
// (never the text).
func (a *App) sendText(ctx context.Context, to Personal, text string) {
	if err := a.o.Messenger.Send(ctx, to, text); err != nil {
		a.log.Warn("teams: could not answer a person in their personal chat", "user", to.User, "err", err)
	}
}
