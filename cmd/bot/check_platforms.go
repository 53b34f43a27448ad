package main

import (
	"context"

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
	f.add(slackbot.Check(ctx, slackbot.CheckOptions{BotToken: c.BotToken, AppToken: c.AppToken, APIURL: c.APIURL}))
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
