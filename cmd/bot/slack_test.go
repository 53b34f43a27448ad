package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/bot"
	slackbot "github.com/recordbot/recordbot/bot/slack"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
)

func TestSlackConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		vault   bool
		public  string
		loadErr string
		err     string
		banner  string
		routes  bool
		socket  bool // Socket Mode starts in the background
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
		{name: "one workspace, no direct messages", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"},
			banner: "direct and group messages: off; people can file direct and group messages (which a bot cannot join) once SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, PUBLIC_URL, RECORDBOT_SECRET_KEY are set too", routes: true},
		{name: "socket mode with user tokens", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2"},
			vault: true, public: "https://rb.example.org", socket: true,
			banner: "Slack: Socket Mode; one workspace (SLACK_BOT_TOKEN); direct and group messages: people allow recordbot at https://rb.example.org/slack/oauth/user-callback", routes: true},
		{name: "socket mode, user tokens without public url", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2"},
			vault: true, socket: true, banner: "direct and group messages: off; people can file direct and group messages (which a bot cannot join) once PUBLIC_URL are set too", routes: true},
		{name: "http install with user tokens", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2", "SLACK_ALLOWED_TEAMS": "T0123"},
			vault: true, public: "https://rb.example.org",
			banner: "install into a workspace at https://rb.example.org/slack/install (allowed: T0123); direct and group messages: people allow recordbot at https://rb.example.org/slack/oauth/user-callback", routes: true},
		{name: "user tokens turned off", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2", "SLACK_USER_TOKENS": "false"},
			vault: true, public: "https://rb.example.org", socket: true, banner: "direct and group messages: off (SLACK_USER_TOKENS=false)", routes: true},
		{name: "user tokens required but no key", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2", "SLACK_USER_TOKENS": "true"},
			public: "https://rb.example.org", err: "SLACK_USER_TOKENS=true, but people can file direct and group messages (which a bot cannot join) once RECORDBOT_SECRET_KEY"},
		{name: "bad user tokens flag", env: map[string]string{"SLACK_USER_TOKENS": "maybe"}, loadErr: "SLACK_USER_TOKENS"},
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
			store, err := local.New(t.TempDir())
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
				Go: func(name string, _ func(context.Context) error) {
					if !tt.socket && name != "whatsapp uploads expiry" {
						t.Error("nothing to run in the background")
					}
				}}
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
			// Exports sent to the bot in Slack are filed as WhatsApp
			// threads, and their outcomes told in Slack.
			_, hasWA := w.Sources[capture.WhatsApp]
			_, hasWANotifier := w.Notifiers.ByVia[slackbot.ViaExport]
			if hasWA != tt.routes || hasWANotifier != tt.routes {
				t.Errorf("whatsapp source registered %v, notifier %v; want %v", hasWA, hasWANotifier, tt.routes)
			}
			rec := httptest.NewRecorder()
			w.Mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/slack/interactivity", strings.NewReader("payload=x")))
			httpOn := tt.routes && tt.env["SLACK_SIGNING_SECRET"] != ""
			if want := map[bool]int{true: http.StatusUnauthorized, false: http.StatusNotFound}[httpOn]; rec.Code != want {
				t.Errorf("unsigned POST /slack/interactivity = %d, want %d", rec.Code, want)
			}
			// The user callback is served exactly when people can allow recordbot.
			rec = httptest.NewRecorder()
			w.Mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/slack/oauth/user-callback?state=forged", nil))
			dms := strings.Contains(line, "people allow recordbot at")
			if want := map[bool]int{true: http.StatusBadRequest, false: http.StatusNotFound}[dms]; rec.Code != want {
				t.Errorf("GET /slack/oauth/user-callback with a forged state = %d, want %d", rec.Code, want)
			}
		})
	}
}

// With both Slack and Mattermost configured, the exports sent to the bot
// have one keeper and one WhatsApp source, and each front end is told
// the outcomes of its own.
func TestExportsWiredOnce(t *testing.T) {
	t.Parallel()
	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var started []string
	w := &wiring{Store: store, Sources: capture.Sources{}, Notifiers: &bot.Notifiers{},
		Go: func(name string, _ func(context.Context) error) { started = append(started, name) }}
	a := w.exportUploads()
	src := w.Sources[capture.WhatsApp]
	w.Sources[capture.WhatsApp] = nil
	if b := w.exportUploads(); b != a || w.Sources[capture.WhatsApp] != nil {
		t.Errorf("Got(second exportUploads) = %p and a source registered again, want %p and the source registered once", b, a)
	}
	if src == nil {
		t.Errorf("Got(WhatsApp source) = nil, want one")
	}
	sl := filing.NotifierFunc(func(context.Context, filing.Outcome) {})
	w.routeExports(slackbot.ViaExport, sl)
	w.routeExports("mattermost whatsapp upload", sl)
	if len(w.Notifiers.ByVia) != 2 {
		t.Errorf("Got(routes of export outcomes) = %d, want 2", len(w.Notifiers.ByVia))
	}
	if !slices.Equal(started, []string{"whatsapp uploads expiry"}) {
		t.Errorf("Got(loops started) = %q, want the expiry of unfiled exports, once", started)
	}

	// Once the front end is told the record is filed, the export is
	// deleted.
	ctx := context.Background()
	data := []byte("05/06/2023, 10:00 - Alice: Morning\n")
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	if _, err := a.Keep(ctx, bytes.NewReader(data), int64(len(data)), bot.Upload{SHA256: sum, Name: "chat.txt", SuppliedBy: capture.Person{ID: "U1"}, TimeZone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	w.Notifiers.ByVia[slackbot.ViaExport].Notify(ctx, filing.Outcome{
		Request: filing.Request{Thread: capture.Ref{Platform: capture.WhatsApp, ThreadID: sum}}, Record: &filing.Summary{ID: "r1"}})
	if _, err := a.Get(ctx, sum); !errors.Is(err, capture.ErrNotFound) {
		t.Errorf("Get() of the filed export = %v, want it deleted", err)
	}
}
