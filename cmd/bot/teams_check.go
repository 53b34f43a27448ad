package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	teamsbot "github.com/recordbot/recordbot/bot/teams"
	"github.com/recordbot/recordbot/capture/teams/entra"
	"github.com/recordbot/recordbot/filing"
)

// checkTeams checks the Teams configuration, when there is one: the
// messaging endpoint is https (Teams calls no other), the login service
// gives the app tokens for the Bot Connector and for Graph in the
// configured tenant (so the app id, its credential and the tenant belong
// together), and Graph answers with that token; and whether people can
// let recordbot keep shared files.
func (m *Main) checkTeams(ctx context.Context, f *findings) {
	c := &m.Config.Teams
	if !c.configured() {
		f.ok("teams", "not configured (skipped)")
		return
	}
	switch u := m.Config.PublicURL; {
	case u == "":
		f.fail("teams endpoint", "PUBLIC_URL is not set: the Azure Bot's messaging endpoint is PUBLIC_URL%s, an https:// address", teamsbot.Path)
	case !strings.HasPrefix(strings.ToLower(u), "https://"):
		f.fail("teams endpoint", "PUBLIC_URL %s is not HTTPS, and Teams sends requests to https:// addresses only; put a reverse proxy with TLS in front of the bot", u)
	default:
		f.ok("teams endpoint", "set the Azure Bot's messaging endpoint to %s%s", u, teamsbot.Path)
	}
	m.checkTeamsCredential(f)
	m.checkTeamsFileConsent(f)
	hc := &http.Client{Timeout: 15 * time.Second}
	if m.Config.Teams.transport != nil {
		hc.Transport = m.Config.Teams.transport
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	login := c.login(hc)
	if _, err := login.ClientCredentials(ctx, botScope(c)); err != nil {
		f.fail("teams login", "%s", loginProblem(err, c))
		return
	}
	f.ok("teams login", "app %s signs in to tenant %s", c.AppID, c.Tenant)
	tok, err := login.ClientCredentials(ctx, c.GraphURL+"/.default")
	if err != nil {
		f.fail("teams graph", "no token for Graph (%s): %s", c.GraphURL, loginProblem(err, c))
		return
	}
	if err := graphAnswers(ctx, hc, c.GraphURL, tok.AccessToken); err != nil {
		f.fail("teams graph", "%v", err)
		return
	}
	f.ok("teams graph", "%s answers with the app's token", c.GraphURL)
}

// checkTeamsFileConsent says whether people can let recordbot keep the
// files shared in what they file, and what the app registration needs
// for it, as serve sets it up (teamsConsent).
func (m *Main) checkTeamsFileConsent(f *findings) {
	c := &m.Config.Teams
	switch {
	case c.FileConsent == "false":
		f.ok("teams shared files", "kept as links (TEAMS_FILE_CONSENT=false)")
	case m.Config.SecretKey == "" && c.FileConsent == "true":
		f.fail("teams shared files", "TEAMS_FILE_CONSENT=true, but RECORDBOT_SECRET_KEY is not set: people's permissions are kept sealed with it")
	case m.Config.SecretKey == "":
		f.warn("teams shared files", "kept as links: set RECORDBOT_SECRET_KEY so that people can let recordbot keep them, or TEAMS_FILE_CONSENT=false to say it stays off (docs/teams.md#shared-files)")
	default:
		f.ok("teams shared files", "people allow recordbot at %s%s: it must be a Web redirect URI of app %s, with the delegated Microsoft Graph permissions Files.Read.All, openid, profile and offline_access (docs/teams.md#shared-files)",
			m.Config.PublicURL, teamsbot.CallbackPath, c.AppID)
	}
}

// certificateWarning is how long before its certificate expires bot check
// warns.
const certificateWarning = 30 * 24 * time.Hour

// checkTeamsCredential says which credential the app uses: the client
// secret, or the certificate with its thumbprint and expiry (warned of 30
// days ahead, failed once past), and that the certificate's file is for
// the bot's eyes only.
func (m *Main) checkTeamsCredential(f *findings) {
	c := &m.Config.Teams
	cert := c.cert
	if cert == nil {
		f.ok("teams credential", "client secret (TEAMS_APP_PASSWORD)")
		return
	}
	now := filing.ClockOr(m.Clock).Now()
	until := cert.NotAfter().UTC().Format(time.DateOnly)
	switch left := cert.NotAfter().Sub(now); {
	case cert.Check(now) != nil:
		f.fail("teams credential", "certificate %s (TEAMS_APP_CERTIFICATE) is not valid now (valid until %s): make a new one, upload it to the app registration's Certificates & secrets and point TEAMS_APP_CERTIFICATE at it", cert.Thumbprint(), until)
	case left < certificateWarning:
		f.warn("teams credential", "certificate %s (TEAMS_APP_CERTIFICATE) expires on %s, in %d days: make a new one, upload it to the app registration's Certificates & secrets and point TEAMS_APP_CERTIFICATE at it before then", cert.Thumbprint(), until, int(left.Hours()/24))
	default:
		f.ok("teams credential", "certificate %s (TEAMS_APP_CERTIFICATE; the thumbprint the app registration's Certificates & secrets shows), valid until %s", cert.Thumbprint(), until)
	}
	if fi, err := os.Stat(c.AppCertificate); err == nil && fi.Mode().Perm()&0o077 != 0 {
		f.warn("teams credential", "%s holds the app's private key and others may read it (mode %04o): chmod 600 it, owned by the bot's user", c.AppCertificate, fi.Mode().Perm())
	}
}

// loginProblem says what the login service's refusal means for the
// settings.
func loginProblem(err error, c *TeamsConfig) string {
	if errors.Is(err, entra.ErrCertificateExpired) {
		return "the certificate TEAMS_APP_CERTIFICATE names is not valid now: make a new one and upload it to the app registration"
	}
	le, ok := errors.AsType[*entra.Error](err)
	if !ok {
		return fmt.Sprintf("the login service %s does not answer: %v (TEAMS_LOGIN_URL)", c.LoginURL, err)
	}
	switch {
	case le.Code == "invalid_client" && c.cert != nil && le.Has(700024):
		return fmt.Sprintf("the login service finds the certificate's assertion out of its time range (%s): is this machine's clock right?", le.Error())
	case le.Code == "invalid_client" && c.cert != nil && le.Has(700027):
		return fmt.Sprintf("the login service does not take the certificate %s (TEAMS_APP_CERTIFICATE) for TEAMS_APP_ID: upload the certificate to the app registration (Certificates & secrets, Certificates, Upload certificate)", c.cert.Thumbprint())
	case le.Code == "invalid_client" && c.cert != nil:
		return fmt.Sprintf("the login service refuses the certificate %s (TEAMS_APP_CERTIFICATE) for TEAMS_APP_ID (%s)", c.cert.Thumbprint(), le.Error())
	case le.Code == "invalid_client":
		return "the login service refuses TEAMS_APP_PASSWORD for TEAMS_APP_ID (a new client secret may be needed)"
	case le.Code == "unauthorized_client" || le.Has(700016):
		return "the login service does not know TEAMS_APP_ID in tenant TEAMS_TENANT_ID (a single-tenant bot's app lives in the organisation's tenant)"
	case le.Has(90002) || le.Code == "invalid_request":
		return "the login service does not know tenant TEAMS_TENANT_ID"
	}
	return le.Error()
}

// graphAnswers asks Graph for a chat that does not exist: an answer other
// than 401 (404 or 403) says Graph is reachable and takes the token.
func graphAnswers(ctx context.Context, hc *http.Client, graphURL, tok string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, graphURL+"/v1.0/chats/"+url.PathEscape("19:recordbot-check@thread.v2"), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("Graph (%s) does not answer: %v (TEAMS_GRAPH_URL)", graphURL, err)
	}
	defer resp.Body.Close()
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&e)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("Graph (%s) refuses the app's token (%s): is TEAMS_GRAPH_URL the cloud of TEAMS_LOGIN_URL?", graphURL, e.Error.Code)
	case resp.StatusCode >= 500:
		return fmt.Errorf("Graph (%s) answered %s", graphURL, resp.Status)
	case resp.StatusCode/100 == 2, resp.StatusCode == http.StatusNotFound, resp.StatusCode == http.StatusForbidden, resp.StatusCode == http.StatusBadRequest:
		return nil
	}
	return fmt.Errorf("Graph (%s) answered %s", graphURL, resp.Status)
}
