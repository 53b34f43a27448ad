// Package teams is recordbot's Microsoft Teams front end: the "File as
// record" action in the "…" menu of every message (a message extension
// action command), its filing form (an Adaptive Card in a dialog), and
// the messages that tell the person, in their personal chat with the bot,
// what became of their request.
//
// Teams reaches the bot at /teams/messages through the Bot Connector
// service. Every request is authenticated (auth.go) before its body is
// acted on; anything else is answered 401. An invoke is answered within
// Teams' five seconds; filing itself runs in the filing service's worker,
// and the capture of the conversation through Microsoft Graph is
// capture/teams'.
package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

// CommandID is the message extension's action command id in the app
// manifest: "File as record".
const CommandID = "fileAsRecord"

// Via is how a request made through the action reads (filing.Request.Via).
const Via = "teams message action"

// ChannelID is the Bot Framework channel id of Teams: the channel a
// signing key must be endorsed for.
const ChannelID = "msteams"

// Deadlines. Teams gives an app five seconds to answer an invoke, after
// which the person sees "Unable to reach the app" and the answer is
// ignored ("Respond to the task module submit action",
// https://learn.microsoft.com/en-us/microsoftteams/platform/messaging-extensions/how-to/action-commands/respond-to-task-module-submit).
// The membership check and the store each get less, so the answer is
// written in time whatever they do.
// (Variables for tests, which run on loaded machines.)
var (
	invokeDeadline = 5 * time.Second
	storeTimeout   = 3500 * time.Millisecond
	// checkTimeout bounds the membership check.
	checkTimeout = 3 * time.Second
)

const (
	// afterTimeout bounds the work done after an answer (the "Filing…"
	// message).
	afterTimeout = 30 * time.Second
	// DefaultMaxBody caps a request body. An invoke from a message
	// carries that message (its HTML body, at most about 28 KB of text,
	// https://learn.microsoft.com/en-us/microsoftteams/limits-specifications-teams#chat)
	// with its mentions and reactions; a submitAction carries the form.
	DefaultMaxBody = 256 << 10
	// replayFor is how long an activity's answer is kept to answer a
	// replay of it without acting again.
	replayFor = 15 * time.Minute
)

// Messenger sends the bot's own messages: the Connector does.
type Messenger interface {
	// Trust records a service URL an authenticated activity named.
	Trust(serviceURL string)
	// Send sends text to the person's personal chat with the bot.
	Send(ctx context.Context, to Personal, text string) error
	// SendCard sends an Adaptive Card there (a WhatsApp export's offer).
	SendCard(ctx context.Context, to Personal, summary string, card any) error
	// TeamGroupID gives the group id of a team an activity names by its
	// thread id.
	TeamGroupID(ctx context.Context, serviceURL, team string) (string, error)
}

// Options configure an App.
type Options struct {
	// AppID is the bot's Microsoft App ID: the audience of the tokens.
	AppID string
	// Tenant is the organisation's tenant id; activities of any other
	// tenant are refused. Required: the bot is single-tenant.
	Tenant string
	// Verifier checks the Bot Connector's tokens. Required.
	Verifier *Verifier
	// Messenger sends the person their outcomes. Required.
	Messenger Messenger
	Filer     bot.Filer
	// Threads checks that the person may file the conversation before
	// the form shows anything of it (capture/teams' Source).
	Threads capture.Resolver
	// TimeZone is the day of "the messages of that day" when Teams does
	// not send the person's own; UTC when nil.
	TimeZone *time.Location
	// Consent keeps people's permissions to read the files shared in
	// what they file; nil: shared files are kept as links only.
	Consent *Consent
	// Exports keeps the WhatsApp exports people send the bot in their
	// personal chat with it (whatsapp.go); nil: none are taken.
	Exports *bot.Uploads
	// ExportTimeZone reads an export when the person's Teams client
	// sends no time zone: the organisation's.
	ExportTimeZone *time.Location
	// FileHosts are the hosts a file sent to the bot is downloaded from
	// (DefaultFileHosts when nil), and FileClient downloads it (one
	// that refuses redirects elsewhere is made when nil); for tests.
	FileHosts  []string
	FileClient *http.Client
	// MaxBody caps a request body (DefaultMaxBody when 0).
	MaxBody int64
	Logger  *slog.Logger
	Clock   filing.Clock
}

