package whatsapp

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
)

// A record filed from an export's messages as a stream (Thread.Stream,
// read again from the export at each pass) is the record filed from the
// same messages held in Thread.Messages, byte for byte: thread.json, the
// transcripts (text, HTML, PDF), record.json, the manifests and the
// media stored once, for every export of the corpus.
func TestStreamFilesAsHeld(t *testing.T) {
	dirs, err := os.ReadDir(filepath.Join("testdata", "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	filed := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	type export struct {
		name string
		data []byte
		o    Options
	}
	exports := map[string]export{"long": {"WhatsApp Chat - Long.zip", longExport(t, 6000), Options{Location: time.UTC, DateOrder: DMY}}}
	for _, d := range dirs {
		name := d.Name()
		dir := filepath.Join("testdata", "corpus", name)
		head, _ := readWant(t, filepath.Join(dir, "want.txt"))
		var data []byte
		if _, err := os.Stat(filepath.Join(dir, "export")); err == nil {
			data = zipDir(t, filepath.Join("corpus", name, "export"))
		} else {
			data = fixture(t, filepath.Join("corpus", name, "export.txt"))
		}
		order, err := ParseDateOrder(head["order"])
		if err != nil {
			t.Fatal(err)
		}
		exports[name] = export{head["name"], data, Options{Location: zone(t, head["zone"]), DateOrder: order}}
	}
	for name, e := range exports {
		t.Run(name, func(t *testing.T) {
			o := e.o
			o.SuppliedBy, o.SuppliedAt, o.Via = capture.Person{ID: "U1"}, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), "test"
			th, err := Read(ctx, bytes.NewReader(e.data), int64(len(e.data)), e.name, o)
			if err != nil {
				t.Fatalf("Read(%s) = %v", name, err)
			}
			if th.Stream == nil {
				t.Fatalf("Read(%s) gives no stream", name)
			}
			held, streamed := *th, *th
			held.Stream, streamed.Messages = nil, nil
			if held.Messages == nil { // a long chat: held here for the comparison
				th.Each(ctx, func(m *capture.Message) error { held.Messages = append(held.Messages, *m); return nil })
			}
			if len(held.Messages) != th.Len() {
				t.Fatalf("%s: %d messages held, want %d", name, len(held.Messages), th.Len())
			}
			file := func(th *capture.Thread) string {
				root := t.TempDir()
				st, err := local.New(root)
				if err != nil {
					t.Fatal(err)
				}
				svc, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan(), Clock: clockwork.NewFakeClockAt(filed)})
				if err != nil {
					t.Fatal(err)
				}
				req := filing.Request{ID: "0190a5e0-0000-7000-8000-000000000001", RequestedAt: filed,
					RequestedBy: capture.Person{ID: "U1"}, Title: "Corpus " + name, ClassCode: "100-20", Marking: "OFFICIAL",
					Thread: capture.Ref{Platform: th.Platform, ChannelID: th.Channel.ID, ThreadID: th.ThreadID}, Via: "test"}
				if _, err := svc.FileThread(ctx, req, th); err != nil {
					t.Fatalf("FileThread(%s) = %v", name, err)
				}
				return root
			}
			want, got := tree(t, file(&held)), tree(t, file(&streamed))
			if len(got) != len(want) || len(want) == 0 {
				t.Errorf("%s: streamed, the store holds %d objects; held, %d", name, len(got), len(want))
			}
			for name, w := range want {
				if g, ok := got[name]; !ok {
					t.Errorf("%s: streamed, no %s", name, name)
				} else if !bytes.Equal(g, w) {
					t.Errorf("%s: streamed, %s differs from the one filed from the messages held", name, name)
				}
			}
		})
	}
}

// tree reads every file under root, by its path below it.
func tree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte)
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// longExport is an iPhone export zip of n messages, longer than Read
// holds and than a PDF transcript shows: text of one to three lines, a
// photo named every 97th message (seven photos, each named by several
// messages), one omitted every 251st, and an edit mark now and then.
func longExport(t *testing.T, n int) []byte {
	t.Helper()
	var chat bytes.Buffer
	start := time.Date(2024, 1, 13, 9, 0, 0, 0, time.UTC)
	names := []string{"Alice Smith", "Bob Jones", "\u202a+44 7700 900123\u202c"}
	for i := range n {
		fmt.Fprintf(&chat, "[%s] %s: ", start.Add(time.Duration(i)*41*time.Second).Format("02/01/2006, 15:04:05"), names[i%len(names)])
		switch {
		case i%97 == 0:
			fmt.Fprintf(&chat, "\u200e<attached: %08d-PHOTO-2024-01-13-09-00-00.jpg>\n", i/97%7)
		case i%251 == 0:
			chat.WriteString("\u200eimage omitted\n")
		case i%13 == 0:
			fmt.Fprintf(&chat, "Message %d, edited \u200e<This message was edited>\n", i)
		default:
			fmt.Fprintf(&chat, "Message %d about the roads budget%s\n", i, strings.Repeat("\nand a line more", i%3))
		}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("_chat.txt")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(chat.Bytes())
	for k := range 7 {
		w, err := zw.Create(fmt.Sprintf("%08d-PHOTO-2024-01-13-09-00-00.jpg", k))
		if err != nil {
			t.Fatal(err)
		}
		w.Write(bytes.Repeat([]byte{byte(k)}, 1000+k))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
