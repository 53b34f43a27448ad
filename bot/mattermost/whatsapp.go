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
	"os"
	"strings"
	"time"

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

// exportTimeout bounds downloading, reading and keeping one export.
const exportTimeout = 15 * time.Minute

// exportsAtOnce is how many exports are downloaded and read at once,
// each on disk up to bot.MaxUpload.
const exportsAtOnce = 2

// dmsAtOnce is how many direct messages to the bot are answered at once
// (each in its own goroutine beside the listener): a flood of them is
// answered up to this, and the rest are left unanswered, logged.
const dmsAtOnce = 16

// dateOrderBasis is the record's word on a date order chosen in
// Mattermost.
const dateOrderBasis = "the choice of the person who sent the export in Mattermost"

// exportHint answers a direct message to the bot without a file.
const exportHint = "To file a WhatsApp chat, export it on your phone (in the chat: **Export chat**, with or without media) " +
	"and send me the zip or .txt here, as the phone made it. To file a Mattermost thread, react to it with the filing emoji or use /" + Trigger + " with its link."

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
		ctx, cancel := context.WithTimeout(ctx, exportTimeout)
		defer cancel()
		if !a.inInstalledTeam(ctx, inst, p.UserId) {
			a.log.Info("mattermost: a direct message from someone in no team recordbot is installed on", "user", p.UserId)
			a.tellOnce(ctx, rp, "I file records only for members of the teams I am installed on, and you are in none of them.", nil, pending)
			return
		}
		switch {
		case len(p.FileIds) == 0:
			a.tellOnce(ctx, rp, exportHint, nil, pending)
		case len(p.FileIds) > 1:
			a.tellOnce(ctx, rp, "Please send one WhatsApp export at a time: I filed none of these.", nil, pending)
		default:
			a.receiveExport(ctx, rp, p.Id, p.FileIds[0], pending)
		}
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

// receiveExport downloads, reads and keeps an export, and offers the
// button that files it; a file that is not an export gets the reason.
func (a *App) receiveExport(ctx context.Context, rp reply, postID, fileID, pending string) {
	user := rp.UserID
	say := func(text string, att []*model.MessageAttachment) {
		if err := a.tellOnce(ctx, rp, text, att, pending); err != nil {
			a.log.Error("mattermost: could not answer an export", "user", user, "err", err)
		}
	}
	select {
	case a.exportSlots <- struct{}{}:
		defer func() { <-a.exportSlots }()
	case <-ctx.Done():
		say("Sorry, I am busy with other exports. Please send it again later.", nil)
		return
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
	if fi.Size > bot.MaxUpload {
		say(fmt.Sprintf("This file is too large to be a chat export I can take (%d MB, over %d MB).", fi.Size>>20, bot.MaxUpload>>20), nil)
		return
	}
	loc, basis, who, err := a.exportZone(ctx, sess, user)
	if err != nil {
		say(err.Error(), nil)
		return
	}
	tmp, err := os.CreateTemp("", "recordbot-upload-*")
	if err != nil {
		a.log.Error("mattermost: no temporary file for an export", "err", err)
		say("Sorry, I could not take the file just now. Please send it again later.", nil)
		return
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	n, err := a.download(ctx, sess, fileID, tmp)
	if err != nil {
		a.log.Warn("mattermost: could not download an export", "user", user, "err", err)
		say("Sorry, the file did not download whole. Please send it again.", nil)
		return
	}
	if n > bot.MaxUpload {
		say(fmt.Sprintf("This file is too large to be a chat export I can take (over %d MB).", bot.MaxUpload>>20), nil)
		return
	}
	rec, err := a.o.Exports.Receive(ctx, tmp, n, bot.Sent{Name: fi.Name, Team: a.server, By: who, At: a.now().UTC(),
		Via: ViaExport, Location: loc, LocationBasis: basis, DateOrderBasis: dateOrderBasis})
	if re, ok := errors.AsType[*bot.ReceiveError](err); ok {
		a.log.Warn("mattermost: a file sent to the bot was not kept", "user", user, "err", err)
		say(mdEscape.Replace(re.Tell), nil)
		return
	}
	up := rec.Upload
	text := rec.Summary(markdown{})
	switch {
	case up.Ambiguous && up.DateOrder != "":
		text += " Its dates are read as " + orderWords(up.DateOrder) + ", as you chose."
	case up.Ambiguous:
		text += " Every date in it fits both orders of day and month (is 05/06 the 5th of June or May the 6th?): the form asks which one your phone writes."
	}
	st := state{Ref: capture.Ref{Platform: capture.WhatsApp, ThreadID: up.ID()}, User: user, UserName: who.DisplayName,
		Nonce: exportNonce(up), Via: ViaExport, Reply: rp, Title: bot.SuggestTitle(up.ChatName)}
	say(text, []*model.MessageAttachment{{
		Actions: []*model.PostAction{{
			Id: "filerecord", Type: model.PostActionTypeButton, Name: "File as record…", Style: "primary",
			Integration: &model.PostActionIntegration{URL: a.o.PublicURL + ActionPath, Context: map[string]any{"state": a.seal(st)}},
		}},
	}})
	a.log.Info("mattermost: offered filing of a WhatsApp export", "user", user, "messages", rec.Messages)
}

// exportNonce is the nonce of the dialogs that file a kept export, from
// which the request's key derives (formKey): the export's SHA-256, its
// sender and the time zone it is read in (its date order is the export's
// own, or chosen once for it). So the same person filing the same export
// from two offers of it makes one record, and is told it was received
// already.
func exportNonce(up bot.Upload) string {
	sum := sha256.Sum256([]byte("whatsapp|" + up.SHA256 + "|" + up.SuppliedBy.ID + "|" + up.TimeZone))
	return "whatsapp-" + hex.EncodeToString(sum[:16])
}

// mdEscape keeps a chat's name from becoming Markdown.
var mdEscape = strings.NewReplacer("*", "\\*", "_", "\\_", "`", "\\`", "[", "\\[", "]", "\\]", "~", "\\~")

// download streams file fileID to w with the bot's token (GET
// /api/v4/files/{id}; model.Client4.GetFile would hold it whole in
// memory), up to bot.MaxUpload+1 bytes.
func (a *App) download(ctx context.Context, sess *session, fileID string, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.server+"/api/v4/files/"+fileID, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+sess.tok)
	resp, err := sess.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if resp.ContentLength > bot.MaxUpload {
		return resp.ContentLength, nil
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, bot.MaxUpload+1))
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength && n <= bot.MaxUpload {
		err = fmt.Errorf("%d of %d bytes", n, resp.ContentLength)
	}
	return n, err
}

