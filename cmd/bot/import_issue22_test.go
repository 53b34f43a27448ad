package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp/whatsapptest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/internal/bagcheck"
)

// corpusExport writes the export of capture/whatsapp's corpus case name
// into dir as the phone names it (a zip of export/, or export.txt), and
// returns its path.
func corpusExport(t *testing.T, dir, name, as string) string {
	t.Helper()
	src := filepath.Join("..", "..", "capture", "whatsapp", "testdata", "corpus", name)
	data, err := os.ReadFile(filepath.Join(src, "export.txt"))
	if err != nil {
		ents, err := os.ReadDir(filepath.Join(src, "export"))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(src, "export", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			w, _ := zw.Create(e.Name())
			w.Write(b)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		data = buf.Bytes()
	}
	file := filepath.Join(dir, as)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// importCase imports file into a local record store and returns what the
// command printed, the record's folder and the store.
func importCase(t *testing.T, file string, extra ...string) (string, string, *local.Store) {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"RECORDS_DIR": filepath.Join(dir, "records")}
	m, errb := testMain(env)
	var out strings.Builder
	m.Stdout = &out
	args := append([]string{"import", "whatsapp", file, "--class", "100-20", "--title", "Issue 22 case", "--timezone", "Europe/London", "--by", "rita"}, extra...)
	if err := m.Run(context.Background(), args); err != nil {
		t.Fatalf("bot import whatsapp %s: %v\n%s", filepath.Base(file), err, errb)
	}
	st, err := local.New(filepath.Join(dir, "records"))
	if err != nil {
		t.Fatal(err)
	}
	key := onlyRecord(t, st)
	if _, err := bagcheck.Check(context.Background(), st, key); err != nil {
		t.Fatalf("bag of %s: %v", filepath.Base(file), err)
	}
	return out.String(), key, st
}

func readJSON(t *testing.T, st filing.Store, key string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(readObject(t, st, key)), v); err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
}

