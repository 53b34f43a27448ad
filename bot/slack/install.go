package slack

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/recordbot/recordbot/bot"
	slackcap "github.com/recordbot/recordbot/capture/slack"
	"github.com/recordbot/recordbot/filing"
)

// Installation is recordbot installed in one Slack workspace. It is stored
// as JSON under filing.InstallationsPrefix + "slack/", its token sealed.
type Installation struct {
	TeamID         string    `json:"team_id"`
	TeamName       string    `json:"team_name,omitempty"`
	EnterpriseID   string    `json:"enterprise_id,omitempty"`
	EnterpriseName string    `json:"enterprise_name,omitempty"`
	AppID          string    `json:"app_id,omitempty"`
	BotUserID      string    `json:"bot_user_id"`
	Scopes         string    `json:"scopes"`
	InstalledBy    string    `json:"installed_by"`
	InstalledAt    time.Time `json:"installed_at"`
	// SealedBotToken is the bot token sealed by bot.Vault.
	SealedBotToken string `json:"bot_token_sealed"`
	// BotToken is the opened token; never stored.
	BotToken string `json:"-"`
}

// Installations keeps Slack installations in the object store (the shared
// bot.Sealed store), tokens sealed. Lookups are cached for a few minutes,
// an installation missing too, so an uninstall seen by another bot process
// takes effect here within that time.
type Installations struct {
	s *bot.Sealed[Installation]
}

// NewInstallations returns installations kept in store, sealed with vault.
// clock may be nil (the system clock).
func NewInstallations(store filing.Store, vault *bot.Vault, clock filing.Clock) (*Installations, error) {
	s, err := bot.NewSealed(store, vault, bot.SealedOptions[Installation]{
		What:   "slack installation",
		Prefix: filing.InstallationsPrefix + "slack/",
		Valid:  teamIDRE.MatchString,
		Label:  func(team string) string { return "slack:" + team },
		Secrets: func(in *Installation) []bot.Secret {
			return []bot.Secret{{Name: "bot", Plain: &in.BotToken, Sealed: &in.SealedBotToken}}
		},
		Check: func(team string, in *Installation) error {
			if in.TeamID != team {
				return fmt.Errorf("it names team %q", in.TeamID)
			}
			return nil
		},
		TTL: 5 * time.Minute, CacheMissing: true, Missing: ErrNotInstalled, Clock: clock,
	})
	if err != nil {
		return nil, err
	}
	return &Installations{s: s}, nil
}

// allowedSet is the workspaces and organisations recordbot serves;
// empty serves every one.
type allowedSet map[string]bool

func newAllowedSet(ids []string) allowedSet {
	set := make(allowedSet)
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" {
			set[id] = true
		}
	}
	return set
}

// allows reports whether the workspace team (of Enterprise Grid
// organisation enterprise, when it is in one) is served.
func (set allowedSet) allows(team, enterprise string) bool {
	if team == "" {
		return false
	}
	return len(set) == 0 || set[team] || (enterprise != "" && set[enterprise])
}

var teamIDRE = regexp.MustCompile(`^[TE][A-Z0-9]{1,30}$`)

// Save stores inst (sealing its BotToken), replacing an earlier one.
func (s *Installations) Save(ctx context.Context, inst Installation) error {
	return s.s.Save(ctx, inst.TeamID, inst)
}

// Get returns the installation of team with its token opened, or an error
// matching ErrNotInstalled.
func (s *Installations) Get(ctx context.Context, team string) (Installation, error) {
	return s.s.Get(ctx, team)
}

// Delete removes the installation of team.
func (s *Installations) Delete(ctx context.Context, team string) error {
	return s.s.Delete(ctx, team)
}

