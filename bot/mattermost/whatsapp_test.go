package mattermost_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/bot/mattermost"
	"github.com/recordbot/recordbot/capture/mattermost/mattermosttest"
	"github.com/recordbot/recordbot/capture/whatsapp/whatsapptest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/bagcheck"
)

func (e *env) botUser() *model.User {
	return &model.User{Id: e.inst.BotUserID, Username: e.inst.BotUsername}
}

// dialogDefault returns the default of the dialog's element name.
func dialogDefault(d model.OpenDialogRequest, name string) (string, bool) {
	for _, el := range d.Dialog.Elements {
		if el.Name == name {
			return el.Default, true
		}
	}
	return "", false
}

// uploadsKept lists what the store holds under bot.UploadsPrefix.
func (e *env) uploadsKept() []string {
	e.t.Helper()
	var out []string
	for info, err := range e.store.List(context.Background(), bot.UploadsPrefix) {
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, info.Key)
	}
	return out
}

// An export sent to @recordbot in a direct message is offered for filing
// there; only its sender may file it; the record holds the chat, its
// media and the export byte for byte, and the sender is told in the DM.
func TestWhatsAppExportSentInDirectMessage(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.mm.SetTimezone(e.alice, "Europe/London", "")
	e.listen(e.app, 1)
	export := whatsapptest.IOSExport(t)
	name := "WhatsApp Chat - Project Board.zip"
	e.mm.SendDM(e.alice, e.botUser(), "", mattermosttest.File{Name: name, MIME: "application/zip", Data: export})
	offer := e.waitTold(e.alice, "WhatsApp chat")
	for _, want := range []string{"Project Board", "Europe/London"} {
		if !strings.Contains(offer.Message, want) {
			t.Errorf("Got(offer) = %q, want %q in it", offer.Message, want)
		}
	}
	if !e.isDM(offer.ChannelId) {
		t.Errorf("Got(offer channel type) = %q, want the direct message", e.mm.ChannelType(offer.ChannelId))
	}

	// Someone else pressing the button is refused: no dialog opens.
	code, resp, err := e.mm.ClickButton(offer, "filerecord", e.bob.Id)
	if err != nil || code != 200 {
		t.Fatalf("ClickButton(bob) = HTTP %d, %v", code, err)
	}
	if !strings.Contains(resp.EphemeralText, "someone else") {
		t.Errorf("Got(answer to bob) = %q, want a refusal", resp.EphemeralText)
	}
	if n := len(e.mm.OpenedDialogs()); n != 0 {
		t.Fatalf("Got(dialogs opened after bob pressed) = %d, want 0", n)
	}

	if code, resp, err := e.mm.ClickButton(offer, "filerecord", e.alice.Id); err != nil || code != 200 || resp.EphemeralText != "" {
		t.Fatalf("ClickButton(alice) = HTTP %d, %+v, %v", code, resp, err)
	}
	d := e.lastDialog()
	if title, _ := dialogDefault(d, "title"); title != "Project Board" {
		t.Errorf("Got(suggested title) = %q, want %q", title, "Project Board")
	}
	if _, ok := dialogDefault(d, "date_order"); ok {
		t.Errorf("Got(dialog) asks the date order of an export whose dates decide it")
	}
	// Bob cannot submit alice's dialog either.
	if resp := e.submit(d, e.bob, map[string]any{"title": "Stolen", "class": "200-20-01", "marking": bot.ClassDefault}); resp.Error == "" {
		t.Errorf("Got(bob submitting alice's dialog) accepted, want refused")
	}
	if resp := e.submit(d, e.alice, map[string]any{"title": "Project Board decisions", "class": "200-20-01", "marking": bot.ClassDefault}); resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("submit = %+v", resp)
	}
	done := e.waitTold(e.alice, "Filed as record **Project Board decisions**")
	if !e.isDM(done.ChannelId) {
		t.Errorf("Got(outcome channel type) = %q, want the direct message", e.mm.ChannelType(done.ChannelId))
	}

	recs := e.records()
	if len(recs) != 1 {
		t.Fatalf("Got(records) = %v, want 1", recs)
	}
	ctx := context.Background()
	bag, err := bagcheck.Check(ctx, e.store, recs[0])
	if err != nil {
		t.Fatalf("bagcheck.Check(%s): %v", recs[0], err)
	}
	media := 0
	for p := range bag.Payload {
		if strings.HasPrefix(p, "data/files/") {
			media++
		}
	}
	if media != 2 {
		t.Errorf("Got(media files in the bag) = %d, want 2: %v", media, bag.Payload)
	}
	rc, _, err := e.store.Open(ctx, recs[0]+filing.OriginalPath(name))
	if err != nil {
		t.Fatalf("open the original export in the record: %v", err)
	}
	kept := readAll(t, rc)
	rc.Close()
	if kept != string(export) {
		t.Errorf("Got(original export in the record) = %d bytes, want the %d bytes sent, byte for byte", len(kept), len(export))
	}
	rc, _, err = e.store.Open(ctx, recs[0]+"data/thread.json")
	if err != nil {
		t.Fatal(err)
	}
	snap := readAll(t, rc)
	rc.Close()
	for _, want := range []string{`"platform": "whatsapp"`, e.alice.Id, "Europe/London", "Mattermost profile time zone", "mattermost whatsapp upload"} {
		if !strings.Contains(snap, want) {
			t.Errorf("Got(thread.json) without %q", want)
		}
	}
}

