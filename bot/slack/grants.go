package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/recordbot/recordbot/bot"
	slackcap "github.com/recordbot/recordbot/capture/slack"
	"github.com/recordbot/recordbot/filing"
)

// A bot cannot join a 1:1 direct message, and a group direct message
// cannot gain members. To file one, the person filing allows recordbot,
// once, to read the conversations they file: Slack's OAuth v2 flow with
// user scopes only (user_scope=..., no bot scope:
// https://docs.slack.dev/authentication/installing-with-oauth) gives a
// user token for that person (oauth.v2.access's authed_user.access_token:
// https://docs.slack.dev/reference/methods/oauth.v2.access). recordbot
// keeps it sealed, per workspace and person, uses it only to read a
// direct or group message the bot cannot read when that person files it,
// and gives it back (auth.revoke:
// https://docs.slack.dev/reference/methods/auth.revoke) on
// /record forget-me. Slack's tokens_revoked event lists the people whose
// user tokens were revoked (https://docs.slack.dev/reference/events/tokens_revoked);
// their grants are removed.

// Grant is one person's permission for recordbot to read the direct and
// group messages they file in one workspace. It is stored as JSON under
// filing.InstallationsPrefix + "slack/users/", its token sealed.
type Grant struct {
	TeamID    string    `json:"team_id"`
	UserID    string    `json:"user_id"`
	Scopes    string    `json:"scopes"`
	GrantedAt time.Time `json:"granted_at"`
	// SealedToken is the user token sealed by bot.Vault.
	SealedToken string `json:"user_token_sealed"`
	// Token is the opened user token; never stored.
	Token string `json:"-"`
}

// ErrNoGrant is returned for a person who has not allowed recordbot to
// read the conversations they file. It matches slackcap.ErrNoUserToken.
var ErrNoGrant = fmt.Errorf("no permission to read the conversations this person files: %w", slackcap.ErrNoUserToken)

// Grants keeps people's user tokens in the object store (the shared
// bot.Sealed store), sealed. A grant found is cached for a minute (a token
// revoked meanwhile fails at Slack and is then forgotten); a grant not
// found is not cached, so a person who has just allowed recordbot through
// another bot process is not asked again. Delete takes effect in this
// process at once.
type Grants struct {
	s     *bot.Sealed[Grant]
	store filing.Store
	clock filing.Clock
}

// NewGrants returns grants kept in store, sealed with vault. clock may be
// nil (the system clock).
func NewGrants(store filing.Store, vault *bot.Vault, clock filing.Clock) (*Grants, error) {
	clock = filing.ClockOr(clock)
	s, err := bot.NewSealed(store, vault, bot.SealedOptions[Grant]{
		What:   "slack user grant",
		Prefix: filing.InstallationsPrefix + "slack/users/",
		Valid: func(id string) bool {
			team, user, ok := strings.Cut(id, "/")
			return ok && teamIDRE.MatchString(team) && userIDRE.MatchString(user)
		},
		Label: func(id string) string {
			team, user, _ := strings.Cut(id, "/")
			return "slack:" + team + ":user:" + user
		},
		Secrets: func(g *Grant) []bot.Secret {
			return []bot.Secret{{Plain: &g.Token, Sealed: &g.SealedToken}}
		},
		Check: func(id string, g *Grant) error {
			if g.TeamID+"/"+g.UserID != id {
				return fmt.Errorf("it names %s/%s", g.TeamID, g.UserID)
			}
			return nil
		},
		TTL: time.Minute, Missing: ErrNoGrant, Clock: clock,
	})
	if err != nil {
		return nil, err
	}
	return &Grants{s: s, store: store, clock: clock}, nil
}

var userIDRE = regexp.MustCompile(`^[UW][A-Z0-9]{1,30}$`)

// Save stores g (sealing its Token), replacing an earlier grant of the
// same person with a conditional write, so that two saves racing do not
// both believe they won.
func (s *Grants) Save(ctx context.Context, g Grant) error {
	return s.s.Save(ctx, g.TeamID+"/"+g.UserID, g)
}

// Get returns the grant of user in team with its token opened, or an
// error matching ErrNoGrant.
func (s *Grants) Get(ctx context.Context, team, user string) (Grant, error) {
	return s.s.Get(ctx, team+"/"+user)
}

// Token returns the user token of user in team: the capture source's
// delegated token lookup.
func (s *Grants) Token(ctx context.Context, team, user string) (string, error) {
	return s.s.Secret(ctx, team+"/"+user, "")
}

