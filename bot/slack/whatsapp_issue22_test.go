package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/bot/intaketest"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/slack/slacktest"
	"github.com/recordbot/recordbot/capture/whatsapp/whatsapptest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/bagcheck"
)

// The headline cases of issue 22 sent in the bot's Messages tab: a
// document named after its title (an iPhone's "NAME • 1 page <attached:
// FILE>") is filed and counted, a line that starts as a header but cannot
// be read is listed (and the person told) rather than glued to the
// message above, and "Carol Diaz:" with nothing after is her message.
func TestWhatsAppIssue22HeadlinesInDM(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.slack.AddUser(slacktest.User{ID: "U4", Name: "dee", RealName: "Dee Dee", TZ: "Europe/London"})
	e.run(t)
	e.sendFile(t, "U4", "F60", "WhatsApp Chat - Roads Board.zip", "application/zip", whatsapptest.CorpusExport(t, "headline-ios"))
	sum := e.exportButton(t)
	offer := e.waitFor(t, "chat.postMessage", "WhatsApp chat", 5*time.Second).Get("blocks")
	for _, want := range []string{"4 messages, 1 media file", "1 line of the chat was not understood: it is part of no message, and the record lists it."} {
		if !strings.Contains(offer, want) {
			t.Errorf("Got(offer) = %q, want %q in it", offer, want)
		}
	}
	e.interact(t, pressExport("U4", sum))
	if code, body := e.interact(t, viewSubmission("U4", e.lastView(t), "Roads board options", "100-20", "_class_default", "")); code != 200 || body != "" {
		t.Fatalf("submit = %d %q, want 200 and an empty body", code, body)
	}
	e.told(t, "U4", "Filed as record", 0)

	ctx := context.Background()
	prefix := recordPrefix(t, e.store)
	bag, err := bagcheck.Check(ctx, e.store, prefix)
	if err != nil {
		t.Fatalf("bagcheck.Check(%s): %v", prefix, err)
	}
	if got := bag.Payload["data/files/001_00000007-Budget-options-2027.pdf"]; got == "" {
		t.Errorf("Got(payload) = %v, want the document filed", bag.Payload)
	}
	rc, _, err := e.store.Open(ctx, prefix+filing.ThreadFile)
	if err != nil {
		t.Fatal(err)
	}
	var th capture.Thread
	err = json.NewDecoder(rc).Decode(&th)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Messages) != 4 || len(th.Messages[1].Files) != 1 || th.Messages[1].Files[0].Path == "" {
		t.Fatalf("Got(thread.json messages) = %+v, want 4, the second with its document filed", th.Messages)
	}
	if m := th.Messages[2]; m.Author.ID != "Carol Diaz" {
		t.Errorf("Got(thread.json message 3) = %+v, want Carol Diaz's", m)
	}
	for _, m := range th.Messages {
		if strings.Contains(m.Text, "cannot be read") {
			t.Errorf("Got(message %s) = %q, with the line not understood glued into it", m.ID, m.Text)
		}
	}
	if l := th.Provenance.Ledger; l == nil || l.NotUnderstood != 1 || len(l.Unread) != 1 || l.Unread[0].Line != 3 {
		t.Errorf("Got(thread.json ledger) = %+v, want line 3 listed as not understood", l)
	}
	rc, _, _ = e.store.Open(ctx, prefix+filing.RecordFile)
	rec, _ := io.ReadAll(rc)
	rc.Close()
	if !strings.Contains(string(rec), `"not_understood": 1`) || strings.Contains(string(rec), "cannot be read") {
		t.Errorf("Got(record.json) without the ledger's counts, or with the text of the line not understood")
	}
}

