// Package mattermost is recordbot's Mattermost front end: the /record
// custom slash command, the interactive dialog that asks for title, class,
// marking and description (with a dynamic select for a large file plan),
// the reaction trigger seen over the WebSocket with its "File as record…"
// button, what the person is told about each filing request, and the
// per-team install and uninstall. People also file WhatsApp chats by
// sending their "Export chat" file to @recordbot in a direct message
// (whatsapp.go).
//
// Everything the person is told goes through channels a bot account with
// the default permissions may use on every server version: the slash
// command's own answer, the command's response_url (an ephemeral message
// where the command was typed, for 30 minutes and 5 messages), and
// otherwise a direct message from the bot. POST /posts/ephemeral is never
// used: it needs create_post_ephemeral, which only system admins hold.
//
// Mattermost does not sign the requests it sends integrations except for
// the slash command token, so every later step (dialog, lookup, button)
// carries the thread and the person in a state sealed with the bot.Vault:
// it cannot be forged or moved to another person. A team that is not
// installed has no command token, so every command claiming it is refused.
package mattermost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	mmcapture "github.com/recordbot/recordbot/capture/mattermost"
	"github.com/recordbot/recordbot/capture/mattermost/mmhttp"
	"github.com/recordbot/recordbot/filing"
)

// The paths Mattermost calls, under Options.PublicURL.
const (
	CommandPath = "/mattermost/command"
	DialogPath  = "/mattermost/dialog"
	LookupPath  = "/mattermost/classes"
	ActionPath  = "/mattermost/action"
)

// Options configure an App.
type Options struct {
	// Server is the Mattermost server URL.
	Server string
	// PublicURL is where Mattermost reaches this bot.
	PublicURL string
	Store     filing.Store
	Vault     *bot.Vault
	Filer     bot.Filer
	Logger    *slog.Logger
	// Reaction is the emoji name that offers filing (default
	// card_file_box).
	Reaction string
	// DynamicOver is the number of file plan classes above which the
	// class select asks the bot as the person types (default 100).
	DynamicOver int
	// Transport carries API requests; http.DefaultTransport when nil.
	Transport http.RoundTripper
	// Clock is the clock (the sealed states' expiry, the caches, the
	// listener's backoff); the system clock when nil.
	Clock filing.Clock
	// StateTTL is how long a dialog or button stays usable (default 24h).
	StateTTL time.Duration
	// InstallTTL is how long the stored installation is cached (default
	// 30s), so an install made while serving is picked up.
	InstallTTL time.Duration
	// Installs is the installation store to share (with the worker's
	// capture source); when nil, one over Store and Vault is made.
	Installs *Installations
	// Exports keeps the WhatsApp exports people send to the bot in a
	// direct message (whatsapp.go); nil turns that off.
	Exports *bot.Uploads
	// ExportTimeZone reads an export's times when the sender's
	// Mattermost profile has no time zone (the organisation's); nil asks
	// the person to set one.
	ExportTimeZone *time.Location
}

// App is the Mattermost front end of one server.
type App struct {
	o      Options
	server string
	log    *slog.Logger

	installs *Installations

	mu      sync.Mutex
	sess    *session
	sessTok string
	botUser string // the installed bot's username, once known
	// A short negative cache (missTTL), so that requests naming a team
	// recordbot is not installed on (forged ones with random team ids)
	// cost no store read each: notInstalled says the last read found no
	// installation, at missAt; teamReadAt is when the installation was
	// last read again for a team the cached one lacked.
	notInstalled bool
	missAt       time.Time
	teamReadAt   time.Time

	// work counts the exports being taken, which Listen waits for.
	work sync.WaitGroup

	// submitter is the dialog's submit step.
	submitter *bot.Submitter
}

// session is the installed bot's way in: the capture source, which
// resolves and captures threads, and the bot's own API client for what a
// front end does (dialogs, direct messages, slash command answers). Both
// retry requests answered with HTTP 429 as the server asks.
type session struct {
	src  *mmcapture.Source
	api  *model.Client4
	http *http.Client
	// tok is the bot's token, for downloads streamed past api.
	tok string
}