// The same export sent by a second person is theirs: offered to them and
// filed by them as their own record; the first sender's, still waiting,
// stays theirs alone, and is filed by them as another record.
func TestWhatsAppSameExportTwoSenders(t *testing.T) {
	e := newEnv(t, envOpts{exportZone: time.UTC})
	e.listen(e.app, 1)
	export := whatsapptest.IOSExport(t)
	name := "WhatsApp Chat - Project Board.zip"
	e.mm.SendDM(e.alice, e.botUser(), "", mattermosttest.File{Name: name, MIME: "application/zip", Data: export})
	aliceOffer := e.waitTold(e.alice, "WhatsApp chat")
	e.mm.SendDM(e.bob, e.botUser(), "", mattermosttest.File{Name: name, MIME: "application/zip", Data: export})
	bobOffer := e.waitTold(e.bob, "WhatsApp chat")

	// Bob cannot file alice's.
	code, resp, err := e.mm.ClickButton(aliceOffer, "filerecord", e.bob.Id)
	if err != nil || code != 200 || resp.EphemeralText == "" {
		t.Fatalf("ClickButton(bob on alice's offer) = HTTP %d, %+v, %v; want a refusal", code, resp, err)
	}
	if n := len(e.mm.OpenedDialogs()); n != 0 {
		t.Fatalf("Got(dialogs opened after bob pressed alice's button) = %d, want 0", n)
	}

	file := func(offer *model.Post, who *model.User, title string) {
		t.Helper()
		if code, resp, err := e.mm.ClickButton(offer, "filerecord", who.Id); err != nil || code != 200 || resp.EphemeralText != "" {
			t.Fatalf("ClickButton(%s) = HTTP %d, %+v, %v", who.Username, code, resp, err)
		}
		if resp := e.submit(e.lastDialog(), who, map[string]any{"title": title, "class": "200-20-01", "marking": bot.ClassDefault}); resp.Error != "" || len(resp.Errors) > 0 {
			t.Fatalf("submit by %s = %+v", who.Username, resp)
		}
		e.waitTold(who, "Filed as record **"+title+"**")
	}
	file(bobOffer, e.bob, "Project Board as Bob had it")
	file(aliceOffer, e.alice, "Project Board as Alice had it")
	if recs := e.records(); len(recs) != 2 {
		t.Errorf("Got(records) = %v, want one for each sender", recs)
	}
}

// A file that is not a WhatsApp export gets a clear answer and nothing is
// kept; words alone get a hint.
func TestWhatsAppNotAnExport(t *testing.T) {
	e := newEnv(t, envOpts{exportZone: time.UTC})
	e.listen(e.app, 1)
	e.mm.SendDM(e.alice, e.botUser(), "", mattermosttest.File{Name: "notes.txt", MIME: "text/plain", Data: []byte("Shopping: eggs, milk\nand bread\n")})
	e.waitTold(e.alice, "I cannot file this file: ")
	e.mm.SendDM(e.alice, e.botUser(), "hello")
	e.waitTold(e.alice, "To file a WhatsApp chat, export it")
	if kept := e.uploadsKept(); len(kept) != 0 {
		t.Errorf("Got(objects under %s) = %v, want none", bot.UploadsPrefix, kept)
	}
	if len(e.records()) != 0 {
		t.Errorf("Got(records) = %v, want none", e.records())
	}
	for _, p := range e.mm.MessagesTo(e.alice.Id) {
		if len(p.Attachments()) > 0 {
			t.Errorf("Got(a button offered for a non-export): %q", p.Message)
		}
	}
}

