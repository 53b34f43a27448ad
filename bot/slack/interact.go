package slack

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	slackcap "github.com/recordbot/recordbot/capture/slack"
)

// interaction handles a shortcut, modal submission or type-ahead request.
// Slack names the person and the workspace in every one; a payload that
// does not, or comes from a workspace recordbot does not serve, is refused.
func (a *App) interaction(ctx context.Context, ic *slackapi.InteractionCallback) ack {
	team := ic.Team.ID
	if team == "" {
		team = ic.User.TeamID
	}
	if err := a.caller(team, ic.Enterprise.ID, ic.User.ID); err != nil {
		a.log.Warn("slack: refused an interaction", "type", string(ic.Type), "team", team, "user", ic.User.ID, "err", err)
		if ic.Type == slackapi.InteractionTypeViewSubmission && errors.Is(err, ErrNotAllowed) {
			return ack{body: slackapi.NewErrorsViewSubmissionResponse(map[string]string{blockTitle: "recordbot does not serve this workspace."})}
		}
		return ack{refuse: http.StatusForbidden}
	}
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
	case slackapi.InteractionTypeBlockActions:
		if sum, ok := exportAction(ic); ok && a.o.Exports != nil {
			return a.exportButton(ic, sum)
		}
		return ack{}
	case slackapi.InteractionTypeViewSubmission:
		if ic.View.CallbackID != ModalID {
			return ack{}
		}
		return a.submit(ctx, ic)
	}
	return ack{}
}

// shortcut answers "File as record" on a message: the modal opens right
// after the acknowledgement, inside the trigger's 3 seconds, once the
// person is known to be a member of the channel.
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
		if err := a.openModal(ctx, trigger, t, user, "", rootText); err != nil {
			a.cannotOpen(ctx, t, channel, user, err, "Try the shortcut again.")
		}
	}}
}

// cannotOpen tells the person why the form did not open: they may not
// file the thread (said without naming a channel they are not in), or
// Slack did not let it open.
func (a *App) cannotOpen(ctx context.Context, t target, channel, user string, err error, again string) {
	if errors.Is(err, slackcap.ErrNeedsConsent) {
		a.log.Info("slack: filing form needs the person's permission to read the conversation", "team", t.Team, "channel", t.Channel, "user", user)
		a.ephemeral(ctx, t.Team, channel, user, "", a.consentText(t.Team, user, err))
		return
	}
	if refusal(err) {
		a.log.Info("slack: filing form refused", "team", t.Team, "channel", t.Channel, "user", user, "err", err)
		a.ephemeral(ctx, t.Team, channel, user, "", a.voice(t.Team, user).Refusal(err))
		return
	}
	a.log.Warn("slack: could not open the filing modal", "team", t.Team, "channel", t.Channel, "user", user, "err", err)
	a.ephemeral(ctx, t.Team, channel, user, "", "Sorry, the filing form did not open ("+errText(err)+"). "+again)
}

// refusal reports whether err is a capture.Problem that says why the
// thread cannot be filed now (the person not a member, the bot not in the
// channel, the thread gone, the app needing its admin).
func refusal(err error) bool {
	p, ok := capture.ProblemOf(err)
	return ok && p.Kind != capture.RateLimited
}

// submit answers the modal's submission through the one submit step
// (bot.Submitter): inline errors for bad input; otherwise the request is
// stored, the modal closes and the person is told "Filing…". The
// request's key comes from the view's id and hash, so a replayed or
// double-clicked submission finds the request already stored and makes no
// second request. Such a copy closes the form and says nothing, except
// when this process answered an earlier press with bot.StoreLate and has
// told the person nothing since: they are told the form was already
// received (bot.Submitter.QuietRepeats).
func (a *App) submit(ctx context.Context, ic *slackapi.InteractionCallback) ack {
	sub, t, ok := a.submission(ic)
	if !ok {
		return ack{body: slackapi.NewErrorsViewSubmissionResponse(map[string]string{blockTitle: bot.FormLost})}
	}
	if t.Kind == kindExport {
		// Every offer of an export makes its own form: the person is
		// told of a request stored from an earlier one (exportKey).
		sub.FormID, sub.NewForm = submissionKey(ic), true
	}
	ans := a.submitter.Submit(ctx, a.voice(t.Team, ic.User.ID), sub)
	switch {
	case ans.Fields != nil:
		return ack{body: slackapi.NewErrorsViewSubmissionResponse(viewErrors(ans.Fields))}
	case ans.Error != "":
		return ack{body: slackapi.NewErrorsViewSubmissionResponse(map[string]string{blockTitle: ans.Error})}
	case ans.Tell == "":
		return ack{}
	}
	user := ic.User.ID
	return ack{after: func(ctx context.Context) {
		a.ephemeral(ctx, t.Team, t.Channel, user, t.threadTS(), ans.Tell)
	}}
}

