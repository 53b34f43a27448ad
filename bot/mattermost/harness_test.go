package mattermost_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	mmbot "github.com/recordbot/recordbot/bot/mattermost"
	"github.com/recordbot/recordbot/capture"
	mmcapture "github.com/recordbot/recordbot/capture/mattermost"
	"github.com/recordbot/recordbot/capture/mattermost/mattermosttest"
	"github.com/recordbot/recordbot/capture/whatsapp"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/bagcheck"
	"github.com/recordbot/recordbot/internal/storetest"
)

const testKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes, base64

// env is a Mattermost team with a thread, recordbot installed on it, and
// the bot's HTTP endpoints served.
type env struct {
	t          *testing.T
	mm         *mattermosttest.Server
	team       *model.Team
	ch         *model.Channel
	alice, bob *model.User
	adminToken string
	root       *model.Post
	replies    []*model.Post
	store      filing.Store
	vault      *bot.Vault
	svc        *filing.Service
	app        *mmbot.App
	public     *httptest.Server
	inst       *mmbot.Installation
	content    map[string][]byte
	uploads    *bot.Uploads
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	// log holds what the apps made by newApp logged.
	log lockedBuffer
}

// lockedBuffer is a log written by the bot's goroutines and read by the
// test.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type envOpts struct {
	dynamicOver int
	noWorker    bool
	// store wraps the test store (to make it fail).
	store func(filing.Store) filing.Store
	// exportZone is RECORDS_TIMEZONE for exports sent to the bot.
	exportZone *time.Location
	// transport carries the app's API requests (to hold some up).
	transport http.RoundTripper
	// filer, when set, takes the app's submissions instead of the
	// service (given the service).
	filer func(*filing.Service) bot.Filer
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	e := &env{t: t, mm: mattermosttest.New(t)}
	mm := e.mm
	e.team = mm.AddTeam("ops", "Operations")
	e.alice, _ = mm.AddUser("alice")
	e.bob, _ = mm.AddUser("bob")
	_, e.adminToken = mm.AddAdmin("sysadmin")
	e.ch = mm.AddChannel(e.team, "procurement", model.ChannelTypeOpen, e.alice, e.bob)
	e.root = mm.AddPost(e.ch, e.alice, nil, "Tender decision for the new ferry\nmore detail")
	r1 := mm.AddPost(e.ch, e.bob, e.root, "Scores attached")
	e.content = map[string][]byte{"scores.csv": []byte("bidder,score\nA,81\nB,77\n"), "report.pdf": []byte("%PDF-1.7 evaluation report")}
	mm.AddFileBytes(r1, "scores.csv", "text/csv", e.content["scores.csv"])
	mm.AddFileBytes(r1, "report.pdf", "application/pdf", e.content["report.pdf"])
	r2 := mm.AddPost(e.ch, e.alice, e.root, "Agreed: award to A")
	e.replies = []*model.Post{r1, r2}
	mm.React(e.root, e.bob, "+1")

	e.store = storetest.Local(t)
	if o.store != nil {
		e.store = o.store(e.store)
	}
	v, err := bot.NewVault(testKey)
	if err != nil {
		t.Fatal(err)
	}
	e.vault = v
	e.uploads = &bot.Uploads{Store: e.store}
	mux := http.NewServeMux()
	e.public = httptest.NewServer(mux)
	t.Cleanup(e.public.Close)

	installs, err := mmbot.NewInstallations(e.store, v, time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	mmsrc, err := mmcapture.NewTokened(mmcapture.Options{URL: mm.URL}, mmbot.BotToken(installs, mm.URL))
	if err != nil {
		t.Fatal(err)
	}
	var app *mmbot.App
	notify := filing.NotifierFunc(func(ctx context.Context, o filing.Outcome) { app.Notify(ctx, o) })
	source := sourceFunc(func(ctx context.Context, ref capture.Ref, p capture.Person) (*capture.Thread, error) {
		if ref.Platform == capture.WhatsApp {
			return whatsapp.Source{Open: e.uploads.Open}.Capture(ctx, ref, p)
		}
		return mmsrc.Capture(ctx, ref, p)
	})
	e.svc, err = filing.NewService(filing.Options{Store: e.store, Plan: filing.SamplePlan(), Source: source, Notifier: notify, Organisation: "Test Council"})
	if err != nil {
		t.Fatal(err)
	}
	app = e.newApp(o)
	e.app = app
	app.Register(mux)

	e.inst = e.install("ops")
	e.mm.Join(e.ch, &model.User{Id: e.inst.BotUserID})

	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	if !o.noWorker {
		e.wg.Add(1)
		go func() { defer e.wg.Done(); e.svc.Run(ctx) }()
	}
	t.Cleanup(func() { cancel(); e.wg.Wait() })
	t.Cleanup(func() {
		if n := e.mm.RouteCalls()["POST /api/v4/posts/ephemeral"]; n != 0 {
			t.Errorf("the bot called POST /posts/ephemeral %d times; a bot account may not", n)
		}
	})
	return e
}

// isDM reports whether channelID is a direct message channel.
func (e *env) isDM(channelID string) bool {
	e.mm.Lock()
	defer e.mm.Unlock()
	return e.mm.ChannelType(channelID) == model.ChannelTypeDirect
}

