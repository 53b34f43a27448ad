package whatsapp

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixtureLines seeds the fuzzers with every line of every text fixture.
func fixtureTexts(f *testing.F) []string {
	var texts []string
	filepath.WalkDir("testdata", func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".txt") {
			data, _ := os.ReadFile(p)
			texts = append(texts, string(data))
		}
		return nil
	})
	if len(texts) == 0 {
		f.Fatal("no text fixtures")
	}
	return texts
}

// FuzzParseHeader: any line either is no header or a header whose fields
// are in range and whose rest is the end of the line.
//
//	go test -run XXX -fuzz FuzzParseHeader -fuzztime 20s ./capture/whatsapp/
func FuzzParseHeader(f *testing.F) {
	for _, text := range fixtureTexts(f) {
		for _, l := range strings.Split(text, "\n") {
			f.Add(l)
		}
	}
	f.Add("12/31/22, 11:40\u202fPM - A: b")
	f.Add("[2022-12-31 11:40:26] A: b")
	f.Fuzz(func(t *testing.T, line string) {
		h, ok := parseHeader(line)
		if !ok {
			return
		}
		if !h.valid() || !strings.HasSuffix(line, h.rest) {
			t.Fatalf("parseHeader(%q) = %+v: out of range or rest not the line's end", line, h)
		}
		hh, mm, ss := h.clock()
		if hh < 0 || hh > 23 || mm > 59 || ss > 59 {
			t.Fatalf("parseHeader(%q) clock %d:%d:%d", line, hh, mm, ss)
		}
	})
}

// FuzzParseText: any text either is refused with an *Error or parses to
// a valid snapshot whose messages are in the order of their lines, and
// whose ledger accounts for each of its lines once.
//
//	go test -run XXX -fuzz FuzzParseText -fuzztime 20s -fuzzminimizetime 0 ./capture/whatsapp/
func FuzzParseText(f *testing.F) {
	for _, text := range fixtureTexts(f) {
		f.Add(text, "")
		f.Add(text, "mdy")
	}
	for _, text := range []string{"01/02/2023, 25:00 - A: x\n01/02/2023, 10:00 - B: y\r\nz\r", "\ufeff13. 6. 2018. 21:25:15 A:\n14.06.18 21.25.15: B: c"} {
		f.Add(text, "dmy")
	}
	f.Fuzz(func(t *testing.T, text, order string) {
		o, err := ParseDateOrder(order)
		if err != nil {
			return
		}
		th, _, err := parse(context.Background(), func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(text)), nil }, nil, Options{Location: time.UTC, DateOrder: o}, true)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("parse(%q) = %v, want an *Error", text, err)
			}
			return
		}
		if len(th.Messages) == 0 {
			t.Fatalf("parse(%q) gave no messages and no error", text)
		}
		l := th.Provenance.Ledger
		if l.Lines != countLines(text) || l.Headers+l.Continuations+l.System+l.Blank+l.NotUnderstood != l.Lines ||
			l.Headers+l.System != len(th.Messages) || len(l.Unread) != l.NotUnderstood {
			t.Fatalf("parse(%q) ledger = %+v, want every one of its %d lines accounted for once", text, *l, countLines(text))
		}
		for i, m := range th.Messages {
			if m.ID == "" || m.Time.IsZero() || m.Position != i {
				t.Fatalf("parse(%q) message %d = %+v", text, i, m)
			}
			for _, file := range m.Files {
				if file.Error == "" {
					t.Fatalf("parse(%q) without a zip gave a file with content: %+v", text, file)
				}
			}
		}
	})
}

// FuzzReadZip: any bytes as a zip are refused or read to a snapshot whose
// media stream without panicking, each no longer than it said.
//
//	go test -run XXX -fuzz FuzzReadZip -fuzztime 20s -fuzzminimizetime 0 ./capture/whatsapp/
func FuzzReadZip(f *testing.F) {
	f.Add(zipDir(f, "ios-dmy"))
	f.Add(zipDir(f, "android-dmy"))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("_chat.txt")
	w.Write([]byte("[31/12/2022, 11:40:26] A: <attached: a.jpg>\n"))
	w, _ = zw.CreateHeader(&zip.FileHeader{Name: "a.jpg", Method: zip.Store})
	w.Write([]byte("jpeg"))
	zw.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxText: 1 << 20, MaxFile: 1 << 20, MaxTotal: 4 << 20}
		th, err := Read(context.Background(), bytes.NewReader(data), int64(len(data)), "x.zip", Options{Location: time.UTC, DateOrder: DMY, Limits: lim})
		if err != nil {
			return
		}
		if err := th.Validate(); err != nil {
			t.Fatalf("Read gave an invalid snapshot: %v", err)
		}
		for _, file := range th.Files() {
			if file.Open == nil {
				continue
			}
			rc, err := file.Open(context.Background())
			if err != nil {
				t.Fatalf("open %q of a checked zip: %v", file.Name, err)
			}
			n, err := io.Copy(io.Discard, io.LimitReader(rc, 8<<20))
			rc.Close()
			if err != nil || n != file.Size {
				t.Fatalf("stream %q of a checked zip: %d bytes, %v; want %d", file.Name, n, err, file.Size)
			}
		}
	})
}
