package slack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
)

// A person files a WhatsApp chat by sending its "Export chat" file (a zip
// or a .txt) to recordbot in its Messages tab, a direct message with the
// app: Slack sends the message.im event
// (https://docs.slack.dev/reference/events/message.im) with the file. The
// bot downloads it with its token (only from Slack's file host), reads it
// with capture/whatsapp, keeps it (bot.Uploads) and answers with a "File
// as record…" button; the button opens the filing form, and the filing
// worker reads the kept export again (whatsapp.Source). Only the person
// who sent an export may file it.

// Files downloads a file shared with the bot: capture/slack's Source
// implements it, sending the token only to Slack's file host.
type Files interface {
	Download(ctx context.Context, teamID, url, mimeType string) (io.ReadCloser, error)
}

// ExportActionID is the action_id of the "File as record…" button under
// a received export (with "_dmy" or "_mdy" after it for one of the two
// buttons of an export whose dates fit both orders of day and month); its
// value is the id the export is kept as, its sender's own (bot.Upload.ID,
// with ":dmy" or ":mdy" after it).
const ExportActionID = "file_whatsapp_export"

// ViaExport is how a request for an export sent in Slack says it came.
const ViaExport = "slack whatsapp upload"

// exportTimeout bounds downloading, reading and keeping one export.
const exportTimeout = 15 * time.Minute

// exportsAtOnce is how many exports are downloaded and read at once,
// each on disk up to bot.MaxUpload.
const exportsAtOnce = 2

// kindExport marks a modal's target as a kept export, not a thread.
const kindExport = "whatsapp"

// exportEvent answers a message in the bot's Messages tab: a file from a
// person is taken as a chat export. Other messages, and the bot's own,
// are ignored.
func (a *App) exportEvent(team, enterprise string, e *slackevents.MessageEvent) func(ctx context.Context) {
	if a.o.Exports == nil || a.o.Files == nil || e.ChannelType != slackevents.ChannelTypeIM || e.BotID != "" {
		return nil
	}
	if e.SubType != "" && e.SubType != "file_share" {
		return nil
	}
	var files []slackapi.File
	user := e.User
	if e.Message != nil {
		files = e.Message.Files
		if user == "" {
			user = e.Message.User
		}
	}
	if user == "" || a.caller(team, enterprise, user) != nil {
		return nil
	}
	channel := e.Channel
	if len(files) == 0 {
		if e.SubType != "" {
			return nil
		}
		// Words alone: say what the Messages tab is for.
		return func(ctx context.Context) { a.tell(ctx, team, channel, user, exportHint) }
	}
	return func(ctx context.Context) {
		if len(files) > 1 {
			a.tell(ctx, team, channel, user, "Please send one WhatsApp export at a time: I filed none of these.")
			return
		}
		a.receiveExport(ctx, team, channel, user, files[0])
	}
}

// exportHint answers a message without a file in the Messages tab.
const exportHint = "To file a WhatsApp chat, export it on your phone (in the chat: *Export chat*, with or without media) " +
	"and send me the zip or .txt here, as the phone made it. To file a Slack thread, use *File as record* on any of its messages, or " + Command + " with its link."

// tell posts text in the person's direct message with the bot.
func (a *App) tell(ctx context.Context, team, channel, user, text string) {
	a.ephemeral(ctx, team, channel, user, "", text)
}

