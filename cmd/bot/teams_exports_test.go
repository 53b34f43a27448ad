package main

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/recordbot/recordbot/bot"
	teamsbot "github.com/recordbot/recordbot/bot/teams"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
)

// setupTeams lets people send WhatsApp exports to the bot in Teams: the
// exports are filed as WhatsApp threads from the one keeper of exports
// (shared with Slack and Mattermost), and their outcomes go back to Teams.
func TestSetupTeamsTakesExports(t *testing.T) {
	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := filing.NewService(filing.Options{Store: store, Plan: filing.SamplePlan()})
	if err != nil {
		t.Fatal(err)
	}
	w := &wiring{Config: &Config{PublicURL: "https://rb.example.org"}, Service: svc, Store: store, Plan: svc.Plan(),
		Mux: http.NewServeMux(), Sources: capture.Sources{}, Logger: slog.New(slog.DiscardHandler),
		Notifiers: &bot.Notifiers{ByPlatform: map[capture.Platform]filing.Notifier{}}}
	env := map[string]string{"TEAMS_APP_ID": testTeamsApp, "TEAMS_APP_PASSWORD": "pw", "TEAMS_TENANT_ID": testTeamsTenant,
		"TEAMS_OPENID_METADATA_URL": "http://127.0.0.1:9/meta", "TEAMS_LOGIN_URL": "http://127.0.0.1:9", "TEAMS_GRAPH_URL": "http://127.0.0.1:9"}
	var c TeamsConfig
	if err := c.load(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if _, err := setupTeams(w, &c); err != nil {
		t.Fatal(err)
	}
	if w.Sources[capture.WhatsApp] == nil || w.Notifiers.ByVia[teamsbot.ViaExport] == nil || w.uploads == nil {
		t.Errorf("setupTeams did not register the WhatsApp source, the keeper of exports and the export outcomes' route")
	}
}
