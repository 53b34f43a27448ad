package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/recordbot/recordbot/bot"
	slackbot "github.com/recordbot/recordbot/bot/slack"
	"github.com/recordbot/recordbot/capture"
	slackcap "github.com/recordbot/recordbot/capture/slack"
)

// SlackConfig configures the Slack front end (see docs/slack.md#settings).
type SlackConfig struct {
	// BotToken (SLACK_BOT_TOKEN, xoxb-) serves one workspace.
	BotToken string
	// AppToken (SLACK_APP_TOKEN, xapp-, connections:write) turns on
	// Socket Mode: no public URL needed.
	AppToken string
	// SigningSecret (SLACK_SIGNING_SECRET) turns on the HTTP endpoints.
	SigningSecret string
	// ClientID and ClientSecret (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET)
	// turn on /slack/install for installing into several workspaces
	// (over HTTP: with SigningSecret, or without BotToken), and let people
	// allow recordbot to read the direct and group messages they file
	// (see UserTokens), in Socket Mode too.
	ClientID, ClientSecret string
	// UserTokens (SLACK_USER_TOKENS) is "true", "false" or "" (on when
	// SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, PUBLIC_URL and
	// RECORDBOT_SECRET_KEY are all set): whether people may allow
	// recordbot to read the direct and group messages they file.
	UserTokens string
	// APIURL (SLACK_API_URL) overrides the Web API base URL.
	APIURL string
	// ThreadReceipt (SLACK_THREAD_RECEIPT) posts a receipt in each filed
	// thread.
	ThreadReceipt bool
	// AllowedTeams (SLACK_ALLOWED_TEAMS, comma-separated) are the
	// workspaces (T…) and Enterprise Grid organisations (E…) served;
	// required to install into workspaces.
	AllowedTeams []string
}

// teamIDRE matches a Slack workspace (T…) or Enterprise Grid organisation (E…) id.
var teamIDRE = regexp.MustCompile(`^[TE][A-Z0-9]{2,30}$`)

func (c *SlackConfig) configured() bool {
	return c.BotToken != "" || c.AppToken != "" || c.SigningSecret != "" || c.ClientID != ""
}

func (c *SlackConfig) load(getenv func(string) string) error {
	c.BotToken = strings.TrimSpace(getenv("SLACK_BOT_TOKEN"))
	c.AppToken = strings.TrimSpace(getenv("SLACK_APP_TOKEN"))
	c.SigningSecret = strings.TrimSpace(getenv("SLACK_SIGNING_SECRET"))
	c.ClientID = strings.TrimSpace(getenv("SLACK_CLIENT_ID"))
	c.ClientSecret = strings.TrimSpace(getenv("SLACK_CLIENT_SECRET"))
	c.APIURL = strings.TrimSpace(getenv("SLACK_API_URL"))
	var errs []error
	c.AllowedTeams = nil
	for _, id := range strings.Split(getenv("SLACK_ALLOWED_TEAMS"), ",") {
		id = strings.TrimSpace(id)
		switch {
		case id == "":
		case teamIDRE.MatchString(id):
			c.AllowedTeams = append(c.AllowedTeams, id)
		default:
			errs = append(errs, fmt.Errorf("SLACK_ALLOWED_TEAMS: %q is not a workspace id (T…) or an organisation id (E…)", id))
		}
	}
	c.UserTokens = strings.ToLower(strings.TrimSpace(getenv("SLACK_USER_TOKENS")))
	if c.UserTokens != "" {
		b, err := strconv.ParseBool(c.UserTokens)
		if err != nil {
			errs = append(errs, fmt.Errorf("SLACK_USER_TOKENS=%q: want true or false", c.UserTokens))
		}
		c.UserTokens = strconv.FormatBool(b)
	}
	if v := getenv("SLACK_THREAD_RECEIPT"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("SLACK_THREAD_RECEIPT=%q: want true or false", v))
		}
		c.ThreadReceipt = b
	}
	if c.BotToken != "" && !strings.HasPrefix(c.BotToken, "xoxb-") {
		errs = append(errs, errors.New("SLACK_BOT_TOKEN must be a bot token (xoxb-...), from the app's OAuth & Permissions page"))
	}
	if c.AppToken != "" && !strings.HasPrefix(c.AppToken, "xapp-") {
		errs = append(errs, errors.New("SLACK_APP_TOKEN must be an app-level token (xapp-...) with connections:write, from the app's Basic Information page"))
	}
	if c.APIURL != "" && !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/"
	}
	return errors.Join(errs...)
}