// receiveExport downloads, reads and keeps an export, and offers the
// button that files it; a file that is not an export gets the reason.
func (a *App) receiveExport(ctx context.Context, team, channel, user string, f slackapi.File) {
	// Downloading and reading a large export takes longer than other
	// work after an acknowledgement; a few are taken at once.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), exportTimeout)
	defer cancel()
	select {
	case a.exportSlots <- struct{}{}:
		defer func() { <-a.exportSlots }()
	case <-ctx.Done():
		a.tell(ctx, team, channel, user, "Sorry, I am busy with other exports. Please send it again later.")
		return
	}
	if f.Size > bot.MaxUpload {
		a.tell(ctx, team, channel, user, fmt.Sprintf("This file is too large to be a chat export I can take (%d MB, over %d MB).", f.Size>>20, bot.MaxUpload>>20))
		return
	}
	src := f.URLPrivateDownload
	if src == "" {
		src = f.URLPrivate
	}
	if src == "" {
		a.tell(ctx, team, channel, user, "Slack did not give me that file. Please send it again.")
		return
	}
	loc, basis, who, err := a.exportZone(ctx, team, user)
	if err != nil {
		a.tell(ctx, team, channel, user, err.Error())
		return
	}
	tmp, err := os.CreateTemp("", "recordbot-upload-*")
	if err != nil {
		a.log.Error("slack: no temporary file for an export", "err", err)
		a.tell(ctx, team, channel, user, "Sorry, I could not take the file just now. Please send it again later.")
		return
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	rc, err := a.o.Files.Download(ctx, team, src, f.Mimetype)
	if err != nil {
		a.log.Warn("slack: could not download an export", "team", team, "user", user, "err", err)
		a.tell(ctx, team, channel, user, "Sorry, I could not download the file ("+errText(err)+"). Please send it again.")
		return
	}
	n, err := io.Copy(tmp, io.LimitReader(rc, bot.MaxUpload+1))
	rc.Close()
	if err != nil {
		a.log.Warn("slack: could not download an export", "team", team, "user", user, "err", err)
		a.tell(ctx, team, channel, user, "Sorry, the file did not download whole. Please send it again.")
		return
	}
	if n > bot.MaxUpload {
		a.tell(ctx, team, channel, user, fmt.Sprintf("This file is too large to be a chat export I can take (over %d MB).", bot.MaxUpload>>20))
		return
	}
	rec, err := a.o.Exports.Receive(ctx, tmp, n, bot.Sent{Name: f.Name, Team: team, By: who, At: a.now().UTC(),
		Via: ViaExport, Location: loc, LocationBasis: basis, DateOrderBasis: dateOrderBasis})
	if re, ok := errors.AsType[*bot.ReceiveError](err); ok {
		a.log.Warn("slack: a file sent to the bot was not kept", "team", team, "user", user, "err", err)
		a.tell(ctx, team, channel, user, mrkdwnEscape.Replace(re.Tell))
		return
	}
	up := rec.Upload
	text := rec.Summary(mrkdwn{})
	api, err := a.client(ctx, team)
	if err != nil {
		a.log.Warn("slack: cannot answer an export", "team", team, "err", err)
		return
	}
	button := func(id, value, label string) *slackapi.ButtonBlockElement {
		return slackapi.NewButtonBlockElement(id, value, slackapi.NewTextBlockObject(slackapi.PlainTextType, label, false, false))
	}
	var buttons []slackapi.BlockElement
	switch {
	case !up.Ambiguous:
		b := button(ExportActionID, up.ID(), "File as record…")
		b.Style = slackapi.StylePrimary
		buttons = append(buttons, b)
	case up.DateOrder != "":
		text += " Its dates are read as " + orderWords(up.DateOrder) + ", as you chose."
		buttons = append(buttons, button(ExportActionID+"_"+string(up.DateOrder), up.ID()+":"+string(up.DateOrder), "File as record…"))
	default:
		text += " Every date in it fits both orders of day and month (is 05/06 the 5th of June or May the 6th?): " +
			"choose the one your phone writes. The choice is kept for this export."
		buttons = append(buttons,
			button(ExportActionID+"_dmy", up.ID()+":dmy", "File as record… (day/month)"),
			button(ExportActionID+"_mdy", up.ID()+":mdy", "File as record… (month/day)"))
	}
	blocks := slackapi.MsgOptionBlocks(
		slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, text, false, false), nil, nil),
		slackapi.NewActionBlock("export", buttons...),
	)
	if _, _, err := api.PostMessageContext(ctx, channel, slackapi.MsgOptionText("WhatsApp chat received: file it as a record?", false), blocks); err != nil {
		a.log.Warn("slack: could not offer to file an export", "team", team, "user", user, "err", errText(err))
	}
}

// exportZone is the time zone an export's times are read in: the
// person's Slack profile time zone
// (https://docs.slack.dev/reference/methods/users.info: user.tz), else
// ExportTimeZone.
func (a *App) exportZone(ctx context.Context, team, user string) (*time.Location, string, capture.Person, error) {
	who := capture.Person{ID: user}
	if api, err := a.client(ctx, team); err == nil {
		if u, err := api.GetUserInfoContext(ctx, user); err == nil {
			who.DisplayName = u.Profile.DisplayName
			if who.DisplayName == "" {
				who.DisplayName = u.RealName
			}
			if u.TZ != "" {
				if loc, err := time.LoadLocation(u.TZ); err == nil && u.TZ != "Local" {
					return loc, "the Slack profile time zone of the person who sent the export", who, nil
				}
			}
		}
	}
	if z := a.o.ExportTimeZone; z != nil {
		return z, "the organisation's time zone, set for recordbot (the sender's Slack profile gave none)", who, nil
	}
	return nil, "", who, errors.New("I cannot tell which time zone your phone was in: WhatsApp exports give times without one. " +
		"Set your time zone in your Slack profile and send the export again.")
}

