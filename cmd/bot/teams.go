package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/recordbot/recordbot/bot"
	teamsbot "github.com/recordbot/recordbot/bot/teams"
	"github.com/recordbot/recordbot/capture"
	teamscap "github.com/recordbot/recordbot/capture/teams"
	"github.com/recordbot/recordbot/capture/teams/entra"
)

// TeamsConfig configures the Microsoft Teams front end and capture (see
// docs/teams.md).
type TeamsConfig struct {
	// AppID (TEAMS_APP_ID) is the single-tenant Azure Bot's Microsoft
	// App ID, and the Entra app's client id.
	AppID string
	// AppPassword (TEAMS_APP_PASSWORD) is its client secret.
	AppPassword string
	// AppCertificate (TEAMS_APP_CERTIFICATE) is instead the path of a PEM
	// file holding the certificate uploaded to the app registration and
	// its private key; exactly one of the two is set. The file is read
	// once, by load.
	AppCertificate string
	// Tenant (TEAMS_TENANT_ID) is the organisation's Entra tenant id.
	Tenant string
	// OpenIDMetadataURL (TEAMS_OPENID_METADATA_URL) is the Bot
	// Framework's OpenID metadata; LoginURL (TEAMS_LOGIN_URL) the Entra
	// login service; GraphURL (TEAMS_GRAPH_URL) Microsoft Graph. The
	// public cloud's by default; set for GCC High or DoD, and for tests.
	OpenIDMetadataURL, LoginURL, GraphURL string
	// FileConsent (TEAMS_FILE_CONSENT) is "false" to keep people from
	// letting recordbot read the files shared in what they file, "true"
	// to make a missing setting for it an error; on when what it needs
	// is set.
	FileConsent string

	// cert is AppCertificate's certificate and key, loaded.
	cert *entra.Certificate

	// transport is for tests; nil in production.
	transport http.RoundTripper
}

// The public cloud's addresses.
const (
	defaultTeamsLoginURL = "https://login.microsoftonline.com"
	defaultTeamsGraphURL = "https://graph.microsoft.com"
)

func (c *TeamsConfig) configured() bool {
	return c.AppID != "" || c.AppPassword != "" || c.AppCertificate != "" || c.Tenant != ""
}

func (c *TeamsConfig) load(getenv func(string) string) error {
	c.AppID = strings.TrimSpace(getenv("TEAMS_APP_ID"))
	c.AppPassword = strings.TrimSpace(getenv("TEAMS_APP_PASSWORD"))
	c.AppCertificate = strings.TrimSpace(getenv("TEAMS_APP_CERTIFICATE"))
	c.cert = nil
	c.Tenant = strings.TrimSpace(getenv("TEAMS_TENANT_ID"))
	c.OpenIDMetadataURL = strings.TrimSpace(envOr(getenv, "TEAMS_OPENID_METADATA_URL", teamsbot.DefaultOpenIDMetadataURL))
	c.LoginURL = strings.TrimRight(strings.TrimSpace(envOr(getenv, "TEAMS_LOGIN_URL", defaultTeamsLoginURL)), "/")
	c.GraphURL = strings.TrimRight(strings.TrimSpace(envOr(getenv, "TEAMS_GRAPH_URL", defaultTeamsGraphURL)), "/")
	c.FileConsent = strings.ToLower(strings.TrimSpace(getenv("TEAMS_FILE_CONSENT")))
	var errs []error
	if c.FileConsent != "" && c.FileConsent != "true" && c.FileConsent != "false" {
		errs = append(errs, fmt.Errorf("TEAMS_FILE_CONSENT=%q: want true or false", c.FileConsent))
	}
	for _, v := range []struct{ name, val string }{
		{"TEAMS_OPENID_METADATA_URL", c.OpenIDMetadataURL}, {"TEAMS_LOGIN_URL", c.LoginURL}, {"TEAMS_GRAPH_URL", c.GraphURL},
	} {
		if err := secureURL(v.val); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", v.name, v.val, err))
		}
	}
	if !c.configured() {
		return errors.Join(errs...)
	}
	if !isGUID(c.AppID) {
		errs = append(errs, fmt.Errorf("TEAMS_APP_ID=%q: want the Azure Bot's Microsoft App ID, a GUID", c.AppID))
	}
	if !isGUID(c.Tenant) {
		errs = append(errs, fmt.Errorf("TEAMS_TENANT_ID=%q: want the organisation's Entra tenant id, a GUID", c.Tenant))
	}
	switch {
	case c.AppPassword != "" && c.AppCertificate != "":
		errs = append(errs, errors.New("TEAMS_APP_PASSWORD and TEAMS_APP_CERTIFICATE are both set: set one, the app's client secret or its certificate"))
	case c.AppPassword == "" && c.AppCertificate == "":
		errs = append(errs, errors.New("TEAMS_APP_PASSWORD is not set: the client secret of the app TEAMS_APP_ID names (or set TEAMS_APP_CERTIFICATE, the PEM file of its certificate and private key)"))
	case c.AppCertificate != "":
		cert, err := loadTeamsCertificate(c.AppCertificate, time.Now())
		if err != nil {
			errs = append(errs, fmt.Errorf("TEAMS_APP_CERTIFICATE=%q: %w", c.AppCertificate, err))
		}
		c.cert = cert
	}
	return errors.Join(errs...)
}

