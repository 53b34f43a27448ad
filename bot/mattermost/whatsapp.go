package mattermost

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
)

// A person files a WhatsApp chat by sending its "Export chat" file (a zip
// or a .txt) to @recordbot in a direct message: the bot sees the posted
// event on its WebSocket, downloads the file with its token through the
// API (streamed to a temporary file, never held in memory, up to
// bot.MaxUpload), reads it with capture/whatsapp, keeps it (bot.Uploads)
// and answers in the direct message with a "File as record…" button,
// sealed to the sender. The button opens the filing dialog; the filing
// worker reads the kept export again (whatsapp.Source). A file that is
// not an export gets the reason and nothing is kept.

// ViaExport is how a request for an export sent in Mattermost says it
// came: cmd/bot routes its outcome back here (bot.Notifiers.ByVia).
const ViaExport = "mattermost whatsapp upload"

// dmsAtOnce is how many direct messages to the bot are answered at once
// (each in its own goroutine beside the listener): a flood of them is
// answered up to this, and the rest are left unanswered, logged.
const dmsAtOnce = 16

// onPosted takes a post in a direct message to the bot: a file from a
// person is taken as a chat export, words alone get a hint. The bot's own
// posts, system posts and posts elsewhere are ignored. The work runs
// beside the listener, which keeps reading events, for at most dmsAtOnce
// posts at once (a slot of dms each); a post that finds none free is
// left unanswered.
func (a *App) onPosted(ctx context.Context, inst *Installation, ev *model.WebSocketEvent, dms chan struct{}) {
	if a.o.Exports == nil {
		return
	}
	data := ev.GetData()
	if ct, _ := data["channel_type"].(string); ct != string(model.ChannelTypeDirect) {
		return
	}
	raw, _ := data["post"].(string)
	var p model.Post
	if err := json.Unmarshal([]byte(raw), &p); err != nil || !model.IsValidId(p.Id) || !model.IsValidId(p.UserId) {
		a.log.Warn("mattermost: posted event without a post")
		return
	}
	if p.UserId == inst.BotUserID || p.Type != "" || p.GetProp(model.PostPropsFromBot) == "true" {
		return
	}
	if p.RootId != "" && len(p.FileIds) == 0 {
		return // words in a thread of the direct message: no hint each time
	}
	if name, _ := data["channel_name"].(string); name != model.GetDMNameFromIds(inst.BotUserID, p.UserId) {
		return // a direct message, but not with the bot
	}
	sum := sha256.Sum256([]byte("export|" + p.Id))
	pending := inst.BotUserID + ":" + hex.EncodeToString(sum[16:])
	rp := reply{Server: a.server, ChannelID: p.ChannelId, UserID: p.UserId}
	select {
	case dms <- struct{}{}:
	default:
		a.log.Warn("mattermost: too many direct messages at once; one is left unanswered", "user", p.UserId, "files", len(p.FileIds))
		return
	}
	a.work.Add(1)
	go func() {
		defer a.work.Done()
		defer func() { <-dms }()
		if !a.inInstalledTeam(ctx, inst, p.UserId) {
			a.log.Info("mattermost: a direct message from someone in no team recordbot is installed on", "user", p.UserId)
			a.tellOnce(ctx, rp, "I file records only for members of the teams I am installed on, and you are in none of them.", nil, pending)
			return
		}
		if text := a.intake().Answer(len(p.FileIds)); text != "" {
			a.tellOnce(ctx, rp, text, nil, pending)
			return
		}
		a.receiveExport(ctx, rp, p.Id, p.FileIds[0], pending)
	}()
}

// inInstalledTeam reports whether user is a member of a team recordbot
// is installed on: only they may file, as only they can run /record.
func (a *App) inInstalledTeam(ctx context.Context, inst *Installation, user string) bool {
	_, sess, err := a.installation(ctx, false)
	if err != nil {
		return false
	}
	for id := range inst.Teams {
		if m, _, err := sess.api.GetTeamMember(ctx, id, user, ""); err == nil && m.UserId == user && m.DeleteAt == 0 {
			return true
		}
	}
	return false
}

// intake is the DM intake in Mattermost's words.
func (a *App) intake() *bot.Intake {
	return &bot.Intake{Uploads: a.o.Exports, Platform: "Mattermost", Via: ViaExport, Zone: a.o.ExportTimeZone, Markup: markdown{},
		SetZone: "in your Mattermost profile (Settings > Display > Timezone)", ChooseHow: "the form asks which one your phone writes.",
		ThreadHow: "To file a Mattermost thread, react to it with the filing emoji or use /" + Trigger + " with its link."}
}