// App is the Teams front end. It also implements filing.Notifier.
type App struct {
	o     Options
	log   *slog.Logger
	clock filing.Clock

	// submit is the shared submit step: one request per form; exports
	// is its WhatsApp exports' (nil when Exports is).
	submit, exports *bot.Submitter
	// dms holds a slot for each export being taken (dm.go).
	dms chan struct{}

	mu      sync.Mutex
	answers map[string]answer // by activity id, for replays
	// telling holds, by request id, a channel closed once the person
	// has been told "Filing…": the outcome waits for it (Notify), so it
	// never comes first.
	telling map[string]chan struct{}

	// after tracks the work started after answers, so a test (or a
	// shutdown) can wait for it.
	after sync.WaitGroup
}

var _ filing.Notifier = (*App)(nil)

// answer is what an activity was answered, kept for its replays.
type answer struct {
	at   time.Time
	body []byte
}

// New returns an App.
func New(o Options) (*App, error) {
	switch {
	case o.AppID == "":
		return nil, errors.New("teams front end: no app id")
	case o.Tenant == "":
		return nil, errors.New("teams front end: no tenant")
	case o.Verifier == nil:
		return nil, errors.New("teams front end: no token verifier")
	case o.Messenger == nil:
		return nil, errors.New("teams front end: no Bot Connector to answer through")
	case o.Filer == nil:
		return nil, errors.New("teams front end: no filing service")
	case o.Threads == nil:
		return nil, errors.New("teams front end: no membership check")
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.TimeZone == nil {
		o.TimeZone = time.UTC
	}
	a := &App{o: o, log: o.Logger, clock: filing.ClockOr(o.Clock), answers: map[string]answer{}, telling: map[string]chan struct{}{}, dms: make(chan struct{}, dmsAtOnce)}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	// Teams may deliver a submission more than once: a copy of a form
	// already told says it was received, in the dialog only.
	a.submit = &bot.Submitter{Filer: o.Filer, Timeout: storeTimeout, QuietRepeats: true, Clock: o.Clock, Logger: a.log.With("via", Via)}
	if o.Exports != nil {
		a.exports = &bot.Submitter{Filer: o.Filer, Exports: o.Exports, Timeout: storeTimeout, QuietRepeats: true, Clock: o.Clock, Logger: a.log.With("via", ViaExport)}
	}
	return a, nil
}

// Path is where Teams' messaging endpoint points, under the bot's public address.
const Path = "/teams/messages"

// Register adds the messaging endpoint to mux, and the sign-in callback
// when people may let recordbot read their files.
func (a *App) Register(mux *http.ServeMux) {
	mux.Handle("POST "+Path, a)
	if a.o.Consent != nil {
		mux.HandleFunc("GET "+CallbackPath, a.serveConsent)
	}
}

// Wait waits for the work started after answers to finish.
func (a *App) Wait() { a.after.Wait() }

// ServeHTTP authenticates a request from the Bot Connector and answers it.
// The token is checked before the body is read; what the token says of
// the activity (its service URL, its channel) before anything in it is
// acted on. A request that fails either is answered 401.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, err error) {
		a.log.Warn("teams: refused a request", "remote", r.RemoteAddr, "status", status, "err", err)
		w.Header().Set("Connection", "close") // the body may be unread
		http.Error(w, http.StatusText(status), status)
	}
	if r.Method != http.MethodPost {
		refuse(http.StatusMethodNotAllowed, errors.New("not a POST"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), invokeDeadline)
	defer cancel()
	tok, err := a.o.Verifier.Verify(ctx, r.Header.Get("Authorization"))
	if err != nil {
		refuse(http.StatusUnauthorized, err)
		return
	}
	if r.ContentLength > a.o.MaxBody {
		refuse(http.StatusRequestEntityTooLarge, fmt.Errorf("body of %d bytes, over %d", r.ContentLength, a.o.MaxBody))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.o.MaxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			refuse(http.StatusRequestEntityTooLarge, err)
			return
		}
		refuse(http.StatusBadRequest, err)
		return
	}
	var act activity
	if err := json.Unmarshal(body, &act); err != nil {
		refuse(http.StatusUnauthorized, fmt.Errorf("%w: the activity is not JSON, so its service URL cannot be checked", ErrUnauthorized))
		return
	}
	if err := tok.Check(act.ServiceURL, act.ChannelID); err != nil {
		refuse(http.StatusUnauthorized, err)
		return
	}
	if act.ChannelID != ChannelID {
		refuse(http.StatusUnauthorized, fmt.Errorf("%w: channel %q is not Teams", ErrUnauthorized, act.ChannelID))
		return
	}
	if t := act.tenant(); t != a.o.Tenant {
		refuse(http.StatusForbidden, fmt.Errorf("activity of tenant %q, not the organisation's", t))
		return
	}
	a.o.Messenger.Trust(act.ServiceURL)
	var out []byte
	var after func(context.Context)
	switch {
	case act.Type == "invoke":
		out, after = a.replay(act, func() (any, func(context.Context)) { return a.invoke(ctx, &act) })
	case act.Type == "message" && act.kind() == kindPersonal:
		// A person writing to the bot: answered in their chat, once.
		_, after = a.replay(act, func() (any, func(context.Context)) { return struct{}{}, a.personal(&act) })
	default:
		// Other messages and conversation updates need no answer.
	}
	if out == nil {
		w.WriteHeader(http.StatusOK)
		a.afterAnswer(r.Context(), after)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	w.Write(out)
	a.afterAnswer(r.Context(), after)
}