// loadTeamsCertificate reads the app's certificate and key, and refuses
// one that is not valid at now.
func loadTeamsCertificate(path string, now time.Time) (*entra.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the certificate file: %w", err)
	}
	cert, err := entra.ParseCertificatePEM(b)
	if err != nil {
		return nil, err
	}
	if err := cert.Check(now); err != nil {
		return nil, err
	}
	return cert, nil
}

// credential is how the app proves who it is to the login service: its
// certificate when TEAMS_APP_CERTIFICATE is set, else its client secret.
func (c *TeamsConfig) credential() entra.Credential {
	if c.cert != nil {
		return c.cert
	}
	return entra.Secret(c.AppPassword)
}

// login is the organisation's token endpoint, as the app.
func (c *TeamsConfig) login(hc *http.Client) *entra.Client {
	return &entra.Client{LoginURL: c.LoginURL, Tenant: c.Tenant, ClientID: c.AppID, Credential: c.credential(), HTTPClient: hc}
}

// secureURL accepts an https:// address, or an http:// one on this
// machine's loopback (a test double): the bot's credentials go there.
func secureURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return errors.New("not an address")
	}
	if u.Scheme == "https" {
		return nil
	}
	if ip := net.ParseIP(u.Hostname()); u.Scheme == "http" && ip != nil && ip.IsLoopback() {
		return nil
	}
	return errors.New("want an https:// address")
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if r != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// teamsSource is what the Teams front end and the filing worker need of
// the capture source: capture/teams' Source.
type teamsSource interface {
	capture.Source
	capture.Resolver
}

// setupTeams starts the Teams front end when it is configured; it returns
// a line for the start-up banner saying what runs or how to configure it.
func setupTeams(w *wiring, c *TeamsConfig) (string, error) {
	if !c.configured() {
		return "Teams: off (to file Teams threads and group chats set TEAMS_APP_ID, TEAMS_APP_PASSWORD (or TEAMS_APP_CERTIFICATE), TEAMS_TENANT_ID and PUBLIC_URL; see docs/teams.md)", nil
	}
	if w.Config.PublicURL == "" {
		return "", errors.New("teams: set PUBLIC_URL, the https:// address Teams sends requests to (the Azure Bot's messaging endpoint is PUBLIC_URL/teams/messages)")
	}
	log := w.Logger.With("platform", "teams")
	var base http.RoundTripper
	if w.Metrics != nil {
		base = w.Metrics.transport(capture.Teams, nil)
	}
	hc := &http.Client{Timeout: 60 * time.Second, Transport: base}
	consent, consentLine, err := teamsConsent(w, c, hc)
	if err != nil {
		return "", err
	}
	var delegated teamscap.Delegated
	if consent != nil {
		delegated = consent
	}
	src, err := newTeamsSource(c, hc, log, delegated)
	if err != nil {
		return "", fmt.Errorf("teams: %w", err)
	}
	verifier, err := teamsbot.NewVerifier(c.AppID, c.OpenIDMetadataURL, &http.Client{Timeout: 10 * time.Second}, nil)
	if err != nil {
		return "", err
	}
	conn, err := teamsbot.NewConnector(teamsbot.ConnectorOptions{AppID: c.AppID, Credential: c.credential(), Tenant: c.Tenant,
		LoginURL: c.LoginURL, Scope: botScope(c), HTTPClient: &http.Client{Timeout: 30 * time.Second}})
	if err != nil {
		return "", err
	}
	app, err := teamsbot.New(teamsbot.Options{AppID: c.AppID, Tenant: c.Tenant, Verifier: verifier, Messenger: conn,
		Filer: w.filer(), Threads: src, TimeZone: w.Config.TimeZone, Logger: log, Consent: consent,
		Exports: w.exportUploads(), ExportTimeZone: w.Config.TimeZone})
	if err != nil {
		return "", err
	}
	w.Sources[capture.Teams] = src
	// Ready while the login service gives the bot its Bot Connector
	// token (cached until shortly before it expires).
	w.Readiness.add("teams", func(ctx context.Context) error {
		if _, err := conn.Token(ctx); err != nil {
			return &notReady{reason: "the Microsoft login service refuses or does not answer the Teams app", err: err}
		}
		return nil
	})
	w.Notifiers.ByPlatform[capture.Teams] = app
	w.routeExports(teamsbot.ViaExport, app)
	app.Register(w.Mux)
	return "Teams: messaging endpoint " + w.Config.PublicURL + teamsbot.Path + " (app " + c.AppID + ", tenant " + c.Tenant + "); " + consentLine, nil
}

