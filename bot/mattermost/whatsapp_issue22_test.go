package mattermost_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture/mattermost/mattermosttest"
	"github.com/recordbot/recordbot/capture/whatsapp/whatsapptest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/intaketest"
)

// The same export sent again after the sender's time zone changed is
// offered with what differs from the record filed of it before, and filed
// as a new record whose record.json names the first as the one it
// corrects.
func TestWhatsAppSentAgainReadOtherwise(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.mm.SetTimezone(e.alice, "Europe/London", "")
	e.listen(e.app, 1)
	export := whatsapptest.IOSExport(t)
	file := func(title, zone, wantInOffer string) filing.Record {
		t.Helper()
		e.mm.SendDM(e.alice, e.botUser(), "", mattermosttest.File{Name: "WhatsApp Chat - Project Board.zip", MIME: "application/zip", Data: export})
		offer := e.waitTold(e.alice, "Times are read as "+zone)
		if !strings.Contains(offer.Message, wantInOffer) {
			t.Errorf("Got(offer) = %q, want %q in it", offer.Message, wantInOffer)
		}
		if code, resp, err := e.mm.ClickButton(offer, "filerecord", e.alice.Id); err != nil || code != 200 || resp.EphemeralText != "" {
			t.Fatalf("ClickButton(alice) = HTTP %d, %+v, %v", code, resp, err)
		}
		if resp := e.submit(e.lastDialog(), e.alice, map[string]any{"title": title, "class": "200-20-01", "marking": bot.ClassDefault}); resp.Error != "" || len(resp.Errors) > 0 {
			t.Fatalf("submit = %+v", resp)
		}
		e.waitTold(e.alice, "Filed as record **"+title+"**")
		return intaketest.RecordTitled(t, e.store, title)
	}
	first := file("Project Board", "Europe/London", "Times are read as Europe/London")
	if len(first.Related) != 0 {
		t.Errorf("Got(first record's related) = %+v, want none", first.Related)
	}
	// Once filed, the kept export is deleted (bot.Uploads.Filed, wired by
	// cmd/bot); here it is deleted by hand.
	for _, k := range e.uploadsKept() {
		if err := e.store.Delete(context.Background(), k); err != nil {
			t.Fatal(err)
		}
	}
	e.mm.SetTimezone(e.alice, "America/Toronto", "")
	second := file("Project Board (Toronto)", "America/Toronto", "This export was filed before as record **Project Board** ("+first.ID+", class 200-20-01), read otherwise: time zone Europe/London there, America/Toronto now.")
	if len(second.Related) != 1 || second.Related[0].ID != first.ID || second.Related[0].Relation != filing.Corrects {
		t.Errorf("Got(second record's related) = %+v, want it to name %s as the record it corrects", second.Related, first.ID)
	}
}

// Every case of issue 22 (bot/intaketest, the same table as Slack's) sent
// to @recordbot in a direct message: the offer says what it must, and the
// record filed through the dialog holds what it must. An export whose
// dates fit both orders is filed day first.
func TestWhatsAppIssue22CasesInDirectMessage(t *testing.T) {
	for _, c := range intaketest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel() // each case has its own platform double, store and worker
			e := newEnv(t, envOpts{})
			e.mm.SetTimezone(e.alice, c.Zone, "")
			e.listen(e.app, 1)
			e.mm.SendDM(e.alice, e.botUser(), "", mattermosttest.File{Name: c.File, MIME: "application/zip", Data: c.Export(t)})
			offer := e.waitTold(e.alice, "WhatsApp chat")
			for _, want := range c.Offer {
				if !strings.Contains(offer.Message, want) {
					t.Errorf("Got(offer) = %q, want %q in it", offer.Message, want)
				}
			}
			if c.NoFiling {
				return
			}
			if code, resp, err := e.mm.ClickButton(offer, "filerecord", e.alice.Id); err != nil || code != 200 || resp.EphemeralText != "" {
				t.Fatalf("ClickButton(alice) = HTTP %d, %+v, %v", code, resp, err)
			}
			title := "Issue 22 " + c.Name
			values := map[string]any{"title": title, "class": "200-20-01", "marking": bot.ClassDefault, "date_order": "dmy"}
			if resp := e.submit(e.lastDialog(), e.alice, values); resp.Error != "" || len(resp.Errors) > 0 {
				t.Fatalf("submit = %+v", resp)
			}
			prefix := intaketest.WaitFiled(t, e.store)
			e.waitTold(e.alice, "Filed as record **"+mdEscape(title)+"**")
			c.Check(t, intaketest.Read(t, e.store, prefix))
		})
	}
}