func (e *env) newApp(o envOpts) *mmbot.App {
	var filer bot.Filer = e.svc
	if o.filer != nil {
		filer = o.filer(e.svc)
	}
	app, err := mmbot.New(mmbot.Options{
		Server: e.mm.URL, PublicURL: e.public.URL, Store: e.store, Vault: e.vault, Filer: filer,
		DynamicOver: o.dynamicOver, InstallTTL: time.Millisecond, Exports: e.uploads, ExportTimeZone: o.exportZone,
		Transport: o.transport, Logger: slog.New(slog.NewTextHandler(&e.log, nil)),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return app
}

type sourceFunc func(ctx context.Context, ref capture.Ref, p capture.Person) (*capture.Thread, error)

func (f sourceFunc) Capture(ctx context.Context, ref capture.Ref, p capture.Person) (*capture.Thread, error) {
	return f(ctx, ref, p)
}

func (e *env) installer(token string) *mmbot.Installer {
	return &mmbot.Installer{Server: e.mm.URL, AdminToken: token, PublicURL: e.public.URL, Store: e.store, Vault: e.vault}
}

func (e *env) install(teams ...string) *mmbot.Installation {
	e.t.Helper()
	inst, err := e.installer(e.adminToken).Install(context.Background(), teams)
	if err != nil {
		e.t.Fatalf("Install: %v", err)
	}
	return inst
}

// listen runs the app's WebSocket listener until the test ends and waits
// for it to connect.
func (e *env) listen(app *mmbot.App, want int) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); app.Listen(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	e.waitFor("WebSocket clients to connect", func() bool { return e.mm.WebSocketClients() >= want })
}

// patience is how long a test waits for what the bot does in the
// background before it fails: a wait ends as soon as the thing is seen,
// so this costs nothing on an idle machine, and filing a large export
// under the race detector on a loaded one takes tens of seconds.
const patience = time.Minute

func (e *env) waitFor(what string, ok func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(patience)
	for !ok() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lastDialog returns the last dialog opened.
func (e *env) lastDialog() model.OpenDialogRequest {
	e.t.Helper()
	ds := e.mm.OpenedDialogs()
	if len(ds) == 0 {
		e.t.Fatal("no dialog was opened")
	}
	return ds[len(ds)-1]
}

func (e *env) submit(d model.OpenDialogRequest, user *model.User, values map[string]any) *model.SubmitDialogResponse {
	e.t.Helper()
	code, resp, err := e.mm.SubmitDialog(d, user.Id, e.ch.Id, e.team.Id, values)
	if err != nil || code != 200 {
		e.t.Fatalf("SubmitDialog = HTTP %d, %v", code, err)
	}
	return resp
}

// waitTold waits for the bot to tell user something containing text, as
// an ephemeral message (through the command's response_url) or a direct
// message.
func (e *env) waitTold(user *model.User, text string) *model.Post {
	e.t.Helper()
	var found *model.Post
	e.waitFor("a message to the person saying "+text, func() bool {
		for _, p := range e.mm.MessagesTo(user.Id) {
			if strings.Contains(p.Message, text) {
				found = p
				return true
			}
		}
		return false
	})
	return found
}

// records returns the record prefixes in the store.
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

// checkRecord validates the only record's bag and checks it holds every
// post and file of the thread.
func (e *env) checkRecord(wantTitle, wantClass string) {
	e.t.Helper()
	recs := e.records()
	if len(recs) != 1 {
		e.t.Fatalf("store holds %d records, want 1", len(recs))
	}
	ctx := context.Background()
	bag, err := bagcheck.Check(ctx, e.store, recs[0])
	if err != nil {
		e.t.Fatalf("record bag is not valid: %v", err)
	}
	rc, _, err := e.store.Open(ctx, recs[0]+"data/thread.json")
	if err != nil {
		e.t.Fatal(err)
	}
	defer rc.Close()
	var th capture.Thread
	if err := json.NewDecoder(rc).Decode(&th); err != nil {
		e.t.Fatal(err)
	}
	want := []string{e.root.Id, e.replies[0].Id, e.replies[1].Id}
	if len(th.Messages) != len(want) {
		e.t.Fatalf("record has %d messages, want %d", len(th.Messages), len(want))
	}
	for i, m := range th.Messages {
		if m.ID != want[i] {
			e.t.Errorf("record message %d = %s, want %s", i, m.ID, want[i])
		}
	}
	files := th.Files()
	if len(files) != 2 {
		e.t.Fatalf("record has %d files, want 2", len(files))
	}
	for _, f := range files {
		want := sha256.Sum256(e.content[f.Name])
		if f.Path == "" || bag.Payload[f.Path] != hex.EncodeToString(want[:]) {
			e.t.Errorf("file %s: payload %q has sha %q in the manifest, want the sha of the file on Mattermost", f.Name, f.Path, bag.Payload[f.Path])
		}
	}
	if !strings.Contains(recs[0], filing.Slug(wantTitle, true, 20)) {
		e.t.Errorf("record key %q does not carry the title %q", recs[0], wantTitle)
	}
	if !strings.Contains(recs[0], strings.ReplaceAll(wantClass, "/", "-")+"_") {
		e.t.Errorf("record key %q is not under class %s", recs[0], wantClass)
	}
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mattermosttestID() string { return mattermosttest.NewID() }

var mmConfigZero mattermosttest.Config

func freshStore(t *testing.T) filing.Store { return storetest.Local(t) }
