package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

func TestSlackConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		vault   bool
		public  string
		loadErr string
		err     string
		banner  string
		routes  bool
	}{
		{name: "unconfigured", banner: "set SLACK_BOT_TOKEN and SLACK_APP_TOKEN"},
		{name: "not a bot token", env: map[string]string{"SLACK_BOT_TOKEN": "xoxp-1"}, loadErr: "SLACK_BOT_TOKEN must be a bot token"},
		{name: "bad receipt flag", env: map[string]string{"SLACK_THREAD_RECEIPT": "sometimes"}, loadErr: "SLACK_THREAD_RECEIPT"},
		{name: "no way in", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, err: "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET"},
		{name: "http", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, banner: "Slack: HTTP at /slack/commands", routes: true},
		{name: "install without key", env: map[string]string{"SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2", "SLACK_SIGNING_SECRET": "s"}, public: "https://rb.example.org", err: "RECORDBOT_SECRET_KEY"},
		{name: "bad allowed team", env: map[string]string{"SLACK_ALLOWED_TEAMS": "T0123, acme"}, loadErr: `SLACK_ALLOWED_TEAMS: "acme"`},
		{name: "install without allow-list", env: map[string]string{"SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2", "SLACK_SIGNING_SECRET": "s"}, vault: true, public: "https://rb.example.org",
			err: "needs SLACK_ALLOWED_TEAMS"},
		{name: "install", env: map[string]string{"SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2", "SLACK_SIGNING_SECRET": "s", "SLACK_THREAD_RECEIPT": "true", "SLACK_ALLOWED_TEAMS": "T0123, E0456"},
			vault: true, public: "https://rb.example.org",
			banner: "install into a workspace at https://rb.example.org/slack/install (allowed: T0123, E0456); thread receipts on", routes: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c SlackConfig
			err := c.load(func(k string) string { return tt.env[k] })
			if tt.loadErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.loadErr) {
					t.Fatalf("load() = %v, want an error about %q", err, tt.loadErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("load() = %v", err)
			}
			store, err := filing.OpenLocal(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			svc, err := filing.NewService(filing.Options{Store: store, Plan: filing.SamplePlan()})
			if err != nil {
				t.Fatal(err)
			}
			w := &wiring{Config: &Config{PublicURL: tt.public}, Service: svc, Store: store, Plan: svc.Plan(),
				Mux: http.NewServeMux(), Sources: capture.Sources{}, Logger: slog.New(slog.DiscardHandler),
				Notifiers: &bot.Notifiers{ByPlatform: map[capture.Platform]filing.Notifier{}},
				Go:        func(string, func(context.Context) error) { t.Error("nothing to run in the background") }}
			if tt.vault {
				if w.Vault, err = bot.NewVault(strings.Repeat("00", 32)); err != nil {
					t.Fatal(err)
				}
			}
			line, err := setupSlack(w, &c)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("setupSlack() = %q, %v, want an error about %q", line, err, tt.err)
				}
				return
			}
			if err != nil || !strings.Contains(line, tt.banner) {
				t.Fatalf("setupSlack() = %q, %v, want a banner with %q", line, err, tt.banner)
			}
			_, hasSource := w.Sources[capture.Slack]
			_, hasNotifier := w.Notifiers.ByPlatform[capture.Slack]
			if hasSource != tt.routes || hasNotifier != tt.routes {
				t.Errorf("slack source registered %v, notifier %v; want %v", hasSource, hasNotifier, tt.routes)
			}
			rec := httptest.NewRecorder()
			w.Mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/slack/interactivity", strings.NewReader("payload=x")))
			if want := map[bool]int{true: http.StatusUnauthorized, false: http.StatusNotFound}[tt.routes]; rec.Code != want {
				t.Errorf("unsigned POST /slack/interactivity = %d, want %d", rec.Code, want)
			}
		})
	}
}