// BotTokens returns the lookup of a workspace's bot token that the App and
// the capture source share: the workspace's installation in installs (nil
// when recordbot is not installed through OAuth), used only when its
// workspace or organisation is in allowed (every one when allowed is
// empty), else single, the token of the one workspace it serves.
func BotTokens(installs *Installations, single string, allowed []string) slackcap.TokenFunc {
	ok := newAllowedSet(allowed)
	return func(ctx context.Context, team string) (string, error) {
		if installs != nil {
			inst, err := installs.Get(ctx, team)
			if err == nil {
				if !ok.allows(inst.TeamID, inst.EnterpriseID) {
					return "", fmt.Errorf("workspace %s: %w", team, ErrNotAllowed)
				}
				return inst.BotToken, nil
			}
			if !errors.Is(err, ErrNotInstalled) {
				return "", err
			}
		}
		if single != "" {
			return single, nil
		}
		return "", fmt.Errorf("workspace %s: %w", team, ErrNotInstalled)
	}
}

// The OAuth state is "<expiry>.<nonce>.<mac>", also set as a cookie, so a
// callback is accepted only in the browser that started the install and
// only for 10 minutes.
const (
	stateCookie = "recordbot_slack_state"
	stateTTL    = 10 * time.Minute
)

func (a *App) stateMAC(expiry, nonce string) string {
	m := hmac.New(sha256.New, []byte("recordbot slack oauth state:"+a.o.ClientSecret))
	m.Write([]byte(expiry + "." + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (a *App) newState() string {
	b := make([]byte, 16)
	rand.Read(b)
	exp := strconv.FormatInt(a.now().Add(stateTTL).Unix(), 10)
	nonce := base64.RawURLEncoding.EncodeToString(b)
	return exp + "." + nonce + "." + a.stateMAC(exp, nonce)
}

func (a *App) checkState(state string, r *http.Request) error {
	parts := strings.Split(state, ".")
	if len(parts) != 3 || !hmac.Equal([]byte(parts[2]), []byte(a.stateMAC(parts[0], parts[1]))) {
		return bot.Unusable("the install link was not made by this recordbot", nil)
	}
	exp, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || a.now().After(time.Unix(exp, 0)) {
		return bot.Unusable("the install link has expired", nil)
	}
	c, err := r.Cookie(stateCookie)
	if err != nil || !hmac.Equal([]byte(c.Value), []byte(state)) {
		return bot.Unusable("the install was started in another browser", nil)
	}
	return nil
}

// serveInstall starts OAuth v2: it sends the admin to Slack's consent page.
func (a *App) serveInstall(w http.ResponseWriter, r *http.Request) {
	state := a.newState()
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: state, Path: "/slack/", MaxAge: int(stateTTL / time.Second),
		HttpOnly: true, Secure: strings.HasPrefix(a.o.RedirectURL, "https://"), SameSite: http.SameSiteLaxMode})
	q := url.Values{
		"client_id":    {a.o.ClientID},
		"scope":        {strings.Join(BotScopes, ",")},
		"redirect_uri": {a.o.RedirectURL},
		"state":        {state},
	}
	http.Redirect(w, r, a.o.AuthorizeURL+"?"+q.Encode(), http.StatusFound)
}

// serveCallback finishes OAuth v2: it checks the state, exchanges the code
// for the bot token and stores the installation.
func (a *App) serveCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		page(w, http.StatusBadRequest, "recordbot was not installed", "Slack said: "+bot.OAuthCode(e)+". Start again from the install link.")
		return
	}
	if err := a.checkState(q.Get("state"), r); err != nil {
		page(w, http.StatusBadRequest, "recordbot was not installed", pageVoice.Say(err, "the install link cannot be used")+" Start again from the install link.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: "", Path: "/slack/", MaxAge: -1})
	code := q.Get("code")
	if code == "" {
		page(w, http.StatusBadRequest, "recordbot was not installed", "Slack sent no code. Start again from the install link.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	res, err := slackapi.GetOAuthV2ResponseContext(ctx, a.o.HTTPClient, a.o.ClientID, a.o.ClientSecret, code, a.o.RedirectURL,
		slackapi.OAuthOptionAPIURL(a.o.APIURL))
	if err != nil {
		a.log.Warn("slack: OAuth code exchange failed", "err", errCause(err))
		page(w, http.StatusBadGateway, "recordbot was not installed", "Slack did not accept the install ("+errText(err)+"). Start again from the install link.")
		return
	}
	if res.AccessToken == "" || res.TokenType != "bot" || res.Team.ID == "" {
		page(w, http.StatusBadGateway, "recordbot was not installed", "Slack gave no bot token for a workspace (organisation-wide installs are not supported). Install it into a workspace.")
		return
	}
	if !a.allows(res.Team.ID, res.Enterprise.ID) {
		// Installed into a workspace recordbot does not serve: give the
		// token back (auth.revoke) and store nothing.
		a.log.Warn("slack: refused an install into a workspace it does not serve", "team", res.Team.ID, "enterprise", res.Enterprise.ID, "by", res.AuthedUser.ID)
		a.giveBack(r.Context(), "install into a workspace not served", res.AccessToken, res.AuthedUser.AccessToken)
		page(w, http.StatusForbidden, "recordbot was not installed",
			"This recordbot serves only its organisation's own workspaces, and "+res.Team.Name+" is not one of them. Ask the people who run recordbot to add it.")
		return
	}
	// The install asks for BotScopes and no user scope (serveInstall):
	// the bot token must hold exactly those, and no user token may come
	// with it (see scopes.go).
	missing, extra := scopeGap(BotScopes, scopeList(res.Scope))
	if res.AuthedUser.AccessToken != "" {
		extra = append(extra, "a user token for "+res.AuthedUser.ID)
	}
	if len(extra) > 0 {
		a.log.Warn("slack: refused an install granting more scopes than asked", "team", res.Team.ID, "by", res.AuthedUser.ID, "extra", strings.Join(extra, ","))
		ok := a.giveBack(r.Context(), "install granting more than asked", res.AccessToken, res.AuthedUser.AccessToken)
		page(w, http.StatusForbidden, "recordbot was not installed", refusedText(nil, extra, fate(ok),
			"Someone has added permissions to the Slack app: make its scopes those of recordbot's manifest.yml again (the app's App Manifest page), then install it again."))
		return
	}
	if len(missing) > 0 {
		// Not given back: it is the app's bot token in that workspace,
		// which may already serve it (the configured bot token or an earlier
		// installation) and does no more than recordbot asked.
		a.log.Warn("slack: refused an install lacking scopes", "team", res.Team.ID, "by", res.AuthedUser.ID, "missing", strings.Join(missing, ","))
		page(w, http.StatusForbidden, "recordbot was not installed", refusedText(missing, nil, keptText,
			"Update the Slack app from recordbot's manifest.yml (the app's App Manifest page), then install it again and allow every permission it asks for."))
		return
	}
	inst := Installation{
		TeamID: res.Team.ID, TeamName: res.Team.Name, EnterpriseID: res.Enterprise.ID, EnterpriseName: res.Enterprise.Name,
		AppID: res.AppID, BotUserID: res.BotUserID, Scopes: res.Scope, InstalledBy: res.AuthedUser.ID,
		InstalledAt: a.now().UTC(), BotToken: res.AccessToken,
	}
	if err := a.o.Installs.Save(ctx, inst); err != nil {
		a.log.Error("slack: could not store an installation", "team", inst.TeamID, "err", err)
		page(w, http.StatusInternalServerError, "recordbot was not installed", "The installation could not be stored. Try again in a minute.")
		return
	}
	a.log.Info("slack: installed", "team", inst.TeamID, "by", inst.InstalledBy, "scopes", inst.Scopes)
	page(w, http.StatusOK, "recordbot is installed in "+inst.TeamName,
		"Invite it to the channels whose threads you want to file (/invite @recordbot), then use “File as record” on any message.")
}

// pageVoice is the bot's words on an HTML page (page escapes them).
var pageVoice = bot.Voice{Markup: bot.Plain{}, Platform: "Slack"}

func page(w http.ResponseWriter, status int, title, text string) { bot.Page(w, status, title, text) }
