//go:build mmserver

package mattermost_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	"github.com/recordbot/recordbot/capture/whatsapp/whatsapptest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/bagcheck"
	"github.com/recordbot/recordbot/internal/miniotest"
	"github.com/recordbot/recordbot/internal/mmserver"
)

// person is a Mattermost user with their own client and WebSocket, seeing
// what the server pushes to them: dialogs opened for them, posts in their
// channels (direct messages from the bot among them) and ephemeral
// messages.
type person struct {
	t    *testing.T
	user *model.User
	api  *model.Client4

	mu      sync.Mutex
	dialogs []model.OpenDialogRequest
	posts   []*model.Post // posted and ephemeral_message, in order
}

func newPerson(t *testing.T, srv *mmserver.Server, u *model.User, token string) *person {
	t.Helper()
	p := &person{t: t, user: u, api: srv.Client(token)}
	ws, err := model.NewWebSocketClient4("ws"+strings.TrimPrefix(srv.URL, "http"), token)
	if err != nil {
		t.Fatalf("websocket for %s: %v", u.Username, err)
	}
	ws.Listen()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range ws.EventChannel {
			switch ev.EventType() {
			case model.WebsocketEventOpenDialog:
				var d model.OpenDialogRequest
				if s, _ := ev.GetData()["dialog"].(string); json.Unmarshal([]byte(s), &d) == nil {
					p.mu.Lock()
					p.dialogs = append(p.dialogs, d)
					p.mu.Unlock()
				}
			case model.WebsocketEventPosted, model.WebsocketEventEphemeralMessage:
				var post model.Post
				if s, _ := ev.GetData()["post"].(string); json.Unmarshal([]byte(s), &post) == nil {
					if ev.EventType() == model.WebsocketEventEphemeralMessage {
						// A command response's ephemeral post carries the
						// person's own user id; mark it as from the system.
						post.UserId = ""
					}
					p.mu.Lock()
					p.posts = append(p.posts, &post)
					p.mu.Unlock()
				}
			}
		}
	}()
	t.Cleanup(func() { ws.Close(); <-done })
	return p
}

func waitUntil(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// dialog waits for the n-th dialog (1-based) opened for the person.
func (p *person) dialog(t *testing.T, n int) model.OpenDialogRequest {
	t.Helper()
	var d model.OpenDialogRequest
	waitUntil(t, fmt.Sprintf("dialog %d to open for @%s", n, p.user.Username), 20*time.Second, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.dialogs) >= n {
			d = p.dialogs[n-1]
			return true
		}
		return false
	})
	return d
}

func (p *person) dialogCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.dialogs)
}

// told waits for a post from someone else (the bot) that contains text.
func (p *person) told(t *testing.T, text string, within time.Duration) *model.Post {
	t.Helper()
	var found *model.Post
	waitUntil(t, fmt.Sprintf("@%s to be told %q", p.user.Username, text), within, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, post := range p.posts {
			if post.UserId != p.user.Id && strings.Contains(post.Message, text) {
				found = post
				return true
			}
		}
		return false
	})
	return found
}

// saw returns every message the bot showed the person (ephemeral answers
// and posts by botID), in order.
func (p *person) saw(botID string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, post := range p.posts {
		if post.UserId == "" || post.UserId == botID {
			out = append(out, post.Message)
		}
	}
	return out
}

// submit submits dialog d as the person does in the webapp.
func (p *person) submit(t *testing.T, d model.OpenDialogRequest, ch *model.Channel, values map[string]any) *model.SubmitDialogResponse {
	t.Helper()
	resp, _, err := p.api.SubmitInteractiveDialog(context.Background(), model.SubmitDialogRequest{
		URL: d.URL, CallbackId: d.Dialog.CallbackId, State: d.Dialog.State, ChannelId: ch.Id, TeamId: ch.TeamId, Submission: values,
	})
	if err != nil {
		t.Fatalf("@%s submitting the dialog: %v", p.user.Username, err)
	}
	return resp
}

