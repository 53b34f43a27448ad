package main

import (
	"archive/zip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/bot/teams/connectortest"
)

const (
	testTeamsApp    = "0b7f8a2c-1d3e-4f50-8a6b-7c9d0e1f2a3b"
	testTeamsTenant = "5d2e1c0b-aaaa-4bbb-8ccc-123456789abc"
)

func TestTeamsManifestCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "app.zip")
	var stdout strings.Builder
	// The app id and public address are all it needs.
	env := map[string]string{"TEAMS_APP_ID": testTeamsApp, "PUBLIC_URL": "https://records.example.org", "RECORDS_ORGANISATION": "Test Council"}
	m := &Main{Stdout: &stdout, Stderr: &stdout, Getenv: func(k string) string { return env[k] }}
	if err := m.Run(context.Background(), []string{"teams", "manifest", "--out", out}); err != nil {
		t.Fatalf("bot teams manifest: %v\n%s", err, stdout.String())
	}
	z, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var names []string
	for _, f := range z.File {
		names = append(names, f.Name)
		if f.Name == "manifest.json" {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			if !strings.Contains(string(b), `"name": "Test Council"`) || !strings.Contains(string(b), `"id": "`+testTeamsApp+`"`) {
				t.Errorf("manifest.json lacks the organisation or the app id:\n%s", b)
			}
		}
	}
	if strings.Join(names, ",") != "manifest.json,color.png,outline.png" {
		t.Errorf("package holds %v", names)
	}
	if !strings.Contains(stdout.String(), "https://records.example.org/teams/messages") {
		t.Errorf("bot teams manifest says %q; want the messaging endpoint", stdout.String())
	}

	delete(env, "PUBLIC_URL")
	if err := m.Run(context.Background(), []string{"teams", "manifest", "--out", out}); err == nil || !strings.Contains(err.Error(), "PUBLIC_URL") {
		t.Errorf("without PUBLIC_URL: %v", err)
	}
}

// graphStub answers any Graph request 404 as Graph does for a chat that
// does not exist, or 401 without a bearer token.
func graphStub(t *testing.T) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer bf-") {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":{"code":"InvalidAuthenticationToken","message":"Access token is empty."}}`))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":{"code":"NotFound","message":"Resource not found."}}`))
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func TestCheckTeams(t *testing.T) {
	cx := connectortest.New(t, testTeamsApp, "pw-7Hq2x", testTeamsTenant)
	graph := graphStub(t)
	base := func(t *testing.T) map[string]string {
		return map[string]string{"RECORDS_DIR": t.TempDir(), "PUBLIC_URL": "https://records.example.org",
			"TEAMS_APP_ID": testTeamsApp, "TEAMS_APP_PASSWORD": "pw-7Hq2x", "TEAMS_TENANT_ID": testTeamsTenant,
			"TEAMS_OPENID_METADATA_URL": cx.MetadataURL(), "TEAMS_LOGIN_URL": cx.LoginURL(), "TEAMS_GRAPH_URL": graph}
	}
	for _, tt := range []struct {
		name     string
		change   func(env map[string]string)
		wantCode int
		want     []string
	}{
		{"works", func(map[string]string) {}, 0,
			[]string{"ok teams endpoint", "https://records.example.org/teams/messages", "ok teams login", "ok teams graph"}},
		{"wrong password", func(env map[string]string) { env["TEAMS_APP_PASSWORD"] = "wrong" }, 1,
			[]string{"FAIL teams login", "refuses TEAMS_APP_PASSWORD"}},
		{"another tenant", func(env map[string]string) { env["TEAMS_TENANT_ID"] = "11111111-2222-3333-4444-555555555555" }, 1,
			[]string{"FAIL teams login", "tenant TEAMS_TENANT_ID"}},
		{"endpoint not https", func(env map[string]string) { env["PUBLIC_URL"] = "http://records.example.org" }, 1,
			[]string{"FAIL teams endpoint", "not HTTPS"}},
		{"login not https", func(env map[string]string) { env["TEAMS_LOGIN_URL"] = "http://login.example.org" }, 2,
			[]string{"FAIL configuration", "TEAMS_LOGIN_URL", "https://"}},
		{"app id not a GUID", func(env map[string]string) { env["TEAMS_APP_ID"] = "recordbot" }, 2,
			[]string{"FAIL configuration", "TEAMS_APP_ID", "GUID"}},
		{"shared files without the secret key", func(map[string]string) {}, 0,
			[]string{"warn teams shared files", "kept as links: set RECORDBOT_SECRET_KEY"}},
		{"shared files on", func(env map[string]string) { env["RECORDBOT_SECRET_KEY"] = strings.Repeat("ef", 32) }, 0,
			[]string{"ok teams shared files", "people allow recordbot at https://records.example.org/teams/oauth/callback", "Files.Read.All"}},
		{"shared files off", func(env map[string]string) { env["TEAMS_FILE_CONSENT"] = "false" }, 0,
			[]string{"ok teams shared files", "kept as links (TEAMS_FILE_CONSENT=false)"}},
		{"shared files asked for without the key", func(env map[string]string) { env["TEAMS_FILE_CONSENT"] = "true" }, 1,
			[]string{"FAIL teams shared files", "TEAMS_FILE_CONSENT=true, but RECORDBOT_SECRET_KEY is not set"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := base(t)
			tt.change(env)
			out, code := runCheck(t, env)
			if code != tt.wantCode {
				t.Errorf("bot check exit = %d, want %d; output:\n%s", code, tt.wantCode, out)
			}
			words := strings.Join(strings.Fields(out), " ")
			for _, w := range tt.want {
				if !strings.Contains(words, w) {
					t.Errorf("bot check output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "pw-7Hq2x") {
				t.Errorf("bot check shows the password:\n%s", out)
			}
		})
	}
}
