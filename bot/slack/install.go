package slack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/recordbot/recordbot/bot"
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

// Installations keeps Slack installations in the object store, tokens
// sealed. Lookups are cached for a few minutes, so an uninstall seen by
// another bot process takes effect here within that time.
type Installations struct {
	store filing.Store
	vault *bot.Vault
	now   func() time.Time
	ttl   time.Duration

	mu    sync.Mutex
	cache map[string]cachedInstall
}

type cachedInstall struct {
	inst Installation
	err  error
	at   time.Time
}

// NewInstallations returns installations kept in store, sealed with vault.
// now may be nil (time.Now).
func NewInstallations(store filing.Store, vault *bot.Vault, now func() time.Time) (*Installations, error) {
	if store == nil {
		return nil, errors.New("slack installations: no store")
	}
	if vault == nil {
		return nil, fmt.Errorf("slack installations: %w", bot.ErrNoKey)
	}
	if now == nil {
		now = time.Now
	}
	return &Installations{store: store, vault: vault, now: now, ttl: 5 * time.Minute, cache: make(map[string]cachedInstall)}, nil
}

var teamIDRE = regexp.MustCompile(`^[TE][A-Z0-9]{1,30}$`)

func installKey(team string) string { return filing.InstallationsPrefix + "slack/" + team + ".json" }

func sealLabel(team string) string { return "slack:" + team + ":bot" }

// Save stores inst (sealing its BotToken), replacing an earlier one.
func (s *Installations) Save(ctx context.Context, inst Installation) error {
	if !teamIDRE.MatchString(inst.TeamID) {
		return fmt.Errorf("slack installation: bad team id %q", inst.TeamID)
	}
	if inst.BotToken == "" {
		return errors.New("slack installation: no bot token")
	}
	inst.SealedBotToken = s.vault.Seal(inst.BotToken, sealLabel(inst.TeamID))
	data, err := json.MarshalIndent(inst, "", "  ")
	if err != nil {
		return err
	}
	if _, err := s.store.Put(ctx, installKey(inst.TeamID), bytes.NewReader(data), int64(len(data)),
		filing.WriteOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("store slack installation %s: %w", inst.TeamID, err)
	}
	s.mu.Lock()
	s.cache[inst.TeamID] = cachedInstall{inst: inst, at: s.now()}
	s.mu.Unlock()
	return nil
}

// Get returns the installation of team with its token opened, or an error
// matching ErrNotInstalled.
func (s *Installations) Get(ctx context.Context, team string) (Installation, error) {
	s.mu.Lock()
	c, ok := s.cache[team]
	s.mu.Unlock()
	if ok && s.now().Sub(c.at) < s.ttl {
		return c.inst, c.err
	}
	inst, err := s.load(ctx, team)
	if err != nil && !errors.Is(err, ErrNotInstalled) {
		return inst, err // storage trouble: not cached
	}
	s.mu.Lock()
	s.cache[team] = cachedInstall{inst: inst, err: err, at: s.now()}
	s.mu.Unlock()
	return inst, err
}

func (s *Installations) load(ctx context.Context, team string) (Installation, error) {
	if !teamIDRE.MatchString(team) {
		return Installation{}, fmt.Errorf("workspace %q: %w", team, ErrNotInstalled)
	}
	rc, _, err := s.store.Open(ctx, installKey(team))
	if errors.Is(err, filing.ErrNotExist) {
		return Installation{}, fmt.Errorf("workspace %s: %w", team, ErrNotInstalled)
	}
	if err != nil {
		return Installation{}, fmt.Errorf("read slack installation %s: %w", team, err)
	}
	defer rc.Close()
	var inst Installation
	if err := json.NewDecoder(rc).Decode(&inst); err != nil {
		return Installation{}, fmt.Errorf("read slack installation %s: %w", team, err)
	}
	if inst.TeamID != team {
		return Installation{}, fmt.Errorf("slack installation %s names team %q", team, inst.TeamID)
	}
	tok, err := s.vault.Open(inst.SealedBotToken, sealLabel(team))
	if err != nil {
		return Installation{}, fmt.Errorf("slack installation %s: %w", team, err)
	}
	inst.BotToken = tok
	return inst, nil
}

// Delete removes the installation of team.
func (s *Installations) Delete(ctx context.Context, team string) error {
	if !teamIDRE.MatchString(team) {
		return fmt.Errorf("slack installation: bad team id %q", team)
	}
	s.mu.Lock()
	delete(s.cache, team) // from now on no lookup here serves the old token
	s.mu.Unlock()
	if err := s.store.Delete(ctx, installKey(team)); err != nil {
		return fmt.Errorf("delete slack installation %s: %w", team, err)
	}
	s.mu.Lock()
	delete(s.cache, team)
	s.mu.Unlock()
	return nil
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
		return errors.New("the install link was not made by this recordbot")
	}
	exp, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || a.now().After(time.Unix(exp, 0)) {
		return errors.New("the install link has expired")
	}
	c, err := r.Cookie(stateCookie)
	if err != nil || !hmac.Equal([]byte(c.Value), []byte(state)) {
		return errors.New("the install was started in another browser")
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
		page(w, http.StatusBadRequest, "recordbot was not installed", "Slack said: "+e+". Start again from the install link.")
		return
	}
	if err := a.checkState(q.Get("state"), r); err != nil {
		page(w, http.StatusBadRequest, "recordbot was not installed", err.Error()+". Start again from the install link.")
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
		a.log.Warn("slack: OAuth code exchange failed", "err", errText(err))
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
		a.log.Warn("slack: refused an install into a workspace not in SLACK_ALLOWED_TEAMS", "team", res.Team.ID, "enterprise", res.Enterprise.ID, "by", res.AuthedUser.ID)
		api := slackapi.New(res.AccessToken, slackapi.OptionAPIURL(a.o.APIURL), slackapi.OptionHTTPClient(a.o.HTTPClient))
		if _, err := api.SendAuthRevokeContext(ctx, res.AccessToken); err != nil {
			a.log.Warn("slack: could not revoke the refused install's token", "team", res.Team.ID, "err", errText(err))
		}
		page(w, http.StatusForbidden, "recordbot was not installed",
			"This recordbot serves only its organisation's own workspaces, and "+res.Team.Name+" is not one of them. Ask the people who run recordbot to add it.")
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

func page(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>%s</title></head><body><h1>%s</h1><p>%s</p></body></html>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}