// event handles an Events API event: uninstalls and revoked bot tokens
// remove the workspace's installation; revoked user tokens ("oauth":
// https://docs.slack.dev/reference/events/tokens_revoked lists the people
// whose tokens they were) remove those people's grants, and an uninstall
// removes every grant of the workspace (Slack revokes their tokens with it).
func (a *App) event(ev *slackevents.EventsAPIEvent) ack {
	team := ev.TeamID
	if ev.Type != slackevents.CallbackEvent || team == "" {
		return ack{}
	}
	var work []func(ctx context.Context)
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.AppUninstalledEvent:
		if a.o.Installs != nil {
			work = append(work, func(ctx context.Context) { a.removeInstall(ctx, team) })
		}
		if a.o.Grants != nil {
			work = append(work, func(ctx context.Context) { a.removeGrants(ctx, team, nil) })
		}
	case *slackevents.MessageEvent:
		if w := a.exportEvent(team, ev.EnterpriseID, e); w != nil {
			work = append(work, w)
		}
	case *slackevents.TokensRevokedEvent:
		if len(e.Tokens.Bot) > 0 && a.o.Installs != nil {
			work = append(work, func(ctx context.Context) { a.removeInstall(ctx, team) })
		}
		if people := e.Tokens.Oauth; len(people) > 0 && a.o.Grants != nil {
			work = append(work, func(ctx context.Context) { a.removeGrants(ctx, team, people) })
		}
	}
	if len(work) == 0 {
		return ack{}
	}
	return ack{after: func(ctx context.Context) {
		for _, w := range work {
			w(ctx)
		}
	}}
}

// removeGrants deletes the grants of people in team (all of the team's
// when people is nil) whose tokens Slack confirms no longer work
// (tokenDead). An event is signed with the signing secret (or comes over
// Socket Mode with the app-level token), which is not the person's
// token: whoever holds those could send one that names people whose
// tokens still work, and recordbot would lose the only copy of a valid
// token it could otherwise give back. Such a grant, and one whose token
// Slack could not be asked about, is kept (a token that has stopped
// working is still forgotten when it is next used).
func (a *App) removeGrants(ctx context.Context, team string, people []string) {
	if people == nil {
		var err error
		if people, err = a.o.Grants.People(ctx, team); err != nil {
			a.log.Error("slack: could not list the grants of an uninstalled workspace", "team", team, "err", err)
			return
		}
	}
	for _, u := range people {
		g, err := a.o.Grants.Get(ctx, team, u)
		if errors.Is(err, ErrNoGrant) {
			continue
		}
		if err != nil {
			a.log.Error("slack: could not read a revoked user grant", "team", team, "user", u, "err", err)
			continue
		}
		if dead, err := a.tokenDead(ctx, g.Token); !dead {
			a.log.Warn("slack: an event said a person's token was revoked, but Slack does not confirm it; the grant is kept",
				"team", team, "user", u, "err", errCause(err))
			continue
		}
		if err := a.o.Grants.Delete(ctx, team, u); err != nil {
			a.log.Error("slack: could not remove a revoked user grant", "team", team, "user", u, "err", err)
			continue
		}
		a.log.Info("slack: a person's token was revoked; their grant removed", "team", team, "user", u)
	}
}

// removeInstall deletes the installation of team once Slack confirms
// that its bot token no longer works, as removeGrants does a grant.
func (a *App) removeInstall(ctx context.Context, team string) {
	inst, err := a.o.Installs.Get(ctx, team)
	if errors.Is(err, ErrNotInstalled) {
		return
	}
	if err != nil {
		a.log.Error("slack: could not read an uninstalled workspace's installation", "team", team, "err", err)
		return
	}
	if dead, err := a.tokenDead(ctx, inst.BotToken); !dead {
		a.log.Warn("slack: an event said the workspace was uninstalled or its token revoked, but Slack does not confirm it; the installation is kept",
			"team", team, "err", errCause(err))
		return
	}
	if err := a.o.Installs.Delete(ctx, team); err != nil {
		a.log.Error("slack: could not remove an uninstalled workspace", "team", team, "err", err)
		return
	}
	a.log.Info("slack: workspace uninstalled or its token revoked; installation removed", "team", team)
}

// tokenDead asks Slack about tok (auth.test, which any token may call:
// https://docs.slack.dev/reference/methods/auth.test) and reports whether
// Slack answered that it no longer works (deadTokenCodes). An answer of
// ok, or no answer (err), is not dead.
func (a *App) tokenDead(ctx context.Context, tok string) (bool, error) {
	api := slackapi.New(tok, slackapi.OptionAPIURL(a.o.APIURL), slackapi.OptionHTTPClient(a.o.HTTPClient))
	_, err := api.AuthTestContext(ctx)
	if err == nil {
		return false, errors.New("auth.test answered ok: the token works")
	}
	if r, ok := errors.AsType[slackapi.SlackErrorResponse](err); ok && deadTokenCodes[r.Err] {
		return true, nil
	}
	return false, err
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

// errText is an error for a person: Slack's error code when it is one
// (a short lower-case word such as invalid_trigger_id), never the
// error's own text.
func errText(err error) string {
	if r, ok := errors.AsType[slackapi.SlackErrorResponse](err); ok && slackCode.MatchString(r.Err) {
		return "Slack said " + r.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "Slack did not answer in time"
	}
	return "Slack did not say why"
}

// errCause is an error for the log: Slack's code when it is one, else
// the error.
func errCause(err error) string {
	if r, ok := errors.AsType[slackapi.SlackErrorResponse](err); ok {
		return "Slack said " + r.Err
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// slackCode is what Slack's error codes look like
// (https://docs.slack.dev/reference/methods: "error": "invalid_auth").
var slackCode = regexp.MustCompile(`^[a-z0-9_]{1,60}$`)
