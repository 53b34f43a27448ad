package mattermost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
)

// A direct message to @recordbot: the bot sees the posted event on its
// WebSocket; a file is taken as a WhatsApp chat export (whatsapp.go,
// bot.Intake), words alone get a hint.

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
		ctx, cancel := context.WithTimeout(ctx, bot.ExportTimeout) // the API calls too, not only the intake's
		defer cancel()
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