// exportButton answers "File as record…" under an export: the person
// who sent it gets the filing form; anyone else is refused.
func (a *App) exportButton(ic *slackapi.InteractionCallback, value string) ack {
	id, order, _ := strings.Cut(value, ":")
	team := ic.Team.ID
	if team == "" {
		team = ic.User.TeamID
	}
	user, channel, trigger := ic.User.ID, ic.Channel.ID, ic.TriggerID
	return ack{after: func(ctx context.Context) {
		gctx, cancel := context.WithTimeout(ctx, checkTimeout)
		up, err := a.o.Exports.Get(gctx, id)
		cancel()
		if errors.Is(err, capture.ErrNotFound) {
			a.tell(ctx, team, channel, user, "I no longer have this export. Please send it again.")
			return
		}
		if err != nil {
			a.log.Warn("slack: could not read a kept export", "team", team, "user", user, "err", err)
			a.tell(ctx, team, channel, user, "Sorry, the filing form did not open ("+errText(err)+"). Press the button again.")
			return
		}
		if up.SuppliedBy.ID != user || up.Team != team {
			a.log.Info("slack: refused to file an export someone else sent", "team", team, "user", user)
			a.tell(ctx, team, channel, user, "Only the person who sent this export can file it.")
			return
		}
		if up.Ambiguous {
			if order != string(whatsapp.DMY) && order != string(whatsapp.MDY) {
				a.tell(ctx, team, channel, user, "Choose the order of day and month with one of the buttons under the export.")
				return
			}
			if up.DateOrder == "" {
				cctx, cancel := context.WithTimeout(ctx, checkTimeout)
				up, err = a.o.Exports.ChooseDateOrder(cctx, id, whatsapp.DateOrder(order), dateOrderBasis)
				cancel()
				if err != nil {
					a.log.Warn("slack: could not keep the date order of an export", "team", team, "user", user, "err", err)
					a.tell(ctx, team, channel, user, "Sorry, the filing form did not open ("+errText(err)+"). Press the button again.")
					return
				}
			}
			if string(up.DateOrder) != order {
				a.tell(ctx, team, channel, user, "You chose "+orderWords(up.DateOrder)+" for this export before, and it is filed so. "+
					"If that was wrong, ask your records team to import the export with `bot import whatsapp --date-order`.")
				return
			}
		}
		api, err := a.client(ctx, team)
		if err == nil {
			octx, cancel := context.WithTimeout(ctx, within3s)
			t := target{Team: team, Enterprise: ic.Enterprise.ID, Channel: channel, Root: id, Via: ViaExport, Kind: kindExport,
				Key: exportKey(team, up)}
			_, err = api.OpenViewContext(octx, trigger, a.modal(t, bot.SuggestTitle(up.ChatName)))
			cancel()
		}
		if err != nil {
			a.log.Warn("slack: could not open the filing modal for an export", "team", team, "user", user, "err", err)
			a.tell(ctx, team, channel, user, "Sorry, the filing form did not open ("+errText(err)+"). Press the button again.")
		}
	}}
}

// exportKey is the key of a request to file a kept export (see
// filing.Request.Key): the workspace, the export's SHA-256, its sender and
// what the record reads it with (its time zone and date order). So the
// same person filing the same export twice, from two offers of it, makes
// one record, and is told it was received already.
func exportKey(team string, up bot.Upload) string {
	return "slack:" + team + ":whatsapp:" + up.SHA256 + ":" + up.SuppliedBy.ID + ":" + up.TimeZone + ":" + string(up.DateOrder)
}

// dateOrderBasis is the record's word on a date order chosen in Slack.
const dateOrderBasis = "the choice of the person who sent the export in Slack"

// orderWords says a date order for a person.
func orderWords(o whatsapp.DateOrder) string {
	if o == whatsapp.MDY {
		return "month/day (12/31)"
	}
	return "day/month (31/12)"
}

// exportAction finds the export button among a block_actions payload's
// actions: its value, the id the export is kept as.
func exportAction(ic *slackapi.InteractionCallback) (string, bool) {
	for _, act := range ic.ActionCallback.BlockActions {
		if act != nil && strings.HasPrefix(act.ActionID, ExportActionID) {
			return strings.TrimSpace(act.Value), true
		}
	}
	return "", false
}
