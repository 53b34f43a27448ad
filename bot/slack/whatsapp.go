package slack

import (
	"cmp"
	"context"
	"errors"
	"io"
	"strings"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
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

// kindExport marks a modal's target as a kept export, not a thread.
const kindExport = "whatsapp"

// intake is the DM intake in Slack's words.
func (a *App) intake() *bot.Intake {
	return &bot.Intake{Uploads: a.o.Exports, Platform: "Slack", Via: ViaExport, Zone: a.o.ExportTimeZone, Markup: mrkdwn{},
		SetZone: "in your Slack profile", ChooseHow: "choose the one your phone writes. The choice is kept for this export.",
		ThreadHow: "To file a Slack thread, use *File as record* on any of its messages, or " + Command + " with its link."}
}

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
	if len(files) == 0 && e.SubType != "" {
		return nil
	}
	return func(ctx context.Context) {
		if text := a.intake().Answer(len(files)); text != "" {
			a.tell(ctx, team, channel, user, text) // words alone: what the Messages tab is for
			return
		}
		a.receiveExport(ctx, team, channel, user, files[0])
	}
}

// tell posts text in the person's direct message with the bot.
func (a *App) tell(ctx context.Context, team, channel, user, text string) {
	a.ephemeral(ctx, team, channel, user, "", text)
}

// receiveExport downloads, reads and keeps an export (bot.Intake), and
// offers the button that files it; a file that is not an export gets the
// reason.
func (a *App) receiveExport(ctx context.Context, team, channel, user string, f slackapi.File) {
	// Downloading and reading a large export takes longer than other
	// work after an acknowledgement.
	ctx = context.WithoutCancel(ctx)
	src := cmp.Or(f.URLPrivateDownload, f.URLPrivate)
	if src == "" {
		a.tell(ctx, team, channel, user, "Slack did not give me that file. Please send it again.")
		return
	}
	who, zone := capture.Person{ID: user}, ""
	api, err := a.client(ctx, team)
	if err != nil {
		a.log.Warn("slack: cannot answer an export", "team", team, "err", err)
		return
	}
	// The person's Slack profile time zone
	// (https://docs.slack.dev/reference/methods/users.info: user.tz).
	if u, err := api.GetUserInfoContext(ctx, user); err == nil {
		who.DisplayName, zone = cmp.Or(u.Profile.DisplayName, u.RealName), u.TZ
	}
	offer, err := a.intake().Take(ctx, bot.DM{Name: f.Name, Size: int64(f.Size), Team: team, By: who, Zone: zone,
		Download: func(ctx context.Context, w io.Writer) error {
			rc, err := a.o.Files.Download(ctx, team, src, f.Mimetype)
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(w, rc)
			return err
		}})
	if re, ok := errors.AsType[*bot.ReceiveError](err); ok {
		a.log.Warn("slack: a file sent to the bot was not kept", "team", team, "user", user, "err", errText(err))
		a.tell(ctx, team, channel, user, mrkdwnEscape.Replace(re.Tell))
		return
	}
	button := func(id, value, label string) *slackapi.ButtonBlockElement {
		return slackapi.NewButtonBlockElement(id, value, slackapi.NewTextBlockObject(slackapi.PlainTextType, label, false, false))
	}
	var buttons []slackapi.BlockElement
	switch id, order := offer.ID(), string(offer.DateOrder); {
	case offer.Choose:
		buttons = append(buttons, button(ExportActionID+"_dmy", id+":dmy", "File as record… (day/month)"),
			button(ExportActionID+"_mdy", id+":mdy", "File as record… (month/day)"))
	case order != "":
		buttons = append(buttons, button(ExportActionID+"_"+order, id+":"+order, "File as record…"))
	default:
		b := button(ExportActionID, id, "File as record…")
		b.Style = slackapi.StylePrimary
		buttons = append(buttons, b)
	}
	blocks := slackapi.MsgOptionBlocks(
		slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, offer.Text, false, false), nil, nil),
		slackapi.NewActionBlock("export", buttons...),
	)
	if _, _, err := api.PostMessageContext(ctx, channel, slackapi.MsgOptionText("WhatsApp chat received: file it as a record?", false), blocks); err != nil {
		a.log.Warn("slack: could not offer to file an export", "team", team, "user", user, "err", errText(err))
	}
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
		in := a.intake()
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		up, err := in.Claim(cctx, id, team, user, order)
		cancel()
		if re, ok := errors.AsType[*bot.ReceiveError](err); ok {
			a.log.Info("slack: an export's filing form not opened", "team", team, "user", user, "err", errText(err))
			a.tell(ctx, team, channel, user, mrkdwnEscape.Replace(re.Tell))
			return
		}
		api, err := a.client(ctx, team)
		if err == nil {
			octx, cancel := context.WithTimeout(ctx, within3s)
			t := target{Team: team, Enterprise: ic.Enterprise.ID, Channel: channel, Root: id, Via: ViaExport, Kind: kindExport,
				Key: in.Key(up)}
			_, err = api.OpenViewContext(octx, trigger, a.modal(t, bot.SuggestTitle(up.ChatName)))
			cancel()
		}
		if err != nil {
			a.log.Warn("slack: could not open the filing modal for an export", "team", team, "user", user, "err", err)
			a.tell(ctx, team, channel, user, "Sorry, the filing form did not open ("+errText(err)+"). Press the button again.")
		}
	}}
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