// receiveExport downloads, reads and keeps an export (bot.Intake), and
// offers the button that files it; a file that is not an export gets the
// reason.
func (a *App) receiveExport(ctx context.Context, rp reply, postID, fileID, pending string) {
	user := rp.UserID
	say := func(text string, att []*model.MessageAttachment) {
		if err := a.tellOnce(ctx, rp, text, att, pending); err != nil {
			a.log.Error("mattermost: could not answer an export", "user", user, "err", err)
		}
	}
	_, sess, err := a.installation(ctx, false)
	if err != nil {
		a.log.Error("mattermost: export", "err", err)
		return
	}
	fi, resp, err := sess.api.GetFileInfo(ctx, fileID)
	if err != nil || fi.PostId != postID {
		a.log.Warn("mattermost: could not read an export's file info", "user", user, "status", httpStatus(resp, err), "err", err)
		say("Sorry, Mattermost did not give me that file. Please send it again.", nil)
		return
	}
	// The person's Mattermost profile time zone (automatic or manual, as
	// model.GetPreferredTimezone chooses).
	who, zone := capture.Person{ID: user}, ""
	if us, _, err := sess.api.GetUsersByIds(ctx, []string{user}); err == nil && len(us) == 1 && us[0].Id == user {
		u := us[0]
		who.DisplayName, who.RealName = u.Username, cmp.Or(strings.TrimSpace(u.FirstName+" "+u.LastName), u.Nickname)
		zone = model.GetPreferredTimezone(u.Timezone)
	}
	offer, err := a.intake().Take(ctx, bot.DM{Name: fi.Name, Size: fi.Size, Team: a.server, By: who, Zone: zone,
		Download: func(ctx context.Context, w io.Writer) error { return a.download(ctx, sess, fileID, w) }})
	if re, ok := errors.AsType[*bot.ReceiveError](err); ok {
		a.log.Warn("mattermost: a file sent to the bot was not kept", "user", user, "err", err)
		say(mdEscape.Replace(re.Tell), nil)
		return
	}
	st := state{Ref: capture.Ref{Platform: capture.WhatsApp, ThreadID: offer.ID()}, User: user, UserName: who.DisplayName,
		Via: ViaExport, Reply: rp, Title: bot.SuggestTitle(offer.ChatName)}
	say(offer.Text, []*model.MessageAttachment{{
		Actions: []*model.PostAction{{
			Id: "filerecord", Type: model.PostActionTypeButton, Name: "File as record…", Style: "primary",
			Integration: &model.PostActionIntegration{URL: a.o.PublicURL + ActionPath, Context: map[string]any{"state": a.seal(st)}},
		}},
	}})
	a.log.Info("mattermost: offered filing of a WhatsApp export", "user", user, "messages", offer.Messages)
}

// mdEscape keeps a chat's name from becoming Markdown.
var mdEscape = strings.NewReplacer("*", "\\*", "_", "\\_", "`", "\\`", "[", "\\[", "]", "\\]", "~", "\\~")

// download streams file fileID to w with the bot's token (GET
// /api/v4/files/{id}; model.Client4.GetFile would hold it whole in
// memory).
func (a *App) download(ctx context.Context, sess *session, fileID string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.server+"/api/v4/files/"+fileID, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+sess.tok)
	resp, err := sess.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if resp.ContentLength > bot.MaxUpload {
		return bot.ErrTooLarge
	}
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("%d of %d bytes", n, resp.ContentLength)
	}
	return err
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
		Options: []*model.PostActionOptions{
			{Text: "Day/month (31/12)", Value: string(whatsapp.DMY)},
			{Text: "Month/day (12/31)", Value: string(whatsapp.MDY)},
		},
	})
}

// checkExport is the dialog's check of an export before it is filed
// (bot.Intake.Claim), with the dialog's choice of date order: the export
// as kept, or the errors to show in the dialog.
func (a *App) checkExport(ctx context.Context, st state, order string) (up bot.Upload, fieldErrs map[string]string, msg string) {
	up, err := a.intake().Claim(ctx, st.Ref.ThreadID, a.server, st.User, order)
	if re, ok := errors.AsType[*bot.ReceiveError](err); ok {
		a.log.Info("mattermost: an export not filed", "user", st.User, "err", err)
		if errors.Is(err, bot.ErrDateOrder) {
			return up, map[string]string{"date_order": re.Tell}, ""
		}
		return up, nil, re.Tell
	}
	return up, nil, ""
}
