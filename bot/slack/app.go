// Package slack is recordbot's Slack front end: the "File as record" message
// shortcut, the /record command, the filing modal with its type-ahead class
// picker, per-workspace installation (OAuth v2), each person's permission
// to read the direct and group messages they file (OAuth v2 user scopes,
// see grants.go) and the messages that tell people what became of their
// request. People also file WhatsApp chats by sending their "Export chat"
// file to recordbot in its Messages tab (whatsapp.go).
//
// One set of handlers serves both ways Slack can reach the bot: HTTP
// requests signed with the signing secret (/slack/commands,
// /slack/interactivity, /slack/options, /slack/events) and Socket Mode. Every
// request is acknowledged at once; opening the modal and posting messages
// happen right after the acknowledgement, and filing itself runs in the
// filing service's worker. Slack SDK types do not leave this package.
package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	slackcap "github.com/recordbot/recordbot/capture/slack"
	"github.com/recordbot/recordbot/filing"
)

// Threads checks, before anything of a thread is shown to a person, that
// they may file it: capture/slack's Source implements it. Both methods
// fail with capture.ErrAccess when the person is not a member of the
// thread's channel, having read nothing of the thread.
type Threads interface {
	// Resolve checks as Member does and only then reads the thread's
	// root (capture.Resolver).
	capture.Resolver
	// Member checks that requester is a member of the thread's channel:
	// for when the root's text is already known.
	Member(ctx context.Context, ref capture.Ref, requester capture.Person) error
}