// The cases of issue 22 through `bot import whatsapp`: what the record
// holds and what the person is told.
func TestImportIssue22Cases(t *testing.T) {
	dir := t.TempDir()

	t.Run("document attached after its name is filed and counted", func(t *testing.T) {
		out, key, st := importCase(t, corpusExport(t, dir, "ios-document-attached", "WhatsApp Chat - Roads Board.zip"))
		if !strings.Contains(out, "Roads Board, 5 messages, 2 media files\n") || !strings.Contains(out, "lines:    5, every one understood") {
			t.Errorf("output:\n%s\nwant 5 messages, 2 media files, every line understood", out)
		}
		if got := readObject(t, st, key+"data/files/001_00000007-Budget-options-2027.pdf"); got != "%PDF-1.4 budget options" {
			t.Errorf("the document in the record = %q, want the PDF of the export", got)
		}
	})

	t.Run("a header not read is listed, not glued", func(t *testing.T) {
		out, key, st := importCase(t, corpusExport(t, dir, "unread-header-not-glued", "WhatsApp Chat with Site Visit.txt"), "--date-order", "dmy")
		for _, want := range []string{"2 messages", "lines:    5, of which 2 not understood", "line 3: it starts with a date and time that could not be read"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		var th capture.Thread
		readJSON(t, st, key+filing.ThreadFile, &th)
		if strings.Contains(th.Messages[0].Text, "Mary") || len(th.Messages) != 2 {
			t.Errorf("thread.json messages = %+v, want John's without Mary's line, and two messages", th.Messages)
		}
		l := th.Provenance.Ledger
		if l == nil || l.NotUnderstood != 2 || len(l.Unread) != 2 || l.Unread[0].Line != 3 || !strings.Contains(l.Unread[0].Text, "This header cannot be read") {
			t.Errorf("thread.json ledger = %+v, want lines 3 and 4 listed", l)
		}
		var rec filing.Record
		readJSON(t, st, key+filing.RecordFile, &rec)
		if rl := rec.Provenance.Ledger; rl == nil || rl.NotUnderstood != 2 || rl.Lines != 5 || rl.Unread != nil {
			t.Errorf("record.json ledger = %+v, want its counts and no text", rl)
		}
	})

	t.Run("Name: with nothing after is that person's message", func(t *testing.T) {
		_, key, st := importCase(t, corpusExport(t, dir, "view-once-android", "WhatsApp Chat with Plans.txt"), "--date-order", "dmy")
		var th capture.Thread
		readJSON(t, st, key+filing.ThreadFile, &th)
		if m := th.Messages[1]; m.Author.ID != "Carol Wu" || m.Subtype == "system" {
			t.Errorf("thread.json message 2 = %+v, want Carol Wu's", m)
		}
		var rec filing.Record
		readJSON(t, st, key+filing.RecordFile, &rec)
		if len(rec.Participants) != 2 {
			t.Errorf("record participants = %+v, want Carol Wu and Dan Ng", rec.Participants)
		}
	})

	t.Run("the locale forms refused before", func(t *testing.T) {
		for _, name := range []string{"locale-dotted-spaces", "locale-dotted-time-colon"} {
			out, _, _ := importCase(t, corpusExport(t, dir, name, "WhatsApp Chat with "+name+".txt"))
			if !strings.Contains(out, ", 3 messages, 0 media files") {
				t.Errorf("import of %s:\n%s\nwant 3 messages", name, out)
			}
		}
	})

	t.Run("an edited message shows no direction mark", func(t *testing.T) {
		_, key, st := importCase(t, corpusExport(t, dir, "edited-ios-midline", "WhatsApp Chat with Options.txt"), "--date-order", "dmy")
		text := readObject(t, st, key+filing.TextFile)
		html := readObject(t, st, key+filing.HTMLFile)
		if strings.Contains(text, `\u200E`) || strings.Contains(text, "This message was edited") || !strings.Contains(text, "(edited)") || !strings.Contains(text, "Agreed, B it is") {
			t.Errorf("transcript.txt:\n%s\nwant the edited message marked (edited), without the mark or \\u200E", text)
		}
		if strings.Contains(html, "\u200e") || !strings.Contains(html, `<span class="edited">edited</span>`) {
			t.Errorf("transcript.html has a direction mark or no edited mark")
		}
	})

	t.Run("a byte-order mark mid-file", func(t *testing.T) {
		out, _, _ := importCase(t, corpusExport(t, dir, "bom-mid-file", "WhatsApp Chat with Nordmann.txt"), "--date-order", "dmy")
		if !strings.Contains(out, ", 4 messages, ") || !strings.Contains(out, "every one understood") {
			t.Errorf("output:\n%s\nwant 4 messages, every line understood", out)
		}
	})

	t.Run("an export at WhatsApp's limit is said to be possibly cut short", func(t *testing.T) {
		var b strings.Builder
		start := time.Date(2024, 1, 13, 0, 0, 0, 0, time.UTC)
		for i := range 10_000 {
			text := fmt.Sprintf("message %d", i)
			if i == 0 {
				text = "<attached: 00000001-PHOTO-2024-01-13-00-00-00.jpg>"
			}
			fmt.Fprintf(&b, "[%s] Alice: %s\n", start.Add(time.Duration(i)*time.Minute).Format("02/01/2006, 15:04:05"), text)
		}
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("_chat.txt")
		w.Write([]byte(b.String()))
		w, _ = zw.Create("00000001-PHOTO-2024-01-13-00-00-00.jpg")
		w.Write([]byte("JPEG"))
		zw.Close()
		file := filepath.Join(dir, "WhatsApp Chat - Long.zip")
		os.WriteFile(file, buf.Bytes(), 0o600)
		out, _, _ := importCase(t, file)
		if !strings.Contains(out, "warning:  the export holds 10000 messages, about as many as WhatsApp puts in one (10000)") {
			t.Errorf("output:\n%s\nwant the warning that the export may be cut short", out)
		}
	})
}

// One 1 MiB photo named by 1,000 messages is stored once: the record's
// files add up to about the photo's size (1x, not 1,000x), every message
// gives the same path, and the person is told of 1 media file.
func TestImportOnePhotoManyMessagesStoredOnce(t *testing.T) {
	const refs, size = 1000, 1 << 20
	data, photo := whatsapptest.OnePhotoExport(t, refs, size)
	file := filepath.Join(t.TempDir(), "WhatsApp Chat - Photos.zip")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, key, st := importCase(t, file, "--date-order", "dmy")
	if !strings.Contains(out, fmt.Sprintf("Photos, %d messages, 1 media file\n", refs)) {
		t.Errorf("output:\n%s\nwant %d messages, 1 media file", out, refs)
	}
	var rec filing.Record
	readJSON(t, st, key+filing.RecordFile, &rec)
	var media int64
	var photos int
	for _, p := range rec.Payload {
		if strings.HasPrefix(p.Path, "data/files/") {
			media += p.Size
			photos++
		}
	}
	t.Logf("a %d-byte zip naming a %d-byte photo %d times: %d bytes of media stored in %d file(s)", len(data), size, refs, media, photos)
	if photos != 1 || media != size {
		t.Fatalf("record.json payload has %d media files of %d bytes, want the photo once, %d bytes", photos, media, size)
	}
	var th capture.Thread
	readJSON(t, st, key+filing.ThreadFile, &th)
	want := th.Messages[0].Files[0].Path
	for i, m := range th.Messages {
		if len(m.Files) != 1 || m.Files[0].Path != want || m.Files[0].Path == "" || m.Files[0].Source != photo {
			t.Fatalf("thread.json message %d files = %+v, want the photo at %s", i, m.Files, want)
		}
	}
}

// Importing an export again with another date order says what differs
// from the record filed before, and how to file the new reading; filed
// with --corrects, the new record names the first in record.json.
func TestImportAgainWithAnotherReading(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "WhatsApp Chat with Ferry.txt")
	if err := os.WriteFile(file, []byte("05/06/2024, 10:00 - Alice: Ferry moved to 08:45\n05/06/2024, 10:01 - Bob: ok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"RECORDS_DIR": filepath.Join(dir, "records")}
	run := func(extra ...string) (string, error) {
		m, errb := testMain(env)
		var out strings.Builder
		m.Stdout = &out
		args := append([]string{"import", "whatsapp", file, "--class", "100-20", "--title", "Ferry", "--timezone", "Europe/London", "--by", "rita"}, extra...)
		err := m.Run(context.Background(), args)
		return out.String() + errb.String(), err
	}
	if out, err := run("--date-order", "mdy"); err != nil {
		t.Fatalf("first import: %v\n%s", err, out)
	}
	st, err := local.New(filepath.Join(dir, "records"))
	if err != nil {
		t.Fatal(err)
	}
	first := onlyRecord(t, st)
	var rec1 filing.Record
	readJSON(t, st, first+filing.RecordFile, &rec1)

	// The same reading again: filed before, nothing more.
	if out, err := run("--date-order", "mdy"); err != nil || !strings.Contains(out, "filed before") {
		t.Errorf("the same import again = %v\n%s\nwant filed before", err, out)
	}
	// Another date order: told what differs and how to file it.
	out, err := run("--date-order", "dmy")
	if err == nil {
		t.Errorf("import with another date order filed or succeeded, want nothing filed until --corrects:\n%s", out)
	}
	t.Logf("import with another date order said:\n%s", out)
	for _, want := range []string{"filed before, read otherwise", rec1.ID, "date order: month/day/year there, day/month/year now", "--corrects " + rec1.ID} {
		if !strings.Contains(out, want) {
			t.Errorf("import with another date order said:\n%s\nwant %q in it", out, want)
		}
	}
	if n := countRecordFiles(t, st); n != 1 {
		t.Fatalf("records after the refused import = %d, want 1", n)
	}
	// Filed with --corrects: a new record, naming the first.
	out, err = run("--date-order", "dmy", "--corrects", rec1.ID)
	if err != nil {
		t.Fatalf("import --corrects: %v\n%s", err, out)
	}
	if !strings.Contains(out, "corrects: "+rec1.ID) {
		t.Errorf("import --corrects said:\n%s\nwant the record it corrects", out)
	}
	var second filing.Record
	for _, k := range recordKeys(t, st) {
		if k != first {
			readJSON(t, st, k+filing.RecordFile, &second)
		}
	}
	if second.ID == "" || second.ID == rec1.ID || len(second.Related) != 1 || second.Related[0].ID != rec1.ID || second.Related[0].Relation != "corrects" {
		t.Fatalf("second record = %s related %+v, want a new record that corrects %s", second.ID, second.Related, rec1.ID)
	}
	if !strings.Contains(readObject(t, st, second.Key+filing.RecordFile), `"relation": "corrects"`) {
		t.Errorf("record.json of the correction does not name the record it corrects")
	}
	// --corrects with the same reading has nothing to correct.
	if out, err := run("--date-order", "mdy", "--corrects", rec1.ID); err == nil {
		t.Errorf("import --corrects with the first's reading succeeded, want refused:\n%s", out)
	}
}

// recordKeys returns the folders of the complete records in st.
func recordKeys(t *testing.T, st filing.Store) []string {
	t.Helper()
	var keys []string
	for info, err := range st.List(context.Background(), filing.RecordsPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		if k, ok := strings.CutSuffix(info.Key, filing.TagManifestFile); ok {
			keys = append(keys, k)
		}
	}
	return keys
}

func countRecordFiles(t *testing.T, st filing.Store) int { return len(recordKeys(t, st)) }

// Two files of the zip whose names are the same once the chat's folder is
// taken from them (a/b/x.jpg and b/x.jpg beside a/_chat.txt) are both in
// the record: the one the message names among its files, the other
// renamed in the record's notes, and both in the export kept byte for
// byte; neither is silently missing.
func TestImportCollidingNamesBothKept(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct{ name, data string }{
		{"a/_chat.txt", "[13/01/2024, 09:00:00] Alice: <attached: b/x.jpg>\n[13/01/2024, 09:01:00] Bob: ok\n"},
		{"b/x.jpg", "outside the chat's folder"},
		{"a/b/x.jpg", "inside the chat's folder"},
	} {
		w, _ := zw.Create(f.name)
		w.Write([]byte(f.data))
	}
	zw.Close()
	file := filepath.Join(t.TempDir(), "WhatsApp Chat - Site.zip")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	_, key, st := importCase(t, file)
	var th capture.Thread
	readJSON(t, st, key+filing.ThreadFile, &th)
	f := th.Messages[0].Files[0]
	if got := readObject(t, st, key+f.Path); got != "inside the chat's folder" {
		t.Errorf("the file message 1 names holds %q, want a/b/x.jpg's content", got)
	}
	notes := strings.Join(th.Provenance.Notes, "\n")
	for _, want := range []string{`"b/x.jpg" of the zip`, `"a/b/x.jpg"`, `kept as "b/x (2).jpg"`, "kept in the original export: b/x (2).jpg"} {
		if !strings.Contains(notes, want) {
			t.Errorf("thread.json notes = %q, want %q in them", notes, want)
		}
	}
	if got := readObject(t, st, key+filing.OriginalPath("WhatsApp Chat - Site.zip")); got != buf.String() {
		t.Errorf("the export kept in the record differs from the one imported")
	}
}