// Without a profile time zone or RECORDS_TIMEZONE the person is asked to
// set one, and nothing is kept.
func TestWhatsAppNoTimeZone(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.listen(e.app, 1)
	e.mm.SendDM(e.alice, e.botUser(), "", mattermosttest.File{Name: "WhatsApp Chat - Project Board.zip", MIME: "application/zip", Data: whatsapptest.IOSExport(t)})
	e.waitTold(e.alice, "Set your time zone in your Mattermost profile")
	if kept := e.uploadsKept(); len(kept) != 0 {
		t.Errorf("Got(objects under %s) = %v, want none", bot.UploadsPrefix, kept)
	}
}

// An export whose every date fits both orders asks the order in the
// dialog; the choice is kept and recorded.
func TestWhatsAppAmbiguousDateOrder(t *testing.T) {
	e := newEnv(t, envOpts{exportZone: time.UTC})
	e.listen(e.app, 1)
	txt, err := os.ReadFile("../../capture/whatsapp/testdata/ambiguous.txt")
	if err != nil {
		t.Fatal(err)
	}
	e.mm.SendDM(e.alice, e.botUser(), "", mattermosttest.File{Name: "WhatsApp Chat with Board.txt", MIME: "text/plain", Data: txt})
	offer := e.waitTold(e.alice, "fits both orders")
	if !strings.Contains(offer.Message, "the organisation's time zone") {
		t.Errorf("Got(offer) = %q, want the time zone's basis: the organisation's", offer.Message)
	}
	if code, _, err := e.mm.ClickButton(offer, "filerecord", e.alice.Id); err != nil || code != 200 {
		t.Fatalf("ClickButton = HTTP %d, %v", code, err)
	}
	d := e.lastDialog()
	if _, ok := dialogDefault(d, "date_order"); !ok {
		t.Fatalf("Got(dialog) without a date order select")
	}
	values := map[string]any{"title": "Board chat", "class": "200-20-01", "marking": bot.ClassDefault}
	if resp := e.submit(d, e.alice, values); resp.Errors["date_order"] == "" {
		t.Fatalf("Got(submit without a date order) = %+v, want a date_order error", resp)
	}
	values["date_order"] = "mdy"
	if resp := e.submit(d, e.alice, values); resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("submit = %+v", resp)
	}
	e.waitTold(e.alice, "Filed as record **Board chat**")
	recs := e.records()
	if len(recs) != 1 {
		t.Fatalf("Got(records) = %v, want 1", recs)
	}
	rc, _, err := e.store.Open(context.Background(), recs[0]+"data/thread.json")
	if err != nil {
		t.Fatal(err)
	}
	snap := readAll(t, rc)
	rc.Close()
	for _, want := range []string{"the choice of the person who sent the export in Mattermost", "2023-05-06T10:00:00Z"} {
		if !strings.Contains(snap, want) {
			t.Errorf("Got(thread.json) without %q", want)
		}
	}
}

// Someone in no team recordbot is installed on cannot file an export (as
// they cannot run /record): they are told so and nothing is kept.
func TestWhatsAppExportFromOutsideInstalledTeams(t *testing.T) {
	e := newEnv(t, envOpts{exportZone: time.UTC})
	carol, _ := e.mm.AddUser("carol")
	e.listen(e.app, 1)
	e.mm.SendDM(carol, e.botUser(), "", mattermosttest.File{Name: "WhatsApp Chat - Project Board.zip", MIME: "application/zip", Data: whatsapptest.IOSExport(t)})
	e.waitTold(carol, "only for members of the teams I am installed on")
	if kept := e.uploadsKept(); len(kept) != 0 {
		t.Errorf("Got(objects under %s) = %v, want none", bot.UploadsPrefix, kept)
	}
	for _, p := range e.mm.MessagesTo(carol.Id) {
		if len(p.Attachments()) > 0 {
			t.Errorf("Got(a button offered to someone outside the teams): %q", p.Message)
		}
	}
}

// A file over bot.MaxUpload is refused from its size, before any of it is
// downloaded, and nothing is kept.
func TestWhatsAppExportTooLarge(t *testing.T) {
	e := newEnv(t, envOpts{exportZone: time.UTC})
	e.listen(e.app, 1)
	var reads atomic.Int32
	e.mm.SendDMFile(e.alice, e.botUser(), "WhatsApp Chat - Huge.zip", "application/zip", bot.MaxUpload+1, func() io.Reader {
		reads.Add(1)
		return strings.NewReader("")
	})
	e.waitTold(e.alice, "too large to be a chat export")
	if n := reads.Load(); n != 0 {
		t.Errorf("Got(downloads of a file over the cap) = %d, want 0", n)
	}
	if kept := e.uploadsKept(); len(kept) != 0 {
		t.Errorf("Got(objects under %s) = %v, want none", bot.UploadsPrefix, kept)
	}
}

