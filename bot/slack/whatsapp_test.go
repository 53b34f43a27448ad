package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	slackbot "github.com/recordbot/recordbot/bot/slack"
	"github.com/recordbot/recordbot/capture/slack/slacktest"
	"github.com/recordbot/recordbot/capture/whatsapp/whatsapptest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/bagcheck"
)

// sendFile sends the message.im event of user sharing a file with the bot
// in its Messages tab (D9), as Slack documents it
// (https://docs.slack.dev/reference/events/message.im; a file shared is
// the file_share subtype, https://docs.slack.dev/reference/events/message/file_share).
func (e *env) sendFile(t *testing.T, user, id, name, mimeType string, body []byte) {
	t.Helper()
	u := e.slack.AddFile("T1-"+id+"/"+name, mimeType, body)
	e.sendFileAt(t, user, id, name, mimeType, len(body), u)
}

// sendFileAt sends the message.im event of a file Slack says is at u.
func (e *env) sendFileAt(t *testing.T, user, id, name, mimeType string, size int, u string) {
	t.Helper()
	e.sendIM(t, id, map[string]any{
		"type": "message", "subtype": "file_share", "channel": "D9", "channel_type": "im",
		"user": user, "text": "", "ts": "1700002000.000100", "event_ts": "1700002000.000100", "upload": true,
		"files": []any{map[string]any{
			"id": id, "name": name, "title": name, "mimetype": mimeType, "size": size, "mode": "hosted",
			"url_private": u, "url_private_download": u,
		}},
	})
}