// Every case of issue 22 (bot/intaketest, the same table as Mattermost's)
// sent in the bot's Messages tab: the offer says what it must, and the
// record filed through the modal holds what it must. An export whose
// dates fit both orders is filed day first, with its day/month button.
func TestWhatsAppIssue22CasesInDM(t *testing.T) {
	for i, c := range intaketest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			e.slack.AddUser(slacktest.User{ID: "U4", Name: "dee", RealName: "Dee Dee", TZ: c.Zone})
			e.run(t)
			e.sendFile(t, "U4", fmt.Sprintf("F7%02d", i), c.File, "application/zip", c.Export(t))
			values := e.exportButtons(t)
			offer := e.waitFor(t, "chat.postMessage", "WhatsApp chat", 5*time.Second).Get("blocks")
			for _, want := range c.Offer {
				if !strings.Contains(offer, want) {
					t.Errorf("Got(offer) = %q, want %q in it", offer, want)
				}
			}
			if c.NoFiling {
				return
			}
			e.interact(t, pressExport("U4", values[0])) // the only one, or day/month
			if code, body := e.interact(t, viewSubmission("U4", e.lastView(t), "Issue 22 "+c.Name, "100-20", "_class_default", "")); code != 200 || body != "" {
				t.Fatalf("submit = %d %q, want 200 and an empty body", code, body)
			}
			e.told(t, "U4", "Filed as record", 0)
			c.Check(t, intaketest.Read(t, e.store, recordPrefix(t, e.store)))
		})
	}
}

// The same export sent again, read in another time zone and date order,
// is offered with what differs from the record filed of it before, and
// the modal files it as a new record whose record.json names the first
// as the record it corrects; sent a third time and read as the second
// was, the offer says it was filed so, and a second press of the same
// offer's button (a replayed click) files nothing more.
func TestWhatsAppSentAgainReadOtherwise(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.slack.AddUser(slacktest.User{ID: "U4", Name: "dee", RealName: "Dee Dee", TZ: "Europe/London"})
	e.run(t)
	text, err := os.ReadFile("../../capture/whatsapp/testdata/ambiguous.txt")
	if err != nil {
		t.Fatal(err)
	}
	offers := 0
	file := func(id, title string, button int, wantInOffer string) filing.Record {
		t.Helper()
		before := len(e.slack.Calls("chat.postMessage"))
		e.sendFile(t, "U4", id, "WhatsApp Chat with Alice.txt", "text/plain", text)
		values := e.offerButtons(t, offers)
		offers++
		offer := e.slack.Calls("chat.postMessage")[before].Get("blocks")
		if !strings.Contains(offer, wantInOffer) {
			t.Errorf("Got(offer) = %q, want %q in it", offer, wantInOffer)
		}
		e.interact(t, pressExport("U4", values[button]))
		e.waitViews(offers)
		sub := viewSubmission("U4", e.lastView(t), title, "100-20", "_class_default", "")
		sub["view"].(map[string]any)["id"] = "V" + id
		if code, body := e.interact(t, sub); code != 200 || body != "" {
			t.Fatalf("submit = %d %q, want 200 and an empty body", code, body)
		}
		e.told(t, "U4", "Filed as record *"+title, 0)
		return recordTitled(t, e.store, title)
	}
	first := file("F81", "Greetings", 0, "Times are read as Europe/London")
	for o := range e.store.List(context.Background(), bot.UploadsPrefix) {
		e.store.Delete(context.Background(), o.Key) // as bot.Uploads.Filed does once filed
	}
	e.slack.AddUser(slacktest.User{ID: "U4", Name: "dee", RealName: "Dee Dee", TZ: "America/Toronto"})
	second := file("F82", "Greetings (Toronto)", 1, "This export was filed before as record *Greetings* ("+first.ID+", class 100-20), read otherwise: time zone Europe/London there, America/Toronto now.")
	if len(second.Related) != 1 || second.Related[0].ID != first.ID || second.Related[0].Relation != filing.Corrects {
		t.Errorf("Got(second record's related) = %+v, want it to name %s as the record it corrects", second.Related, first.ID)
	}
	if !strings.Contains(second.Provenance.Assumptions[0].Value+second.Provenance.Assumptions[1].Value, "America/Toronto") {
		t.Errorf("Got(second record's assumptions) = %+v, want Toronto", second.Provenance.Assumptions)
	}
	if n := countRecords(t, e.store); n != 2 {
		t.Fatalf("Got(records) = %d, want 2", n)
	}
}

// recordTitled is the record.json of the record filed with title.
func recordTitled(t *testing.T, st filing.Store, title string) filing.Record {
	t.Helper()
	for o, err := range st.List(context.Background(), filing.RecordsPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(o.Key, "/"+filing.RecordFile) {
			continue
		}
		var rec filing.Record
		readJSON(t, st, o.Key, &rec)
		if rec.Title == title {
			return rec
		}
	}
	t.Fatalf("no record titled %q", title)
	return filing.Record{}
}
