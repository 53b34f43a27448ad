package teams_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/bot/teams"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/bagcheck"
)

// thread is a channel thread of a root and n replies, alternating alice
// and bob, a minute apart.
func thread(n int) []capture.Message {
	start := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	msgs := []capture.Message{{ID: "1762160400000", Author: capture.Person{ID: alice.AAD, DisplayName: alice.Name}, Time: start,
		Text: "<div><p>Ferry <b>tender</b> decision &amp; award</p><p>details follow</p></div>"}}
	for i := 1; i <= n; i++ {
		who := []person{alice, bob}[i%2]
		msgs = append(msgs, capture.Message{ID: fmt.Sprintf("%d", 1762160400000+int64(i)*60000), Author: capture.Person{ID: who.AAD, DisplayName: who.Name},
			Time: start.Add(time.Duration(i) * time.Minute), Text: fmt.Sprintf("<p>reply %d</p>", i)})
	}
	return msgs
}

// readThread reads the only record's bag, checked by the independent bag
// checker, and its snapshot.
func (e *env) readThread() capture.Thread {
	e.t.Helper()
	recs := e.records()
	if len(recs) != 1 {
		e.t.Fatalf("store holds %d records, want 1", len(recs))
	}
	ctx := context.Background()
	if _, err := bagcheck.Check(ctx, e.store, recs[0]); err != nil {
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
	return th
}

// filed waits for the person's personal chat to hear the outcome.
func (e *env) filed(p person) []string {
	e.t.Helper()
	waitFor(e.t, "the outcome in "+p.Name+"'s personal chat", func() bool {
		for _, m := range e.cx.MessagesTo(p.ID) {
			if strings.HasPrefix(m, "Filed as record") || strings.HasPrefix(m, "Could not file") {
				return true
			}
		}
		return false
	})
	e.app.Wait()
	return e.cx.MessagesTo(p.ID)
}

// TestChannelThreadFiled: "File as record" on a reply of a channel thread
// of 120 replies files the whole thread, root first, in order; the person
// is told "Filing…" and then the record's id and how long it is kept, in
// their personal chat.
func TestChannelThreadFiled(t *testing.T) {
	g := newFakeGraph()
	msgs := thread(120)
	g.add(general.channel, group, []person{alice, bob}, msgs)
	e := newEnv(t, envOpts{src: g})
	reply := msgs[57]
	w := general
	w.root = msgs[0].ID
	f := e.task(e.post(e.activity("f:1", "composeExtension/fetchTask", alice, w, fetchValue(reply.ID, msgs[0].ID, reply.Text)))).form(t)
	if got := f.inputs["title"]["value"]; got != "Ferry tender decision & award" {
		t.Errorf("suggested title = %q, want the root's first line", got)
	}
	if _, chat := f.inputs["scope"]; chat {
		t.Error("a channel thread's form asks what to file; a thread is filed whole")
	}
	if f.inputs["marking"]["value"] != "_class_default" {
		t.Errorf("marking defaults to %v, want the class's", f.inputs["marking"]["value"])
	}
	if n := len(f.inputs["class"]["choices"].([]any)); n == 0 {
		t.Error("the class picker offers no class")
	}
	msg := e.task(e.post(e.activity("f:2", "composeExtension/submitAction", alice, w, submitValue(f, map[string]string{"title": "Ferry tender award", "class": "100-01"})))).message(t)
	if !strings.HasPrefix(msg, "Filing Ferry tender award under") {
		t.Errorf("dialog says %q", msg)
	}
	said := e.filed(alice)
	if len(said) != 2 || !strings.HasPrefix(said[0], "Filing **Ferry tender award**") || !strings.HasPrefix(said[1], "Filed as record **Ferry tender award**") ||
		!strings.Contains(said[1], "Record id: `") || !strings.Contains(said[1], "kept") {
		t.Errorf("alice's personal chat says %q", said)
	}
	th := e.readThread()
	if len(th.Messages) != 121 {
		t.Fatalf("record has %d messages, want 121", len(th.Messages))
	}
	for i, m := range th.Messages {
		if m.ID != msgs[i].ID {
			t.Fatalf("record message %d = %s, want %s", i, m.ID, msgs[i].ID)
		}
	}
	if th.Platform != capture.Teams {
		t.Errorf("record platform = %s", th.Platform)
	}
	if len(e.cx.MessagesTo(bob.ID)) != 0 {
		t.Error("bob was told of alice's request")
	}
}

var chatW = where{kind: "groupChat", channel: "19:abc@thread.v2"}

// chat is a group chat over two days (London time): three messages on
// the 3rd, two on the 4th.
func chat() []capture.Message {
	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	mk := func(id string, who person, t time.Time, text string) capture.Message {
		return capture.Message{ID: id, Author: capture.Person{ID: who.AAD, DisplayName: who.Name}, Time: t, Text: text}
	}
	return []capture.Message{
		mk("1001", alice, at(3, 9), "<p>Budget meeting notes</p>"),
		mk("1002", bob, at(3, 10), "<p>Numbers attached</p>"),
		mk("1003", alice, at(3, 23).Add(30*time.Minute), "<p>Late thought</p>"), // still the 3rd in London
		mk("1004", bob, at(4, 9), "<p>Decision: cut 5%</p>"),
		mk("1005", alice, at(4, 11), "<p>Agreed</p>"),
	}
}

// TestGroupChatDay: in a group chat the form asks what to file; "the
// messages of that day" files the acted-on message's day, in the person's
// time zone.
func TestGroupChatDay(t *testing.T) {
	g := newFakeGraph()
	g.add(chatW.channel, "", []person{alice, bob}, chat())
	e := newEnv(t, envOpts{src: g})
	f := e.task(e.post(e.activity("c:1", "composeExtension/fetchTask", bob, chatW, fetchValue("1005", "", "<p>Agreed</p>")))).form(t)
	if _, ok := f.inputs["scope"]; !ok {
		t.Fatal("a group chat's form does not ask what to file")
	}
	if got := f.inputs["title"]["value"]; got != "Agreed" {
		t.Errorf("suggested title = %q", got)
	}
	e.task(e.post(e.activity("c:2", "composeExtension/submitAction", bob, chatW, submitValue(f, map[string]string{"title": "Budget cut decision", "class": "100-01", "scope": "day"})))).message(t)
	said := e.filed(bob)
	if !strings.HasPrefix(said[len(said)-1], "Filed as record") {
		t.Fatalf("bob's personal chat says %q", said)
	}
	th := e.readThread()
	var ids []string
	for _, m := range th.Messages {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "1004,1005" {
		t.Errorf("the day's record holds %v, want 1004,1005", ids)
	}
}

// TestGroupChatSince: "since an earlier message" needs that message's
// link, in this chat.
func TestGroupChatSince(t *testing.T) {
	g := newFakeGraph()
	g.add(chatW.channel, "", []person{alice, bob}, chat())
	e := newEnv(t, envOpts{src: g})
	f := e.task(e.post(e.activity("s:1", "composeExtension/fetchTask", alice, chatW, fetchValue("1004", "", "")))).form(t)
	again := e.task(e.post(e.activity("s:2", "composeExtension/submitAction", alice, chatW, submitValue(f, map[string]string{"title": "Budget", "class": "100-01", "scope": "since",
		"since": "https://teams.microsoft.com/l/message/19:other@thread.v2/1002"})))).form(t)
	if len(again.texts) == 0 || !strings.Contains(again.texts[0], "another chat") {
		t.Errorf("a link to another chat's message is not refused: %q", again.texts)
	}
	e.task(e.post(e.activity("s:3", "composeExtension/submitAction", alice, chatW, submitValue(f, map[string]string{"title": "Budget", "class": "100-01", "scope": "since",
		"since": "https://teams.microsoft.com/l/message/19%3Aabc%40thread.v2/1002?context=%7B%7D"})))).message(t)
	e.filed(alice)
	var ids []string
	for _, m := range e.readThread().Messages {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "1002,1003,1004" {
		t.Errorf("since 1002 the record holds %v", ids)
	}
}

// TestOneToOneRefused: a one-to-one chat cannot be filed, and the person
// is told why before anything is read.
func TestOneToOneRefused(t *testing.T) {
	e, _ := channelEnv(t)
	w := where{kind: "personal", channel: "a:1on1"}
	msg := e.task(e.post(e.activity("p:1", "composeExtension/fetchTask", alice, w, fetchValue("42", "", "<p>secret</p>")))).message(t)
	if msg != teams.OneToOne {
		t.Errorf("one-to-one chat answered %q", msg)
	}
	if e.resolves() != 0 {
		t.Error("a one-to-one chat was looked up")
	}
}

// TestNonMemberGetsNothing: a person who is not a member of the
// conversation sees nothing of it (no suggested title, no text), and a
// form they forge is not filed: the capture checks them again.
func TestNonMemberGetsNothing(t *testing.T) {
	e, _ := channelEnv(t)
	status, body := e.post(e.activity("m:1", "composeExtension/fetchTask", mallory, general, fetchValue("1700000000100", "1700000000000", "<p>Agreed</p>")))
	msg := e.task(status, body).message(t)
	for _, leak := range []string{"Ferry", "Agreed", "tender", "general"} {
		if strings.Contains(string(body), leak) {
			t.Errorf("the refusal shows %q of the conversation: %s", leak, body)
		}
	}
	if !strings.Contains(strings.ToLower(msg), "only members") {
		t.Errorf("mallory is told %q", msg)
	}
	// A form made up by mallory, naming the conversation.
	act := e.activity("m:2", "composeExtension/submitAction", mallory, general, map[string]any{"commandId": teams.CommandID, "data": map[string]any{
		"title": "Stolen", "class": "100-01", "recordbot": map[string]any{"tn": tenant, "tm": group, "c": general.channel, "f": "1700000000000", "a": "1700000000100", "n": "x"}}})
	e.task(e.post(act)).message(t)
	said := e.filed(mallory)
	if last := said[len(said)-1]; !strings.HasPrefix(last, "Could not file") || strings.Contains(last, "Ferry") {
		t.Errorf("mallory is told %q", last)
	}
	if n := len(e.records()); n != 0 {
		t.Errorf("a non-member's form filed %d records", n)
	}
}

// TestReplayedSubmitFilesOnce: the Bot Connector sending a submitAction
// again, and the person pressing File twice, file once, and the person
// hears "Filing…" once.
func TestReplayedSubmitFilesOnce(t *testing.T) {
	e, _ := channelEnv(t)
	f := e.task(e.post(e.activity("r:1", "composeExtension/fetchTask", alice, general, fetchValue("1700000000000", "", "")))).form(t)
	submit := e.activity("r:2", "composeExtension/submitAction", alice, general, submitValue(f, map[string]string{"title": "Ferry", "class": "100-01"}))
	first := e.task(e.post(submit)).message(t)
	if replay := e.task(e.post(submit)).message(t); replay != first {
		t.Errorf("a replayed activity is answered %q, then %q", first, replay)
	}
	submit["id"] = "r:3" // a second press of File: a new activity, the same form
	if again := e.task(e.post(submit)).message(t); !strings.Contains(again, "already received") {
		t.Errorf("a second press is answered %q", again)
	}
	said := e.filed(alice)
	if n := len(e.records()); n != 1 {
		t.Errorf("%d records, want 1", n)
	}
	filing := 0
	for _, m := range said {
		if strings.HasPrefix(m, "Filing") {
			filing++
		}
	}
	if filing != 1 {
		t.Errorf("alice was told Filing… %d times: %q", filing, said)
	}
}

// hangingGraph never answers a membership check.
type hangingGraph struct{ *fakeGraph }

func (hangingGraph) Resolve(ctx context.Context, ref capture.Ref, p capture.Person) (capture.Preview, error) {
	<-ctx.Done()
	return capture.Preview{}, ctx.Err()
}

// TestSlowCheckOpensFormWithoutTitle: a membership check that does not
// finish in time does not hold the answer past Teams' deadline; the form
// opens with nothing of the conversation in it, and the worker checks the
// person again before it captures anything.
func TestSlowCheckOpensFormWithoutTitle(t *testing.T) {
	g := newFakeGraph()
	g.add(general.channel, group, []person{alice, bob}, thread(2))
	e := newEnv(t, envOpts{src: hangingGraph{g}})
	defer teams.SetTimeouts(time.Minute, 50*time.Millisecond, 30*time.Second)()
	f := e.task(e.post(e.activity("h:1", "composeExtension/fetchTask", alice, general, fetchValue("1762160460000", "1762160400000", "<p>reply 1</p>")))).form(t)
	if got := f.inputs["title"]["value"]; got != "" {
		t.Errorf("suggested title %q without a finished membership check", got)
	}
	if strings.Contains(f.raw, "reply 1") || strings.Contains(f.raw, "Ferry") {
		t.Errorf("the form shows the conversation: %s", f.raw)
	}
}

// lateFiler stores the first request but answers as if the store had not
// confirmed it in time.
type lateFiler struct {
	*filing.Service
	late bool
}

func (l *lateFiler) Submit(ctx context.Context, r filing.Request) (filing.Request, error) {
	got, err := l.Service.Submit(ctx, r)
	if err == nil && !l.late {
		l.late = true
		return filing.Request{}, context.DeadlineExceeded
	}
	return got, err
}

// TestStoreLateThenFileAgain: a store that answers late keeps the form
// open with bot.StoreLate; pressing File again files once, and the person
// hears "Filing…" then.
func TestStoreLateThenFileAgain(t *testing.T) {
	g := newFakeGraph()
	g.add(general.channel, group, []person{alice, bob}, thread(3))
	e := newEnv(t, envOpts{src: g, filer: func(s *filing.Service) interface {
		Check(filing.Request) filing.FieldErrors
		Submit(context.Context, filing.Request) (filing.Request, error)
		Plan() *filing.Plan
	} {
		return &lateFiler{Service: s}
	}})
	f := e.task(e.post(e.activity("l:1", "composeExtension/fetchTask", alice, general, fetchValue("1762160400000", "", "")))).form(t)
	submit := e.activity("l:2", "composeExtension/submitAction", alice, general, submitValue(f, map[string]string{"title": "Ferry", "class": "100-01"}))
	again := e.task(e.post(submit)).form(t)
	if len(again.texts) == 0 || again.texts[0] != bot.StoreLate {
		t.Errorf("a late store is answered %q, want the form with bot.StoreLate", again.texts)
	}
	submit["id"] = "l:3"
	if msg := e.task(e.post(submit)).message(t); !strings.Contains(msg, "already received") {
		t.Errorf("File pressed again is answered %q", msg)
	}
	said := e.filed(alice)
	if len(e.records()) != 1 || len(said) != 2 || !strings.HasPrefix(said[0], "This form was already received") {
		t.Errorf("%d records; alice is told %q", len(e.records()), said)
	}
}

// TestMeetingChatForm: an action in a meeting chat, whose activity names
// no conversation type, opens the chat's form.
func TestMeetingChatForm(t *testing.T) {
	meeting := where{kind: "", channel: "19:meeting_NTk4@thread.v2"}
	g := newFakeGraph()
	g.add(meeting.channel, "", []person{alice, bob}, chat())
	e := newEnv(t, envOpts{src: g})
	f := e.task(e.post(e.activity("mt:1", "composeExtension/fetchTask", alice, meeting, fetchValue("1004", "", "")))).form(t)
	if _, ok := f.inputs["scope"]; !ok || f.inputs["title"]["value"] != "Decision: cut 5%" {
		t.Errorf("meeting chat form: scope %v, title %v", f.inputs["scope"], f.inputs["title"]["value"])
	}
}
