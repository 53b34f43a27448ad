package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/recordbot/recordbot/bot"
	mmbot "github.com/recordbot/recordbot/bot/mattermost"
	"github.com/recordbot/recordbot/capture"
	mmcapture "github.com/recordbot/recordbot/capture/mattermost"
)

// MattermostConfig configures the Mattermost front end (see
// docs/mattermost.md#settings).
type MattermostConfig struct {
	// URL is the Mattermost server (MATTERMOST_URL).
	URL string
	// AdminToken is a system admin's personal access token, used by
	// `bot mattermost install|uninstall` only (MATTERMOST_ADMIN_TOKEN).
	AdminToken string
	// Reaction is the emoji that offers filing (MATTERMOST_REACTION,
	// default card_file_box).
	Reaction string
	// BotUsername is the bot account install creates or reuses
	// (MATTERMOST_BOT_USERNAME, default recordbot).
	BotUsername string

	// transport is for tests; nil in production.
	transport http.RoundTripper
}

func (c *MattermostConfig) load(getenv func(string) string) error {
	c.URL = strings.TrimRight(strings.TrimSpace(getenv("MATTERMOST_URL")), "/")
	c.AdminToken = strings.TrimSpace(getenv("MATTERMOST_ADMIN_TOKEN"))
	c.Reaction = strings.Trim(envOr(getenv, "MATTERMOST_REACTION", "card_file_box"), ": ")
	c.BotUsername = envOr(getenv, "MATTERMOST_BOT_USERNAME", "recordbot")
	if c.URL != "" && !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		return fmt.Errorf("MATTERMOST_URL=%q: want the server's address, such as https://chat.example.org", c.URL)
	}
	return nil
}

// setupMattermost starts the Mattermost front end when it is configured; it
// returns a line for the start-up banner saying what runs or how to
// configure it.
func setupMattermost(w *wiring, c *MattermostConfig) (string, error) {
	if c.URL == "" {
		return "Mattermost: off (to file Mattermost threads set MATTERMOST_URL, PUBLIC_URL and RECORDBOT_SECRET_KEY, then run `bot mattermost install --team TEAM`; see docs/mattermost.md#install-once-per-server-then-per-team)", nil
	}
	if w.Vault == nil {
		return "", fmt.Errorf("MATTERMOST_URL is set but %w", withSetting(bot.ErrNoKey))
	}
	log := w.Logger.With("platform", "mattermost")
	server, err := mmcapture.NormalizeURL(c.URL)
	if err != nil {
		return "", err
	}
	// One installation store for the front end and the worker's capture
	// source, which takes the bot token from it, not through the front end.
	installs, err := mmbot.NewInstallations(w.Store, w.Vault, 30*time.Second, nil)
	if err != nil {
		return "", err
	}
	app, err := mmbot.New(mmbot.Options{
		Server: c.URL, PublicURL: w.Config.PublicURL, Store: w.Store, Vault: w.Vault, Installs: installs,
		Filer: w.filer(), Logger: log, Reaction: c.Reaction,
		Transport: w.Metrics.transport(capture.Mattermost, c.transport),
		// WhatsApp exports people send to @recordbot in a direct message.
		Exports: w.exportUploads(), ExportTimeZone: w.Config.TimeZone,
	})
	if err != nil {
		return "", withSetting(err)
	}
	app.Register(w.Mux)
	src, err := mmcapture.NewTokened(mmcapture.Options{URL: server, Logger: log, Transport: w.Metrics.transport(capture.Mattermost, c.transport)},
		mmbot.BotToken(installs, server))
	if err != nil {
		return "", err
	}
	w.Sources[capture.Mattermost] = src
	w.Notifiers.ByPlatform[capture.Mattermost] = app
	w.routeExports(mmbot.ViaExport, app)
	w.Go("mattermost websocket", app.Listen)
	pingClient := &http.Client{Timeout: 5 * time.Second, Transport: w.Metrics.transport(capture.Mattermost, c.transport)}
	w.Readiness.add("mattermost", func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"/api/v4/system/ping", nil)
		if err != nil {
			return err
		}
		resp, err := pingClient.Do(req)
		if err != nil {
			reason := "the server does not answer"
			if errors.Is(err, context.DeadlineExceeded) {
				reason = "the server did not answer in time"
			}
			return &notReady{reason: reason, err: fmt.Errorf("%s does not answer: %w", server, err)}
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return &notReady{reason: fmt.Sprintf("the server answered HTTP %d", resp.StatusCode), err: fmt.Errorf("%s answered %s", server, resp.Status)}
		}
		return nil
	})

	inst, err := installs.Get(context.Background(), server)
	switch {
	case errors.Is(err, bot.ErrUnsealed):
		return fmt.Sprintf("Mattermost: %s, WARNING: the stored tokens do not open with RECORDBOT_SECRET_KEY (it differs from the one used at install): "+
			"restore it, or run `bot mattermost install` again", c.URL), nil
	case errors.Is(err, mmbot.ErrNotInstalled):
	case err != nil:
		return "", err
	}
	if len(inst.Teams) == 0 {
		return fmt.Sprintf("Mattermost: %s, not installed yet: run `bot mattermost install --team TEAM` (with MATTERMOST_ADMIN_TOKEN); commands reach %s%s", c.URL, w.Config.PublicURL, mmbot.CommandPath), nil
	}
	var teams []string
	for _, t := range inst.Teams {
		teams = append(teams, t.TeamName)
	}
	return fmt.Sprintf("Mattermost: %s as @%s, /%s on %s; react with :%s: to offer filing", c.URL, inst.BotUsername, mmbot.Trigger, strings.Join(teams, ", "), c.Reaction), nil
}