// Options configure an App.
type Options struct {
	Filer bot.Filer
	// Threads checks membership before a thread's first line is shown.
	// Required.
	Threads Threads
	// AllowedTeams lists the workspaces (team ids, T…) and Enterprise
	// Grid organisations (E…) recordbot serves; requests from others and
	// installs into others are refused. Empty: any workspace that has a
	// token (only sensible with one workspace's BotToken).
	AllowedTeams []string
	// Installs holds the workspaces installed through OAuth; nil when the
	// bot serves only the workspace of BotToken.
	Installs *Installations
	// BotToken is the token of the one workspace in single-workspace
	// mode. With Installs set too, it serves workspaces not
	// found there.
	BotToken string
	// SigningSecret checks HTTP requests; HTTP routes are served only
	// when it is set.
	SigningSecret string
	// ClientID, ClientSecret and RedirectURL enable /slack/install (with
	// Installs); the redirect URL is the public URL + "/slack/oauth/callback".
	ClientID, ClientSecret, RedirectURL string
	// Grants keeps the permissions people give recordbot to read the
	// direct and group messages they file, which a bot cannot join
	// (their user tokens). nil turns that off: such conversations cannot
	// be filed, and people are told so. It needs ClientID, ClientSecret
	// and UserRedirectURL.
	Grants *Grants
	// UserRedirectURL is where Slack sends a person back after they
	// allowed recordbot: the public URL + "/slack/oauth/user-callback".
	UserRedirectURL string
	// AuthorizeURL is Slack's OAuth v2 page (tests change it).
	AuthorizeURL string
	// APIURL is the Web API base URL; Slack's when empty.
	APIURL     string
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Clock is the clock (signature timestamps, OAuth state, the forms
	// answered); the system clock when nil.
	Clock filing.Clock
	// Sleep waits between attempts to give a token back to Slack; a
	// context-aware timer (capture.Sleep) when nil.
	Sleep func(ctx context.Context, d time.Duration) error
	// TriggerWindow is how long the bot gives itself to answer inside
	// Slack's 3 seconds: to open a form after a shortcut or a command
	// (a trigger_id expires after 3 seconds:
	// https://api.slack.com/interactivity/handling#modal_responses) and
	// to answer a form submitted. The membership check before a form
	// opens gets three fifths of it. Default within3s; tests on a loaded
	// machine give more, so that an answer slowed by the machine is not
	// taken for Slack's deadline.
	TriggerWindow time.Duration
	// ThreadReceipt posts a short receipt in the thread once it is filed.
	ThreadReceipt bool
	// MaxBody, when set, caps every request body in place of each
	// endpoint's own limit (see maxInteraction).
	MaxBody int64
	// Exports keeps the WhatsApp exports people send to the bot in its
	// Messages tab (see whatsapp.go); with Files, it turns that on.
	Exports *bot.Uploads
	// Files downloads the files people send (capture/slack's Source).
	Files Files
	// ExportTimeZone reads an export's times when the sender's Slack
	// profile has no time zone; nil: they are asked to set one.
	ExportTimeZone *time.Location
}

// App is the Slack front end. It also implements filing.Notifier for
// requests made through it.
type App struct {
	o     Options
	log   *slog.Logger
	clock filing.Clock
	sleep func(ctx context.Context, d time.Duration) error
	// allowed is AllowedTeams as a set; empty allows every workspace.
	allowed allowedSet
	// tokens looks up a workspace's bot token (BotTokens).
	tokens slackcap.TokenFunc
	// submitter is the modal's submit step; it remembers, by submission
	// key, which forms were answered with bot.StoreLate and which were
	// told they are being filed (see submit).
	submitter *bot.Submitter
}

var _ filing.Notifier = (*App)(nil)

// DefaultAuthorizeURL is Slack's OAuth v2 authorisation page.
const DefaultAuthorizeURL = "https://slack.com/oauth/v2/authorize"

// BotScopes are the bot token scopes recordbot asks for (also in
// manifest.yml): read public and private channels, DMs and group DMs, names
// and files; write chat; the shortcut and command.
var BotScopes = []string{
	"channels:history", "channels:read",
	"groups:history", "groups:read",
	"im:history", "im:read",
	"mpim:history", "mpim:read",
	"users:read", "files:read",
	"chat:write", "commands",
}

// New returns an App.
func New(o Options) (*App, error) {
	if o.Filer == nil {
		return nil, errors.New("slack front end: no filing service")
	}
	if o.Threads == nil {
		return nil, errors.New("slack front end: no thread membership check")
	}
	if o.BotToken == "" && o.Installs == nil {
		return nil, errors.New("slack front end: needs a bot token, or installations (with a client id and secret) to install into workspaces")
	}
	if o.Installs != nil && o.ClientID != "" && (o.ClientSecret == "" || o.RedirectURL == "") {
		return nil, errors.New("slack front end: installing needs a client secret and a redirect URL as well as a client id")
	}
	if o.Grants != nil && (o.ClientID == "" || o.ClientSecret == "" || o.UserRedirectURL == "") {
		return nil, errors.New("slack front end: filing direct and group messages needs a client id and secret and a user redirect URL " +
			"(people allow recordbot to read them through Slack's OAuth)")
	}
	if o.APIURL == "" {
		o.APIURL = slackapi.APIURL
	}
	if o.AuthorizeURL == "" {
		o.AuthorizeURL = DefaultAuthorizeURL
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	a := &App{o: o, log: o.Logger, clock: filing.ClockOr(o.Clock), sleep: o.Sleep, allowed: newAllowedSet(o.AllowedTeams),
		tokens: BotTokens(o.Installs, o.BotToken, o.AllowedTeams)}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.sleep == nil {
		a.sleep = capture.Sleep
	}
	if a.o.TriggerWindow <= 0 {
		a.o.TriggerWindow = within3s
	}
	a.submitter = &bot.Submitter{Filer: o.Filer, Exports: o.Exports, Timeout: a.o.TriggerWindow, QuietRepeats: true,
		Clock: a.clock, Logger: a.log.With("platform", "slack")}
	return a, nil
}

// now is the time on the App's clock.
func (a *App) now() time.Time { return a.clock.Now() }

// ErrNotInstalled is returned for a workspace recordbot has no token for.
var ErrNotInstalled = errors.New("recordbot is not installed in this Slack workspace")

// ErrNotAllowed is returned for a workspace outside AllowedTeams.
var ErrNotAllowed = errors.New("recordbot does not serve this Slack workspace")

// allows reports whether the workspace team (of Enterprise Grid
// organisation enterprise, when it is in one) is served.
func (a *App) allows(team, enterprise string) bool { return a.allowed.allows(team, enterprise) }

// caller checks who a request comes from: Slack always names the person
// and the workspace, and the workspace must be one recordbot serves.
func (a *App) caller(team, enterprise, user string) error {
	if team == "" || user == "" {
		return errors.New("slack request names no workspace or no person")
	}
	if !a.allows(team, enterprise) {
		return fmt.Errorf("workspace %s: %w", team, ErrNotAllowed)
	}
	return nil
}

// Token returns the bot token for a workspace: its installation, else the
// single-workspace token (BotTokens). An installation of a workspace
// outside AllowedTeams is not used.
func (a *App) Token(ctx context.Context, teamID string) (string, error) { return a.tokens(ctx, teamID) }

// client returns a Web API client with the workspace's token.
func (a *App) client(ctx context.Context, teamID string) (*slackapi.Client, error) {
	tok, err := a.Token(ctx, teamID)
	if err != nil {
		return nil, err
	}
	return slackapi.New(tok, slackapi.OptionAPIURL(a.o.APIURL), slackapi.OptionHTTPClient(a.o.HTTPClient)), nil
}

// reply is what the front end keeps in filing.Request.Reply to tell the
// person the outcome: ids only.
type reply struct {
	Team     string `json:"team"`
	Channel  string `json:"channel"`
	User     string `json:"user"`
	ThreadTS string `json:"thread_ts,omitempty"`
}

func (r reply) raw() json.RawMessage {
	b, _ := json.Marshal(r)
	return b
}

// ack is what a handler answers Slack with at once (nil: an empty 200), and
// after is work to do right after the answer went out (open a modal, post
// a message); after may be nil.
type ack struct {
	body  any
	after func(ctx context.Context)
	// refuse, when set, is the HTTP status refusing the request (Socket
	// Mode acknowledges it and does nothing).
	refuse int
}

// afterTimeout bounds the work done after an acknowledgement.
const afterTimeout = 30 * time.Second

// within3s bounds calls that must finish inside Slack's trigger window.
const within3s = 2500 * time.Millisecond