// teamsConsent sets up people's permissions to read the files shared in
// the conversations they file, when TEAMS_FILE_CONSENT allows and what it
// needs is set; the line says which, and what is missing.
func teamsConsent(w *wiring, c *TeamsConfig, hc *http.Client) (*teamsbot.Consent, string, error) {
	if c.FileConsent == "false" {
		return nil, "shared files: kept as links (TEAMS_FILE_CONSENT=false)", nil
	}
	if w.Vault == nil {
		advice := "people can let recordbot keep the files shared in what they file once RECORDBOT_SECRET_KEY is set too " +
			"(see docs/teams.md#shared-files)"
		if c.FileConsent == "true" {
			return nil, "", errors.New("teams: TEAMS_FILE_CONSENT=true, but " + advice)
		}
		return nil, "shared files: kept as links; " + advice + ", or set TEAMS_FILE_CONSENT=false to say it stays off", nil
	}
	key, err := bot.ParseKey(w.Config.SecretKey)
	if err != nil {
		return nil, "", err
	}
	// The sign-in links' key is the deployment's secret key's, for this
	// use only.
	m := hmac.New(sha256.New, key)
	m.Write([]byte("recordbot teams file consent links"))
	cons, err := teamsbot.NewConsent(teamsbot.ConsentOptions{Store: w.Store, Vault: w.Vault,
		Login:    c.login(hc),
		GraphURL: c.GraphURL, RedirectURL: w.Config.PublicURL + teamsbot.CallbackPath, Key: m.Sum(nil),
		Logger: w.Logger.With("platform", "teams")})
	if err != nil {
		return nil, "", fmt.Errorf("teams: %w", err)
	}
	return cons, "shared files: people allow recordbot at " + w.Config.PublicURL + teamsbot.CallbackPath + " (TEAMS_FILE_CONSENT)", nil
}

// botScope is the Bot Connector token's scope: the Bot Framework's, in
// the cloud whose login service is configured (Azure Government's login
// service hands out tokens for api.botframework.us).
func botScope(c *TeamsConfig) string {
	if strings.HasSuffix(hostOf(c.LoginURL), ".us") {
		return "https://api.botframework.us/.default"
	}
	return teamsbot.DefaultBotScope
}

func hostOf(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

const teamsUsage = `usage: bot teams manifest [--out FILE] [--developer NAME] [--privacy-url URL] [--terms-url URL] [--version X.Y.Z]

Writes the Teams app package (manifest.json and its icons, zipped) for this
deployment, from TEAMS_APP_ID and PUBLIC_URL. Upload it in Teams (Apps,
Manage your apps, Upload an app) or in the Teams admin center. See
docs/teams.md.
`

// runTeams runs `bot teams ...`.
func (m *Main) runTeams(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "manifest" {
		if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(m.Stdout, teamsUsage)
			return nil
		}
		fmt.Fprint(m.Stderr, teamsUsage)
		return errors.New("teams: say manifest")
	}
	fs := flag.NewFlagSet("bot teams manifest", flag.ContinueOnError)
	out := fs.String("out", "recordbot-teams.zip", "the app package `file` to write")
	dev := fs.String("developer", "", "the publisher's `name` shown in Teams, at most 32 characters (default RECORDS_ORGANISATION, else recordbot)")
	privacy := fs.String("privacy-url", "", "the organisation's privacy statement `URL` (default PUBLIC_URL)")
	terms := fs.String("terms-url", "", "the organisation's terms of use `URL` (default PUBLIC_URL)")
	version := fs.String("version", "1.0.0", "the app's `version`; raise it to update an uploaded app")
	fs.Usage = func() { fmt.Fprint(fs.Output(), teamsUsage); fs.PrintDefaults() }
	if err := m.parseFlags(fs, args[1:]); err != nil {
		return err
	}
	// The package needs the app id and the public address only: the
	// password and tenant may be set later, on the server.
	appID := strings.TrimSpace(m.Getenv("TEAMS_APP_ID"))
	publicURL := strings.TrimRight(strings.TrimSpace(m.Getenv("PUBLIC_URL")), "/")
	if appID == "" {
		return errors.New("teams manifest: set TEAMS_APP_ID, the Azure Bot's Microsoft App ID")
	}
	if publicURL == "" {
		return errors.New("teams manifest: set PUBLIC_URL, the bot's https:// address")
	}
	developer := *dev
	if developer == "" {
		developer = strings.TrimSpace(m.Getenv("RECORDS_ORGANISATION"))
		if len([]rune(developer)) > 32 {
			developer = ""
		}
	}
	o := teamsbot.ManifestOptions{AppID: appID, PublicURL: publicURL, Developer: developer, PrivacyURL: *privacy, TermsURL: *terms, Version: *version}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := teamsbot.Package(f, o); err != nil {
		f.Close()
		os.Remove(*out)
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "wrote %s: the Teams app for %s, messaging endpoint %s%s\n", *out, appID, publicURL, teamsbot.Path)
	return nil
}
