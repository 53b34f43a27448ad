package slack_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	slackbot "github.com/recordbot/recordbot/bot/slack"
	slackcap "github.com/recordbot/recordbot/capture/slack"
)

// manifest.yml must ask for the scopes the OAuth install asks for (bot)
// and the user scopes a person's authorisation asks for, list both OAuth
// redirects, name the shortcut and command the handlers answer, subscribe
// to the events that remove an installation or a person's grant, and keep
// the Messages tab that people are told things in.
func TestManifest(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../manifest.yml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			AppHome struct {
				Messages bool `yaml:"messages_tab_enabled"`
				ReadOnly bool `yaml:"messages_tab_read_only_enabled"`
			} `yaml:"app_home"`
			Shortcuts []struct {
				Type       string `yaml:"type"`
				CallbackID string `yaml:"callback_id"`
			} `yaml:"shortcuts"`
			SlashCommands []struct {
				Command string `yaml:"command"`
				URL     string `yaml:"url"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
		OAuth struct {
			RedirectURLs []string `yaml:"redirect_urls"`
			Scopes       struct {
				Bot  []string `yaml:"bot"`
				User []string `yaml:"user"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Events struct {
				URL       string   `yaml:"request_url"`
				BotEvents []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				Enabled    bool   `yaml:"is_enabled"`
				URL        string `yaml:"request_url"`
				OptionsURL string `yaml:"message_menu_options_url"`
			} `yaml:"interactivity"`
			SocketMode bool `yaml:"socket_mode_enabled"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("manifest.yml: %v", err)
	}
	got := slices.Sorted(slices.Values(m.OAuth.Scopes.Bot))
	want := slices.Sorted(slices.Values(slackbot.BotScopes))
	if !slices.Equal(got, want) {
		t.Errorf("manifest bot scopes = %v, want %v", got, want)
	}
	gotUser := slices.Sorted(slices.Values(m.OAuth.Scopes.User))
	wantUser := slices.Sorted(slices.Values(slackcap.UserScopes))
	if !slices.Equal(gotUser, wantUser) {
		t.Errorf("manifest user scopes = %v, want %v", gotUser, wantUser)
	}
	for _, s := range gotUser {
		if !strings.HasPrefix(s, "im:") && !strings.HasPrefix(s, "mpim:") && s != "files:read" {
			t.Errorf("manifest user scope %q reaches beyond direct and group messages", s)
		}
	}
	if !m.Features.AppHome.Messages {
		t.Error("manifest: the App Home Messages tab is off; people are told things there")
	}
	// People send WhatsApp exports in the Messages tab: it must take
	// messages, and the bot must hear them (message.im, with im:history:
	// https://docs.slack.dev/reference/events/message.im).
	if m.Features.AppHome.ReadOnly {
		t.Error("manifest: the Messages tab is read-only; people send WhatsApp exports there")
	}
	if !slices.Contains(m.Settings.Events.BotEvents, "message.im") || !slices.Contains(m.OAuth.Scopes.Bot, "im:history") {
		t.Errorf("manifest bot events = %v, want message.im (with the im:history scope)", m.Settings.Events.BotEvents)
	}
	if len(m.OAuth.RedirectURLs) != 2 || m.OAuth.RedirectURLs[1] != "https://recordbot.example.org/slack/oauth/user-callback" {
		t.Errorf("manifest redirect URLs = %v, want the install callback and /slack/oauth/user-callback", m.OAuth.RedirectURLs)
	}
	if len(m.Features.Shortcuts) != 1 || m.Features.Shortcuts[0].Type != "message" || m.Features.Shortcuts[0].CallbackID != slackbot.ShortcutID {
		t.Errorf("manifest shortcuts = %+v, want one message shortcut %q", m.Features.Shortcuts, slackbot.ShortcutID)
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != slackbot.Command {
		t.Errorf("manifest slash commands = %+v, want %s", m.Features.SlashCommands, slackbot.Command)
	}
	urls := map[string]string{
		"/slack/commands":       m.Features.SlashCommands[0].URL,
		"/slack/events":         m.Settings.Events.URL,
		"/slack/interactivity":  m.Settings.Interactivity.URL,
		"/slack/options":        m.Settings.Interactivity.OptionsURL,
		"/slack/oauth/callback": m.OAuth.RedirectURLs[0],
	}
	for path, u := range urls {
		if u != "https://recordbot.example.org"+path {
			t.Errorf("manifest URL for %s = %q", path, u)
		}
	}
	if !slices.Contains(m.Settings.Events.BotEvents, "app_uninstalled") || !slices.Contains(m.Settings.Events.BotEvents, "tokens_revoked") {
		t.Errorf("manifest bot events = %v, want app_uninstalled and tokens_revoked", m.Settings.Events.BotEvents)
	}
	if !m.Settings.Interactivity.Enabled || !m.Settings.SocketMode {
		t.Errorf("manifest: interactivity %v, socket mode %v; want both on", m.Settings.Interactivity.Enabled, m.Settings.SocketMode)
	}
}
