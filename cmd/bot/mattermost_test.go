package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	mmbot "github.com/recordbot/recordbot/bot/mattermost"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/mattermost/mattermosttest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
)

const mmTestKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// TestMattermostInstallAndServe installs through `bot mattermost install`
// on a fake Mattermost, then wires the front end as serve does.
func TestMattermostInstallAndServe(t *testing.T) {
	t.Parallel()
	mm := mattermosttest.New(t)
	team := mm.AddTeam("ops", "Operations")
	_, admin := mm.AddAdmin("sysadmin")
	dir := filepath.Join(t.TempDir(), "records")
	env := map[string]string{
		"RECORDS_DIR": dir, "MATTERMOST_URL": mm.URL, "MATTERMOST_ADMIN_TOKEN": admin,
		"PUBLIC_URL": "https://rb.example.org", "RECORDBOT_SECRET_KEY": mmTestKey,
	}
	run := func(args ...string) (string, error) {
		m, errb := testMain(env)
		var out strings.Builder
		m.Stdout = &out
		err := m.Run(context.Background(), args)
		return out.String() + errb.String(), err
	}
	out, err := run("mattermost", "install", "--team", "ops")
	if err != nil {
		t.Fatalf("bot mattermost install: %v\n%s", err, out)
	}
	cmds := mm.Commands(team.Id)
	if len(cmds) != 1 || cmds[0].URL != "https://rb.example.org/mattermost/command" || cmds[0].Trigger != "record" {
		t.Fatalf("commands after install = %+v, want /record -> PUBLIC_URL/mattermost/command", cmds)
	}
	if out, err = run("mattermost", "install", "--team", "ops"); err != nil || !strings.Contains(out, "nothing to change") {
		t.Errorf("second install = %v, %q; want 'nothing to change'", err, out)
	}
	if _, err := run("mattermost", "install", "--team", "nosuch"); err == nil || !strings.Contains(err.Error(), `no team "nosuch"`) {
		t.Errorf("install on an unknown team = %v", err)
	}
	if _, err := run("mattermost", "frobnicate"); err == nil {
		t.Errorf("bot mattermost frobnicate succeeded")
	}
	// The installer's errors say what is missing; the command names the
	// variable it comes from.
	admin, env["MATTERMOST_ADMIN_TOKEN"] = env["MATTERMOST_ADMIN_TOKEN"], ""
	if _, err := run("mattermost", "install", "--team", "ops"); err == nil || !strings.Contains(err.Error(), "no admin token given") || !strings.Contains(err.Error(), "(set by MATTERMOST_ADMIN_TOKEN)") {
		t.Errorf("install without an admin token = %v, want it to name MATTERMOST_ADMIN_TOKEN", err)
	}
	env["MATTERMOST_ADMIN_TOKEN"] = "wrong"
	if _, err := run("mattermost", "install", "--team", "ops"); err == nil || !strings.Contains(err.Error(), "(set by MATTERMOST_ADMIN_TOKEN)") {
		t.Errorf("install with a wrong admin token = %v, want it to name MATTERMOST_ADMIN_TOKEN", err)
	}
	env["MATTERMOST_ADMIN_TOKEN"] = admin

	// serve's wiring with the stored installation.
	store, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := filing.NewService(filing.Options{Store: store, Plan: filing.SamplePlan()})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := bot.NewVault(mmTestKey)
	var started []string
	w := &wiring{Config: &Config{PublicURL: "https://rb.example.org"}, Service: svc, Store: store, Plan: svc.Plan(),
		Mux: http.NewServeMux(), Sources: capture.Sources{}, Logger: slog.New(slog.DiscardHandler), Vault: v,
		Notifiers: &bot.Notifiers{ByPlatform: map[capture.Platform]filing.Notifier{}},
		Go:        func(name string, _ func(context.Context) error) { started = append(started, name) }}
	var c MattermostConfig
	if err := c.load(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	line, err := setupMattermost(w, &c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"@recordbot", "/record on ops", ":card_file_box:"} {
		if !strings.Contains(line, want) {
			t.Errorf("banner %q lacks %q", line, want)
		}
	}
	if w.Sources[capture.Mattermost] == nil || w.Notifiers.ByPlatform[capture.Mattermost] == nil || !slices.Equal(started, []string{"whatsapp uploads expiry", "mattermost websocket"}) {
		t.Errorf("setup did not register source, notifier and listener (started %v)", started)
	}
	// Exports sent to @recordbot are filed as WhatsApp threads and their
	// outcomes told in Mattermost; the keeper is one, shared with Slack.
	if w.Sources[capture.WhatsApp] == nil || w.Notifiers.ByVia[mmbot.ViaExport] == nil {
		t.Errorf("setup did not register the WhatsApp source and the export outcomes' route")
	}
	if up := w.uploads; up == nil || w.exportUploads() != up {
		t.Errorf("Got(a second keeper of exports), want the one made by setupMattermost")
	}
	// The worker's source captures with the bot token from the
	// installation store.
	alice, _ := mm.AddUser("alice")
	ch := mm.AddChannel(team, "procurement", model.ChannelTypeOpen, alice)
	mm.Join(ch, &model.User{Id: mm.Bots()[0].UserId})
	root := mm.AddPost(ch, alice, nil, "Tender decision")
	th, err := w.Sources[capture.Mattermost].Capture(context.Background(),
		capture.Ref{Platform: capture.Mattermost, WorkspaceID: team.Id, ChannelID: ch.Id, ThreadID: root.Id, Server: mm.URL}, capture.Person{ID: alice.Id})
	if err != nil || len(th.Messages) != 1 {
		t.Errorf("capture through the wired source = %+v, %v; want the thread", th, err)
	}
	rec := httptest.NewRecorder()
	w.Mux.ServeHTTP(rec, httptest.NewRequest("POST", "/mattermost/command", strings.NewReader("token=wrong&team_id="+team.Id)))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("POST /mattermost/command with a wrong token = %d, want 401", rec.Code)
	}

	if out, err := run("mattermost", "uninstall"); err != nil || len(mm.Commands(team.Id)) != 0 {
		t.Errorf("uninstall = %v, %q; %d commands left", err, out, len(mm.Commands(team.Id)))
	}
}

func TestMattermostConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, loadErr, err, banner string
		env                        map[string]string
		vault                      bool
		public                     string
	}{
		{name: "unconfigured", banner: "set MATTERMOST_URL, PUBLIC_URL and RECORDBOT_SECRET_KEY, then run `bot mattermost install --team TEAM`"},
		{name: "not a URL", env: map[string]string{"MATTERMOST_URL": "chat.example.org"}, loadErr: "MATTERMOST_URL"},
		{name: "no key", env: map[string]string{"MATTERMOST_URL": "https://chat.example.org"}, public: "https://rb.example.org", err: "RECORDBOT_SECRET_KEY"},
		{name: "no public URL", env: map[string]string{"MATTERMOST_URL": "https://chat.example.org"}, vault: true, err: "PUBLIC_URL"},
		{name: "not installed", env: map[string]string{"MATTERMOST_URL": "https://chat.example.org"}, vault: true, public: "https://rb.example.org",
			banner: "not installed yet: run `bot mattermost install --team TEAM`"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c MattermostConfig
			err := c.load(func(k string) string { return tt.env[k] })
			if tt.loadErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.loadErr) {
					t.Fatalf("load() = %v, want an error about %q", err, tt.loadErr)
				}
				return
			}
			store, _ := local.New(t.TempDir())
			svc, _ := filing.NewService(filing.Options{Store: store, Plan: filing.SamplePlan()})
			w := &wiring{Config: &Config{PublicURL: tt.public}, Service: svc, Store: store, Plan: svc.Plan(),
				Mux: http.NewServeMux(), Sources: capture.Sources{}, Logger: slog.New(slog.DiscardHandler),
				Notifiers: &bot.Notifiers{ByPlatform: map[capture.Platform]filing.Notifier{}},
				Go:        func(string, func(context.Context) error) {}}
			if tt.vault {
				w.Vault, _ = bot.NewVault(mmTestKey)
			}
			line, err := setupMattermost(w, &c)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("setupMattermost() = %q, %v; want an error about %q", line, err, tt.err)
				}
				return
			}
			if err != nil || !strings.Contains(line, tt.banner) {
				t.Errorf("setupMattermost() = %q, %v; want a banner with %q", line, err, tt.banner)
			}
		})
	}
}
