package slack

import (
	"context"
	"strings"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// A direct message to the bot, in its Messages tab: Slack sends the
// message.im event (https://docs.slack.dev/reference/events/message.im),
// with the file when one is shared; a file is taken as a WhatsApp chat
// export (whatsapp.go, bot.Intake).

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

// tell posts text in the person's direct message with the bot.
func (a *App) tell(ctx context.Context, team, channel, user, text string) {
	a.ephemeral(ctx, team, channel, user, "", text)
}
