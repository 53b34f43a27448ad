package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/bot/teams/connectortest"
	"github.com/recordbot/recordbot/capture/teams/entra"
	"github.com/recordbot/recordbot/capture/teams/teamstest"
)

// writeCert writes a PEM file (certificate and key) readable by its owner
// only, and returns its path.
func writeCert(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "recordbot-teams.pem")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// keyText is a piece of c's private key as its PEM file holds it.
func keyText(c teamstest.Cert) string {
	_, k, _ := strings.Cut(string(c.PEM), "-----BEGIN PRIVATE KEY-----\n")
	return k[:48]
}

// thumbprint is the SHA-1 thumbprint the portal shows for c.
func thumbprint(t *testing.T, c teamstest.Cert) string {
	t.Helper()
	e, err := entra.ParseCertificatePEM(c.PEM)
	if err != nil {
		t.Fatal(err)
	}
	return e.Thumbprint()
}

// TestTeamsCertificateSettings: TEAMS_APP_CERTIFICATE stands in for
// TEAMS_APP_PASSWORD, exactly one of them, and a bad file is a clear
// configuration error at start.
func TestTeamsCertificateSettings(t *testing.T) {
	now := time.Now()
	good := teamstest.NewCert(t, "recordbot", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	expired := teamstest.NewCert(t, "recordbot", now.Add(-400*24*time.Hour), now.Add(-35*24*time.Hour))
	goodPath := writeCert(t, good.PEM)
	for _, tt := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"both", map[string]string{"TEAMS_APP_PASSWORD": "pw-7Hq2x", "TEAMS_APP_CERTIFICATE": goodPath},
			[]string{"TEAMS_APP_PASSWORD and TEAMS_APP_CERTIFICATE are both set"}},
		{"neither", map[string]string{}, []string{"TEAMS_APP_PASSWORD is not set", "TEAMS_APP_CERTIFICATE"}},
		{"missing file", map[string]string{"TEAMS_APP_CERTIFICATE": filepath.Join(t.TempDir(), "nope.pem")},
			[]string{"TEAMS_APP_CERTIFICATE=", "nope.pem", "cannot read the certificate file"}},
		{"a directory", map[string]string{"TEAMS_APP_CERTIFICATE": t.TempDir()}, []string{"cannot read the certificate file"}},
		{"certificate without its key", map[string]string{"TEAMS_APP_CERTIFICATE": writeCert(t, good.CertPEM)},
			[]string{"TEAMS_APP_CERTIFICATE=", "no private key"}},
		{"not PEM", map[string]string{"TEAMS_APP_CERTIFICATE": writeCert(t, good.X509.Raw)}, []string{"not a PEM file", "openssl pkcs12"}},
		{"expired", map[string]string{"TEAMS_APP_CERTIFICATE": writeCert(t, expired.PEM)},
			[]string{"TEAMS_APP_CERTIFICATE=", "expired on " + expired.X509.NotAfter.UTC().Format(time.DateOnly)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"RECORDS_DIR": t.TempDir(), "PUBLIC_URL": "https://records.example.org",
				"TEAMS_APP_ID": testTeamsApp, "TEAMS_TENANT_ID": testTeamsTenant}
			for k, v := range tt.env {
				env[k] = v
			}
			out, code := runCheck(t, env)
			words := strings.Join(strings.Fields(out), " ")
			if code != 2 || !strings.Contains(words, "FAIL configuration") {
				t.Errorf("bot check exit %d, want 2 and FAIL configuration:\n%s", code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(words, w) {
					t.Errorf("bot check output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "-----BEGIN") || strings.Contains(out, keyText(good)) {
				t.Errorf("bot check shows key material:\n%s", out)
			}
		})
	}
	// A good file gives the certificate as the credential, loaded once.
	var c TeamsConfig
	env := map[string]string{"TEAMS_APP_ID": testTeamsApp, "TEAMS_TENANT_ID": testTeamsTenant, "TEAMS_APP_CERTIFICATE": goodPath}
	if err := c.load(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(goodPath); err != nil {
		t.Fatal(err)
	}
	cred, ok := c.credential().(*entra.Certificate)
	if !ok || !cred.X509().Equal(good.X509) || !strings.HasPrefix(cred.Kind(), "certificate ") {
		t.Errorf("credential() = %#v", c.credential())
	}
	if _, ok := (&TeamsConfig{AppPassword: "pw"}).credential().(entra.Secret); !ok {
		t.Errorf("without a certificate the credential is not the client secret")
	}
}

// TestCheckTeamsCertificate: bot check signs in with the certificate
// (both tokens by client assertion), says which certificate and until
// when, warns 30 days ahead of its expiry and when others may read the
// file, and says to upload a certificate the app registration lacks.
func TestCheckTeamsCertificate(t *testing.T) {
	now := time.Now()
	registered := teamstest.NewCert(t, "recordbot", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	soon := teamstest.NewCert(t, "recordbot soon", now.Add(-300*24*time.Hour), now.Add(10*24*time.Hour))
	stranger := teamstest.NewCert(t, "not uploaded", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	gs := teamstest.New(teamstest.Options{Tenant: testTeamsTenant, ClientID: testTeamsApp, Certificate: registered.X509})
	defer gs.Close()
	gsSoon := teamstest.New(teamstest.Options{Tenant: testTeamsTenant, ClientID: testTeamsApp, Certificate: soon.X509})
	defer gsSoon.Close()
	env := func(t *testing.T, login *teamstest.Server, pemFile string) map[string]string {
		return map[string]string{"RECORDS_DIR": t.TempDir(), "PUBLIC_URL": "https://records.example.org",
			"TEAMS_APP_ID": testTeamsApp, "TEAMS_APP_CERTIFICATE": pemFile, "TEAMS_TENANT_ID": testTeamsTenant,
			"TEAMS_LOGIN_URL": login.URL, "TEAMS_GRAPH_URL": login.URL}
	}
	loose := writeCert(t, registered.PEM)
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		env      map[string]string
		wantCode int
		want     []string
		not      []string
	}{
		{"works", env(t, gs, writeCert(t, registered.PEM)), 0,
			[]string{"ok teams credential certificate " + thumbprint(t, registered), "valid until " + registered.X509.NotAfter.UTC().Format(time.DateOnly),
				"ok teams login", "ok teams graph"},
			[]string{"warn teams credential"}},
		{"expires in 10 days", env(t, gsSoon, writeCert(t, soon.PEM)), 0,
			[]string{"warn teams credential certificate " + thumbprint(t, soon), "expires on " + soon.X509.NotAfter.UTC().Format(time.DateOnly), "in 9 days", "ok teams login"}, nil},
		{"not uploaded", env(t, gs, writeCert(t, stranger.PEM)), 1,
			[]string{"FAIL teams login", "upload the certificate to the app registration", thumbprint(t, stranger)}, nil},
		{"readable by others", env(t, gs, loose), 0, []string{"warn teams credential", "chmod 600", "mode 0644", "ok teams login"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, code := runCheck(t, tt.env)
			if code != tt.wantCode {
				t.Errorf("bot check exit = %d, want %d; output:\n%s", code, tt.wantCode, out)
			}
			words := strings.Join(strings.Fields(out), " ")
			for _, w := range tt.want {
				if !strings.Contains(words, w) {
					t.Errorf("bot check output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(words, w) {
					t.Errorf("bot check output has %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "-----BEGIN") {
				t.Errorf("bot check shows key material:\n%s", out)
			}
		})
	}
	// The working check got both its tokens by client assertion.
	scopes := map[string]bool{}
	for _, a := range gs.ClientAuths() {
		if a.Method != "client_assertion" {
			t.Errorf("client authentication %+v, want client_assertion", a)
		}
		if a.Refused == 0 {
			scopes[a.Scope] = true
		}
	}
	if !scopes["https://api.botframework.com/.default"] || !scopes[gs.GraphScope()] {
		t.Errorf("tokens got by assertion for %v, want the Bot Framework's and Graph's", scopes)
	}
}

// TestServeTeamsCertificate: the Teams front end runs with a certificate
// and no client secret: ready once the Bot Connector token comes by
// client assertion, and File as record reads the message through Graph
// with a token got the same way.
func TestServeTeamsCertificate(t *testing.T) {
	const chat = "19:cert@thread.v2"
	alice := "8ea0e38b-efb3-4757-924a-5f94061cf8c2"
	now := time.Now()
	cert := teamstest.NewCert(t, "recordbot", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	gs := teamstest.New(teamstest.Options{Tenant: testTeamsTenant, ClientID: testTeamsApp, Certificate: cert.X509})
	defer gs.Close()
	if gs.ClientSecret != "" {
		t.Fatalf("the double's app has a client secret %q", gs.ClientSecret)
	}
	gs.AddUser(alice, "Alice Archer")
	gs.AddChat(chat, "Budget", "group", true, alice)
	msg := gs.PostChat(chat, teamstest.Message{From: alice, HTML: "<p>Budget decision for 2027</p>", Created: now.Add(-time.Hour)})
	cx := connectortest.New(t, testTeamsApp, "unused", testTeamsTenant)

	addr, _, stop := startServe(t, map[string]string{"LISTEN_ADDR": "127.0.0.1:0", "RECORDS_DIR": filepath.Join(t.TempDir(), "records"),
		"PUBLIC_URL": "https://records.example.org", "TEAMS_APP_ID": testTeamsApp, "TEAMS_APP_CERTIFICATE": writeCert(t, cert.PEM),
		"TEAMS_TENANT_ID": testTeamsTenant, "TEAMS_OPENID_METADATA_URL": cx.MetadataURL(), "TEAMS_LOGIN_URL": gs.URL, "TEAMS_GRAPH_URL": gs.URL})
	defer stop()
	if code, body := get(t, "http://"+addr+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d %s with the Teams app's certificate", code, body)
	}
	act := map[string]any{"type": "invoke", "name": "composeExtension/fetchTask", "id": "f:cert", "channelId": "msteams", "serviceUrl": cx.ServiceURL(),
		"from":         map[string]any{"id": "29:alice", "name": "Alice Archer", "aadObjectId": alice},
		"conversation": map[string]any{"id": chat, "conversationType": "groupChat", "tenantId": testTeamsTenant},
		"channelData":  map[string]any{"tenant": map[string]any{"id": testTeamsTenant}},
		"value": map[string]any{"commandId": "fileAsRecord", "commandContext": "message",
			"messagePayload": map[string]any{"id": msg.ID, "body": map[string]any{"contentType": "html", "content": "<p>Budget decision for 2027</p>"}}}}
	b, _ := json.Marshal(act)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/teams/messages", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+cx.Sign(t, cx.Claims(time.Now())))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"value":"Budget decision for 2027"`) {
		t.Errorf("fetchTask answered %d %s, want the form with the message as its title", resp.StatusCode, body)
	}
	scopes := map[string]bool{}
	for _, a := range gs.ClientAuths() {
		if a.Method != "client_assertion" || a.Refused != 0 {
			t.Errorf("client authentication %+v, want an accepted client_assertion", a)
		}
		scopes[a.Scope] = true
	}
	if !scopes["https://api.botframework.com/.default"] || !scopes[gs.GraphScope()] {
		t.Errorf("tokens got by assertion for %v, want the Bot Connector's and Graph's", scopes)
	}
}

// TestLoginProblemCertificate: the login service's refusals of a
// certificate are put in the settings' words.
func TestLoginProblemCertificate(t *testing.T) {
	now := time.Now()
	c := teamstest.NewCert(t, "recordbot", now.Add(-time.Hour), now.Add(time.Hour))
	cert, err := entra.NewCertificate(c.X509, c.Key)
	if err != nil {
		t.Fatal(err)
	}
	withCert := &TeamsConfig{AppCertificate: "/etc/recordbot/teams.pem", cert: cert, LoginURL: "https://login.microsoftonline.com"}
	withSecret := &TeamsConfig{AppPassword: "pw", LoginURL: "https://login.microsoftonline.com"}
	for _, tt := range []struct {
		name string
		c    *TeamsConfig
		err  error
		want []string
	}{
		{"not uploaded", withCert, &entra.Error{Status: 401, Code: "invalid_client", Codes: []int{700027}},
			[]string{"upload the certificate to the app registration", cert.Thumbprint(), "TEAMS_APP_CERTIFICATE"}},
		{"clock off", withCert, &entra.Error{Status: 401, Code: "invalid_client", Codes: []int{700024}},
			[]string{"time range", "clock"}},
		{"other refusal", withCert, &entra.Error{Status: 401, Code: "invalid_client", Codes: []int{50012}},
			[]string{"refuses the certificate", "AADSTS50012"}},
		{"expired meanwhile", withCert, fmt.Errorf("wrapped: %w", entra.ErrCertificateExpired),
			[]string{"not valid now", "upload it to the app registration"}},
		{"secret refused", withSecret, &entra.Error{Status: 401, Code: "invalid_client", Codes: []int{7000215}},
			[]string{"refuses TEAMS_APP_PASSWORD"}},
	} {
		got := loginProblem(tt.err, tt.c)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tt.name, got, w)
			}
		}
	}
}