// sendIM sends event in an Events API envelope
// (https://docs.slack.dev/apis/events-api/#callback-field).
func (e *env) sendIM(t *testing.T, id string, event map[string]any) {
	t.Helper()
	ev := map[string]any{
		"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
		"event_id": "Ev" + id, "event_time": 1700002000,
		"event": event,
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := e.post(t, "/slack/events", string(raw)); code != 200 {
		t.Fatalf("POST /slack/events = %d %q, want 200", code, body)
	}
}

// exportButton waits for the message offering to file an export and
// returns the button's value.
func (e *env) exportButton(t *testing.T) string {
	t.Helper()
	v := e.exportButtons(t)
	if len(v) != 1 {
		t.Fatalf("Got(buttons) = %q, want one", v)
	}
	return v[0]
}

// exportButtons waits for the message offering to file an export and
// returns its buttons' values.
func (e *env) exportButtons(t *testing.T) []string {
	t.Helper()
	return e.offerButtons(t, 0)
}

// offerButtons waits for the nth message (from 0) offering to file an
// export and returns its buttons' values.
func (e *env) offerButtons(t *testing.T, nth int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		seen := 0
		for _, c := range e.slack.Calls("chat.postMessage") {
			var blocks []struct {
				Elements []struct {
					ActionID string `json:"action_id"`
					Value    string `json:"value"`
				} `json:"elements"`
			}
			json.Unmarshal([]byte(c.Get("blocks")), &blocks)
			var values []string
			for _, b := range blocks {
				for _, el := range b.Elements {
					if strings.HasPrefix(el.ActionID, slackbot.ExportActionID) && c.Get("channel") == "D9" {
						values = append(values, el.Value)
					}
				}
			}
			if len(values) > 0 {
				if seen == nth {
					return values
				}
				seen++
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no message with the File as record… button")
	return nil
}

// pressExport is the block_actions payload of user pressing the button
// (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload).
func pressExport(user, value string) map[string]any {
	id := slackbot.ExportActionID
	if _, order, ok := strings.Cut(value, ":"); ok {
		id += "_" + order
	}
	return map[string]any{
		"type": "block_actions", "token": "legacy", "trigger_id": "1700.99.abc", "api_app_id": "A1",
		"team":      map[string]any{"id": "T1", "domain": "acme"},
		"user":      map[string]any{"id": user, "username": "x", "name": "x", "team_id": "T1"},
		"channel":   map[string]any{"id": "D9", "name": "directmessage"},
		"container": map[string]any{"type": "message", "message_ts": "1700000000.000002", "channel_id": "D9", "is_ephemeral": false},
		"actions": []any{map[string]any{
			"type": "button", "action_id": id, "block_id": "export", "value": value,
			"text": map[string]any{"type": "plain_text", "text": "File as record…"}, "action_ts": "1700002001.000200",
		}},
	}
}

// An export sent in the bot's Messages tab is answered with a button; the
// person who sent it files it through the form, and the record holds its
// messages, its media and the export itself byte for byte.
func TestWhatsAppExportInDM(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.slack.AddUser(slacktest.User{ID: "U4", Name: "dee", RealName: "Dee Dee", TZ: "Europe/London"})
	e.run(t)
	export := whatsapptest.IOSExport(t)
	name := "WhatsApp Chat - Project Board.zip"
	e.sendFile(t, "U4", "F40", name, "application/zip", export)
	sum := e.exportButton(t)
	if len(sum) != 64+1+32 {
		t.Fatalf("Got(button value) = %q, want the id the export is kept as", sum)
	}
	offer := e.waitFor(t, "chat.postMessage", "WhatsApp chat", 5*time.Second).Get("blocks")
	for _, want := range []string{"Project Board", "Europe/London"} {
		if !strings.Contains(offer, want) {
			t.Errorf("Got(offer) = %q, want %q in it", offer, want)
		}
	}

	// Someone else pressing the button is refused: no form opens.
	e.interact(t, pressExport("U2", sum))
	e.told(t, "U2", "Only the person who sent this export can file it", 0)
	if n := len(e.slack.Calls("views.open")); n != 0 {
		t.Fatalf("Got(views.open calls after another person pressed) = %d, want 0", n)
	}

	e.interact(t, pressExport("U4", sum))
	view := e.lastView(t)
	if title, _ := inputInitial(view, "title"); title != "Project Board" {
		t.Errorf("Got(suggested title) = %q, want %q", title, "Project Board")
	}
	code, body := e.interact(t, viewSubmission("U4", view, "Project Board decisions", "100-20", "_class_default", ""))
	if code != 200 || body != "" {
		t.Fatalf("submit = %d %q, want 200 and an empty body", code, body)
	}
	e.told(t, "U4", "Filed as record", 0)

	prefix := recordPrefix(t, e.store)
	bag, err := bagcheck.Check(context.Background(), e.store, prefix)
	if err != nil {
		t.Fatalf("bagcheck.Check(%s): %v", prefix, err)
	}
	var media int
	for p := range bag.Payload {
		if strings.HasPrefix(p, "data/files/") {
			media++
		}
	}
	if media != 2 {
		t.Errorf("Got(media files in the bag) = %d, want 2: %v", media, bag.Payload)
	}
	rc, _, err := e.store.Open(context.Background(), prefix+filing.OriginalPath(name))
	if err != nil {
		t.Fatalf("open the original export in the record: %v", err)
	}
	kept, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(kept, export) {
		t.Errorf("Got(original export in the record) = %d bytes, want the %d bytes sent, byte for byte", len(kept), len(export))
	}
	rc, _, err = e.store.Open(context.Background(), prefix+filing.ThreadFile)
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := io.ReadAll(rc)
	rc.Close()
	sha, _, _ := strings.Cut(sum, "-")
	for _, want := range []string{`"platform": "whatsapp"`, `"U4"`, "Europe/London", sha} {
		if !strings.Contains(string(snap), want) {
			t.Errorf("Got(thread.json) without %q", want)
		}
	}
}

// The same export sent by a second person is theirs: offered to them, and
// filed by them as their own record; the first sender's, still waiting,
// stays theirs alone, and is filed by them as another record.
func TestWhatsAppSameExportTwoSenders(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.slack.AddUser(slacktest.User{ID: "U4", Name: "dee", RealName: "Dee Dee", TZ: "Europe/London"})
	e.slack.AddUser(slacktest.User{ID: "U2", Name: "bob", RealName: "Bob Bobson", TZ: "Europe/Paris"})
	e.run(t)
	export := whatsapptest.IOSExport(t)
	name := "WhatsApp Chat - Project Board.zip"
	e.sendFile(t, "U4", "F40", name, "application/zip", export)
	first := e.offerButtons(t, 0)
	e.sendFile(t, "U2", "F45", name, "application/zip", export)
	second := e.offerButtons(t, 1)
	if len(first) != 1 || len(second) != 1 || first[0] == second[0] {
		t.Fatalf("Got(buttons offered to U4, U2) = %q, %q; want one each, not the same", first, second)
	}

	// U2 cannot file U4's.
	e.interact(t, pressExport("U2", first[0]))
	e.told(t, "U2", "Only the person who sent this export can file it", 0)
	if n := len(e.slack.Calls("views.open")); n != 0 {
		t.Fatalf("Got(views.open calls after U2 pressed U4's button) = %d, want 0", n)
	}

	file := func(user, value, title string) {
		t.Helper()
		views := len(e.slack.Calls("views.open"))
		e.interact(t, pressExport(user, value))
		e.waitViews(views)
		code, body := e.interact(t, viewSubmission(user, e.lastView(t), title, "100-20", "_class_default", ""))
		if code != 200 || body != "" {
			t.Fatalf("submit by %s = %d %q, want 200 and an empty body", user, code, body)
		}
		e.told(t, user, "Filed as record", 0)
	}
	file("U2", second[0], "Project Board as Bob had it")
	file("U4", first[0], "Project Board as Dee had it")
	var records []string
	for o, err := range e.store.List(context.Background(), filing.RecordsPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(o.Key, "/bagit.txt") {
			records = append(records, o.Key)
		}
	}
	if len(records) != 2 {
		t.Errorf("Got(records) = %q, want one for each sender", records)
	}
}

// A file that is not a WhatsApp export gets a clear answer; nothing is
// kept and no button is offered.
func TestWhatsAppNotAnExport(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.slack.AddUser(slacktest.User{ID: "U4", Name: "dee", RealName: "Dee Dee", TZ: "Europe/London"})
	e.sendFile(t, "U4", "F41", "minutes.pdf", "application/pdf", []byte("%PDF-1.4 minutes of the board"))
	e.told(t, "U4", "this is not a WhatsApp chat export", 0)
	for o, err := range e.store.List(context.Background(), "uploads/") {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("Got(kept object %s), want nothing kept", o.Key)
	}
	for _, c := range e.slack.Calls("chat.postMessage") {
		if strings.Contains(c.Get("blocks"), slackbot.ExportActionID) {
			t.Errorf("Got(a File as record… button for a file that is not an export), want none")
		}
	}
}

// The filing worker checks again who sent the export: a form for it
// submitted by someone else (a forged view) files nothing.
func TestWhatsAppExportOtherSubmitter(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.slack.AddUser(slacktest.User{ID: "U4", Name: "dee", RealName: "Dee Dee", TZ: "Europe/London"})
	e.run(t)
	e.sendFile(t, "U4", "F42", "WhatsApp Chat - Project Board.zip", "application/zip", whatsapptest.IOSExport(t))
	sum := e.exportButton(t)
	e.interact(t, pressExport("U4", sum))
	view := e.lastView(t)
	e.interact(t, viewSubmission("U2", view, "Not mine", "100-20", "_class_default", ""))
	e.told(t, "U2", "Nothing was filed", 0)
	for o, err := range e.store.List(context.Background(), filing.RecordsPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		t.Fatalf("Got(record object %s), want no record", o.Key)
	}
}

// An export whose dates fit both orders of day and month gets a button
// for each; the order the sender chooses is the record's, said so, and
// kept: the other button no longer files it.
func TestWhatsAppExportDateOrder(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.slack.AddUser(slacktest.User{ID: "U4", Name: "dee", RealName: "Dee Dee", TZ: "Europe/London"})
	e.run(t)
	text, err := os.ReadFile("../../capture/whatsapp/testdata/ambiguous.txt")
	if err != nil {
		t.Fatal(err)
	}
	e.sendFile(t, "U4", "F43", "WhatsApp Chat with Alice.txt", "text/plain", text)
	values := e.exportButtons(t)
	if len(values) != 2 || !strings.HasSuffix(values[0], ":dmy") || !strings.HasSuffix(values[1], ":mdy") {
		t.Fatalf("Got(buttons) = %q, want day/month and month/day", values)
	}
	e.interact(t, pressExport("U4", values[1]))
	view := e.lastView(t)
	e.interact(t, viewSubmission("U4", view, "Morning greetings", "100-20", "_class_default", ""))
	e.told(t, "U4", "Filed as record", 0)
	rc, _, err := e.store.Open(context.Background(), recordPrefix(t, e.store)+filing.ThreadFile)
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := io.ReadAll(rc)
	rc.Close()
	for _, want := range []string{"the choice of the person who sent the export in Slack", `"2023-05-06T`} {
		if !strings.Contains(string(snap), want) {
			t.Errorf("Got(thread.json) without %q", want)
		}
	}

	e.interact(t, pressExport("U4", values[0]))
	e.told(t, "U4", "You chose month/day", 0)
	if n := len(e.slack.Calls("views.open")); n != 1 {
		t.Errorf("Got(views.open calls) = %d, want 1: the other order no longer opens the form", n)
	}
}

// A file whose address is not Slack's file host is not downloaded with
// the bot token: the person is told, nothing is kept. Words without a
// file get a hint; the bot's own messages get nothing.
func TestWhatsAppExportDownloadAndHints(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.slack.AddUser(slacktest.User{ID: "U4", Name: "dee", RealName: "Dee Dee", TZ: "Europe/London"})
	var got atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.Write(whatsapptest.IOSExport(t))
	}))
	defer other.Close()
	e.sendFileAt(t, "U4", "F44", "WhatsApp Chat - Project Board.zip", "application/zip", 100, other.URL+"/x.zip")
	e.told(t, "U4", "could not download the file", 0)
	if n := got.Load(); n != 0 {
		t.Errorf("Got(requests to a host that is not Slack's) = %d, want 0", n)
	}
	for o, err := range e.store.List(context.Background(), "uploads/") {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("Got(kept object %s), want nothing kept", o.Key)
	}

	// Without a time zone in the sender's profile (and no
	// RECORDS_TIMEZONE), the export's times cannot be read: they are asked.
	e.slack.AddUser(slacktest.User{ID: "U5", Name: "eve", RealName: "Eve"})
	e.sendFile(t, "U5", "F46", "WhatsApp Chat - Project Board.zip", "application/zip", whatsapptest.IOSExport(t))
	e.told(t, "U5", "Set your time zone in your Slack profile", 0)

	n := len(e.slack.Calls(""))
	e.sendIM(t, "Ev2", map[string]any{"type": "message", "channel": "D9", "channel_type": "im", "user": "U4",
		"text": "hello", "ts": "1700002100.000100", "event_ts": "1700002100.000100"})
	e.told(t, "U4", "To file a WhatsApp chat, export it on your phone", n)
	n = len(e.slack.Calls(""))
	e.sendIM(t, "Ev3", map[string]any{"type": "message", "subtype": "bot_message", "channel": "D9", "channel_type": "im",
		"bot_id": "B1", "text": "WhatsApp chat received", "ts": "1700002200.000100", "event_ts": "1700002200.000100"})
	e.settle(t) // an answer would be posted before the handler ends
	for _, c := range e.slack.Calls("")[n:] {
		if c.Method == "chat.postMessage" || c.Method == "chat.postEphemeral" {
			t.Errorf("Got(%s after the bot's own message), want no answer", c.Method)
		}
	}
}