// Delete removes the grant of user in team; removing none is no error.
func (s *Grants) Delete(ctx context.Context, team, user string) error {
	return s.s.Delete(ctx, team+"/"+user)
}

// People lists the people of team who have a grant.
func (s *Grants) People(ctx context.Context, team string) ([]string, error) {
	if !teamIDRE.MatchString(team) {
		return nil, fmt.Errorf("slack user grants: bad team %q", team)
	}
	ids, err := s.s.IDs(ctx, team+"/")
	for i, id := range ids {
		ids[i] = strings.TrimPrefix(id, team+"/")
	}
	return ids, err
}

// statesPrefix holds a marker per used OAuth state (bot.Links).
const statesPrefix = filing.InstallationsPrefix + "slack/oauth-states/"

// A person's authorisation link works for 15 minutes, once.
const userStateTTL = 15 * time.Minute

// userLinks makes and checks the states of people's authorisation links;
// nil when the feature is off.
func (a *App) userLinks() *bot.Links {
	if a.o.Grants == nil {
		return nil
	}
	return &bot.Links{Key: []byte("recordbot slack user oauth state:" + a.o.ClientSecret), Store: a.o.Grants.store,
		Prefix: statesPrefix, TTL: userStateTTL, Clock: a.clock}
}

// UserAuthorizeLink returns the link that lets user, in team, allow
// recordbot to read the conversations they file: Slack's OAuth v2 consent
// page asking for user scopes only, for that workspace. It is "" when the
// feature is off.
func (a *App) UserAuthorizeLink(team, user string) string {
	if a.o.Grants == nil {
		return ""
	}
	state, _ := a.userLinks().New(team, user)
	q := url.Values{
		"client_id":    {a.o.ClientID},
		"user_scope":   {strings.Join(slackcap.UserScopes, ",")},
		"redirect_uri": {a.o.UserRedirectURL},
		"state":        {state},
		"team":         {team},
	}
	return a.o.AuthorizeURL + "?" + q.Encode()
}

