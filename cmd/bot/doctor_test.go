package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeMattermost answers the calls `bot mattermost doctor` makes as a
// Mattermost server with settings cfg answers them.
func fakeMattermost(t *testing.T, roles string, cfg map[string]any) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authed := r.Header.Get("Authorization") == "Bearer admin-token"
		switch {
		case r.URL.Path == "/api/v4/system/ping":
			w.Header().Set("X-Version-Id", "6.7.2.6.7.2.abc.false")
			json.NewEncoder(w).Encode(map[string]string{"status": "OK"})
		case !authed:
			http.Error(w, `{"id":"api.context.session_expired.app_error"}`, http.StatusUnauthorized)
		case r.URL.Path == "/api/v4/users/me":
			json.NewEncoder(w).Encode(map[string]string{"username": "admin", "roles": roles})
		case r.URL.Path == "/api/v4/config" && strings.Contains(roles, "system_admin"):
			json.NewEncoder(w).Encode(map[string]any{"ServiceSettings": cfg})
		default:
			http.Error(w, `{}`, http.StatusForbidden)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// `bot mattermost doctor` names each server setting install and the bot
// need that is missing, with the System Console place to change it.
func TestMattermostDoctor(t *testing.T) {
	t.Parallel()
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer bot.Close()
	ready := map[string]any{"SiteURL": "https://chat.example.org", "EnableBotAccountCreation": true, "EnableUserAccessTokens": true,
		"EnableCommands": true, "AllowedUntrustedInternalConnections": "127.0.0.1 10.0.0.0/8"}
	for _, tt := range []struct {
		name     string
		roles    string
		cfg      map[string]any
		token    string
		wantCode int
		want     []string
	}{
		{"ready", "system_user system_admin", ready, "admin-token", 0,
			[]string{"ok admin token works, as system admin @admin", "ok bot accounts on", "ok slash commands on", "ok server reaches bot 127.0.0.1 is internal and listed", "the server is ready"}},
		{"settings off", "system_user system_admin", map[string]any{"EnableBotAccountCreation": false, "EnableUserAccessTokens": true, "EnableCommands": false, "AllowedUntrustedInternalConnections": ""}, "admin-token", 1,
			[]string{"FAIL bot accounts off: turn it on in System Console > Integrations > Bot Accounts > Enable Bot Account Creation",
				"FAIL slash commands off: turn it on in System Console > Integrations > Integration Management > Enable Custom Slash Commands",
				"warn site url not set", "System Console > Environment > Web Server > Site URL",
				"FAIL server reaches bot 127.0.0.1 is on an internal network", "Allow untrusted internal connections to"}},
		{"not an admin", "system_user", ready, "admin-token", 1, []string{"FAIL admin token the token is @admin's, who is not a system admin"}},
		{"bad token", "system_admin", ready, "wrong", 1, []string{"FAIL admin token the server refused the admin token"}},
		{"no token", "system_admin", ready, "", 1, []string{"FAIL admin token no admin token", "Personal Access Tokens"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mm := fakeMattermost(t, tt.roles, tt.cfg)
			env := map[string]string{"MATTERMOST_URL": mm.URL, "MATTERMOST_ADMIN_TOKEN": tt.token, "PUBLIC_URL": bot.URL}
			out, stderr, code := runBot(t, env, "mattermost", "doctor")
			t.Logf("bot mattermost doctor (exit %d):\n%s", code, out)
			words := strings.Join(strings.Fields(out), " ")
			if code != tt.wantCode {
				t.Errorf("bot mattermost doctor: exit %d, want %d; output:\n%s%s", code, tt.wantCode, out, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(words, w) {
					t.Errorf("bot mattermost doctor output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
