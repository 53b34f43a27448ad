package slack

import (
	"cmp"
	"context"
	"errors"
	"io"

	slackapi "github.com/slack-go/slack"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
)

// A WhatsApp chat export sent in the bot's Messages tab (dm.go) is
// downloaded with the bot's token, only from Slack's file host (Files),
// and taken by bot.Intake; the offer has a button that opens the modal, or
// one for each order of day and month when the person chooses it.

// Files downloads a file shared with the bot: capture/slack's Source
// implements it, sending the token only to Slack's file host.
type Files interface {
	Download(ctx context.Context, teamID, url, mimeType string) (io.ReadCloser, error)
}

// ExportActionID is the action_id of the "File as record…" button under
// a received export, with "_dmy" or "_mdy" after it for a button that
// chooses the date order; its value is a bot.Choice's.
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

// receiveExport takes an export (bot.Intake) and offers the buttons that
// file it; a file that is not an export gets the reason.
func (a *App) receiveExport(ctx context.Context, team, channel, user string, f slackapi.File) {
	ctx = context.WithoutCancel(ctx) // longer than other work after an acknowledgement
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
		Open: func(ctx context.Context) (io.ReadCloser, error) {
			return a.o.Files.Download(ctx, team, src, f.Mimetype)
		},
	})
	if re, ok := errors.AsType[*bot.ReceiveError](err); ok {
		a.tell(ctx, team, channel, user, mrkdwnEscape.Replace(re.Tell))
		return
	}
	var buttons []slackapi.BlockElement
	for _, c := range offer.Choices() {
		id := ExportActionID
		if c.Order != "" {
			id += "_" + string(c.Order)
		}
		b := slackapi.NewButtonBlockElement(id, c.Value, slackapi.NewTextBlockObject(slackapi.PlainTextType, c.Label, false, false))
		if c.Order == "" {
			b.Style = slackapi.StylePrimary
		}
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
	id, order := bot.ChoiceOf(value)
	team := cmp.Or(ic.Team.ID, ic.User.TeamID)
	user, channel, trigger := ic.User.ID, ic.Channel.ID, ic.TriggerID
	return ack{after: func(ctx context.Context) {
		in := a.intake()
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		up, err := in.Claim(cctx, id, team, user, order)
		cancel()
		if re, ok := errors.AsType[*bot.ReceiveError](err); ok {
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
			a.tell(ctx, team, channel, user, "Sorry, the filing form did not open. Press the button again.")
		}
	}}
}