// exportZone is the time zone an export's times are read in: the
// person's Mattermost profile time zone (automatic or manual, as
// model.GetPreferredTimezone chooses), else ExportTimeZone.
func (a *App) exportZone(ctx context.Context, sess *session, user string) (*time.Location, string, capture.Person, error) {
	who := capture.Person{ID: user}
	if us, _, err := sess.api.GetUsersByIds(ctx, []string{user}); err == nil && len(us) == 1 && us[0].Id == user {
		u := us[0]
		who.DisplayName = u.Username
		who.RealName = cmp.Or(strings.TrimSpace(u.FirstName+" "+u.LastName), u.Nickname)
		if tz := model.GetPreferredTimezone(u.Timezone); tz != "" && tz != "Local" {
			if loc, err := time.LoadLocation(tz); err == nil {
				return loc, "the Mattermost profile time zone of the person who sent the export", who, nil
			}
		}
	}
	if z := a.o.ExportTimeZone; z != nil {
		return z, "the organisation's time zone, set for recordbot (the sender's Mattermost profile gave none)", who, nil
	}
	return nil, "", who, errors.New("I cannot tell which time zone your phone was in: WhatsApp exports give times without one. " +
		"Set your time zone in your Mattermost profile (Settings > Display > Timezone) and send the export again.")
}

// orderWords says a date order for a person.
func orderWords(o whatsapp.DateOrder) string {
	if o == whatsapp.MDY {
		return "month/day (12/31)"
	}
	return "day/month (31/12)"
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

// checkExport is the dialog's check of an export before it is filed: it
// is still kept, sent by this person, and its date order is set (with
// the dialog's choice when it was not yet).
func (a *App) checkExport(ctx context.Context, st state, order string) (fieldErrs map[string]string, msg string) {
	up, err := a.o.Exports.Get(ctx, st.Ref.ThreadID)
	if errors.Is(err, capture.ErrNotFound) {
		return nil, "I no longer have this export. Please send it again."
	}
	if err != nil {
		a.log.Error("mattermost: could not read a kept export", "user", st.User, "err", err)
		return nil, bot.StoreLate
	}
	if up.SuppliedBy.ID != st.User || up.Team != a.server {
		return nil, "Only the person who sent this export can file it."
	}
	if !up.Ambiguous {
		return nil, ""
	}
	if order != string(whatsapp.DMY) && order != string(whatsapp.MDY) {
		return map[string]string{"date_order": "Choose the order of day and month your phone writes."}, ""
	}
	if up.DateOrder == "" {
		if up, err = a.o.Exports.ChooseDateOrder(ctx, st.Ref.ThreadID, whatsapp.DateOrder(order), dateOrderBasis); err != nil {
			a.log.Error("mattermost: could not keep the date order of an export", "user", st.User, "err", err)
			return nil, bot.StoreLate
		}
	}
	if string(up.DateOrder) != order {
		return map[string]string{"date_order": "You chose " + orderWords(up.DateOrder) + " for this export before, and it is filed so."}, ""
	}
	return nil, ""
}
