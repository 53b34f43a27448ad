package intaketest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture/whatsapp/whatsapptest"
	"github.com/recordbot/recordbot/filing"
)

// DM is one person's direct messages with the bot, driven on a front
// end's platform double. Their profile's time zone is Europe/London.
type DM interface {
	// Send sends the file name, its bytes data, to the bot and returns
	// the text of the offer the bot answers with.
	Send(t *testing.T, name string, data []byte) string
	// File presses the button of the offer Send returned last and
	// submits the filing form with title, the class code class and the
	// class's default marking; the form must close.
	File(t *testing.T, title, class string)
	// Told waits for the first message told to the person after the
	// last File with one of any in it, and returns its text.
	Told(t *testing.T, any ...string) string
	// Store is where the front end files.
	Store() filing.Store
}

// Refile is the same WhatsApp export sent again and filed under another
// class: the offer names the record filed before and says what filing
// it again does, and the record filed is a second one, under the class
// chosen, naming the first as the record it corrects. Sent a third time
// and filed under the second's class, it is not filed again and the
// person is told so.
func Refile(t *testing.T, dm DM) {
	export := whatsapptest.IOSExport(t)
	const name = "WhatsApp Chat - Project Board.zip"
	st := dm.Store()

	dm.Send(t, name, export)
	dm.File(t, "Board", "100-20")
	dm.Told(t, "Filing ")
	// Told once the record is filed whole, its index entry included,
	// which is how the next offer finds it.
	dm.Told(t, "Filed as record")
	first := WaitTitled(t, st, "Board")
	forgetKept(t, st)

	offer := dm.Send(t, name, export)
	for _, want := range []string{"(" + first.ID + ", class 100-20), read as it is now",
		"filed under another class, it makes a new record that names " + first.ID + " as the record it corrects"} {
		if !strings.Contains(offer, want) {
			t.Errorf("Got(second offer) = %q, want %q in it", offer, want)
		}
	}
	dm.File(t, "Board (finance)", "200-20-01")
	if told := dm.Told(t, "Filing ", "already received"); !strings.HasPrefix(told, "Filing ") {
		t.Fatalf("Got(told after filing under another class) = %q, want it filed", told)
	}
	dm.Told(t, "Filed as record")
	second := WaitTitled(t, st, "Board (finance)")
	if second.Class.Code != "200-20-01" {
		t.Errorf("Got(second record's class) = %s, want 200-20-01", second.Class.Code)
	}
	if len(second.Related) != 1 || second.Related[0].ID != first.ID || second.Related[0].Relation != filing.Corrects {
		t.Errorf("Got(second record's related) = %+v, want it to name %s as the record it corrects", second.Related, first.ID)
	}
	forgetKept(t, st)

	dm.Send(t, name, export)
	dm.File(t, "Board (finance, again)", "200-20-01")
	if told := dm.Told(t, "Filing ", "already received"); !strings.Contains(told, "already received") || !strings.Contains(told, "Board (finance)") {
		t.Errorf("Got(told after filing under the same class again) = %q, want it received already, as the second record", told)
	}
	if n := len(recordsIn(t, st)); n != 2 {
		t.Errorf("Got(records) = %d, want 2", n)
	}
}

// WaitTitled waits for the record titled title to be filed in st (its tag
// manifest is written last), checks its bag and returns its record.json;
// like WaitFiled, it waits up to two minutes, polling.
func WaitTitled(t testing.TB, st filing.Store, title string) filing.Record {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for _, prefix := range recordsIn(t, st) {
			if f := Read(t, st, prefix); f.Record.Title == title {
				return f.Record
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no record titled %q filed within two minutes", title)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// recordsIn are the prefixes of the records filed whole in st.
func recordsIn(t testing.TB, st filing.Store) []string {
	t.Helper()
	var out []string
	for o, err := range st.List(context.Background(), filing.RecordsPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := strings.CutSuffix(o.Key, filing.TagManifestFile); ok {
			out = append(out, p)
		}
	}
	return out
}

// forgetKept deletes the exports kept, as bot.Uploads.Filed does once one
// is filed (cmd/bot wires it; the front ends' tests do not).
func forgetKept(t testing.TB, st filing.Store) {
	t.Helper()
	ctx := context.Background()
	for o, err := range st.List(ctx, bot.UploadsPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, o.Key); err != nil {
			t.Fatal(err)
		}
	}
}