// setupSlack starts the Slack front end when it is configured; it returns a
// line for the start-up banner saying what runs or how to configure it.
func setupSlack(w *wiring, c *SlackConfig) (string, error) {
	if !c.configured() {
		return "Slack: not configured. For one workspace set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode, no public URL) " +
			"or SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (HTTP); to install into several workspaces set SLACK_CLIENT_ID, " +
			"SLACK_CLIENT_SECRET, SLACK_SIGNING_SECRET, SLACK_ALLOWED_TEAMS, PUBLIC_URL and RECORDBOT_SECRET_KEY. See docs/slack.md.", nil
	}
	if c.AppToken == "" && c.SigningSecret == "" {
		return "", errors.New("slack: set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP) so Slack can reach the bot")
	}
	hc := &http.Client{Timeout: 60 * time.Second, Transport: w.Metrics.transport(capture.Slack, nil)}
	log := w.Logger.With("platform", "slack")
	grants, dmLine, err := slackGrants(w, c)
	if err != nil {
		return "", err
	}
	installs, err := slackInstalls(w, c)
	if err != nil {
		return "", err
	}
	// The capture source finds tokens in the installation and grant
	// stores, as the front end does, not through it.
	so := slackcap.Options{
		Token:  slackbot.BotTokens(installs, c.BotToken, c.AllowedTeams),
		APIURL: c.APIURL, Logger: log, HTTPClient: hc,
	}
	if grants != nil {
		so.UserToken = grants.Token
		so.UserTokenFailed = func(ctx context.Context, team, user string) {
			if err := grants.Delete(ctx, team, user); err != nil {
				log.Error("slack: could not forget a user token that no longer works", "team", team, "user", user, "err", err)
			}
		}
	}
	src, err := slackcap.New(so)
	if err != nil {
		return "", err
	}
	o := slackbot.Options{
		HTTPClient: hc,
		Filer:      w.filer(), Threads: src, AllowedTeams: c.AllowedTeams, BotToken: c.BotToken, SigningSecret: c.SigningSecret,
		APIURL: c.APIURL, Logger: log, ThreadReceipt: c.ThreadReceipt,
		// WhatsApp exports people send in recordbot's Messages tab.
		Exports: w.exportUploads(), Files: src, ExportTimeZone: w.Config.TimeZone,
	}
	if grants != nil {
		o.Grants = grants
		o.ClientID, o.ClientSecret = c.ClientID, c.ClientSecret
		o.UserRedirectURL = w.Config.PublicURL + "/slack/oauth/user-callback"
	}
	if installs != nil {
		o.Installs = installs
		o.ClientID, o.ClientSecret = c.ClientID, c.ClientSecret
		o.RedirectURL = w.Config.PublicURL + "/slack/oauth/callback"
	}
	app, err := slackbot.New(o)
	if err != nil {
		return "", err
	}
	w.Sources[capture.Slack] = src
	if c.BotToken != "" {
		botToken, apiURL := c.BotToken, c.APIURL
		w.Readiness.add("slack", func(ctx context.Context) error {
			for _, f := range slackbot.Check(ctx, slackbot.CheckOptions{BotToken: botToken, APIURL: apiURL, HTTPClient: hc}) {
				if f.Status != bot.StatusFail {
					continue
				}
				reason := "Slack does not answer"
				switch {
				case f.Setting == bot.SettingSlackBotToken:
					reason = "Slack refuses the bot token"
				case f.Name == "slack scopes":
					reason = "the bot token lacks scopes"
				}
				return &notReady{reason: reason, err: errors.New(f.Detail)}
			}
			return nil
		})
	}
	w.Notifiers.ByPlatform[capture.Slack] = app
	// Outcomes of exports sent to the bot go back to the Slack person
	// who sent them.
	w.routeExports(slackbot.ViaExport, app)
	app.Register(w.Mux)

	var ways []string
	if c.AppToken != "" {
		appToken := c.AppToken
		w.Go("slack socket mode", func(ctx context.Context) error { return app.RunSocket(ctx, appToken) })
		ways = append(ways, "Socket Mode")
	}
	if c.SigningSecret != "" {
		where := "/slack/commands, /slack/interactivity, /slack/options, /slack/events"
		if w.Config.PublicURL != "" {
			where = w.Config.PublicURL + "/slack/..."
		}
		ways = append(ways, "HTTP at "+where)
	}
	line := "Slack: " + strings.Join(ways, " and ")
	if o.Installs != nil {
		line += "; install into a workspace at " + w.Config.PublicURL + "/slack/install" +
			" (allowed: " + strings.Join(c.AllowedTeams, ", ") + ")"
	} else {
		line += "; one workspace (SLACK_BOT_TOKEN)"
	}
	if c.ThreadReceipt {
		line += "; thread receipts on"
	}
	return line + "; " + dmLine, nil
}

