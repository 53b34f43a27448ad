package teams_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/bot/teams/connectortest"
	"github.com/recordbot/recordbot/capture/whatsapp/whatsapptest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/intaketest"
)

// personalChat is p's personal chat with the bot.
func personalChat(p person) where { return where{kind: "personal", channel: "a:personal-" + p.ID} }

// sendFiles sends a message with files (their attachments, as Teams puts
// them) from p in their personal chat with the bot, their client in zone,
// and waits for the bot's answer.
func (e *env) sendFiles(t *testing.T, id string, p person, zone string, files ...map[string]any) {
	t.Helper()
	act := e.activity(id, "", p, personalChat(p), nil)
	act["type"], act["localTimezone"] = "message", zone
	delete(act, "name")
	delete(act, "value")
	var atts []any
	for _, f := range files {
		atts = append(atts, f)
	}
	act["attachments"] = atts
	if status, body := e.post(act); status != http.StatusOK {
		t.Fatalf("a message with files: HTTP %d %s", status, body)
	}
	e.app.Wait()
}

// offer is a WhatsApp export's offer as the bot drew it: its text and
// its buttons' titles and data.
type offer struct {
	text    string
	titles  []string
	buttons []map[string]any
}

// offers are the offers (cards) the bot sent p.
func (e *env) offers(t *testing.T, p person) []offer {
	t.Helper()
	var out []offer
	for _, raw := range e.cx.CardsTo(p.ID) {
		var c struct {
			Type string `json:"type"`
			Body []struct {
				Type, Text string
			} `json:"body"`
			Actions []struct {
				Type  string         `json:"type"`
				Title string         `json:"title"`
				Data  map[string]any `json:"data"`
			} `json:"actions"`
		}
		if err := json.Unmarshal(raw, &c); err != nil || c.Type != "AdaptiveCard" || len(c.Body) == 0 {
			t.Fatalf("card %s: not an Adaptive Card with a body (%v)", raw, err)
		}
		var o offer
		for _, b := range c.Body {
			o.text += b.Text
		}
		for _, a := range c.Actions {
			ms, _ := a.Data["msteams"].(map[string]any)
			if a.Type != "Action.Submit" || ms["type"] != "task/fetch" {
				t.Fatalf("card %s: a button that does not open a dialog (task/fetch)", raw)
			}
			o.titles, o.buttons = append(o.titles, a.Title), append(o.buttons, a.Data)
		}
		out = append(out, o)
	}
	return out
}

// lastOffer is the last offer the bot sent p, failing when there is none.
func (e *env) lastOffer(t *testing.T, p person) offer {
	t.Helper()
	o := e.offers(t, p)
	if len(o) == 0 {
		t.Fatalf("no offer sent to %s; messages: %q", p.Name, e.cx.MessagesTo(p.ID))
	}
	return o[len(o)-1]
}

// press is p pressing an offer's button: the task/fetch invoke Teams
// sends with the button's data.
func (e *env) press(t *testing.T, id string, p person, data map[string]any) task {
	t.Helper()
	act := e.activity(id, "task/fetch", p, personalChat(p), map[string]any{"data": data, "context": map[string]any{"theme": "default"}})
	return e.task(e.post(act))
}

// fileExport is p pressing File in the export dialog f with fields (the
// task/submit invoke: the card's inputs merged into File's data).
func (e *env) fileExport(t *testing.T, id string, p person, f form, fields map[string]string) task {
	t.Helper()
	data := map[string]any{}
	for k, v := range f.data {
		data[k] = v
	}
	for k, v := range fields {
		data[k] = v
	}
	act := e.activity(id, "task/submit", p, personalChat(p), map[string]any{"data": data, "context": map[string]any{"theme": "default"}})
	return e.task(e.post(act))
}