// mdEscape escapes a title as the bot's Markdown does.
func mdEscape(s string) string {
	return strings.NewReplacer("*", "\\*", "_", "\\_", "`", "\\`", "[", "\\[", "]", "\\]", "~", "\\~").Replace(s)
}

// An export whose dates fit both orders, filed as month/day, then sent
// again and filed as day/month: the second offer and dialog make a new
// request (the date order is part of its key) and its record names the
// first as the one it corrects. The same dialog submitted twice (a
// replayed click) files once.
func TestWhatsAppSentAgainOtherDateOrder(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.mm.SetTimezone(e.alice, "Europe/London", "")
	e.listen(e.app, 1)
	text, err := os.ReadFile("../../capture/whatsapp/testdata/ambiguous.txt")
	if err != nil {
		t.Fatal(err)
	}
	file := func(title, order string, n int) *model.SubmitDialogResponse {
		t.Helper()
		e.mm.SendDM(e.alice, e.botUser(), "", mattermosttest.File{Name: "WhatsApp Chat with Alice.txt", MIME: "text/plain", Data: text})
		var offer *model.Post
		e.waitFor("offer", func() bool {
			offers := 0
			for _, p := range e.mm.MessagesTo(e.alice.Id) {
				if strings.Contains(p.Message, "WhatsApp chat") {
					if offers++; offers == n {
						offer = p
					}
				}
			}
			return offer != nil
		})
		if code, resp, err := e.mm.ClickButton(offer, "filerecord", e.alice.Id); err != nil || code != 200 || resp.EphemeralText != "" {
			t.Fatalf("ClickButton(alice) = HTTP %d, %+v, %v", code, resp, err)
		}
		d := e.lastDialog()
		values := map[string]any{"title": title, "class": "200-20-01", "marking": bot.ClassDefault, "date_order": order}
		if resp := e.submit(d, e.alice, values); resp.Error != "" || len(resp.Errors) > 0 {
			t.Fatalf("submit = %+v", resp)
		}
		e.waitTold(e.alice, "Filed as record **"+title+"**")
		return e.submit(d, e.alice, values) // replayed
	}
	file("Greetings", "mdy", 1)
	for _, k := range e.uploadsKept() { // as bot.Uploads.Filed does once filed
		if err := e.store.Delete(context.Background(), k); err != nil {
			t.Fatal(err)
		}
	}
	file("Greetings day first", "dmy", 2)
	if recs := e.records(); len(recs) != 2 {
		t.Fatalf("Got(records) = %v, want 2: one a reading, the replayed dialogs none", recs)
	}
	first, second := intaketest.RecordTitled(t, e.store, "Greetings"), intaketest.RecordTitled(t, e.store, "Greetings day first")
	if len(second.Related) != 1 || second.Related[0].ID != first.ID || second.Related[0].Relation != filing.Corrects {
		t.Errorf("Got(second record's related) = %+v, want it to name %s (%s) as the record it corrects", second.Related, first.ID, first.Title)
	}
	for _, p := range e.mm.MessagesTo(e.alice.Id) {
		if strings.Contains(p.Message, "This export was filed before as record **Greetings** ("+first.ID+", class 200-20-01), its dates read as month/day/year") {
			return
		}
	}
	t.Errorf("no offer named the record filed before and its date order")
}
