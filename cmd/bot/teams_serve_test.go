package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/bot/teams/connectortest"
	"github.com/recordbot/recordbot/capture/teams/teamstest"
)

// TestServeTeams: with the Teams settings, serve answers File as record
// at /teams/messages: the token checked against TEAMS_OPENID_METADATA_URL,
// the person's membership and the message read through TEAMS_GRAPH_URL
// with a token from TEAMS_LOGIN_URL.
func TestServeTeams(t *testing.T) {
	const chat = "19:serve@thread.v2"
	alice := "8ea0e38b-efb3-4757-924a-5f94061cf8c2"
	gs := teamstest.New(teamstest.Options{Tenant: testTeamsTenant, ClientID: testTeamsApp, ClientSecret: "pw-7Hq2x"})
	defer gs.Close()
	gs.AddUser(alice, "Alice Archer")
	gs.AddChat(chat, "Budget", "group", true, alice)
	msg := gs.PostChat(chat, teamstest.Message{From: alice, HTML: "<p>Budget decision for 2027</p>", Created: time.Now().Add(-time.Hour)})
	cx := connectortest.New(t, testTeamsApp, "pw-7Hq2x", testTeamsTenant)

	dir := t.TempDir()
	addr, banner, stop := startServe(t, map[string]string{"LISTEN_ADDR": "127.0.0.1:0", "RECORDS_DIR": filepath.Join(dir, "records"),
		"PUBLIC_URL": "https://records.example.org", "TEAMS_APP_ID": testTeamsApp, "TEAMS_APP_PASSWORD": "pw-7Hq2x", "TEAMS_TENANT_ID": testTeamsTenant,
		"TEAMS_OPENID_METADATA_URL": cx.MetadataURL(), "TEAMS_LOGIN_URL": gs.URL, "TEAMS_GRAPH_URL": gs.URL})
	defer stop()
	_ = banner

	act := map[string]any{"type": "invoke", "name": "composeExtension/fetchTask", "id": "f:serve", "channelId": "msteams", "serviceUrl": cx.ServiceURL(),
		"from":         map[string]any{"id": "29:alice", "name": "Alice Archer", "aadObjectId": alice},
		"conversation": map[string]any{"id": chat, "conversationType": "groupChat", "tenantId": testTeamsTenant},
		"channelData":  map[string]any{"tenant": map[string]any{"id": testTeamsTenant}},
		"value": map[string]any{"commandId": "fileAsRecord", "commandContext": "message",
			"messagePayload": map[string]any{"id": msg.ID, "body": map[string]any{"contentType": "html", "content": "<p>Budget decision for 2027</p>"}}}}
	b, _ := json.Marshal(act)
	post := func(auth string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/teams/messages", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get(t, "http://"+addr+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d %s with Teams configured", code, body)
	}
	if code, body := post(""); code != http.StatusUnauthorized {
		t.Errorf("unauthenticated request answered %d %s", code, body)
	}
	code, body := post("Bearer " + cx.Sign(t, cx.Claims(time.Now())))
	if code != http.StatusOK || !strings.Contains(body, `"value":"Budget decision for 2027"`) || !strings.Contains(body, "AdaptiveCard") {
		t.Errorf("fetchTask answered %d %s, want the form with the message as its title", code, body)
	}
}

// TestServeTeamsNotReady: /readyz says when the login service refuses the
// Teams app.
func TestServeTeamsNotReady(t *testing.T) {
	gs := teamstest.New(teamstest.Options{Tenant: testTeamsTenant, ClientID: testTeamsApp, ClientSecret: "pw-7Hq2x"})
	defer gs.Close()
	cx := connectortest.New(t, testTeamsApp, "pw-7Hq2x", testTeamsTenant)
	addr, _, stop := startServe(t, map[string]string{"LISTEN_ADDR": "127.0.0.1:0", "RECORDS_DIR": filepath.Join(t.TempDir(), "records"),
		"PUBLIC_URL": "https://records.example.org", "TEAMS_APP_ID": testTeamsApp, "TEAMS_APP_PASSWORD": "revoked", "TEAMS_TENANT_ID": testTeamsTenant,
		"TEAMS_OPENID_METADATA_URL": cx.MetadataURL(), "TEAMS_LOGIN_URL": gs.URL, "TEAMS_GRAPH_URL": gs.URL})
	defer stop()
	if code, body := get(t, "http://"+addr+"/readyz"); code == http.StatusOK || !strings.Contains(body, "Teams app") {
		t.Errorf("/readyz = %d %s with a refused Teams password", code, body)
	}
}

// TestServeTeamsFileConsent: with the deployment's secret key, people may
// let recordbot read the files shared in what they file: the banner says
// where they come back to, and the callback answers there; without the
// key it stays off and says what is missing; TEAMS_FILE_CONSENT=true
// makes that an error, and any other word is refused.
func TestServeTeamsFileConsent(t *testing.T) {
	gs := teamstest.New(teamstest.Options{Tenant: testTeamsTenant, ClientID: testTeamsApp, ClientSecret: "pw-7Hq2x"})
	defer gs.Close()
	cx := connectortest.New(t, testTeamsApp, "pw-7Hq2x", testTeamsTenant)
	env := func(more ...string) map[string]string {
		e := map[string]string{"LISTEN_ADDR": "127.0.0.1:0", "RECORDS_DIR": filepath.Join(t.TempDir(), "records"),
			"PUBLIC_URL": "https://records.example.org", "TEAMS_APP_ID": testTeamsApp, "TEAMS_APP_PASSWORD": "pw-7Hq2x", "TEAMS_TENANT_ID": testTeamsTenant,
			"TEAMS_OPENID_METADATA_URL": cx.MetadataURL(), "TEAMS_LOGIN_URL": gs.URL, "TEAMS_GRAPH_URL": gs.URL}
		for i := 0; i+1 < len(more); i += 2 {
			e[more[i]] = more[i+1]
		}
		return e
	}
	addr, _, stop := startServe(t, env("RECORDBOT_SECRET_KEY", strings.Repeat("cd", 32)))
	if code, body := get(t, "http://"+addr+"/teams/oauth/callback?error=access_denied"); code != http.StatusBadRequest || !strings.Contains(body, "did not allow it") {
		t.Errorf("the callback answered %d %s", code, body)
	}
	stop()

	addr, _, stop = startServe(t, env())
	if code, _ := get(t, "http://"+addr+"/teams/oauth/callback?error=access_denied"); code != http.StatusNotFound {
		t.Errorf("with file consent off, the callback answered %d", code)
	}
	stop()

	for val, want := range map[string]string{"true": "TEAMS_FILE_CONSENT=true, but", "maybe": `TEAMS_FILE_CONSENT="maybe": want true or false`} {
		m, errb := testMain(env("TEAMS_FILE_CONSENT", val))
		err := m.Run(context.Background(), nil)
		if err == nil || !strings.Contains(err.Error()+errb.String(), want) {
			t.Errorf("TEAMS_FILE_CONSENT=%s: %v %s", val, err, errb.String())
		}
	}
}