// told waits for a message to p with want in it.
func (e *env) told(t *testing.T, p person, want string) string {
	t.Helper()
	var got string
	waitFor(t, fmt.Sprintf("%q told to %s", want, p.Name), func() bool {
		for _, m := range e.cx.MessagesTo(p.ID) {
			if strings.Contains(m, want) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// Every case of issue 22 (internal/intaketest, the table Slack's and
// Mattermost's DM intakes pass) sent to recordbot as a file in the
// personal chat: the offer says what it must, and the record filed through
// the dialog holds what it must. The download carries no token.
func TestWhatsAppIssue22CasesInPersonalChat(t *testing.T) {
	for i, c := range intaketest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			e := newEnv(t, envOpts{exports: true})
			e.sendFiles(t, fmt.Sprintf("m%d", i), alice, c.Zone, e.cx.Files().Put(c.File, c.Export(t)))
			o := e.lastOffer(t, alice)
			for _, want := range c.Offer {
				if !strings.Contains(o.text, want) {
					t.Errorf("Got(offer) = %q, want %q in it", o.text, want)
				}
			}
			if n := e.cx.Files().Tokened(); n != 0 {
				t.Errorf("Got(downloads with a token) = %d, want 0", n)
			}
			if c.NoFiling {
				return
			}
			f := e.press(t, fmt.Sprintf("f%d", i), alice, o.buttons[0]).form(t)
			title := "Issue 22 " + c.Name
			ans := e.fileExport(t, fmt.Sprintf("s%d", i), alice, f, map[string]string{"title": title, "class": "200-20-01", "marking": bot.ClassDefault, "date_order": "dmy"})
			if msg := ans.message(t); !strings.HasPrefix(msg, "Filing "+title) {
				t.Fatalf("Got(dialog answer) = %q, want it filing", msg)
			}
			prefix := intaketest.WaitFiled(t, e.store)
			e.told(t, alice, "Filed as record **"+title+"**")
			c.Check(t, intaketest.Read(t, e.store, prefix))
		})
	}
}

// The same export filed again under another class (intaketest.Refile,
// the case Slack's and Mattermost's pass) through the personal chat and
// the dialog.
func TestWhatsAppRefiledUnderAnotherClass(t *testing.T) {
	e := newEnv(t, envOpts{exports: true})
	intaketest.Refile(t, &teamsDM{e: e})
}

// teamsDM is intaketest.DM in Teams, as alice.
type teamsDM struct {
	e      *env
	n      int // activities sent
	offers int
	before map[string]bool
}

func (d *teamsDM) Store() filing.Store { return d.e.store }

func (d *teamsDM) id() string { d.n++; return fmt.Sprintf("dm%d", d.n) }

func (d *teamsDM) Send(t *testing.T, name string, data []byte) string {
	t.Helper()
	d.e.sendFiles(t, d.id(), alice, "Europe/London", d.e.cx.Files().Put(name, data))
	o := d.e.offers(t, alice)
	if len(o) != d.offers+1 {
		t.Fatalf("Got(offers) = %d, want %d; messages: %q", len(o), d.offers+1, d.e.cx.MessagesTo(alice.ID))
	}
	d.offers++
	return o[len(o)-1].text
}

func (d *teamsDM) File(t *testing.T, title, class string) {
	t.Helper()
	e := d.e
	f := e.press(t, d.id(), alice, e.lastOffer(t, alice).buttons[0]).form(t)
	d.before = map[string]bool{}
	for _, m := range e.cx.MessagesTo(alice.ID) {
		d.before[m] = true
	}
	ans := e.fileExport(t, d.id(), alice, f, map[string]string{"title": title, "class": class, "marking": bot.ClassDefault})
	ans.message(t) // the dialog closes
	e.app.Wait()
}

func (d *teamsDM) Told(t *testing.T, any ...string) string {
	t.Helper()
	var told string
	waitFor(t, "a message to alice saying one of "+strings.Join(any, ", "), func() bool {
		for _, m := range d.e.cx.MessagesTo(alice.ID) {
			if d.before[m] {
				continue
			}
			for _, want := range any {
				if strings.Contains(m, want) {
					told = m
					return true
				}
			}
		}
		return false
	})
	return told
}

// A download URL that is not on a file host is refused before anything is
// fetched: another host, http, a user in the URL. The person is told the
// file could not be downloaded, and nothing is kept.
func TestWhatsAppDownloadURLElsewhereRefused(t *testing.T) {
	e := newEnv(t, envOpts{exports: true})
	export := whatsapptest.IOSExport(t)
	other := connectortest.NewFiles(t) // a host not on the allow-list
	good := e.cx.Files().Put("WhatsApp Chat - Project Board.zip", export)
	goodURL := good["content"].(map[string]any)["downloadUrl"].(string)
	bad := []string{
		other.Put("WhatsApp Chat - Project Board.zip", export)["content"].(map[string]any)["downloadUrl"].(string),
		strings.Replace(goodURL, "https://", "http://", 1),
		strings.Replace(goodURL, "https://", "https://alice:pw@", 1),
		"https://169.254.169.254/latest/meta-data/",
	}
	for i, u := range bad {
		e.sendFiles(t, fmt.Sprintf("m%d", i), alice, "Europe/London", connectortest.FileAttachment("WhatsApp Chat - Project Board.zip", u, "x"))
		e.told(t, alice, "I could not download the file whole")
	}
	if n := len(e.cx.MessagesTo(alice.ID)); n != len(bad) {
		t.Errorf("Got(messages to alice) = %d, want %d refusals", n, len(bad))
	}
	if other.Hits() != 0 || e.cx.Files().Hits() != 0 {
		t.Errorf("Got(downloads) = %d elsewhere, %d on the file host; want none", other.Hits(), e.cx.Files().Hits())
	}
	if len(e.offers(t, alice)) != 0 || e.count(bot.UploadsPrefix) != 0 {
		t.Errorf("an export from a refused URL was offered or kept")
	}
	// The same file from the file host is taken.
	e.sendFiles(t, "ok", alice, "Europe/London", good)
	if o := e.lastOffer(t, alice); !strings.Contains(o.text, "WhatsApp chat") {
		t.Errorf("Got(offer) = %q", o.text)
	}
}

// Only the person who sent an export may open its dialog or file it:
// another person pressing its button (or forging its submission) is
// refused and told nothing of it, and nothing is filed.
func TestWhatsAppOnlySenderFiles(t *testing.T) {
	e := newEnv(t, envOpts{exports: true})
	e.sendFiles(t, "m1", alice, "Europe/London", e.cx.Files().Put("WhatsApp Chat - Project Board.zip", whatsapptest.IOSExport(t)))
	o := e.lastOffer(t, alice)
	const refused = "Only the person who sent this export can file it."
	if got := e.press(t, "f-bob", bob, o.buttons[0]).message(t); got != refused {
		t.Errorf("Got(bob's press) = %q, want %q", got, refused)
	}
	f := e.press(t, "f-alice", alice, o.buttons[0]).form(t)
	if title := f.inputs["title"]["value"]; title != "Project Board" {
		t.Errorf("Got(suggested title) = %v, want the chat's name", title)
	}
	fields := map[string]string{"title": "Board", "class": "200-20-01", "marking": bot.ClassDefault}
	if got := e.fileExport(t, "s-bob", bob, f, fields).message(t); got != refused {
		t.Errorf("Got(bob's submission of alice's form) = %q, want %q", got, refused)
	}
	e.app.Wait()
	if e.count(filing.RequestsPrefix) != 0 || len(e.cx.MessagesTo(bob.ID)) != 0 {
		t.Errorf("bob's submission made a request, or bob was told something")
	}
}

// An export whose dates fit both orders: its offer has a button for each;
// the dialog asks the order (preselected by the button) and will not file
// without one. The dialog submitted, then the same task/submit replayed by
// Teams and File pressed again: one record, one "Filing…".
func TestWhatsAppReplayedSubmitFilesOnce(t *testing.T) {
	e := newEnv(t, envOpts{exports: true})
	text, err := os.ReadFile("../../capture/whatsapp/testdata/ambiguous.txt")
	if err != nil {
		t.Fatal(err)
	}
	e.sendFiles(t, "m1", alice, "Europe/London", e.cx.Files().Put("WhatsApp Chat with Alice.txt", text))
	o := e.lastOffer(t, alice)
	if len(o.buttons) != 2 || !strings.Contains(o.titles[1], "month/day") {
		t.Fatalf("Got(buttons) = %q, want one for each order", o.titles)
	}
	f := e.press(t, "f1", alice, o.buttons[1]).form(t)
	if got := f.inputs["date_order"]["value"]; got != "mdy" {
		t.Errorf("Got(date order preselected) = %v, want mdy", got)
	}
	fields := map[string]string{"title": "Greetings", "class": "200-20-01", "marking": bot.ClassDefault, "date_order": ""}
	again := e.fileExport(t, "s0", alice, f, fields).form(t)
	if !strings.Contains(strings.Join(again.texts, "\n"), "Choose the order of day and month") {
		t.Errorf("Got(form without a date order) = %q, want it asked", again.texts)
	}
	fields["date_order"] = "mdy"
	act := e.activity("s1", "task/submit", alice, personalChat(alice), map[string]any{"data": merge(f.data, fields)})
	first := e.task(e.post(act)).message(t)
	if !strings.HasPrefix(first, "Filing Greetings") {
		t.Fatalf("Got(answer) = %q, want it filing", first)
	}
	if replay := e.task(e.post(act)).message(t); replay != first {
		t.Errorf("Got(replayed answer) = %q, want %q", replay, first)
	}
	e.fileExport(t, "s2", alice, f, fields) // File pressed again
	e.told(t, alice, "Filed as record **Greetings**")
	e.app.Wait()
	if recs := e.records(); len(recs) != 1 {
		t.Errorf("Got(records) = %d, want 1", len(recs))
	}
	filings := 0
	for _, m := range e.cx.MessagesTo(alice.ID) {
		if strings.HasPrefix(m, "Filing ") {
			filings++
		}
	}
	if filings != 1 {
		t.Errorf("Got(Filing… messages) = %d, want 1", filings)
	}
}

func merge(a map[string]any, b map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// A file that is not a WhatsApp export gets the intake's reason and no
// offer; two files at once get none of them filed; words alone get the
// help, which says how to send an export.
func TestWhatsAppNotAnExport(t *testing.T) {
	e := newEnv(t, envOpts{exports: true})
	e.sendFiles(t, "m1", alice, "Europe/London", e.cx.Files().Put("minutes.txt", []byte("Minutes of the meeting\nNothing was decided.\n")))
	got := e.told(t, alice, "I cannot file this file: ")
	if len(e.offers(t, alice)) != 0 || e.count(bot.UploadsPrefix) != 0 {
		t.Errorf("a file that is not an export was offered or kept (told %q)", got)
	}
	export := whatsapptest.IOSExport(t)
	e.sendFiles(t, "m2", alice, "Europe/London", e.cx.Files().Put("a.zip", export), e.cx.Files().Put("b.zip", export))
	e.told(t, alice, "Please send one WhatsApp export at a time")
	e.say(t, "m3", alice, "hello")
	e.told(t, alice, "To file a WhatsApp chat, export it on your phone")
	if len(e.offers(t, alice)) != 0 {
		t.Errorf("two files at once were offered")
	}
}

// An export from a Teams client that sends no time zone, where the bot
// has no organisation's time zone either, is not guessed at: the person
// is told how to set one, and nothing is kept.
func TestWhatsAppNoTimeZone(t *testing.T) {
	e := newEnv(t, envOpts{exports: true})
	e.sendFiles(t, "m1", alice, "", e.cx.Files().Put("WhatsApp Chat - Project Board.zip", whatsapptest.IOSExport(t)))
	e.told(t, alice, "Set your time zone on the device you use Teams on")
	if len(e.offers(t, alice)) != 0 || e.count(bot.UploadsPrefix) != 0 {
		t.Errorf("an export without a time zone was offered or kept")
	}
}

// In a flood of exports sent at once, those beyond what the bot takes at
// once are answered that it is busy, not left waiting.
func TestWhatsAppFloodAnsweredBusy(t *testing.T) {
	release := make(chan struct{})
	hold := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		http.Error(w, "Not found", http.StatusNotFound)
	}))
	defer hold.Close()
	u, _ := url.Parse(hold.URL)
	e := newEnv(t, envOpts{exports: true, fileHosts: []string{u.Host}})
	const sent = 17 // one more than the bot takes at once
	for i := range sent {
		act := e.activity(fmt.Sprintf("m%d", i), "", alice, personalChat(alice), nil)
		act["type"], act["attachments"] = "message", []any{connectortest.FileAttachment("WhatsApp Chat - Board.zip", hold.URL+"/f", "x")}
		delete(act, "name")
		if status, body := e.post(act); status != http.StatusOK {
			t.Fatalf("a message with a file: HTTP %d %s", status, body)
		}
	}
	e.told(t, alice, "I am busy with other exports")
	close(release)
	e.app.Wait()
	busy, failed := 0, 0
	for _, m := range e.cx.MessagesTo(alice.ID) {
		switch {
		case strings.Contains(m, "I am busy with other exports"):
			busy++
		case strings.Contains(m, "I could not download the file whole"):
			failed++
		}
	}
	if busy != 1 || failed != sent-1 {
		t.Errorf("Got(busy, not downloaded) = %d, %d; want 1, %d", busy, failed, sent-1)
	}
}

// The offer is an Adaptive Card, which renders Markdown but not HTML: a
// chat's name keeps its angle brackets as written (an entity would show
// as "&lt;"), and its Markdown marks are escaped.
func TestWhatsAppOfferCardText(t *testing.T) {
	e := newEnv(t, envOpts{exports: true})
	e.sendFiles(t, "m1", alice, "Europe/London", e.cx.Files().Put("WhatsApp Chat - <Board> *urgent*.zip", whatsapptest.IOSExport(t)))
	o := e.lastOffer(t, alice)
	if !strings.Contains(o.text, `<Board> \*urgent\*`) || strings.Contains(o.text, "&lt;") {
		t.Errorf("the offer card says %q", o.text)
	}
}

// A file sent to the bot where it takes no exports is answered, not
// dropped.
func TestFileWithoutExportsAnswered(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.sendFiles(t, "m1", alice, "Europe/London", e.cx.Files().Put("WhatsApp Chat - Board.zip", whatsapptest.IOSExport(t)))
	e.told(t, alice, "I do not take files in Teams here")
	if e.count(bot.UploadsPrefix) != 0 {
		t.Errorf("an export was kept where exports are not taken")
	}
}