// The same person filing one export from two offers of it (they sent it
// twice) makes one record: the second dialog is answered that it was
// received already.
func TestWhatsAppExportOfferedTwice(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.mm.SetTimezone(e.alice, "Europe/London", "")
	e.listen(e.app, 1)
	export := whatsapptest.IOSExport(t)
	name := "WhatsApp Chat - Project Board.zip"
	file := func() model.OpenDialogRequest {
		e.mm.SendDM(e.alice, e.botUser(), "", mattermosttest.File{Name: name, MIME: "application/zip", Data: export})
		var offer *model.Post
		e.waitFor("a second offer", func() bool {
			n := 0
			for _, p := range e.mm.MessagesTo(e.alice.Id) {
				if strings.Contains(p.Message, "WhatsApp chat") {
					n, offer = n+1, p
				}
			}
			return n == len(e.mm.OpenedDialogs())+1
		})
		if code, resp, err := e.mm.ClickButton(offer, "filerecord", e.alice.Id); err != nil || code != 200 || resp.EphemeralText != "" {
			t.Fatalf("ClickButton(alice) = HTTP %d, %+v, %v", code, resp, err)
		}
		return e.lastDialog()
	}
	first := file()
	if resp := e.submit(first, e.alice, map[string]any{"title": "Project Board decisions", "class": "200-20-01", "marking": bot.ClassDefault}); resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("submit = %+v", resp)
	}
	e.waitTold(e.alice, "Filed as record **Project Board decisions**")

	second := file()
	if resp := e.submit(second, e.alice, map[string]any{"title": "Project Board decisions again", "class": "200-20-01", "marking": bot.ClassDefault}); resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("submit the second dialog = %+v", resp)
	}
	if got := e.waitTold(e.alice, "already received"); !strings.Contains(got.Message, "Project Board decisions") || strings.Contains(got.Message, "again") {
		t.Errorf("Got(answer to the second dialog) = %q, want the first request's title", got.Message)
	}
	// A second filing would be a request stored before the dialog was
	// answered: pending until it is filed, then a second record.
	if n := pending(t, e); n != 0 {
		t.Errorf("%d requests pending after the second dialog, want none", n)
	}
	if recs := e.records(); len(recs) != 1 {
		t.Errorf("Got(records) = %v, want 1", recs)
	}
}

// heldReader reads r once held is closed.
type heldReader struct {
	held chan struct{}
	r    io.Reader
}

func (h heldReader) Read(p []byte) (int, error) {
	<-h.held
	return h.r.Read(p)
}

// A flood of direct messages to the bot is answered DMsAtOnce at a time
// (a goroutine each): while that many are being answered, the posts
// beyond them are left unanswered rather than each taking a goroutine.
func TestDirectMessagesBounded(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.mm.SetTimezone(e.alice, "Europe/London", "")
	e.listen(e.app, 1)
	held := make(chan struct{})
	var downloads atomic.Int32
	content := func() io.Reader {
		downloads.Add(1)
		return heldReader{held, strings.NewReader("no chat in here at all")}
	}
	n := mattermost.DMsAtOnce + 5
	for i := range n {
		e.mm.SendDMFile(e.alice, e.botUser(), fmt.Sprintf("notes-%d.txt", i), "text/plain", 22, content)
	}
	// The listener answers a reaction itself, after every post before it:
	// by then it has taken each post, or left it unanswered and said so.
	e.mm.React(e.replies[0], e.bob, "card_file_box")
	e.waitTold(e.bob, "File its thread as a record?")
	if left := strings.Count(e.log.String(), "too many direct messages at once; one is left unanswered"); left != n-mattermost.DMsAtOnce {
		t.Errorf("Got(posts left unanswered) = %d, want %d", left, n-mattermost.DMsAtOnce)
	}
	e.waitFor("two downloads held", func() bool { return downloads.Load() == 2 })
	close(held)

	answered := func() int {
		k := 0
		for _, p := range e.mm.MessagesTo(e.alice.Id) {
			if strings.Contains(p.Message, "I cannot file this file") {
				k++
			}
		}
		return k
	}
	e.waitFor("the posts taken answered", func() bool { return answered() >= mattermost.DMsAtOnce })
	if got := answered(); got != mattermost.DMsAtOnce {
		t.Errorf("Got(answers to %d files sent at once) = %d, want %d", n, got, mattermost.DMsAtOnce)
	}
}
