package teams

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/teams/entra"
)

// serveConsent finishes a person's sign-in (Consent.redeem) and tells
// them, on a page, what became of it. What Microsoft sends back is not
// trusted: its error description is never shown (anyone can make a link
// to this page with any text in it), only the words for known codes.
func (a *App) serveConsent(w http.ResponseWriter, r *http.Request) {
	const fail = "recordbot was not allowed to read your files"
	again := " Use “Allow recordbot to read shared files” again in Teams to get a new link."
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		a.log.Info("teams: a sign-in came back without permission", "error", bot.OAuthCode(e))
		bot.Page(w, http.StatusBadRequest, fail, signInRefused(e)+" Nothing was stored.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	g, err := a.o.Consent.redeem(ctx, q.Get("state"), q.Get("code"))
	if err == nil {
		a.log.Info("teams: a person allowed recordbot to read the files shared in what they file", "tenant", g.Tenant, "user", g.User)
		bot.Page(w, http.StatusOK, "recordbot may now read the files shared in what you file",
			"Go back to Teams and press File in the form (or use File as record again). "+
				"recordbot reads a file with your permission only when you file a conversation that shares it, "+
				"and keeps it in the record. To take the permission back, write “forget me” to recordbot in Teams.")
		return
	}
	a.log.Warn("teams: refused a sign-in", "err", err)
	p, isProblem := capture.ProblemOf(err)
	e, isLogin := errors.AsType[*entra.Error](err)
	switch {
	case isProblem && p.Kind == capture.Unusable:
		bot.Page(w, http.StatusBadRequest, fail, bot.Voice{Markup: bot.Plain{}}.Say(err, "this link cannot be used")+again)
	case errors.Is(err, bot.ErrLinkUsed):
		bot.Page(w, http.StatusBadRequest, fail, "This link was already used."+again)
	case errors.Is(err, errOtherPerson):
		bot.Page(w, http.StatusForbidden, fail, "You signed in as someone else than the person the link was made for, "+
			"or in another organisation. Each person allows recordbot for themselves, with the account they use in Teams: "+
			"use the button in Teams yourself and choose that account. Nothing was stored.")
	case errors.Is(err, errNoFiles), errors.Is(err, errNoRefresh):
		bot.Page(w, http.StatusForbidden, fail, "Microsoft did not give recordbot the permission it asked for (reading files, "+
			"for as long as you allow it). Nothing was stored. Tell the people who run recordbot: the app registration's "+
			"delegated permissions should be those of docs/teams.md.")
	case isLogin && e.Code == "invalid_grant":
		bot.Page(w, http.StatusBadRequest, fail, "The sign-in took too long, or its code was already used. Nothing was stored."+again)
	case isLogin && (e.AppRefused() || e.Code == "invalid_request" || e.Code == "invalid_scope"):
		bot.Page(w, http.StatusBadGateway, fail, "Microsoft refuses recordbot's app registration for this ("+bot.OAuthCode(e.Code)+"). "+
			"Nothing was stored. Tell the people who run recordbot (docs/teams.md).")
	case isLogin || errors.Is(err, context.DeadlineExceeded):
		bot.Page(w, http.StatusBadGateway, fail, "Microsoft did not answer in time. Nothing was stored."+again)
	default:
		bot.Page(w, http.StatusInternalServerError, fail, "recordbot could not store your permission. Nothing was stored."+again)
	}
}

// signInRefused says what an error the authorization endpoint sent back
// means ("Error response" of the authorization request,
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#error-response).
func signInRefused(code string) string {
	switch code {
	case "access_denied":
		return "You did not allow it, or your organisation lets only an administrator allow an app to read files. " +
			"If Microsoft said an administrator must approve, ask your Microsoft 365 administrator to grant recordbot's " +
			"Files.Read.All for the organisation (docs/teams.md)."
	case "consent_required", "interaction_required", "login_required":
		return "Microsoft needs more from you or from an administrator before recordbot may read files: " +
			"try again, and if it says an administrator must approve, ask your Microsoft 365 administrator (docs/teams.md)."
	case "invalid_request", "unauthorized_client", "invalid_client", "invalid_scope", "unsupported_response_type":
		return "Microsoft refuses recordbot's app registration for this (" + code + "): tell the people who run recordbot (docs/teams.md)."
	case "server_error", "temporarily_unavailable":
		return "Microsoft could not finish the sign-in just now: try again in a few minutes."
	}
	return "Microsoft did not give the permission."
}

// Words of the personal chat: what a person may write to the bot.
const (
	sayAllow  = "allow files"
	sayForget = "forget me"
)

// personalHelp is the answer to anything else written to the bot.
func (a *App) personalHelp() string {
	s := "I file Teams conversations as records: use **File as record** in the … menu of a message in a channel or a group chat."
	if a.o.Consent != nil {
		s += "\n\nWrite **" + sayAllow + "** to let me keep the files shared in the conversations you file, " +
			"and **" + sayForget + "** to take that back."
	}
	if a.o.Exports != nil {
		s += "\n\n" + strings.TrimSpace(a.intake().Answer(0))
	}
	return s
}

// mentionRE is a mention of the bot in a message's text.
var mentionRE = regexp.MustCompile(`(?is)<at>.*?</at>`)

// command reads what a person wrote to the bot as one of its words.
func command(text string) string {
	t := mentionRE.ReplaceAllString(text, " ")
	t = strings.ToLower(strings.Join(strings.Fields(strings.Trim(strings.TrimSpace(t), ".!?")), " "))
	switch t {
	case sayAllow, "allow", "sign in", "signin":
		return sayAllow
	case sayForget, "forget":
		return sayForget
	}
	return ""
}

// personal answers a message a person wrote to the bot in their
// personal chat, after the request is answered. The message's text is
// read for the bot's words only, never logged.
func (a *App) personal(act *activity) func(context.Context) {
	if after := a.personalFiles(act); after != nil {
		return after // files sent: a WhatsApp export (dm.go)
	}
	to := Personal{ServiceURL: act.ServiceURL, Tenant: act.tenant(), User: act.From.ID}
	who := act.From.AADObjectID
	sent := len(act.files())
	return func(ctx context.Context) {
		text := a.personalHelp()
		if sent > 0 {
			// Files, when exports are not taken here: said, not dropped.
			text = "I do not take files in Teams here: recordbot is not set up to file WhatsApp exports sent to it. " +
				"Ask the records team, who can file an export with `bot import whatsapp`.\n\n" + text
		}
		switch command(act.Text) {
		case sayAllow:
			text = a.allowText(who)
		case sayForget:
			text = a.forgetText(ctx, to.Tenant, who)
		}
		if err := a.o.Messenger.Send(ctx, to, text); err != nil {
			a.log.Warn("teams: could not answer a person in their personal chat", "user", to.User, "err", err)
		}
	}
}

// allowText gives a person their sign-in link.
func (a *App) allowText(user string) string {
	if a.o.Consent == nil {
		return "recordbot is not set up to read the files shared in Teams, so it keeps their links only. " +
			"Ask the people who run recordbot to turn it on (docs/teams.md)."
	}
	if user == "" {
		return "Teams did not say who you are; try again."
	}
	m := markdown{}
	return m.Link(a.o.Consent.Link(a.o.Tenant, user), "Allow recordbot to read the files shared in conversations you file") +
		" (the link works for 15 minutes, for you only; sign in with your work account).\n\n" +
		"recordbot then reads a file with your permission only when you file a conversation that shares it. Write **" + sayForget + "** to take it back."
}

// forgetText deletes a person's grant and says so.
func (a *App) forgetText(ctx context.Context, tenant, user string) string {
	if a.o.Consent == nil {
		return "recordbot keeps no permission to read people's files here; there is nothing to forget."
	}
	found, err := a.o.Consent.Forget(ctx, tenant, user)
	switch {
	case err != nil:
		a.log.Error("teams: could not delete a person's file permission", "tenant", tenant, "user", user, "err", err)
		return "Sorry, I could not reach recordbot's store to forget your permission. Nothing was changed: try again in a minute."
	case !found:
		return "recordbot holds no permission of yours to read files; there is nothing to forget."
	}
	a.log.Info("teams: a person took back their file permission", "tenant", tenant, "user", user)
	return "Done: recordbot deleted its only copy of your permission to read files, so it can no longer use it. " +
		"Records already filed stay filed; files shared in what you file next are kept as links. " +
		"Microsoft still lists recordbot among the apps you allowed until your Microsoft 365 administrator removes it " +
		"(Microsoft Entra admin center, Enterprise applications, recordbot, Permissions)."
}
