package slack_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/recordbot/recordbot/bot"
	slackbot "github.com/recordbot/recordbot/bot/slack"
	"github.com/recordbot/recordbot/capture"
	slackcap "github.com/recordbot/recordbot/capture/slack"
	"github.com/recordbot/recordbot/capture/slack/slacktest"
	"github.com/recordbot/recordbot/capture/whatsapp"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/storetest"
)

const (
	secret = "8f742231b10e8888abcd99yyyzzz85a5"
	root   = "1700000000.000100"
	reply1 = "1700000100.000200"
)

// env is a bot wired as cmd/bot wires it, against a fake Slack and a real
// MinIO bucket.
type env struct {
	slack    *slacktest.Server
	store    filing.Store
	service  *filing.Service
	app      *slackbot.App
	bot      *httptest.Server
	source   *slackcap.Source
	installs *slackbot.Installations
	grants   *slackbot.Grants
	exports  *bot.Uploads
	// log holds everything the bot logged.
	log *syncBuffer
	// sleeps holds the waits the App asked for, which take no time.
	sleeps *sleepLog
	// busy counts the bot's HTTP handlers still running: the work after
	// an acknowledgement runs in them (http.go), so a test waits for it
	// with settle, not a sleep.
	busy inFlight
}

// inFlight counts handlers running, and signals when none is.
type inFlight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed while n is 0; nil before the first
}

func (f *inFlight) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		if f.n == 0 {
			f.idle = make(chan struct{})
		}
		f.n++
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			if f.n--; f.n == 0 {
				close(f.idle)
			}
			f.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// settle waits until the bot has finished handling every request made of
// it, the work after each acknowledgement included.
func (e *env) settle(t testing.TB) {
	t.Helper()
	e.busy.mu.Lock()
	idle := e.busy.idle
	if e.busy.n == 0 {
		idle = nil
	}
	e.busy.mu.Unlock()
	if idle == nil {
		return
	}
	select {
	case <-idle:
	case <-time.After(patience):
		t.Fatal("the bot was still handling a request after the test's patience")
	}
}

// sleepLog is the App's Sleep in tests: it notes each wait and returns
// at once (or with the context's error), so that no test waits for time
// to pass.
type sleepLog struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.d = append(l.d, d)
	return ctx.Err()
}