// The same person filing one export from two offers of it (they sent it
// twice) makes one record: the second form is answered that it was
// received already.
func TestWhatsAppExportOfferedTwice(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.slack.AddUser(slacktest.User{ID: "U4", Name: "dee", RealName: "Dee Dee", TZ: "Europe/London"})
	e.run(t)
	export := whatsapptest.IOSExport(t)
	name := "WhatsApp Chat - Project Board.zip"
	e.sendFile(t, "U4", "F50", name, "application/zip", export)
	sum := e.exportButton(t)
	e.interact(t, pressExport("U4", sum))
	first := e.lastView(t)
	if code, body := e.interact(t, viewSubmission("U4", first, "Project Board decisions", "100-20", "_class_default", "")); code != 200 || body != "" {
		t.Fatalf("submit = %d %q, want 200 and an empty body", code, body)
	}
	e.told(t, "U4", "Filed as record", 0)

	// Sent again, offered again, and filed again from the new offer's
	// form, under another title.
	calls := len(e.slack.Calls(""))
	e.sendFile(t, "U4", "F51", name, "application/zip", export)
	e.waitFor(t, "chat.postMessage", "WhatsApp chat received", 5*time.Second)
	e.interact(t, pressExport("U4", sum))
	e.waitViews(1)
	second := e.lastView(t)
	sub := viewSubmission("U4", second, "Project Board decisions again", "100-20", "_class_default", "")
	sub["view"].(map[string]any)["id"] = "V2"
	if code, body := e.interact(t, sub); code != 200 || body != "" {
		t.Fatalf("submit the second form = %d %q, want 200 and an empty body", code, body)
	}
	if got := e.told(t, "U4", "already received", calls); !strings.Contains(got, "Project Board decisions") || strings.Contains(got, "again") {
		t.Errorf("Got(answer to the second form) = %q, want the first request's title", got)
	}
	// A second filing would be a request stored before the form's
	// handler ends: pending until it is filed, then a second record.
	e.settle(t)
	if n := countPending(t, e.store); n != 0 {
		t.Errorf("%d requests pending after the second form, want none", n)
	}
	recordPrefix(t, e.store)
}