// testLog writes the bot's log lines (ids and errors, never message text)
// to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// realRig is recordbot installed on a real Mattermost, filing into MinIO.
type realRig struct {
	srv    *mmserver.Server
	store  filing.Store
	app    *mmbot.App
	public *httptest.Server
	inst   *mmbot.Installation
	team   *model.Team
}

// TestRealServer drives a real Mattermost 6.7.2 as people do: the admin
// installs recordbot twice, members invite the bot, a person files a
// thread with /record <link> (the dialog arrives over their WebSocket,
// they submit it through the server), another files by reacting, a
// non-member is refused a private thread, a forged command is refused, a
// thread of more than 200 replies is filed whole, and uninstall removes
// /record.
func TestRealServer(t *testing.T) {
	srv := mmserver.Connect(t)
	ctx := context.Background()
	r := &realRig{srv: srv, store: miniotest.NewStore(t)}
	r.team = srv.AddTeam("ops", "Operations")
	alice, aliceTok := srv.AddUser("alice")
	bob, bobTok := srv.AddUser("bob")
	carol, carolTok := srv.AddUser("carol")
	ch := srv.AddChannel(r.team, "procurement", model.ChannelTypeOpen, alice, bob, carol)
	hr := srv.AddChannel(r.team, "hr-restructuring", model.ChannelTypePrivate, bob)

	csv := []byte("bidder,score\nA,81\nB,77\n\x00binary\xff")
	root := srv.AddPost(ch, alice, nil, "Tender decision for the new ferry\nmore detail")
	r1 := srv.AddPost(ch, bob, root, "Scores attached", mattermosttest.File{Name: "scores.csv", MIME: "text/csv", Data: csv})
	r2 := srv.AddPost(ch, alice, root, "Agreed: award to B")
	srv.Edit(r2, "Agreed: award to A")
	srv.React(root, bob, "+1")
	secret := srv.AddPost(hr, bob, nil, "Redundancies in the ferry team\ndetails")

	// recordbot: the filing service, the Mattermost front end, its HTTP
	// endpoints on 127.0.0.1 (which the server may call).
	vault, err := bot.NewVault(testKey)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	r.public = httptest.NewServer(mux)
	t.Cleanup(r.public.Close)
	installs, err := mmbot.NewInstallations(r.store, vault, time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	mmsrc, err := mmcapture.NewTokened(mmcapture.Options{URL: srv.URL}, mmbot.BotToken(installs, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	var app *mmbot.App
	uploads := &bot.Uploads{Store: r.store}
	svc, err := filing.NewService(filing.Options{Store: r.store, Plan: filing.SamplePlan(), Organisation: "Test Council",
		Source: sourceFunc(func(ctx context.Context, ref capture.Ref, p capture.Person) (*capture.Thread, error) {
			if ref.Platform == capture.WhatsApp {
				return whatsapp.Source{Open: uploads.Open}.Capture(ctx, ref, p)
			}
			return mmsrc.Capture(ctx, ref, p)
		}),
		Notifier: filing.NotifierFunc(func(ctx context.Context, o filing.Outcome) { app.Notify(ctx, o) })})
	if err != nil {
		t.Fatal(err)
	}
	app, err = mmbot.New(mmbot.Options{Server: srv.URL, PublicURL: r.public.URL, Store: r.store, Vault: vault, Filer: svc, InstallTTL: time.Millisecond, Exports: uploads,
		Logger: slog.New(slog.NewTextHandler(testLog{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r.app = app
	app.Register(mux)

	// The admin installs twice: one bot, one /record.
	installer := &mmbot.Installer{Server: srv.URL, AdminToken: srv.AdminToken, PublicURL: r.public.URL, Store: r.store, Vault: vault,
		BotUsername: srv.Name("recordbot")}
	for i := range 2 {
		if r.inst, err = installer.Install(ctx, []string{r.team.Name}); err != nil {
			t.Fatalf("install %d: %v", i+1, err)
		}
	}
	if n := countRecordCommands(t, srv, r.team); n != 1 {
		t.Fatalf("Got(/record commands after two installs) = %d, want 1", n)
	}

	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); svc.Run(runCtx) }()
	go func() { defer wg.Done(); app.Listen(runCtx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	// Members invite the bot, as people do.
	if _, _, err := srv.As(bob).AddChannelMember(ctx, ch.Id, r.inst.BotUserID); err != nil {
		t.Fatalf("bob invites the bot to ~procurement: %v", err)
	}
	if _, _, err := srv.As(bob).AddChannelMember(ctx, hr.Id, r.inst.BotUserID); err != nil {
		t.Fatalf("bob invites the bot to the private channel: %v", err)
	}
	pa, pb, pc := newPerson(t, srv, alice, aliceTok), newPerson(t, srv, bob, bobTok), newPerson(t, srv, carol, carolTok)
	values := map[string]any{"title": "Ferry tender decision", "class": "200-20-01", "marking": "OFFICIAL-SENSITIVE", "description": "Award to bidder A"}

	t.Run("command with a link", func(t *testing.T) {
		link := srv.URL + "/" + r.team.Name + "/pl/" + r1.Id
		cr, _, err := pa.api.ExecuteCommandWithTeam(ctx, ch.Id, r.team.Id, "/record "+link)
		if err != nil {
			t.Fatalf("alice runs /record <link>: %v", err)
		}
		if cr.Text != "" {
			t.Errorf("Got(/record answer) = %q, want none (the dialog opens)", cr.Text)
		}
		d := pa.dialog(t, 1)
		if got := d.Dialog.Elements[0].Default; got != "Tender decision for the new ferry" {
			t.Errorf("Got(title prefill) = %q, want the root post's first line", got)
		}
		if resp := pa.submit(t, d, ch, values); resp.Error != "" || len(resp.Errors) > 0 {
			t.Fatalf("submission refused: %+v", resp)
		}
		filingMsg := pa.told(t, "Filing **Ferry tender decision**", 20*time.Second)
		done := pa.told(t, "Filed as record **Ferry tender decision**", 60*time.Second)
		t.Logf("alice saw: %q, then %q", filingMsg.Message, done.Message)
		if strings.Contains(done.Message, "s3://") || strings.Contains(done.Message, "http://127.0.0.1") {
			t.Errorf("Got(outcome) = %q, which shows a store location", done.Message)
		}
		checkRealRecord(t, r.store, root.Id, []string{root.Id, r1.Id, r2.Id}, map[string][]byte{"scores.csv": csv},
			func(th *capture.Thread) {
				if m := th.Messages[2]; m.Text != "Agreed: award to A" || m.Edited == nil {
					t.Errorf("Got(edited reply) = %q (edited %v), want the edited text marked edited", m.Text, m.Edited)
				}
				if rs := th.Messages[0].Reactions; len(rs) != 1 || rs[0].Emoji != "+1" || rs[0].Users[0].ID != bob.Id {
					t.Errorf("Got(root reactions) = %+v, want +1 by bob", rs)
				}
			})
		// Submitting the same form again makes no second record. The first
		// request has ended by now, so filing stores the copy and its worker
		// tells the person the record already filed (filing.Service.Submit);
		// a copy that meets the first still pending is answered "already
		// received".
		if resp := pa.submit(t, d, ch, values); resp.Error != "" || len(resp.Errors) > 0 {
			t.Errorf("second submission of the form: %+v, want it accepted as the same request", resp)
		}
		id := done.Message[strings.Index(done.Message, "`")+1:]
		id = id[:strings.Index(id, "`")]
		waitUntil(t, "alice to be told the form was received or its record again", 20*time.Second, func() bool {
			n := 0
			for _, m := range pa.saw(r.inst.BotUserID) {
				if strings.Contains(m, "This form was already received") {
					return true
				}
				if strings.HasPrefix(m, "Filed as record **Ferry tender decision**") && strings.Contains(m, "`"+id+"`") {
					n++
				}
			}
			return n == 2
		})
		if n := len(realRecords(t, r.store, root.Id)); n != 1 {
			t.Errorf("Got(records of the thread) = %d after submitting one form twice, want 1", n)
		}
	})

	t.Run("reaction", func(t *testing.T) {
		root3 := srv.AddPost(ch, bob, nil, "Ferry timetable consultation")
		reply3 := srv.AddPost(ch, alice, root3, "Consultation closes Friday")
		time.Sleep(500 * time.Millisecond) // let the listener connect
		srv.React(reply3, bob, "card_file_box")
		offer := pb.told(t, "File its thread as a record?", 20*time.Second)
		t.Logf("bob saw: %q", offer.Message)
		dm, _, err := pb.api.GetChannel(ctx, offer.ChannelId)
		if err != nil || dm.Type != model.ChannelTypeDirect {
			t.Errorf("offer in channel %+v (%v), want a direct message from the bot", dm, err)
		}
		full, _, err := pb.api.GetPost(ctx, offer.Id, "")
		if err != nil {
			t.Fatal(err)
		}
		var actionID string
		for _, a := range full.Attachments() {
			for _, x := range a.Actions {
				actionID = x.Id
			}
		}
		if actionID == "" {
			t.Fatalf("offer %q has no button", offer.Message)
		}
		if _, err := pb.api.DoPostAction(ctx, offer.Id, actionID); err != nil {
			t.Fatalf("bob presses File as record…: %v", err)
		}
		d := pb.dialog(t, 1)
		if got := d.Dialog.Elements[0].Default; got != "Ferry timetable consultation" {
			t.Errorf("Got(title prefill) = %q, want the root's first line", got)
		}
		v := map[string]any{"title": "Timetable consultation", "class": "100-20", "marking": "OFFICIAL"}
		if resp := pb.submit(t, d, ch, v); resp.Error != "" || len(resp.Errors) > 0 {
			t.Fatalf("submission refused: %+v", resp)
		}
		pb.told(t, "Filing **Timetable consultation**", 20*time.Second)
		done := pb.told(t, "Filed as record **Timetable consultation**", 60*time.Second)
		t.Logf("bob saw: %q", done.Message)
		checkRealRecord(t, r.store, root3.Id, []string{root3.Id, reply3.Id}, nil, nil)
	})

	t.Run("private channel, not a member", func(t *testing.T) {
		before := pc.dialogCount()
		link := srv.URL + "/" + r.team.Name + "/pl/" + secret.Id
		cr, _, err := pc.api.ExecuteCommandWithTeam(ctx, ch.Id, r.team.Id, "/record "+link)
		if err != nil {
			t.Fatalf("carol runs /record <link>: %v", err)
		}
		t.Logf("carol saw: %q", cr.Text)
		if !strings.Contains(cr.Text, "Only members of the channel") {
			t.Errorf("Got(answer) = %q, want it to say only members may file", cr.Text)
		}
		for _, leak := range []string{"Redundancies", "hr-restructuring", "Hr-restructuring"} {
			if strings.Contains(cr.Text, leak) {
				t.Errorf("Got(answer) = %q, which shows %q to a non-member", cr.Text, leak)
			}
		}
		time.Sleep(time.Second)
		if pc.dialogCount() != before {
			t.Errorf("a dialog opened for a non-member")
		}
	})

	t.Run("forged command token", func(t *testing.T) {
		for _, tok := range []string{"\x00no command token\x00", model.NewId(), ""} {
			f := url.Values{"token": {tok}, "team_id": {r.team.Id}, "channel_id": {ch.Id}, "user_id": {carol.Id},
				"command": {"/record"}, "text": {srv.URL + "/" + r.team.Name + "/pl/" + secret.Id}}
			resp, err := http.Post(r.public.URL+mmbot.CommandPath, "application/x-www-form-urlencoded", strings.NewReader(f.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("command with a forged token: Got(status) = %d, want 401", resp.StatusCode)
			}
		}
	})

	t.Run("more than 200 replies", func(t *testing.T) {
		long := srv.AddPost(ch, alice, nil, "Long ferry thread")
		ids := []string{long.Id}
		for i := range 230 {
			ids = append(ids, srv.AddPost(ch, []*model.User{alice, bob}[i%2], long, fmt.Sprint("reply ", i)).Id)
		}
		if _, _, err := pa.api.ExecuteCommandWithTeam(ctx, ch.Id, r.team.Id, "/record "+srv.URL+"/"+r.team.Name+"/pl/"+long.Id); err != nil {
			t.Fatal(err)
		}
		d := pa.dialog(t, 2)
		v := map[string]any{"title": "Long ferry thread", "class": "100-20", "marking": "OFFICIAL"}
		if resp := pa.submit(t, d, ch, v); resp.Error != "" || len(resp.Errors) > 0 {
			t.Fatalf("submission refused: %+v", resp)
		}
		pa.told(t, "Filed as record **Long ferry thread**", 90*time.Second)
		checkRealRecord(t, r.store, long.Id, ids, nil, nil)
	})

	t.Run("whatsapp export in a direct message", func(t *testing.T) {
		if _, _, err := srv.As(alice).PatchUser(ctx, alice.Id, &model.UserPatch{Timezone: model.StringMap{
			"useAutomaticTimezone": "false", "automaticTimezone": "", "manualTimezone": "Europe/London"}}); err != nil {
			t.Fatalf("alice sets her time zone: %v", err)
		}
		dm, _, err := srv.As(alice).CreateDirectChannel(ctx, alice.Id, r.inst.BotUserID)
		if err != nil {
			t.Fatalf("alice opens a direct message with the bot: %v", err)
		}
		export := whatsapptest.IOSExport(t)
		sum := sha256.Sum256(export)
		srv.AddPost(dm, alice, nil, "", mattermosttest.File{Name: "WhatsApp Chat - Project Board.zip", MIME: "application/zip", Data: export})
		offer := pa.told(t, "WhatsApp chat **Project Board**", 30*time.Second)
		t.Logf("alice saw: %q", offer.Message)
		if !strings.Contains(offer.Message, "Europe/London (the Mattermost profile time zone") {
			t.Errorf("Got(offer) = %q, want the time zone of alice's profile", offer.Message)
		}
		full, _, err := pa.api.GetPost(ctx, offer.Id, "")
		if err != nil {
			t.Fatal(err)
		}
		var actionID string
		for _, a := range full.Attachments() {
			for _, x := range a.Actions {
				actionID = x.Id
			}
		}
		if actionID == "" {
			t.Fatalf("offer %q has no button", offer.Message)
		}
		before := pc.dialogCount()
		if _, err := pc.api.DoPostAction(ctx, offer.Id, actionID); err == nil {
			t.Logf("the server let carol press the button in alice's direct message")
		}
		time.Sleep(500 * time.Millisecond)
		if pc.dialogCount() != before {
			t.Errorf("a dialog opened for carol on alice's export")
		}
		n := pa.dialogCount()
		if _, err := pa.api.DoPostAction(ctx, offer.Id, actionID); err != nil {
			t.Fatalf("alice presses File as record…: %v", err)
		}
		d := pa.dialog(t, n+1)
		if got := d.Dialog.Elements[0].Default; got != "Project Board" {
			t.Errorf("Got(title prefill) = %q, want the chat's name", got)
		}
		v := map[string]any{"title": "Project Board chat", "class": "100-20", "marking": "OFFICIAL"}
		// The webapp sends the team it shows with a dialog submitted in a
		// direct message; 6.7.2 refuses one without a team the person is in.
		inTeam := *dm
		inTeam.TeamId = r.team.Id
		if resp := pa.submit(t, d, &inTeam, v); resp.Error != "" || len(resp.Errors) > 0 {
			t.Fatalf("submission refused: %+v", resp)
		}
		done := pa.told(t, "Filed as record **Project Board chat**", 60*time.Second)
		t.Logf("alice saw: %q", done.Message)
		recs := realRecords(t, r.store, hex.EncodeToString(sum[:]))
		if len(recs) != 1 {
			t.Fatalf("Got(records of the export) = %d, want 1", len(recs))
		}
		if _, err := bagcheck.Check(ctx, r.store, recs[0]); err != nil {
			t.Fatalf("record bag is not valid: %v", err)
		}
		rc, _, err := r.store.Open(ctx, recs[0]+filing.OriginalPath("WhatsApp Chat - Project Board.zip"))
		if err != nil {
			t.Fatal(err)
		}
		kept, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(kept, export) {
			t.Errorf("Got(original export in the record) = %d bytes, want the %d sent, byte for byte", len(kept), len(export))
		}
	})

	t.Run("uninstall", func(t *testing.T) {
		if err := installer.Uninstall(ctx, nil); err != nil {
			t.Fatalf("uninstall: %v", err)
		}
		if n := countRecordCommands(t, srv, r.team); n != 0 {
			t.Errorf("Got(/record commands after uninstall) = %d, want 0", n)
		}
		_, _, err := pa.api.ExecuteCommandWithTeam(ctx, ch.Id, r.team.Id, "/record")
		if err == nil {
			t.Errorf("/record still runs after uninstall")
		}
		t.Logf("alice typing /record after uninstall: %v", err)
	})
	t.Logf("alice was shown by the bot, in all: %q", pa.saw(r.inst.BotUserID))
	t.Logf("bob was shown by the bot, in all: %q", pb.saw(r.inst.BotUserID))
	t.Logf("carol was shown by the bot, in all: %q", pc.saw(r.inst.BotUserID))
}

func countRecordCommands(t *testing.T, srv *mmserver.Server, team *model.Team) int {
	t.Helper()
	cmds, _, err := srv.Admin.ListCommands(context.Background(), team.Id, true)
	if err != nil {
		t.Fatalf("list commands: %v", err)
	}
	n := 0
	for _, c := range cmds {
		if c.Trigger == mmbot.Trigger {
			n++
		}
	}
	return n
}

// realRecords returns the prefixes of the records of thread rootID.
func realRecords(t *testing.T, st filing.Store, rootID string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for info, err := range st.List(ctx, filing.RecordsPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		prefix, ok := strings.CutSuffix(info.Key, "data/thread.json")
		if !ok {
			continue
		}
		var th capture.Thread
		readJSONObject(t, st, info.Key, &th)
		if th.ThreadID == rootID {
			out = append(out, prefix)
		}
	}
	return out
}

func readJSONObject(t *testing.T, st filing.Store, key string, v any) {
	t.Helper()
	rc, _, err := st.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(v); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
}

// checkRealRecord checks the one record of thread rootID: a valid bag,
// every post in order, and each file byte for byte.
func checkRealRecord(t *testing.T, st filing.Store, rootID string, wantIDs []string, files map[string][]byte, more func(*capture.Thread)) {
	t.Helper()
	recs := realRecords(t, st, rootID)
	if len(recs) != 1 {
		t.Fatalf("Got(records of thread %s) = %d, want 1", rootID, len(recs))
	}
	ctx := context.Background()
	bag, err := bagcheck.Check(ctx, st, recs[0])
	if err != nil {
		t.Fatalf("record bag is not valid: %v", err)
	}
	var th capture.Thread
	readJSONObject(t, st, recs[0]+"data/thread.json", &th)
	if len(th.Messages) != len(wantIDs) {
		t.Fatalf("Got(messages in the record) = %d, want %d", len(th.Messages), len(wantIDs))
	}
	for i, m := range th.Messages {
		if m.ID != wantIDs[i] {
			t.Errorf("Got(message %d) = %s, want %s", i, m.ID, wantIDs[i])
		}
	}
	got := th.Files()
	if len(got) != len(files) {
		t.Errorf("Got(files in the record) = %d, want %d", len(got), len(files))
	}
	for _, f := range got {
		want, ok := files[f.Name]
		if !ok {
			t.Errorf("unexpected file %q in the record", f.Name)
			continue
		}
		sum := sha256.Sum256(want)
		if bag.Payload[f.Path] != hex.EncodeToString(sum[:]) {
			t.Errorf("file %s: Got(manifest sha) = %q, want the sha of the file on Mattermost", f.Name, bag.Payload[f.Path])
		}
		rc, _, err := st.Open(ctx, recs[0]+f.Path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(b, want) {
			t.Errorf("file %s: Got(content) = %q, want %q", f.Name, b, want)
		}
	}
	if more != nil {
		more(&th)
	}
}
