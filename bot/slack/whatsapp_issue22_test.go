package slack_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

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