// New returns the front end for o.Server.
func New(o Options) (*App, error) {
	server, err := mmcapture.NormalizeURL(o.Server)
	if err != nil {
		return nil, err
	}
	switch {
	case o.Vault == nil:
		return nil, fmt.Errorf("mattermost: %w (it seals the bot token)", bot.ErrNoKey)
	case o.Store == nil || o.Filer == nil:
		return nil, errors.New("mattermost: needs a store and the filing service")
	case o.PublicURL == "":
		return nil, fmt.Errorf("mattermost: %w", ErrNoPublicURL)
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	if o.Reaction == "" {
		o.Reaction = "card_file_box"
	}
	o.Reaction = strings.Trim(o.Reaction, ": ")
	if o.DynamicOver == 0 {
		o.DynamicOver = 100
	}
	o.Clock = filing.ClockOr(o.Clock)
	if o.StateTTL == 0 {
		o.StateTTL = 24 * time.Hour
	}
	if o.InstallTTL == 0 {
		o.InstallTTL = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	installs := o.Installs
	if installs == nil {
		if installs, err = NewInstallations(o.Store, o.Vault, o.InstallTTL, o.Clock); err != nil {
			return nil, err
		}
	}
	return &App{o: o, server: server, log: o.Logger, installs: installs,
		submitter: &bot.Submitter{Filer: o.Filer, Exports: o.Exports, Clock: o.Clock, Logger: o.Logger.With("platform", "mattermost")}}, nil
}

// now is the time on the App's clock.
func (a *App) now() time.Time { return a.o.Clock.Now() }

// Register adds the routes Mattermost calls to mux.
func (a *App) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+CommandPath, a.handleCommand)
	mux.HandleFunc("POST "+DialogPath, a.handleDialog)
	mux.HandleFunc("POST "+LookupPath, a.handleLookup)
	mux.HandleFunc("POST "+ActionPath, a.handleAction)
}

// ErrNotInstalled is returned while no installation is stored.
var ErrNotInstalled = errors.New("recordbot is not installed on this Mattermost server yet: run `bot mattermost install --team TEAM`")

// missTTL is how long a read that found no installation, or an
// installation without the team a request named, answers for every such
// request before the store is read again: whatever the number of requests
// naming teams recordbot is not on, the store is read at most once per
// missTTL for them, and a server or team installed meanwhile is found
// within missTTL.
const missTTL = 5 * time.Second

// installation returns the stored installation (cached briefly; fresh
// reads it again) and a session with the bot's token. For missTTL after a
// read found none, it answers ErrNotInstalled without reading.
func (a *App) installation(ctx context.Context, fresh bool) (*Installation, *session, error) {
	a.mu.Lock()
	if a.notInstalled {
		if now := a.now(); now.Sub(a.missAt) < missTTL && !now.Before(a.missAt) {
			a.mu.Unlock()
			return nil, nil, ErrNotInstalled
		}
		a.missAt = a.now() // this caller reads; the others wait for missTTL
	}
	a.mu.Unlock()
	get := a.installs.Get
	if fresh {
		get = a.installs.Refresh
	}
	inst, err := get(ctx, a.server)
	if errors.Is(err, ErrNotInstalled) {
		a.mu.Lock()
		a.sess, a.sessTok = nil, ""
		a.notInstalled, a.missAt = true, a.now()
		a.mu.Unlock()
		return nil, nil, ErrNotInstalled
	}
	if err != nil {
		return nil, nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.notInstalled = false
	a.botUser = inst.BotUsername
	if tok := inst.botToken; a.sess == nil || a.sessTok != tok {
		src, err := mmcapture.New(mmcapture.Options{URL: a.server, Token: tok, Transport: a.o.Transport, Logger: a.log})
		if err != nil {
			return nil, nil, err
		}
		hc := mmhttp.NewClient(a.o.Transport, 0, 0, nil)
		api := model.NewAPIv4Client(a.server)
		api.HTTPClient = hc
		api.SetToken(tok)
		a.sess, a.sessTok = &session{src: src, api: api, http: hc, tok: tok}, tok
	}
	return &inst, a.sess, nil
}

// installationFor returns the installation and session for a request
// naming teamID. When the cached installation lacks the team, it is read
// again (the team may have been installed since), but at most once per
// missTTL for all such teams together, and never for a malformed team id:
// the caller refuses a team the installation returned lacks.
func (a *App) installationFor(ctx context.Context, teamID string) (*Installation, *session, error) {
	inst, sess, err := a.installation(ctx, false)
	if err != nil || inst.Teams[teamID] != nil || !model.IsValidId(teamID) {
		return inst, sess, err
	}
	a.mu.Lock()
	now := a.now()
	if now.Sub(a.teamReadAt) < missTTL && !now.Before(a.teamReadAt) {
		a.mu.Unlock()
		return inst, sess, nil
	}
	a.teamReadAt = now
	a.mu.Unlock()
	return a.installation(ctx, true)
}

// httpStatus returns the HTTP status of a failed API call, or 0.
func httpStatus(resp *model.Response, err error) int {
	if resp != nil && resp.StatusCode != 0 {
		return resp.StatusCode
	}
	if ae, ok := errors.AsType[*model.AppError](err); ok {
		return ae.StatusCode
	}
	return 0
}
