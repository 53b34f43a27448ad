// Package intaketest holds the cases of issue 22 that every front end's
// direct-message intake (bot.Intake) must pass: one table, each case an
// export a person sends the bot, what the offer must say, and what the
// record filed of it must hold. A front end's test sends each export
// through its own platform double, files it through its own form and
// hands the record to the case's Check.
package intaketest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp/whatsapptest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/bagcheck"
)

// Case is one export sent to the bot in a direct message.
type Case struct {
	Name string
	// File is the file's name as sent, Export its bytes and Zone the
	// time zone of the sender's profile.
	File   string
	Export func(t testing.TB) []byte
	Zone   string
	// Offer are what the offer to file it must say (plain text: no
	// word of them is styled by a platform's markup).
	Offer []string
	// NoFiling: the case is about the offer alone (a chat too long to
	// file in a test's time).
	NoFiling bool
	// Check checks the record filed of it.
	Check func(t testing.TB, r Filed)
}

// Filed is a record as filed: its bag checked, and its files read.
type Filed struct {
	Prefix     string
	Bag        *bagcheck.Bag
	Record     filing.Record
	RecordJSON string
	Thread     capture.Thread
	Transcript string
}

// Read checks the bag of the record at prefix in st and reads it.
func Read(t testing.TB, st filing.Store, prefix string) Filed {
	t.Helper()
	ctx := context.Background()
	bag, err := bagcheck.Check(ctx, st, prefix)
	if err != nil {
		t.Fatalf("bagcheck.Check(%s): %v", prefix, err)
	}
	read := func(name string) []byte {
		t.Helper()
		rc, _, err := st.Open(ctx, prefix+name)
		if err != nil {
			t.Fatalf("open %s%s: %v", prefix, name, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	f := Filed{Prefix: prefix, Bag: bag, RecordJSON: string(read(filing.RecordFile)), Transcript: string(read(filing.TextFile))}
	if err := json.Unmarshal([]byte(f.RecordJSON), &f.Record); err != nil {
		t.Fatalf("record.json: %v", err)
	}
	if err := json.Unmarshal(read(filing.ThreadFile), &f.Thread); err != nil {
		t.Fatalf("thread.json: %v", err)
	}
	return f
}

// WaitFiled waits for the one record of st to be filed (its tag manifest
// is written last) and returns its prefix. Filing a thousand messages
// under the race detector on a loaded machine takes long: it waits up to
// two minutes, polling.
func WaitFiled(t testing.TB, st filing.Store) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var found []string
		for o, err := range st.List(context.Background(), filing.RecordsPrefix) {
			if err != nil {
				t.Fatal(err)
			}
			if p, ok := strings.CutSuffix(o.Key, filing.TagManifestFile); ok {
				found = append(found, p)
			}
		}
		switch {
		case len(found) > 1:
			t.Fatalf("Got(records) = %v, want 1", found)
		case len(found) == 1:
			return found[0]
		case time.Now().After(deadline):
			t.Fatal("no record filed within two minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// RecordTitled is the record.json of the record in st filed with title.
func RecordTitled(t testing.TB, st filing.Store, title string) filing.Record {
	t.Helper()
	ctx := context.Background()
	for o, err := range st.List(ctx, filing.RecordsPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(o.Key, "/"+filing.RecordFile) {
			continue
		}
		rc, _, err := st.Open(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		var rec filing.Record
		err = json.NewDecoder(rc).Decode(&rec)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", o.Key, err)
		}
		if rec.Title == title {
			return rec
		}
	}
	t.Fatalf("no record titled %q", title)
	return filing.Record{}
}

// Cases are the cases of issue 22 every DM intake passes.
func Cases() []Case {
	corpus := func(name string) func(t testing.TB) []byte {
		return func(t testing.TB) []byte { return whatsapptest.CorpusExport(t, name) }
	}
	return []Case{{
		// The headline: an iPhone's document filed, a line not understood
		// listed and told, and "Carol Diaz:" alone her message.
		Name: "headline", File: "WhatsApp Chat - Roads Board.zip", Export: corpus("headline-ios"), Zone: "Europe/London",
		Offer: []string{"4 messages, 1 media file", "1 line of the chat was not understood: it is part of no message, and the record lists it."},
		Check: func(t testing.TB, r Filed) {
			if r.Bag.Payload["data/files/001_00000007-Budget-options-2027.pdf"] == "" {
				t.Errorf("Got(payload) = %v, want the document filed", keys(r.Bag.Payload))
			}
			if m := message(t, r, 1); len(r.Thread.Messages) != 4 || len(m.Files) != 1 || m.Files[0].Path == "" {
				t.Errorf("Got(messages) = %+v, want 4, the second with its document filed", r.Thread.Messages)
			}
			if m := message(t, r, 2); m.Author.ID != "Carol Diaz" {
				t.Errorf("Got(message 3) = %+v, want Carol Diaz's", m)
			}
			notGlued(t, r, "cannot be read")
			if l := r.Thread.Provenance.Ledger; l == nil || l.NotUnderstood != 1 || len(l.Unread) != 1 || l.Unread[0].Line != 3 {
				t.Errorf("Got(ledger) = %+v, want line 3 listed as not understood", l)
			}
			if !strings.Contains(r.RecordJSON, `"not_understood": 1`) || strings.Contains(r.RecordJSON, "cannot be read") {
				t.Errorf("Got(record.json) without the ledger's counts, or with the text of the line not understood")
			}
		},
	}, {
		// An iPhone's document, "NAME • 1 page <attached: FILE>", is filed
		// and counted beside a photo.
		Name: "ios document attached", File: "WhatsApp Chat - Roads Board.zip", Export: corpus("ios-document-attached"), Zone: "Europe/London",
		Offer: []string{"5 messages, 2 media files", "Times are read as Europe/London"},
		Check: func(t testing.TB, r Filed) {
			want := []string{"data/files/001_00000007-Budget-options-2027.pdf", "data/files/002_00000008-PHOTO-2027-03-14-09-15-10.jpg"}
			for _, p := range want {
				if r.Bag.Payload[p] == "" {
					t.Errorf("Got(payload) = %v, want %s in it", keys(r.Bag.Payload), p)
				}
			}
			if m := message(t, r, 2); len(m.Files) != 1 || !strings.HasSuffix(m.Files[0].Path, "Budget-options-2027.pdf") {
				t.Errorf("Got(message 3 files) = %+v, want the PDF", m.Files)
			}
		},
	}, {
		// A line that starts as a header but cannot be read is listed, and
		// the person told, not glued onto the message above.
		Name: "unreadable header listed", File: "WhatsApp Chat with Corpus.txt", Export: corpus("unread-header-not-glued"), Zone: "Europe/London",
		Offer: []string{"2 messages, 0 media files", "2 lines of the chat were not understood: they are part of no message, and the record lists them."},
		Check: func(t testing.TB, r Filed) {
			if len(r.Thread.Messages) != 2 || r.Thread.Messages[0].Text != "Agenda for the site visit\n1. access road" {
				t.Errorf("Got(messages) = %+v, want John's two lines alone and Mary's second message", r.Thread.Messages)
			}
			notGlued(t, r, "cannot be read", "continues it")
			if l := r.Thread.Provenance.Ledger; l == nil || l.NotUnderstood != 2 || len(l.Unread) != 2 || l.Unread[0].Line != 3 || l.Unread[1].Line != 4 {
				t.Errorf("Got(ledger) = %+v, want lines 3 and 4 listed", l)
			}
			if !strings.Contains(r.RecordJSON, `"not_understood": 2`) || strings.Contains(r.RecordJSON, "cannot be read") {
				t.Errorf("Got(record.json) without the ledger's counts, or with the text of a line not understood")
			}
		},
	}, {
		// "Carol Wu:" with nothing after it (Android's view-once photo)
		// is her message, not a system line.
		Name: "name alone authored", File: "WhatsApp Chat with Corpus.txt", Export: corpus("view-once-android"), Zone: "Europe/London",
		Offer: []string{"3 messages"},
		Check: func(t testing.TB, r Filed) {
			if m := message(t, r, 1); m.Author.ID != "Carol Wu" || m.Subtype == "system" {
				t.Errorf("Got(message 2) = %+v, want Carol Wu's", m)
			}
		},
	}, {
		Name: "dotted date with spaces", File: "WhatsApp Chat with Corpus.txt", Export: corpus("locale-dotted-spaces"), Zone: "Europe/Zagreb",
		Offer: []string{"3 messages", "Times are read as Europe/Zagreb"},
		Check: func(t testing.TB, r Filed) {
			instants(t, r, "2018-06-13T19:25:15Z", "2018-06-13T19:26:02Z", "2018-06-14T05:00:00Z")
			if m := message(t, r, 1); m.Author.ID != "Marko Kovač" || m.Text != "Večer\ndrugi red" {
				t.Errorf("Got(message 2) = %+v, want Marko's two lines", m)
			}
		},
	}, {
		Name: "dotted time with colon", File: "WhatsApp Chat with Corpus.txt", Export: corpus("locale-dotted-time-colon"), Zone: "Europe/Helsinki",
		Offer: []string{"3 messages", "Times are read as Europe/Helsinki"},
		Check: func(t testing.TB, r Filed) {
			instants(t, r, "2018-06-13T18:25:15Z", "2018-06-13T18:26:40Z", "2018-06-14T05:00:00Z")
			if m := message(t, r, 1); m.Author.ID != "Mikko Laine" || m.Text != "Iltaa" {
				t.Errorf("Got(message 2) = %+v, want Mikko's", m)
			}
		},
	}, {
		// One 1 MiB photo named by 1,000 messages is stored once.
		Name: "one photo many messages", File: "WhatsApp Chat - Photos.zip", Zone: "Europe/London",
		Export: func(t testing.TB) []byte { b, _ := whatsapptest.OnePhotoExport(t, 1000, 1<<20); return b },
		Offer:  []string{"1000 messages, 1 media file"},
		Check: func(t testing.TB, r Filed) {
			var media int64
			var files int
			for _, p := range r.Record.Payload {
				if strings.HasPrefix(p.Path, "data/files/") {
					media += p.Size
					files++
				}
			}
			if files != 1 || media != 1<<20 {
				t.Errorf("Got(record.json payload) = %d media files of %d bytes, want the photo once, %d bytes", files, media, 1<<20)
			}
			if len(r.Thread.Messages) != 1000 {
				t.Fatalf("Got(messages) = %d, want 1000", len(r.Thread.Messages))
			}
			for i, m := range r.Thread.Messages {
				if len(m.Files) != 1 || m.Files[0].Path == "" || m.Files[0].Path != r.Thread.Messages[0].Files[0].Path {
					t.Fatalf("Got(message %d files) = %+v, want the one photo", i+1, m.Files)
				}
			}
		},
	}, {
		// a/b/x.jpg and b/x.jpg beside a/_chat.txt: the message names the
		// one in the chat's folder, the other is kept renamed and noted.
		Name: "colliding zip names", File: "WhatsApp Chat - Site.zip", Export: CollidingExport, Zone: "Europe/London",
		Offer: []string{"2 messages, 1 media file"},
		Check: func(t testing.TB, r Filed) {
			m := message(t, r, 0)
			if len(m.Files) != 1 || r.Bag.Payload[m.Files[0].Path] != sum("inside the chat's folder") {
				t.Errorf("Got(message 1 files) = %+v, want a/b/x.jpg's bytes", m.Files)
			}
			notes := strings.Join(r.Thread.Provenance.Notes, "\n")
			for _, want := range []string{`kept as "b/x (2).jpg"`, `"a/b/x.jpg"`} {
				if !strings.Contains(notes, want) {
					t.Errorf("Got(notes) = %q, want %q in them", notes, want)
				}
			}
		},
	}, {
		// An edited iPhone message: no direction mark, literal or escaped,
		// and the edit is the message's flag.
		Name: "edited iphone message", File: "WhatsApp Chat with Corpus.txt", Export: corpus("edited-ios-midline"), Zone: "Europe/London",
		Offer: []string{"3 messages"},
		Check: func(t testing.TB, r Filed) {
			for i, want := range []string{"Agreed, B it is", "Two lines\nand edited"} {
				if m := message(t, r, i+1); m.ReadableText != want || m.Edited == nil {
					t.Errorf("Got(message %d) = %q, edited %v; want %q, edited", i+2, m.ReadableText, m.Edited, want)
				}
			}
			for _, bad := range []string{`\u200E`, `\u200e`, "\u200e"} {
				if strings.Contains(r.Transcript, bad) {
					t.Errorf("Got(transcript.txt) = %q, with %q in it", r.Transcript, bad)
				}
			}
		},
	}, {
		// WhatsApp stops an export with media at about 10,000 messages,
		// without at about 40,000: the person is told it may be cut
		// short. (That the record says so too is bot import's test, on
		// the same reading: filing ten thousand messages takes too long
		// here under the race detector.)
		Name: "may be cut at 10,000", File: "WhatsApp Chat - Long.zip", Zone: "Europe/London",
		Export:   func(t testing.TB) []byte { return LongExport(t, 10_000, true) },
		Offer:    []string{"10000 messages, 1 media file", "It holds about 10,000 messages, where WhatsApp stops an export without saying so"},
		NoFiling: true,
	}, {
		Name: "may be cut at 40,000", File: "WhatsApp Chat with Long.txt", Zone: "Europe/London",
		Export:   func(t testing.TB) []byte { return LongExport(t, 40_000, false) },
		Offer:    []string{"40000 messages, 0 media files", "It holds about 40,000 messages, where WhatsApp stops an export without saying so"},
		NoFiling: true,
	}}
}

// message is the record's message i (from 0).
func message(t testing.TB, r Filed, i int) capture.Message {
	t.Helper()
	if i >= len(r.Thread.Messages) {
		t.Fatalf("Got(messages) = %d, want message %d", len(r.Thread.Messages), i+1)
	}
	return r.Thread.Messages[i]
}

// notGlued checks that no message holds any of the lines not understood.
func notGlued(t testing.TB, r Filed, lines ...string) {
	t.Helper()
	for _, m := range r.Thread.Messages {
		for _, l := range lines {
			if strings.Contains(m.Text, l) {
				t.Errorf("Got(message %s) = %q, with a line not understood glued into it", m.ID, m.Text)
			}
		}
	}
}

// instants checks the messages' times, in order.
func instants(t testing.TB, r Filed, want ...string) {
	t.Helper()
	var got []string
	for _, m := range r.Thread.Messages {
		got = append(got, m.Time.UTC().Format(time.RFC3339))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Got(instants) = %v, want %v", got, want)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// CollidingExport is a zip whose chat is a/_chat.txt, with a/b/x.jpg (the
// photo its first message names) and b/x.jpg: the same name once the
// chat's folder is taken from them.
func CollidingExport(t testing.TB) []byte {
	t.Helper()
	return zipOf(t, []string{"a/_chat.txt", "a/b/x.jpg", "b/x.jpg"}, [][]byte{
		[]byte("[13/01/2024, 09:00:00] Alice: <attached: b/x.jpg>\n[13/01/2024, 09:01:00] Bob: ok\n"),
		[]byte("inside the chat's folder"), []byte("outside it"),
	})
}

// LongExport is an iPhone export of n messages: a zip with one photo the
// first message names when media, else its chat text alone (Android).
func LongExport(t testing.TB, n int, media bool) []byte {
	t.Helper()
	var chat bytes.Buffer
	start := time.Date(2024, 1, 13, 9, 0, 0, 0, time.UTC)
	for i := range n {
		at := start.Add(time.Duration(i) * time.Minute)
		switch {
		case media && i == 0:
			fmt.Fprintf(&chat, "[%s] Alice: <attached: 00000001-PHOTO.jpg>\n", at.Format("02/01/2006, 15:04:05"))
		case media:
			fmt.Fprintf(&chat, "[%s] Alice: message %d\n", at.Format("02/01/2006, 15:04:05"), i+1)
		default:
			fmt.Fprintf(&chat, "%s - Alice: message %d\n", at.Format("02/01/2006, 15:04"), i+1)
		}
	}
	if !media {
		return chat.Bytes()
	}
	return zipOf(t, []string{"_chat.txt", "00000001-PHOTO.jpg"}, [][]byte{chat.Bytes(), []byte("a photo")})
}

func zipOf(t testing.TB, names []string, data [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i, name := range names {
		w, err := zw.Create(name)
		if err == nil {
			_, err = w.Write(data[i])
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