// serveUserCallback finishes a person's authorisation: it checks the
// state (made here, not expired, not used before), exchanges the code
// for the person's user token, checks that Slack gave it for the person
// and workspace the link was made for, and stores it sealed.
func (a *App) serveUserCallback(w http.ResponseWriter, r *http.Request) {
	const fail = "recordbot was not allowed to read your conversations"
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		page(w, http.StatusBadRequest, fail, "Slack said: "+bot.OAuthCode(e)+". Nothing was stored. File the conversation again to get a new link.")
		return
	}
	links := a.userLinks()
	st, err := links.Check(q.Get("state"))
	if err != nil {
		a.log.Warn("slack: refused a user authorisation callback", "err", err)
		page(w, http.StatusBadRequest, fail, pageVoice.Say(err, "this link cannot be used")+" File the conversation again to get a new link.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	if err := links.Use(ctx, st); err != nil {
		a.log.Warn("slack: refused a user authorisation callback", "team", st.Org, "user", st.Person, "err", err)
		page(w, http.StatusBadRequest, fail, "This link cannot be used again. File the conversation again to get a new link.")
		return
	}
	code := q.Get("code")
	if code == "" {
		page(w, http.StatusBadRequest, fail, "Slack sent no code. File the conversation again to get a new link.")
		return
	}
	res, err := slackapi.GetOAuthV2ResponseContext(ctx, a.o.HTTPClient, a.o.ClientID, a.o.ClientSecret, code, a.o.UserRedirectURL,
		slackapi.OAuthOptionAPIURL(a.o.APIURL))
	if err != nil {
		a.log.Warn("slack: user authorisation code exchange failed", "team", st.Org, "user", st.Person, "err", errCause(err))
		page(w, http.StatusBadGateway, fail, "Slack did not accept it ("+errText(err)+"). File the conversation again to get a new link.")
		return
	}
	tok := res.AuthedUser.AccessToken
	if tok == "" || res.AuthedUser.TokenType != "user" || res.AuthedUser.ID != st.Person || res.Team.ID != st.Org || !a.allows(res.Team.ID, res.Enterprise.ID) {
		// Someone else followed the link, or in another workspace: give
		// the token back and store nothing.
		a.log.Warn("slack: refused a user authorisation for another person or workspace than the link's",
			"link_team", st.Org, "link_user", st.Person, "team", res.Team.ID, "user", res.AuthedUser.ID)
		a.giveBack(r.Context(), "user token for another person or workspace", tok)
		page(w, http.StatusForbidden, fail, "This link was made for someone else, or for another workspace. "+
			"Each person allows recordbot for themselves: file the conversation yourself to get your own link.")
		return
	}
	// The link asks for slackcap.UserScopes and no bot scope: the
	// person's token must hold exactly those (see scopes.go). A bot token
	// in the answer (someone added a bot scope to the link) makes the
	// grant broader than asked too, but is not given back: it is the
	// app's bot token in the workspace, which recordbot itself may use.
	missing, extra := scopeGap(slackcap.UserScopes, scopeList(res.AuthedUser.Scope))
	if res.AccessToken != "" {
		extra = append(extra, "a bot token")
	}
	if len(missing) > 0 || len(extra) > 0 {
		a.log.Warn("slack: refused a user authorisation that does not grant what was asked", "team", st.Org, "user", st.Person,
			"missing", strings.Join(missing, ","), "extra", strings.Join(extra, ","))
		ok := a.giveBack(r.Context(), "user token granting other scopes than asked", tok)
		next := "File the conversation again to get a new link, and allow everything Slack asks for; " +
			"if Slack does not ask for all of it, tell the people who run recordbot."
		if len(extra) > 0 {
			next = "Tell the people who run recordbot: the Slack app's user scopes should be those of recordbot's manifest.yml."
		}
		page(w, http.StatusForbidden, fail, refusedText(missing, extra, fate(ok), next))
		return
	}
	g := Grant{TeamID: st.Org, UserID: st.Person, Scopes: res.AuthedUser.Scope, GrantedAt: a.now().UTC(), Token: tok}
	if err := a.o.Grants.Save(ctx, g); err != nil {
		a.log.Error("slack: could not store a user grant", "team", g.TeamID, "user", g.UserID, "err", err)
		page(w, http.StatusInternalServerError, fail, "It could not be stored. File the conversation again in a minute to get a new link.")
		return
	}
	a.log.Info("slack: a person allowed recordbot to read the conversations they file", "team", g.TeamID, "user", g.UserID, "scopes", g.Scopes)
	page(w, http.StatusOK, "recordbot may now read the conversations you file",
		"Go back to Slack and file the direct or group message again: use “File as record” on its message. "+
			"recordbot reads a conversation with your permission only when you file it, and only one that it cannot read itself. "+
			"To take the permission back, type /record forget-me in Slack.")
}

// What /record forget-me tells the person. It says the permission is
// taken back only once Slack has confirmed it (see revokeToken).
const (
	forgetOff       = "recordbot keeps no permissions to read people's conversations here; there is nothing to forget."
	forgetNone      = "recordbot holds no permission of yours to read your conversations in this workspace; there is nothing to forget."
	forgetStoreDown = "Sorry, I could not reach recordbot's store to forget your permission. Nothing was changed: try again in a minute."
	forgetStarted   = "Giving your permission to read the conversations you file back to Slack… I will tell you when Slack has confirmed it."
	forgetDone      = "Done: Slack confirmed that recordbot's permission to read the conversations you file is taken back, and recordbot deleted it. " +
		forgetAfter
	forgetWasDead = "Done: your permission for recordbot to read the conversations you file no longer worked at Slack (it had already been taken back), " +
		"and recordbot deleted it. " + forgetAfter
	forgetAfter = "Records already filed stay filed. To file a direct or group message again, you will be asked to allow it again."
	forgetKept  = "Slack has taken back recordbot's permission to read the conversations you file: it no longer works. " +
		"recordbot could not delete its useless copy just now: type `/record forget-me` again in a minute to delete it."
	forgetFailed = "Sorry: Slack did not confirm that it took back recordbot's permission to read the conversations you file, " +
		"so the permission may still work. recordbot keeps it, sealed, so that it can give it back, and uses it only when you file " +
		"a direct or group message yourself.\n" +
		"• Type `/record forget-me` again in a few minutes, or\n" +
		"• remove recordbot's access yourself in Slack: click your workspace's name > *Settings & administration* > *Manage apps* > recordbot " +
		"(or ask a workspace admin to)."
)

// revokeWithin bounds giving a token back for /record forget-me; the
// person is told the outcome after it (within afterTimeout).
const revokeWithin = 20 * time.Second

