package mattermost

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
)

// A WhatsApp chat export sent to @recordbot in a direct message (dm.go)
// is streamed with the bot's token through the API and taken by
// bot.Intake; the offer's button, sealed to the sender, opens the dialog,
// which asks for the order of day and month when it is to be chosen.

// ViaExport is how a request for an export sent in Mattermost says it
// came: cmd/bot routes its outcome back here (bot.Notifiers.ByVia).
const ViaExport = "mattermost whatsapp upload"

// intake is the DM intake in Mattermost's words.
func (a *App) intake() *bot.Intake {
	return &bot.Intake{Uploads: a.o.Exports, Platform: "Mattermost", Via: ViaExport, Zone: a.o.ExportTimeZone, Markup: markdown{},
		SetZone: "in your Mattermost profile (Settings > Display > Timezone)", ChooseHow: "the form asks which one your phone writes.",
		ThreadHow: "To file a Mattermost thread, react to it with the filing emoji or use /" + Trigger + " with its link."}
}

// receiveExport takes an export (bot.Intake) and offers the button that
// files it; a file that is not an export gets the reason.
func (a *App) receiveExport(ctx context.Context, rp reply, postID, fileID, pending string) {
	say := func(text string, att []*model.MessageAttachment) { a.tellOnce(ctx, rp, text, att, pending) } // failures logged
	_, sess, err := a.installation(ctx, false)
	if err != nil {
		a.log.Error("mattermost: export", "err", err)
		return
	}
	fi, resp, err := sess.api.GetFileInfo(ctx, fileID)
	if err != nil || fi.PostId != postID {
		a.log.Warn("mattermost: could not read an export's file info", "user", rp.UserID, "status", httpStatus(resp, err), "err", err)
		say("Sorry, Mattermost did not give me that file. Please send it again.", nil)
		return
	}
	// Their profile's time zone, automatic or manual (model.GetPreferredTimezone).
	who, zone := capture.Person{ID: rp.UserID}, ""
	if us, _, err := sess.api.GetUsersByIds(ctx, []string{rp.UserID}); err == nil && len(us) == 1 && us[0].Id == rp.UserID {
		u := us[0]
		who.DisplayName, who.RealName = u.Username, cmp.Or(strings.TrimSpace(u.FirstName+" "+u.LastName), u.Nickname)
		zone = model.GetPreferredTimezone(u.Timezone)
	}
	offer, err := a.intake().Take(ctx, bot.DM{Name: fi.Name, Size: fi.Size, Team: a.server, By: who, Zone: zone,
		Open: func(ctx context.Context) (io.ReadCloser, error) { return a.download(ctx, sess, fileID) }})
	if re, ok := errors.AsType[*bot.ReceiveError](err); ok {
		say(mdEscape.Replace(re.Tell), nil)
		return
	}
	st := state{Ref: capture.Ref{Platform: capture.WhatsApp, ThreadID: offer.ID()}, User: rp.UserID, UserName: who.DisplayName,
		Via: ViaExport, Reply: rp, Title: bot.SuggestTitle(offer.ChatName)}
	say(offer.Text, []*model.MessageAttachment{{
		Actions: []*model.PostAction{{
			Id: "filerecord", Type: model.PostActionTypeButton, Name: "File as record…", Style: "primary",
			Integration: &model.PostActionIntegration{URL: a.o.PublicURL + ActionPath, Context: map[string]any{"state": a.seal(st)}},
		}},
	}})
}

// mdEscape keeps a chat's name from becoming Markdown.
var mdEscape = strings.NewReplacer("*", "\\*", "_", "\\_", "`", "\\`", "[", "\\[", "]", "\\]", "~", "\\~")

// download starts streaming file fileID with the bot's token (GET
// /api/v4/files/{id}; model.Client4.GetFile would hold it whole in
// memory). A body shorter than its Content-Length fails as it is read.
func (a *App) download(ctx context.Context, sess *session, fileID string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.server+"/api/v4/files/"+fileID, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+sess.tok)
	return bot.Downloaded(sess.http.Do(req))
}

// exportDialog fits the filing dialog to a kept export: what is filed,
// and, when every date fits both orders, a select for the order.
func exportDialog(d *model.Dialog, up bot.Upload) {
	d.IntroductionText = "The WhatsApp chat is filed with its media and the export exactly as you sent it. A filed record cannot be changed."
	if !up.Ambiguous {
		return
	}
	d.Elements = append(d.Elements, model.DialogElement{
		DisplayName: "Dates", Name: "date_order", Type: "select", Default: string(up.DateOrder),
		HelpText: "Every date in the export fits both orders of day and month: choose the one your phone writes.",
		Options:  []*model.PostActionOptions{{Text: "Day/month (31/12)", Value: string(whatsapp.DMY)}, {Text: "Month/day (12/31)", Value: string(whatsapp.MDY)}},
	})
}

// checkExport is the dialog's bot.Intake.Claim, with its choice of date
// order: the export as kept, or the errors to show in the dialog.
func (a *App) checkExport(ctx context.Context, st state, order string) (up bot.Upload, fieldErrs map[string]string, msg string) {
	up, err := a.intake().Claim(ctx, st.Ref.ThreadID, a.server, st.User, order)
	re, _ := errors.AsType[*bot.ReceiveError](err)
	switch {
	case re == nil:
		return up, nil, ""
	case errors.Is(err, bot.ErrDateOrder):
		return up, map[string]string{"date_order": re.Tell}, ""
	}
	return up, nil, re.Tell
}
