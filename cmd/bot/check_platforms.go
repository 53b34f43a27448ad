package main

import (
	"context"
	"strings"

	"github.com/recordbot/recordbot/bot"
	mmbot "github.com/recordbot/recordbot/bot/mattermost"
	slackbot "github.com/recordbot/recordbot/bot/slack"
)

// add copies a platform's findings into f.
func (f *findings) add(fs []bot.Finding) {
	for _, x := range fs {
		*f = append(*f, finding{Name: x.Name, Status: x.Status, Detail: settingDetail(x)})
	}
}

// checkSlack checks the Slack configuration, when there is one.
func (m *Main) checkSlack(ctx context.Context, f *findings) {
	c := &m.Config.Slack
	if !c.configured() {
		f.ok("slack", "not configured (skipped)")
		return
	}
	if c.AppToken == "" && c.SigningSecret == "" {
		f.fail("slack", "set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP) so Slack can reach the bot")
	}
	if c.BotToken == "" && c.ClientID == "" {
		f.fail("slack", "set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (install into workspaces)")
	}
	m.checkSlackURL(f)
	f.add(slackbot.Check(ctx, slackbot.CheckOptions{BotToken: c.BotToken, AppToken: c.AppToken, APIURL: c.APIURL}))
}

// checkSlackURL checks PUBLIC_URL when Slack must reach the bot through
// it: in HTTP mode (a signing secret and no app token) for every request,
// and for installs (a client id) for the OAuth redirect. Slack sends
// either only to an https:// address.
func (m *Main) checkSlackURL(f *findings) {
	c := &m.Config.Slack
	var why string
	switch {
	case c.AppToken == "" && c.SigningSecret != "":
		why = "Slack's HTTP mode sends every request to it"
	case c.ClientID != "":
		why = "Slack sends people back to it after they install the app"
	default:
		return // Socket Mode with one workspace: no public address needed
	}
	u := m.Config.PublicURL
	switch {
	case u == "":
		f.fail("public url", "PUBLIC_URL is not set: %s; set it to the bot's https:// address", why)
	case !strings.HasPrefix(strings.ToLower(u), "https://"):
		f.fail("public url", "PUBLIC_URL %s is not HTTPS: %s, and Slack only uses https:// addresses; put a reverse proxy with TLS in front of the bot (docs/operating.md#https)", u, why)
	}
}

// checkMattermost checks the Mattermost configuration, when there is one.
func (m *Main) checkMattermost(ctx context.Context, f *findings) {
	c := &m.Config.Mattermost
	if c.URL == "" {
		f.ok("mattermost", "not configured (skipped)")
		return
	}
	st, _, err := m.open(ctx)
	if err != nil {
		f.fail("mattermost install", "cannot read the installation from the store: %v", err)
		return
	}
	var vault *bot.Vault
	if m.Config.SecretKey != "" {
		vault, _ = bot.NewVault(m.Config.SecretKey) // a bad key is reported by checkSecret
	}
	f.add(mmbot.Check(ctx, mmbot.CheckOptions{Server: c.URL, PublicURL: m.Config.PublicURL, Store: st, Vault: vault}))
}