// forgetMe answers /record forget-me. A grant found, it answers at once
// that the token is being given back and then, after the answer, gives
// it back to Slack (forget) and tells the person the outcome where they
// typed the command.
func (a *App) forgetMe(ctx context.Context, team, channel, user string) ack {
	if a.o.Grants == nil {
		return ack{body: ephemeralBody(forgetOff)}
	}
	ctx, cancel := context.WithTimeout(ctx, a.o.TriggerWindow)
	defer cancel()
	g, err := a.o.Grants.Get(ctx, team, user)
	if errors.Is(err, ErrNoGrant) {
		return ack{body: ephemeralBody(forgetNone)}
	}
	if err != nil {
		a.log.Error("slack: could not read a user grant to forget it", "team", team, "user", user, "err", err)
		return ack{body: ephemeralBody(forgetStoreDown)}
	}
	return ack{body: ephemeralBody(forgetStarted), after: func(ctx context.Context) {
		a.ephemeral(ctx, team, channel, user, "", a.forget(ctx, g))
	}}
}

// forget gives g's token back to Slack (auth.revoke, tried again on
// Slack's transient failures) and, only once Slack has confirmed that it
// no longer works, deletes the grant. When Slack did not confirm, the
// grant is kept, so that the token can still be given back. It returns
// what to tell the person.
func (a *App) forget(ctx context.Context, g Grant) string {
	rctx, cancel := context.WithTimeout(ctx, revokeWithin)
	outcome, err := a.revokeToken(rctx, g.Token)
	cancel()
	if outcome == tokenNotRevoked {
		a.log.Warn("slack: Slack did not confirm that a user token was revoked; the grant is kept",
			"team", g.TeamID, "user", g.UserID, "err", errCause(err))
		return forgetFailed
	}
	if err := a.o.Grants.Delete(ctx, g.TeamID, g.UserID); err != nil {
		a.log.Error("slack: a user token was revoked but its grant could not be deleted", "team", g.TeamID, "user", g.UserID, "err", err)
		return forgetKept
	}
	if outcome == tokenDead {
		a.log.Info("slack: a person took back their permission, which Slack had already ended", "team", g.TeamID, "user", g.UserID)
		return forgetWasDead
	}
	a.log.Info("slack: a person took back their permission", "team", g.TeamID, "user", g.UserID)
	return forgetDone
}

// consentWhy is consentText as a reason inside a sentence: without its
// "Sorry: " and its last full stop.
func (a *App) consentWhy(team, user string, err error) string {
	return strings.TrimSuffix(strings.TrimPrefix(a.consentText(team, user, err), "Sorry: "), ".")
}

// consentText tells a person who filed a conversation that recordbot
// needs their permission to read, with the link that gives it (or, when
// the feature is off, who can turn it on).
func (a *App) consentText(team, user string, err error) string {
	ce, _ := errors.AsType[*slackcap.ConsentError](err)
	if ce == nil {
		ce = &slackcap.ConsentError{}
	}
	link := a.UserAuthorizeLink(team, user)
	if link == "" {
		text := "recordbot cannot read this conversation. A bot cannot join a direct message or a group message, " +
			"and reading them with the permission of the person filing is not set up in this workspace: " +
			"ask the people who run recordbot to turn it on (recordbot's docs/slack.md#direct-and-group-messages)."
		if ce.Maybe {
			text += " If it is a private channel, invite @recordbot to it (/invite @recordbot) and file it again."
		}
		return text
	}
	return "Sorry: " + consentReason(ce) + ".\n" +
		"• <" + link + "|Allow recordbot to read conversations you file> (the link works for 15 minutes, for you only), then file it again.\n" +
		"• recordbot then reads a direct or group message with your permission only when you file it. " +
		"`/record forget-me` takes the permission back."
}

// consentReason says why recordbot needs the person's permission, as a
// clause: the same words as the ConsentError's own, chosen here so that
// no error's text is shown to a person.
func consentReason(ce *slackcap.ConsentError) string {
	switch {
	case ce.Maybe:
		return "recordbot cannot read this conversation. If it is a private channel, invite @recordbot to it (/invite @recordbot). " +
			"If it is a direct or group message, which recordbot cannot join, it needs your permission to read the conversations you file"
	case ce.Again:
		return "your permission for recordbot to read the conversations you file no longer works (it was revoked): it needs it again to read this direct or group message"
	}
	return "recordbot cannot join direct or group messages: it needs your permission to read the conversations you file"
}
