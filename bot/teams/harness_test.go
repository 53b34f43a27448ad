package teams_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/bot/teams"
	"github.com/recordbot/recordbot/bot/teams/connectortest"
	"github.com/recordbot/recordbot/capture"
	teamscap "github.com/recordbot/recordbot/capture/teams"
	"github.com/recordbot/recordbot/capture/teams/entra"
	"github.com/recordbot/recordbot/capture/whatsapp"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/storetest"
)

const (
	appID    = "0b7f8a2c-1d3e-4f50-8a6b-7c9d0e1f2a3b"
	password = "app-password"
	tenant   = "5d2e1c0b-aaaa-4bbb-8ccc-123456789abc"
)

// env is a Teams front end with a real filing service on a local store,
// the Bot Connector double, and Graph as the conversations (source) sees
// it.
type env struct {
	t       testing.TB
	cx      *connectortest.Server
	clock   *clockwork.FakeClock
	app     *teams.App
	srv     *httptest.Server
	store   filing.Store
	svc     *filing.Service
	src     convSource
	verify  *teams.Verifier
	resolve int // Resolve calls
	mu      sync.Mutex
	// uploads keeps the WhatsApp exports sent to the bot (envOpts.exports).
	uploads *bot.Uploads
}

// convSource is what the env's Source and Resolver read.
type convSource interface {
	capture.Source
	capture.Resolver
}