// waits returns the waits asked for so far.
func (l *sleepLog) waits() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Duration(nil), l.d...)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type envOpts struct {
	installs bool
	receipt  bool
	filer    bot.Filer // instead of the service
	allowed  []string  // SLACK_ALLOWED_TEAMS
	// grants lets people allow recordbot to read the DMs they file.
	grants bool
	clock  filing.Clock
	// transport carries the App's Web API calls (to hold some up).
	transport http.RoundTripper
	// sourceTransport carries the capture source's (the membership
	// check's, the worker's).
	sourceTransport http.RoundTripper
	// window is the App's TriggerWindow (patience when zero).
	window time.Duration
	// socketOnly leaves out the signing secret: no signed HTTP routes,
	// as in a Socket Mode install.
	socketOnly bool
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	e := &env{slack: slacktest.New(t), sleeps: &sleepLog{}}
	s := e.slack
	s.AddUser(slacktest.User{ID: "U1", Name: "ada", RealName: "Ada Lovelace", DisplayName: "Ada"})
	s.AddUser(slacktest.User{ID: "U2", Name: "bob", RealName: "Bob Bobson"})
	s.AddChannel(slacktest.Channel{ID: "C1", Name: "decisions", Kind: "channel", Members: []string{"U1", "U2", "UBOT"}, BotIn: true})
	f1 := s.AddFile("T1-F1/minutes.pdf", "application/pdf", []byte("%PDF-1.4 minutes"))
	f2 := s.AddFile("T1-F2/chart.png", "image/png", []byte("\x89PNG chart"))
	s.AddMessages("C1",
		slacktest.Msg(root, root, "U1", "*Budget 2026:* approve the venue contract? <!here>", map[string]any{"reply_count": 2}),
		slacktest.Msg(reply1, root, "U2", "Yes. Minutes and chart attached.", map[string]any{"files": []any{
			map[string]any{"id": "F1", "name": "minutes.pdf", "mimetype": "application/pdf", "size": 16, "mode": "hosted", "url_private": f1},
			map[string]any{"id": "F2", "name": "chart.png", "mimetype": "image/png", "size": 10, "mode": "hosted", "url_private": f2},
		}}),
		slacktest.Msg("1700000200.000300", root, "U1", "Approved. Thanks <@U2>.", nil),
	)

	e.store = storetest.Local(t)
	e.log = &syncBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(testLogOut(t), e.log), &slog.HandlerOptions{Level: slog.LevelDebug}))
	var installs *slackbot.Installations
	v, err := bot.NewVault(strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	if o.installs {
		if installs, err = slackbot.NewInstallations(e.store, v, nil); err != nil {
			t.Fatal(err)
		}
	}
	var app *slackbot.App
	single := "xoxb-test" // the one workspace's token, without installations
	if installs != nil {
		single = ""
	}
	so := slackcap.Options{
		Token:  slackbot.BotTokens(installs, single, o.allowed),
		APIURL: s.APIURL(), Logger: log, FileOrigins: []string{s.URL},
		Limits: slackcap.Limits{Tier2: rate.Inf, Tier3: rate.Inf, Tier4: rate.Inf, Burst: 1},
	}
	if o.sourceTransport != nil {
		so.HTTPClient = &http.Client{Transport: o.sourceTransport}
	}
	if o.grants {
		if e.grants, err = slackbot.NewGrants(e.store, v, o.clock); err != nil {
			t.Fatal(err)
		}
		so.UserToken = e.grants.Token
		so.UserTokenFailed = func(ctx context.Context, team, user string) { e.grants.Delete(ctx, team, user) }
	}
	src, err := slackcap.New(so)
	if err != nil {
		t.Fatal(err)
	}
	e.source = src
	var notifier filing.Notifier = filing.NotifierFunc(func(ctx context.Context, o filing.Outcome) { app.Notify(ctx, o) })
	e.exports = &bot.Uploads{Store: e.store}
	e.service, err = filing.NewService(filing.Options{
		Store: e.store, Plan: filing.SamplePlan(),
		Source:   capture.Sources{capture.Slack: src, capture.WhatsApp: whatsapp.Source{Open: e.exports.Open}},
		Notifier: notifier, Logger: log, Workers: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	filer := o.filer
	if filer == nil {
		filer = e.service
	}
	ao := slackbot.Options{
		Filer: filer, Threads: src, AllowedTeams: o.allowed, Installs: installs, SigningSecret: secret,
		APIURL: s.APIURL(), Logger: log, ThreadReceipt: o.receipt, Clock: o.clock, Sleep: e.sleeps.sleep,
		TriggerWindow: patience, Exports: e.exports, Files: src,
	}
	if o.window > 0 {
		ao.TriggerWindow = o.window
	}
	if o.transport != nil {
		ao.HTTPClient = &http.Client{Transport: o.transport}
	}
	if installs != nil || o.grants {
		ao.ClientID, ao.ClientSecret = "cid", "csecret"
		ao.AuthorizeURL = s.URL + "/oauth/v2/authorize"
		s.ClientID, s.ClientSecret = "cid", "csecret"
	}
	ao.BotToken = single
	mux := http.NewServeMux()
	e.bot = httptest.NewUnstartedServer(e.busy.track(mux))
	e.bot.Start()
	t.Cleanup(e.bot.Close)
	if installs != nil {
		ao.RedirectURL = e.bot.URL + "/slack/oauth/callback"
	}
	if o.socketOnly {
		ao.SigningSecret = ""
	}
	if o.grants {
		ao.Grants = e.grants
		ao.UserRedirectURL = e.bot.URL + "/slack/oauth/user-callback"
	}
	app, err = slackbot.New(ao)
	if err != nil {
		t.Fatal(err)
	}
	app.Register(mux)
	e.app = app
	e.installs = installs
	return e
}

// run starts the filing worker until the test ends.
func (e *env) run(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.service.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// sign returns Slack's signature headers for body at time ts.
func sign(ts int64, body string) http.Header {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + strconv.FormatInt(ts, 10) + ":" + body))
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return h
}

// post sends a signed request and returns the status and body.
func (e *env) post(t testing.TB, path, body string) (int, string) {
	t.Helper()
	return e.send(t, path, body, sign(time.Now().Unix(), body))
}

// send sends body with the given headers and returns the status and body.
func (e *env) send(t testing.TB, path, body string, h http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.bot.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// interact posts an interactivity payload.
func (e *env) interact(t testing.TB, payload any) (int, string) {
	t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return e.post(t, "/slack/interactivity", url.Values{"payload": {string(raw)}}.Encode())
}

// messageAction is a message shortcut payload as Slack documents it.
func messageAction(user, channel string, msg map[string]any) map[string]any {
	return map[string]any{
		"type": "message_action", "token": "legacy", "action_ts": "1700000999.123456",
		"team":                  map[string]any{"id": "T1", "domain": "acme"},
		"user":                  map[string]any{"id": user, "name": "ada", "team_id": "T1"},
		"channel":               map[string]any{"id": channel, "name": "decisions"},
		"is_enterprise_install": false, "enterprise": nil,
		"callback_id": "file_as_record", "trigger_id": "13345224609.738474920.8088930838d88f008e0",
		"response_url": "https://hooks.slack.com/app-actions/T1/1/x",
		"message_ts":   msg["ts"], "message": msg,
	}
}

// viewSubmission submits view (as views.open got it) with the values.
func viewSubmission(user string, view map[string]any, title, class, marking, desc string) map[string]any {
	sel := func(v string) map[string]any {
		if v == "" {
			return map[string]any{"type": "static_select", "selected_option": nil}
		}
		return map[string]any{"type": "static_select", "selected_option": map[string]any{
			"text": map[string]any{"type": "plain_text", "text": v}, "value": v}}
	}
	v := map[string]any{
		"id": "V1", "team_id": "T1", "type": "modal", "callback_id": view["callback_id"],
		"private_metadata": view["private_metadata"], "blocks": view["blocks"], "hash": "1.abc",
		"state": map[string]any{"values": map[string]any{
			"title":       map[string]any{"value": map[string]any{"type": "plain_text_input", "value": title}},
			"class":       map[string]any{"value": sel(class)},
			"marking":     map[string]any{"value": sel(marking)},
			"description": map[string]any{"value": map[string]any{"type": "plain_text_input", "value": desc}},
		}},
	}
	return map[string]any{
		"type": "view_submission", "token": "legacy", "trigger_id": "1.2.3",
		"team":       map[string]any{"id": "T1", "domain": "acme"},
		"user":       map[string]any{"id": user, "username": "ada", "name": "ada", "team_id": "T1"},
		"api_app_id": "A1", "view": v, "response_urls": []any{},
	}
}

// patience is how long a test waits for what the bot does after its
// acknowledgement before it fails: a wait ends as soon as the thing is
// seen, so this costs nothing when the machine is idle, and a machine
// under load (the race detector, other tests) may take seconds.
const patience = 20 * time.Second

// waitViews waits until views.open has been called more than n times
// (the modal opens just after the acknowledgement) and reports whether it was.
func (e *env) waitViews(n int) bool {
	deadline := time.Now().Add(patience)
	for time.Now().Before(deadline) {
		if len(e.slack.Calls("views.open")) > n {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// lastView returns the view of the last views.open call.
func (e *env) lastView(t testing.TB) map[string]any {
	t.Helper()
	e.waitViews(0)
	calls := e.slack.Calls("views.open")
	if len(calls) == 0 {
		t.Fatal("views.open was not called")
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(calls[len(calls)-1].Get("view")), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// waitFor polls the fake Slack until a call of method has text containing
// want, or fails after timeout.
//
// It waits at least patience, whatever timeout says: a wait ends as soon
// as the call is seen, and a machine under load may take seconds.
func (e *env) waitFor(t testing.TB, method, want string, timeout time.Duration) slacktest.Call {
	t.Helper()
	timeout = max(timeout, patience)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, c := range e.slack.Calls(method) {
			if strings.Contains(c.Get("text"), want) {
				return c
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	var texts []string
	for _, c := range e.slack.Calls(method) {
		texts = append(texts, c.Get("text"))
	}
	t.Fatalf("no %s saying %q within %v; got %q", method, want, timeout, texts)
	return slacktest.Call{}
}

// inputInitial returns the initial value of an input block's element.
func inputInitial(view map[string]any, block string) (string, map[string]any) {
	blocks, _ := view["blocks"].([]any)
	for _, b := range blocks {
		bm, _ := b.(map[string]any)
		if bm["block_id"] == block {
			el, _ := bm["element"].(map[string]any)
			s, _ := el["initial_value"].(string)
			return s, el
		}
	}
	return "", nil
}

// testLogOut sends the bot's log to the test log with -v, else nowhere.
func testLogOut(t testing.TB) io.Writer {
	if testing.Verbose() {
		return tlog{t}
	}
	return io.Discard
}

type tlog struct{ t testing.TB }

func (w tlog) Write(p []byte) (int, error) { w.t.Log(strings.TrimSpace(string(p))); return len(p), nil }