// slackInstalls sets up the store of workspace installations when
// recordbot installs into workspaces; nil with one workspace's bot token.
// Installing into workspaces needs HTTP; with one workspace's bot token in
// Socket Mode, the client id serves people's grants only.
func slackInstalls(w *wiring, c *SlackConfig) (*slackbot.Installations, error) {
	if c.ClientID == "" || (c.BotToken != "" && c.SigningSecret == "") {
		if c.BotToken == "" {
			return nil, errors.New("slack: set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (install into workspaces)")
		}
		return nil, nil
	}
	if c.ClientSecret == "" || w.Config.PublicURL == "" || w.Vault == nil || c.SigningSecret == "" {
		return nil, errors.New("slack: installing into workspaces (SLACK_CLIENT_ID) needs SLACK_CLIENT_SECRET, SLACK_SIGNING_SECRET, PUBLIC_URL and RECORDBOT_SECRET_KEY too")
	}
	if len(c.AllowedTeams) == 0 {
		return nil, errors.New("slack: installing into workspaces (SLACK_CLIENT_ID) needs SLACK_ALLOWED_TEAMS: the ids of the workspaces (T…) " +
			"or Enterprise Grid organisations (E…) that may install and use recordbot, comma-separated")
	}
	inst, err := slackbot.NewInstallations(w.Store, w.Vault, nil)
	if err != nil {
		return nil, fmt.Errorf("slack: %w", withSetting(err))
	}
	return inst, nil
}

// slackGrants sets up the store of people's permissions to read the
// direct and group messages they file, when SLACK_USER_TOKENS allows and
// what it needs is configured; the line says which, and what is missing.
func slackGrants(w *wiring, c *SlackConfig) (*slackbot.Grants, string, error) {
	if c.UserTokens == "false" {
		return nil, "direct and group messages: off (SLACK_USER_TOKENS=false)", nil
	}
	var missing []string
	if c.ClientID == "" {
		missing = append(missing, "SLACK_CLIENT_ID")
	}
	if c.ClientSecret == "" {
		missing = append(missing, "SLACK_CLIENT_SECRET")
	}
	if w.Config.PublicURL == "" {
		missing = append(missing, "PUBLIC_URL")
	}
	if w.Vault == nil {
		missing = append(missing, "RECORDBOT_SECRET_KEY")
	}
	if len(missing) > 0 {
		advice := "people can file direct and group messages (which a bot cannot join) once " + strings.Join(missing, ", ") +
			" are set too: they allow recordbot through Slack's OAuth, which sends them back to PUBLIC_URL/slack/oauth/user-callback. See docs/slack.md#direct-and-group-messages"
		if c.UserTokens == "true" {
			return nil, "", errors.New("slack: SLACK_USER_TOKENS=true, but " + advice)
		}
		return nil, "direct and group messages: off; " + advice + ", or set SLACK_USER_TOKENS=false to say it stays off", nil
	}
	g, err := slackbot.NewGrants(w.Store, w.Vault, nil)
	if err != nil {
		return nil, "", fmt.Errorf("slack: %w", err)
	}
	return g, "direct and group messages: people allow recordbot at " + w.Config.PublicURL + "/slack/oauth/user-callback (SLACK_USER_TOKENS)", nil
}

// slackWho checks the bot token at start, as `bot check` does, and says
// which workspace and bot it is for, or that the check failed and why.
func slackWho(ctx context.Context, c *SlackConfig, log *slog.Logger) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, f := range slackbot.Check(ctx, slackbot.CheckOptions{BotToken: c.BotToken, APIURL: c.APIURL}) {
		if f.Status == bot.StatusFail {
			log.Warn("slack check at start failed", "check", f.Name, "detail", f.Detail)
			return "Slack WARNING, " + f.Name + ": " + f.Detail + " (run `bot check`)"
		}
		if f.Name == "slack token" {
			return "Slack workspace: " + f.Detail
		}
	}
	return "Slack workspace: not checked"
}
