package slack_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture/slack/slacktest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/intaketest"
)

// Every case of issue 22 (bot/intaketest, the same table as Mattermost's)
// sent in the bot's Messages tab: the offer says what it must, and the
// record filed through the modal holds what it must. An export whose
// dates fit both orders is filed day first, with its day/month button.
func TestWhatsAppIssue22CasesInDM(t *testing.T) {
	for i, c := range intaketest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel() // each case has its own platform double, store and worker
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
			prefix := intaketest.WaitFiled(t, e.store)
			e.told(t, "U4", "Filed as record", 0)
			c.Check(t, intaketest.Read(t, e.store, prefix))
		})
	}
}

// The same export sent again, read in another time zone, is offered with
// what differs from the record filed of it before, and the modal files it
// as a new record whose record.json names the first as the record it
// corrects; sent a third time, in the second's zone, its date order still
// to be chosen, the offer names the second and how it read its dates, and
// the other order chosen makes a record that corrects the second.
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
		if !e.waitViews(offers - 1) {
			t.Fatal("the button opened no modal")
		}
		sub := viewSubmission("U4", e.lastView(t), title, "100-20", "_class_default", "")
		sub["view"].(map[string]any)["id"] = "V" + id
		if code, body := e.interact(t, sub); code != 200 || body != "" {
			t.Fatalf("submit = %d %q, want 200 and an empty body", code, body)
		}
		e.told(t, "U4", "Filed as record *"+title, 0)
		return intaketest.RecordTitled(t, e.store, title)
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
	// The same zone as the second, the other order: chosen with the
	// day/month button, it corrects the second, read month first.
	for o := range e.store.List(context.Background(), bot.UploadsPrefix) {
		e.store.Delete(context.Background(), o.Key)
	}
	third := file("F83", "Greetings (Toronto, day first)", 0, "This export was filed before as record *Greetings (Toronto)* ("+second.ID+", class 100-20), its dates read as month/day/year")
	if len(third.Related) != 1 || third.Related[0].ID != second.ID || third.Related[0].Relation != filing.Corrects {
		t.Errorf("Got(third record's related) = %+v, want it to name %s as the record it corrects", third.Related, second.ID)
	}
	if n := countRecords(t, e.store); n != 3 {
		t.Fatalf("Got(records) = %d, want 3", n)
	}
}
