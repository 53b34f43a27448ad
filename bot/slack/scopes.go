package slack

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Checking what Slack granted. oauth.v2.access answers with the scopes a
// token holds: the bot token's in "scope", the person's user token's in
// "authed_user.scope", each a comma-separated list
// (https://docs.slack.dev/reference/methods/oauth.v2.access). They need
// not be those asked for: Slack's scopes add up, so the answer lists
// every scope the app holds in the workspace, including scopes added to
// the app's configuration since (https://docs.slack.dev/authentication/installing-with-oauth),
// and since 2026 a person may decline the scopes an app marks optional
// (https://docs.slack.dev/changelog/2026/03/16/optional-scopes). recordbot
// keeps a token only when it holds exactly what recordbot asked for
// (BotScopes, slackcap.UserScopes, both in manifest.yml): a token that
// can do more than recordbot needs is power that whoever changed the app
// could use through recordbot's store, and a token that can do less
// would fail people later. A grant broader than asked is given back at
// once (auth.revoke); nothing is stored for a refused grant.

// scopeList splits Slack's list of scopes (commas; spaces tolerated).
func scopeList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// scopeGap returns the scopes asked for that granted lacks, and the
// scopes granted that were not asked for, each sorted.
func scopeGap(asked, granted []string) (missing, extra []string) {
	for _, s := range asked {
		if !slices.Contains(granted, s) {
			missing = append(missing, s)
		}
	}
	for _, s := range granted {
		if !slices.Contains(asked, s) {
			extra = append(extra, s)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return missing, extra
}

// giveBackWithin bounds giving back the tokens of a refused grant while
// the person's browser waits for the OAuth page: with the code exchange
// (at most 15 s), it stays within the HTTP server's 30 s to write an
// answer (cmd/bot's httpLimits).
const giveBackWithin = 10 * time.Second

// giveBack gives each token back to Slack (revokeToken, on a context
// that outlives the browser's request, within giveBackWithin) and
// reports whether Slack confirmed that none of them works any more.
func (a *App) giveBack(ctx context.Context, what string, tokens ...string) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), giveBackWithin)
	defer cancel()
	all := true
	for _, tok := range tokens {
		if tok == "" {
			continue
		}
		if outcome, err := a.revokeToken(ctx, tok); outcome == tokenNotRevoked {
			a.log.Warn("slack: Slack did not confirm that a refused token was revoked", "what", what, "err", errCause(err))
			all = false
		}
	}
	return all
}

// What became of the token of a refused grant, as the OAuth pages say it.
const (
	// kept: not given back (a workspace's bot token, which serves its
	// installation as it was); nothing stored.
	keptText = "Nothing was stored."
	// givenBack: Slack confirmed the token no longer works.
	givenBackText = "Nothing was stored, and the permission was given back to Slack."
	// notGivenBack: Slack did not confirm it.
	notGivenBackText = "Nothing was stored. Slack did not confirm that it took the permission back, so it may still work: " +
		"remove recordbot's access in Slack (click the workspace's name > Settings & administration > Manage apps > recordbot), " +
		"or ask a workspace admin to."
)

// refusedText says, on the install or authorisation page, why Slack's
// grant was refused (the scopes it adds, or those it lacks), what became
// of the token (one of the texts above), and what to do next.
func refusedText(missing, extra []string, fate, next string) string {
	why := "Slack granted recordbot less than it needs (missing " + strings.Join(missing, ", ") + "). "
	if len(extra) > 0 {
		why = "Slack granted recordbot more than it asked for (also " + strings.Join(extra, ", ") +
			"), and recordbot keeps no permission it does not need. "
	}
	return why + fate + " " + next
}

// fate is givenBackText or notGivenBackText as Slack confirmed or not.
func fate(confirmed bool) string {
	if confirmed {
		return givenBackText
	}
	return notGivenBackText
}