type envOpts struct {
	src convSource
	// consent, when set, makes the people's file consent (the env's
	// server address is known by then).
	consent  func(e *env) *teams.Consent
	noWorker bool
	// exports: the bot takes WhatsApp exports, downloaded from the
	// connector's file host (or fileHosts when set).
	exports   bool
	fileHosts []string
	filer     func(*filing.Service) interface {
		Check(filing.Request) filing.FieldErrors
		Submit(context.Context, filing.Request) (filing.Request, error)
		Plan() *filing.Plan
	}
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	// Timeouts with room for a loaded test machine (Teams' own are
	// 5 seconds for the whole answer).
	t.Cleanup(teams.SetTimeouts(time.Minute, 30*time.Second, 30*time.Second))
	e := &env{t: t, cx: connectortest.New(t, appID, password, tenant), clock: clockwork.NewFakeClockAt(time.Now())}
	e.cx.AddTeam(general.team, group)
	e.src = o.src
	if e.src == nil {
		e.src = newFakeGraph()
	}
	e.store = storetest.Local(t)
	var source capture.Source = e.src
	if o.exports {
		e.uploads = &bot.Uploads{Store: e.store}
		source = capture.Sources{capture.Teams: e.src, capture.WhatsApp: whatsapp.Source{Open: e.uploads.Open}}
	}
	var app *teams.App
	notify := filing.NotifierFunc(func(ctx context.Context, out filing.Outcome) { app.Notify(ctx, out) })
	var err error
	e.svc, err = filing.NewService(filing.Options{Store: e.store, Plan: filing.SamplePlan(), Source: source, Notifier: notify, Organisation: "Test Council"})
	if err != nil {
		t.Fatal(err)
	}
	e.verify, err = teams.NewVerifier(appID, e.cx.MetadataURL(), nil, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := teams.NewConnector(teams.ConnectorOptions{AppID: appID, Credential: entra.Secret(password), Tenant: tenant, LoginURL: e.cx.LoginURL(), Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	var filer = teamsFiler(e.svc)
	if o.filer != nil {
		filer = o.filer(e.svc)
	}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	var consent *teams.Consent
	if o.consent != nil {
		consent = o.consent(e)
	}
	opts := teams.Options{AppID: appID, Tenant: tenant, Verifier: e.verify, Messenger: conn, Filer: filer,
		Threads: countingResolver{e}, Clock: e.clock, Consent: consent}
	if o.exports {
		opts.Exports, opts.FileHosts, opts.FileClient = e.uploads, o.fileHosts, e.cx.Files().Client()
		if opts.FileHosts == nil {
			opts.FileHosts = []string{e.cx.Files().Host()}
		}
	}
	app, err = teams.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.app = app
	app.Register(mux)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if !o.noWorker {
		wg.Add(1)
		go func() { defer wg.Done(); e.svc.Run(ctx) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait(); app.Wait() })
	return e
}

func teamsFiler(s *filing.Service) interface {
	Check(filing.Request) filing.FieldErrors
	Submit(context.Context, filing.Request) (filing.Request, error)
	Plan() *filing.Plan
} {
	return s
}

type countingResolver struct{ e *env }

func (c countingResolver) Resolve(ctx context.Context, ref capture.Ref, p capture.Person) (capture.Preview, error) {
	c.e.mu.Lock()
	c.e.resolve++
	c.e.mu.Unlock()
	return c.e.src.Resolve(ctx, ref, p)
}

// person is someone in Teams: their Teams user id and Entra object id.
type person struct{ ID, AAD, Name string }

var (
	alice   = person{"29:alice", "aad-alice", "Alice Archer"}
	bob     = person{"29:bob", "aad-bob", "Bob Baker"}
	mallory = person{"29:mallory", "aad-mallory", "Mallory Moss"}
)

// where is the conversation an activity comes from.
type where struct {
	kind    string // channel, groupChat, personal
	team    string
	channel string // channel or chat id
	root    string // a channel reply's root
}

// activity builds an invoke activity from who in w with value.
func (e *env) activity(id, name string, who person, w where, value any) map[string]any {
	conv := map[string]any{"id": w.channel, "conversationType": w.kind, "tenantId": tenant, "isGroup": w.kind != "personal"}
	cd := map[string]any{"tenant": map[string]any{"id": tenant}, "source": map[string]any{"name": "message"}}
	if w.kind == "channel" {
		if w.root != "" {
			conv["id"] = w.channel + ";messageid=" + w.root
		}
		cd["channel"] = map[string]any{"id": w.channel}
		cd["team"] = map[string]any{"id": w.team}
	}
	return map[string]any{
		"type": "invoke", "name": name, "id": id, "channelId": "msteams", "serviceUrl": e.cx.ServiceURL(),
		"timestamp": e.clock.Now().UTC().Format(time.RFC3339), "localTimezone": "Europe/London",
		"from":         map[string]any{"id": who.ID, "name": who.Name, "aadObjectId": who.AAD},
		"recipient":    map[string]any{"id": "28:" + appID, "name": "recordbot"},
		"conversation": conv, "channelData": cd, "value": value,
	}
}

// fetchValue is a fetchTask's value from the "…" menu of message msg.
func fetchValue(msg, replyTo, html string) map[string]any {
	m := map[string]any{"id": msg, "body": map[string]any{"contentType": "html", "content": html}, "linkToMessage": "https://teams.microsoft.com/l/message/x/" + msg}
	if replyTo != "" {
		m["replyToId"] = replyTo
	}
	return map[string]any{"commandId": teams.CommandID, "commandContext": "message", "messagePayload": m}
}

// post sends act signed with a genuine token; it returns the status and body.
func (e *env) post(act map[string]any) (int, []byte) {
	e.t.Helper()
	return e.postToken(act, "Bearer "+e.cx.Sign(e.t, e.cx.Claims(e.clock.Now())))
}

func (e *env) postToken(act map[string]any, auth string) (int, []byte) {
	e.t.Helper()
	b, err := json.Marshal(act)
	if err != nil {
		e.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+teams.Path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// task is an invoke's answer.
type task struct {
	Task struct {
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
	} `json:"task"`
}

func (e *env) task(status int, body []byte) task {
	e.t.Helper()
	if status != http.StatusOK {
		e.t.Fatalf("invoke answered %d %s", status, body)
	}
	var tk task
	if err := json.Unmarshal(body, &tk); err != nil {
		e.t.Fatalf("invoke answer %s: %v", body, err)
	}
	return tk
}

// message is a task answer's text, failing unless it is a message.
func (tk task) message(t *testing.T) string {
	t.Helper()
	var s string
	if tk.Task.Type != "message" || json.Unmarshal(tk.Task.Value, &s) != nil {
		t.Fatalf("answer is %s %s, want a message", tk.Task.Type, tk.Task.Value)
	}
	return s
}

// form is the filing form of a continue answer: its inputs by id and the
// submit action's data.
type form struct {
	inputs map[string]map[string]any
	data   map[string]any
	texts  []string
	raw    string
	// signIn is the form's sign-in link, when it has one.
	signIn string
}

func (tk task) form(t *testing.T) form {
	t.Helper()
	var v struct {
		Card struct {
			ContentType string `json:"contentType"`
			Content     struct {
				Type    string           `json:"type"`
				Version string           `json:"version"`
				Body    []map[string]any `json:"body"`
				Actions []struct {
					Type string         `json:"type"`
					Data map[string]any `json:"data"`
					URL  string         `json:"url"`
				} `json:"actions"`
			} `json:"content"`
		} `json:"card"`
	}
	if tk.Task.Type != "continue" || json.Unmarshal(tk.Task.Value, &v) != nil || v.Card.ContentType != "application/vnd.microsoft.card.adaptive" ||
		v.Card.Content.Type != "AdaptiveCard" || len(v.Card.Content.Actions) == 0 || v.Card.Content.Actions[0].Type != "Action.Submit" {
		t.Fatalf("answer is %s %s, want the filing form", tk.Task.Type, tk.Task.Value)
	}
	f := form{inputs: map[string]map[string]any{}, data: v.Card.Content.Actions[0].Data, raw: string(tk.Task.Value)}
	for _, a := range v.Card.Content.Actions[1:] {
		if a.Type != "Action.OpenUrl" || f.signIn != "" {
			t.Fatalf("the form's actions are %s: want File, and at most a sign-in link", tk.Task.Value)
		}
		f.signIn = a.URL
	}
	for _, b := range v.Card.Content.Body {
		if id, ok := b["id"].(string); ok {
			f.inputs[id] = b
		}
		if b["type"] == "TextBlock" {
			f.texts = append(f.texts, b["text"].(string))
		}
	}
	return f
}

// submitValue is the submitAction's value for form f with fields.
func submitValue(f form, fields map[string]string) map[string]any {
	data := map[string]any{}
	for k, v := range f.data {
		data[k] = v
	}
	for k, v := range fields {
		data[k] = v
	}
	return map[string]any{"commandId": teams.CommandID, "commandContext": "message", "data": data}
}

// waitFor waits until cond holds, failing after a while.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// records lists the record prefixes in the store.
func (e *env) records() []string {
	e.t.Helper()
	var out []string
	for info, err := range e.store.List(context.Background(), filing.RecordsPrefix) {
		if err != nil {
			e.t.Fatal(err)
		}
		if k, ok := strings.CutSuffix(info.Key, "bagit.txt"); ok {
			out = append(out, k)
		}
	}
	return out
}

// fakeGraph is Teams' conversations as capture/teams reads them, until
// its double (teamstest) is on main: members, and messages in order.
type fakeGraph struct {
	mu    sync.Mutex
	convs map[string]*fakeConv
}

type fakeConv struct {
	team     string
	members  map[string]bool
	messages []capture.Message
}

func newFakeGraph() *fakeGraph { return &fakeGraph{convs: map[string]*fakeConv{}} }

func (g *fakeGraph) add(channel, team string, members []person, msgs []capture.Message) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := &fakeConv{team: team, members: map[string]bool{}, messages: msgs}
	for _, p := range members {
		c.members[p.AAD] = true
	}
	g.convs[channel] = c
}

func (g *fakeGraph) conv(ref capture.Ref, p capture.Person) (teamscap.Target, *fakeConv, error) {
	t, err := teamscap.TargetOf(ref)
	if err != nil {
		return t, nil, &capture.Problem{Kind: capture.NotFound, Err: err}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.convs[t.Channel]
	if c == nil || c.team != t.Team { // Graph names a team by its group id
		return t, nil, &capture.Problem{Kind: capture.NotFound, Err: capture.ErrNotFound}
	}
	if !c.members[p.ID] {
		return t, nil, &capture.Problem{Kind: capture.NoAccess, Advice: "only members of the conversation can file it", Err: capture.ErrAccess}
	}
	return t, c, nil
}

func (g *fakeGraph) Resolve(ctx context.Context, ref capture.Ref, p capture.Person) (capture.Preview, error) {
	t, c, err := g.conv(ref, p)
	if err != nil {
		return capture.Preview{}, err
	}
	text := ""
	for _, m := range c.messages {
		if (t.Scope == teamscap.Thread && m.ID == t.From) || (t.Scope != teamscap.Thread && m.ID == t.Acted) {
			text = m.Text
		}
	}
	// As capture/teams does, the preview is the message rendered as text.
	text = html.UnescapeString(tagRE.ReplaceAllString(blockRE.ReplaceAllString(text, "\n"), ""))
	return capture.Preview{Ref: ref, Text: text}, nil
}

var (
	blockRE = regexp.MustCompile(`</?(p|div|br)\b[^>]*>`)
	tagRE   = regexp.MustCompile(`<[^>]*>`)
)

func (g *fakeGraph) Capture(ctx context.Context, ref capture.Ref, p capture.Person) (*capture.Thread, error) {
	t, c, err := g.conv(ref, p)
	if err != nil {
		return nil, err
	}
	var msgs []capture.Message
	var acted capture.Message
	for _, m := range c.messages {
		if m.ID == t.Acted {
			acted = m
		}
	}
	for _, m := range c.messages {
		switch t.Scope {
		case teamscap.Thread:
			msgs = append(msgs, m)
		case teamscap.Message:
			if m.ID == t.Acted {
				msgs = append(msgs, m)
			}
		case teamscap.Day:
			y1, m1, d1 := m.Time.In(t.Zone).Date()
			y2, m2, d2 := acted.Time.In(t.Zone).Date()
			if y1 == y2 && m1 == m2 && d1 == d2 {
				msgs = append(msgs, m)
			}
		case teamscap.Since:
			if m.ID >= t.From && m.ID <= t.Acted {
				msgs = append(msgs, m)
			}
		}
	}
	for i := range msgs {
		msgs[i].Position = i
	}
	kind := "channel"
	if t.IsChat() {
		kind = "group"
	}
	return &capture.Thread{SchemaVersion: capture.SchemaVersion, Platform: capture.Teams, Workspace: capture.Workspace{ID: t.Tenant},
		Channel: capture.Channel{ID: t.Channel, Kind: kind}, ThreadID: ref.ThreadID, CapturedAt: time.Now().UTC(), ReadAs: "bot", Messages: msgs}, nil
}

// count is how many objects the store holds under prefix.
func (e *env) count(prefix string) int {
	e.t.Helper()
	n := 0
	for _, err := range e.store.List(context.Background(), prefix) {
		if err != nil {
			e.t.Fatal(err)
		}
		n++
	}
	return n
}

// resolves is how many membership checks were made.
func (e *env) resolves() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.resolve
}