// tell returns after, which tells the person of request id that it is
// being filed, wrapped so that the request's outcome waits for it
// (toldFirst).
func (a *App) tell(id string, after func(context.Context)) func(context.Context) {
	ch := make(chan struct{})
	a.mu.Lock()
	a.telling[id] = ch
	a.mu.Unlock()
	return func(ctx context.Context) {
		defer close(ch)
		after(ctx)
	}
}

// toldFirst waits until the person of request id has been told it is
// being filed, when this process is telling them (the telling is bounded
// by afterTimeout), or ctx ends.
func (a *App) toldFirst(ctx context.Context, id string) {
	a.mu.Lock()
	ch := a.telling[id]
	delete(a.telling, id)
	a.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// afterAnswer runs after, when set, once the request is answered.
func (a *App) afterAnswer(ctx context.Context, after func(context.Context)) {
	if after == nil {
		return
	}
	a.after.Add(1)
	go func() {
		defer a.after.Done()
		actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), afterTimeout)
		defer acancel()
		after(actx)
	}()
}

// replay answers an activity the Bot Connector sends again (the same id
// from the same person) as it was answered, without acting on it again;
// any other activity is answered by do.
func (a *App) replay(act activity, do func() (any, func(context.Context))) ([]byte, func(context.Context)) {
	key := act.ID + "\x00" + act.From.ID
	now := a.clock.Now()
	a.mu.Lock()
	for k, v := range a.answers {
		if now.Sub(v.at) > replayFor {
			delete(a.answers, k)
		}
	}
	prev, seen := a.answers[key]
	a.mu.Unlock()
	if seen && act.ID != "" {
		a.log.Info("teams: activity replayed; answered as before", "activity", act.ID)
		return prev.body, nil
	}
	body, after := do()
	out, err := json.Marshal(body)
	if err != nil {
		out = []byte("{}")
	}
	if act.ID != "" {
		a.mu.Lock()
		a.answers[key] = answer{at: now, body: out}
		a.mu.Unlock()
	}
	return out, after
}

// invoke answers an invoke activity: the action's fetchTask and
// submitAction, and the dialog of a WhatsApp export's offer (task/fetch,
// task/submit); any other invoke gets an empty answer.
func (a *App) invoke(ctx context.Context, act *activity) (any, func(context.Context)) {
	switch act.Name {
	case "composeExtension/fetchTask":
		return a.fetchTask(ctx, act)
	case "composeExtension/submitAction":
		return a.submitAction(ctx, act)
	case "task/fetch":
		return a.exportFetch(ctx, act), nil
	case "task/submit":
		return a.exportSubmit(ctx, act)
	}
	return struct{}{}, nil
}