// teamsFlag collects --team values (repeatable, or comma-separated).
type teamsFlag []string

func (t *teamsFlag) String() string { return strings.Join(*t, ",") }

func (t *teamsFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*t = append(*t, s)
		}
	}
	return nil
}

const mattermostUsage = `usage: bot mattermost install --team TEAM [--team TEAM...] [--url URL]
       bot mattermost uninstall [--team TEAM...] [--url URL]
       bot mattermost doctor [--url URL]

install creates (or reuses) the bot account and its access token, registers
/record on each team, pointing at PUBLIC_URL/mattermost/command, and stores
the tokens sealed with RECORDBOT_SECRET_KEY. Running it again changes nothing.
uninstall removes /record from the teams (all when none is named); once no
team is left it revokes the token and disables the bot account it created.

doctor says, before install, what the server still lacks: each setting
install and the bot need (bot accounts, personal access tokens, custom
slash commands, and the Site URL), the admin token, and whether the server may
call PUBLIC_URL, with the System Console place to change each.

All need MATTERMOST_ADMIN_TOKEN: a system admin's personal access token.
`

// runMattermost runs `bot mattermost install|uninstall ...`.
func (m *Main) runMattermost(ctx context.Context, args []string) error {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(m.Stdout, mattermostUsage)
		return nil
	}
	if len(args) == 0 || (args[0] != "install" && args[0] != "uninstall" && args[0] != "doctor") {
		fmt.Fprint(m.Stderr, mattermostUsage)
		return errors.New("mattermost: say install, uninstall or doctor")
	}
	sub := args[0]
	fs := flag.NewFlagSet("bot mattermost "+sub, flag.ContinueOnError)
	var teams teamsFlag
	url := fs.String("url", "", "Mattermost server `URL` (MATTERMOST_URL)")
	botName := fs.String("bot-username", "", "bot account `name` (MATTERMOST_BOT_USERNAME, default recordbot)")
	fs.Var(&teams, "team", "team `name` (its URL name); repeat for several")
	fs.Usage = func() { fmt.Fprint(m.Stderr, mattermostUsage); fs.PrintDefaults() }
	if err := m.parse(fs, args[1:]); err != nil {
		return err
	}
	c := &m.Config.Mattermost
	if *url != "" {
		c.URL = strings.TrimRight(*url, "/")
	}
	if *botName != "" {
		c.BotUsername = *botName
	}
	if c.URL == "" {
		return errors.New("mattermost: give the server with --url or MATTERMOST_URL")
	}
	if sub == "doctor" {
		return m.mattermostDoctor(ctx)
	}
	if m.Config.SecretKey == "" {
		return fmt.Errorf("mattermost: %w", withSetting(bot.ErrNoKey))
	}
	vault, err := bot.NewVault(m.Config.SecretKey)
	if err != nil {
		return err
	}
	store, _, err := m.open(ctx)
	if err != nil {
		return err
	}
	in := &mmbot.Installer{
		Server: c.URL, AdminToken: c.AdminToken, PublicURL: m.Config.PublicURL, Store: store, Vault: vault,
		BotUsername: c.BotUsername, Transport: c.transport, Logger: m.Logger, Out: m.Stdout,
	}
	if sub == "install" {
		if _, err := in.Install(ctx, teams); err != nil {
			return fmt.Errorf("mattermost install: %w", withSetting(err))
		}
		fmt.Fprintf(m.Stdout, "Done. Start the bot (bot serve) with MATTERMOST_URL=%s; staff type /%s in a thread.\n", c.URL, mmbot.Trigger)
		return nil
	}
	if err := in.Uninstall(ctx, teams); err != nil {
		return fmt.Errorf("mattermost uninstall: %w", withSetting(err))
	}
	return nil
}

// mattermostDoctor runs `bot mattermost doctor`: a line per thing the
// server needs, as `bot check` prints them; exit status 1 if any fails.
func (m *Main) mattermostDoctor(ctx context.Context) error {
	c := &m.Config.Mattermost
	var f findings
	f.add(mmbot.Doctor(ctx, mmbot.DoctorOptions{Server: c.URL, AdminToken: c.AdminToken, PublicURL: m.Config.PublicURL,
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: c.transport}}))
	f.print(m.Stdout)
	if f.failed() {
		return &exitError{code: 1, err: errors.New("fix what failed, then run `bot mattermost doctor` again")}
	}
	fmt.Fprintln(m.Stdout, "the server is ready: run `bot mattermost install --team TEAM`")
	return nil
}
