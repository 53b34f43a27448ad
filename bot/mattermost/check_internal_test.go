package mattermost

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/filing/local"
)

// `bot check` opens the bot token as the bot does, through the sealed
// installations: with the key it was sealed with it reaches the server;
// with another key it says the secret key is the thing to look at.
func TestCheckOpensTheBotTokenAsTheBotDoes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/v4/system/ping":
			w.Header().Set("X-Version-Id", "6.7.2.6.7.2")
			w.Write([]byte(`{"status":"OK"}`))
		case r.URL.Path == "/api/v4/users/me" && r.Header.Get("Authorization") == "Bearer the-bot-token":
			w.Write([]byte(`{"username":"recordbot"}`))
		default:
			http.Error(w, `{"id":"api.context.session_expired.app_error"}`, http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := bot.NewVault(strings.Repeat("1a", 32))
	if err != nil {
		t.Fatal(err)
	}
	installs, err := NewInstallations(st, sealer, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := Installation{Server: srv.URL, Teams: map[string]*TeamInstall{"t1": {TeamID: "t1", TeamName: "ops", commandToken: "a-command-token"}}, botToken: "the-bot-token"}
	if err := installs.Save(ctx, srv.URL, in); err != nil {
		t.Fatal(err)
	}
	other, err := bot.NewVault(strings.Repeat("2b", 32))
	if err != nil {
		t.Fatal(err)
	}
	finding := func(v *bot.Vault) bot.Finding {
		t.Helper()
		for _, f := range Check(ctx, CheckOptions{Server: srv.URL, Store: st, Vault: v}) {
			if f.Name == "mattermost bot token" {
				return f
			}
		}
		t.Fatal("Check gave no finding on the bot token")
		return bot.Finding{}
	}
	if f := finding(other); f.Status != bot.StatusFail || f.Setting != bot.SettingSecretKey || !strings.Contains(f.Detail, "cannot unseal") {
		t.Errorf("Check with another secret key = %+v, want a failure pointing at the secret key", f)
	}
	if f := finding(sealer); f.Status != bot.StatusOK || !strings.Contains(f.Detail, "@recordbot") {
		t.Errorf("Check with the key the token was sealed with = %+v, want it to work as @recordbot", f)
	}
}
