package slack

import (
	"context"
	"errors"
	"log/slog"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/recordbot/recordbot/filing"
)

// interaction handles a shortcut, modal submission or type-ahead request.
func (a *App) interaction(ctx context.Context, ic *slackapi.InteractionCallback) ack {
	switch ic.Type {
	case slackapi.InteractionTypeMessageAction:
		if ic.CallbackID != ShortcutID {
			return ack{}
		}
		return a.shortcut(ic)
	case slackapi.InteractionTypeBlockSuggestion:
		if ic.BlockID == blockClass || ic.ActionID == actionValue {
			return ack{body: a.classOptions(ic.Value)}
		}
		return ack{body: map[string]any{"options": []any{}}}
	case slackapi.InteractionTypeViewSubmission:
		if ic.View.CallbackID != ModalID {
			return ack{}
		}
		return a.submit(ctx, ic)
	}
	return ack{}
}

// shortcut answers "File as record" on a message: the modal opens right
// after the acknowledgement, inside the trigger's 3 seconds.
func (a *App) shortcut(ic *slackapi.InteractionCallback) ack {
	msg := ic.Message
	t := target{Team: ic.Team.ID, Enterprise: ic.Enterprise.ID, Channel: ic.Channel.ID,
		Root: msg.Timestamp, Message: msg.Timestamp, Via: "slack shortcut"}
	if t.Team == "" {
		t.Team = ic.User.TeamID
	}
	rootText := msg.Text
	if msg.ThreadTimestamp != "" && msg.ThreadTimestamp != msg.Timestamp {
		t.Root = msg.ThreadTimestamp
		rootText = "" // a reply: openModal fetches the root's text
	}
	if t.Root == "" {
		t.Root = ic.MessageTs
		t.Message = ic.MessageTs
	}
	if rootText == "" && t.Root == msg.Timestamp {
		rootText = " " // a root with no text: no need to fetch it
	}
	trigger, user, channel := ic.TriggerID, ic.User.ID, ic.Channel.ID
	return ack{after: func(ctx context.Context) {
		if err := a.openModal(ctx, trigger, t, "", rootText); err != nil {
			a.log.Warn("slack: could not open the filing modal", "team", t.Team, "channel", channel, "user", user, "err", err)
			a.ephemeral(ctx, t.Team, channel, user, "", "Sorry, the filing form did not open ("+errText(err)+"). Try the shortcut again.")
		}
	}}
}

// submit answers the modal's submission: inline errors for bad input;
// otherwise the request is stored, the modal closes and the person is told
// "Filing…".
func (a *App) submit(ctx context.Context, ic *slackapi.InteractionCallback) ack {
	r, t, err := a.submission(ic)
	if err != nil {
		return ack{body: slackapi.NewErrorsViewSubmissionResponse(map[string]string{blockTitle: "Sorry: " + err.Error() + ". Close this form and use the shortcut again."})}
	}
	if fe := a.o.Filer.Check(r); fe != nil {
		return ack{body: slackapi.NewErrorsViewSubmissionResponse(viewErrors(fe))}
	}
	sctx, cancel := context.WithTimeout(ctx, within3s)
	defer cancel()
	r, err = a.o.Filer.Submit(sctx, r)
	if fe, ok := errors.AsType[filing.FieldErrors](err); ok {
		return ack{body: slackapi.NewErrorsViewSubmissionResponse(viewErrors(fe))}
	}
	if err != nil {
		a.log.Error("slack: could not store a filing request", "team", t.Team, "channel", t.Channel, "user", ic.User.ID, "err", err)
		return ack{body: slackapi.NewErrorsViewSubmissionResponse(map[string]string{
			blockTitle: "The record store did not take the request just now; nothing was filed. Press File again in a minute.",
		})}
	}
	user := ic.User.ID
	return ack{after: func(ctx context.Context) {
		a.ephemeral(ctx, t.Team, t.Channel, user, t.Root,
			"Filing… “"+r.Title+"” in "+classLabel(a.o.Filer.Plan(), r.ClassCode)+". I will tell you here when the record is filed.")
	}}
}

// event handles an Events API event: uninstalls and revoked tokens remove
// the workspace's installation.
func (a *App) event(ev *slackevents.EventsAPIEvent) ack {
	if ev.Type != slackevents.CallbackEvent {
		return ack{}
	}
	team := ev.TeamID
	remove := false
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.AppUninstalledEvent:
		remove = true
	case *slackevents.TokensRevokedEvent:
		remove = len(e.Tokens.Bot) > 0
	}
	if !remove || a.o.Installs == nil || team == "" {
		return ack{}
	}
	return ack{after: func(ctx context.Context) {
		if err := a.o.Installs.Delete(ctx, team); err != nil {
			a.log.Error("slack: could not remove an uninstalled workspace", "team", team, "err", err)
			return
		}
		a.log.Info("slack: workspace uninstalled or its token revoked; installation removed", "team", team)
	}}
}

// ephemeral posts text only user can see in channel (in the thread when
// threadTS is set); when Slack will not (the person left, a DM the bot is
// not in), it sends it as a direct message instead.
func (a *App) ephemeral(ctx context.Context, team, channel, user, threadTS, text string) {
	api, err := a.client(ctx, team)
	if err != nil {
		a.log.Warn("slack: cannot tell a person", "team", team, "user", user, "err", err)
		return
	}
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(text, false)}
	if threadTS != "" {
		opts = append(opts, slackapi.MsgOptionTS(threadTS))
	}
	if channel != "" {
		if _, err = api.PostEphemeralContext(ctx, channel, user, opts...); err == nil {
			return
		}
	}
	if _, _, err2 := api.PostMessageContext(ctx, user, slackapi.MsgOptionText(text, false)); err2 != nil {
		a.log.LogAttrs(ctx, slog.LevelWarn, "slack: could not tell a person", slog.String("team", team),
			slog.String("user", user), slog.Any("ephemeral_err", err), slog.Any("dm_err", err2))
	}
}

func classLabel(p *filing.Plan, code string) string {
	if c := p.Class(code); c != nil {
		return c.Code + " " + c.Title
	}
	return code
}

// errText is an error for a person: Slack's code when it is one.
func errText(err error) string {
	if r, ok := errors.AsType[slackapi.SlackErrorResponse](err); ok {
		return "Slack said " + r.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "Slack did not answer in time"
	}
	return err.Error()
}
