package whatsapp

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
)

var update = flag.Bool("update", false, "rewrite the expected results of testdata/corpus from what is read")

// The corpus: exports of our own making, one folder each under
// testdata/corpus, as phones write them in several languages and forms.
// A folder holds export.txt (a chat exported without media, as Android
// makes it) or export/ (the files of a zip: the chat text and its media),
// and want.txt: the name the export is supplied under, the phone's time
// zone and date order, then, after "--", what is read from it: the
// ledger's counts, each line not understood, the notes, and each message
// (id, author, instant, subtype, edited, text as read, files). Run with
// -update to rewrite what follows "--", then read the difference.
func TestCorpus(t *testing.T) {
	dirs, err := os.ReadDir(filepath.Join("testdata", "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 40 {
		t.Errorf("the corpus holds %d exports, want at least 40", len(dirs))
	}
	for _, d := range dirs {
		t.Run(d.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", "corpus", d.Name())
			head, want := readWant(t, filepath.Join(dir, "want.txt"))
			var data, chat []byte
			if _, err := os.Stat(filepath.Join(dir, "export")); err == nil {
				data = zipDir(t, filepath.Join("corpus", d.Name(), "export"))
				ents, _ := os.ReadDir(filepath.Join(dir, "export"))
				for _, e := range ents {
					if strings.HasSuffix(e.Name(), ".txt") {
						chat = fixture(t, filepath.Join("corpus", d.Name(), "export", e.Name()))
					}
				}
			} else {
				data = fixture(t, filepath.Join("corpus", d.Name(), "export.txt"))
				chat = data
			}
			order, err := ParseDateOrder(head["order"])
			if err != nil {
				t.Fatal(err)
			}
			th, err := readBytes(t, data, head["name"], Options{Location: zone(t, head["zone"]), DateOrder: order,
				SuppliedBy: capture.Person{ID: "U1"}, SuppliedAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Via: "test"})
			if err != nil {
				t.Fatalf("Read(%s) = %v", d.Name(), err)
			}
			got := corpusSummary(th)
			if *update {
				w := fmt.Sprintf("name: %s\nzone: %s\norder: %s\n--\n%s", head["name"], head["zone"], head["order"], got)
				if err := os.WriteFile(filepath.Join(dir, "want.txt"), []byte(w), 0o644); err != nil {
					t.Fatal(err)
				}
			} else if got != want {
				t.Errorf("Read(%s) =\n%s\nwant\n%s", d.Name(), got, want)
			}

			// Every line is accounted for, once.
			l := th.Provenance.Ledger
			if l == nil {
				t.Fatalf("Read(%s) has no ledger", d.Name())
			}
			if n := countLines(string(chat)); l.Lines != n {
				t.Errorf("ledger of %s counts %d lines, want the %d of the chat text", d.Name(), l.Lines, n)
			}
			if sum := l.Headers + l.Continuations + l.System + l.Blank + l.NotUnderstood; sum != l.Lines {
				t.Errorf("ledger of %s accounts for %d of its %d lines: %+v", d.Name(), sum, l.Lines, *l)
			}
			if l.Headers+l.System != len(th.Messages) || len(l.Unread) != l.NotUnderstood {
				t.Errorf("ledger of %s = %+v, want a header for each of %d messages and each line not understood listed", d.Name(), *l, len(th.Messages))
			}
			for _, m := range th.Messages {
				if strings.ContainsFunc(m.ReadableText, isMark) {
					t.Errorf("message %s of %s reads %q, with an invisible mark in it", m.ID, d.Name(), m.ReadableText)
				}
			}
			if err := th.Validate(); err != nil {
				t.Errorf("Read(%s): %v", d.Name(), err)
			}
		})
	}
}

// readWant reads want.txt: its header fields and what follows "--".
func readWant(t *testing.T, name string) (map[string]string, string) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := strings.Cut(string(data), "--\n")
	if !ok {
		t.Fatalf("%s has no \"--\" line", name)
	}
	fields := make(map[string]string)
	for _, ln := range strings.Split(strings.TrimSpace(head), "\n") {
		k, v, _ := strings.Cut(ln, ":")
		fields[k] = strings.TrimSpace(v)
	}
	return fields, body
}

// corpusSummary is what the corpus compares: the ledger, its lines not
// understood, the notes and each message.
func corpusSummary(th *capture.Thread) string {
	var b strings.Builder
	p := th.Provenance
	if l := p.Ledger; l != nil {
		fmt.Fprintf(&b, "ledger: lines=%d headers=%d continuations=%d system=%d blank=%d not-understood=%d may-be-cut-at=%d\n",
			l.Lines, l.Headers, l.Continuations, l.System, l.Blank, l.NotUnderstood, l.MayBeCut)
		for _, u := range l.Unread {
			fmt.Fprintf(&b, "not understood: line %d %q (%s)\n", u.Line, u.Text, u.Why)
		}
	}
	fmt.Fprintf(&b, "format: %s, %s\n", p.Format, p.Assumptions[0].Value)
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for _, m := range th.Messages {
		fmt.Fprintln(&b, summary(m))
	}
	return b.String()
}

// countLines counts lines as a reader of text files does: each ends at
// "\r\n", "\n" or "\r", and a last line need not end.
func countLines(s string) int {
	if s == "" {
		return 0
	}
	n := len(regexp.MustCompile(`\r\n|\n|\r`).FindAllStringIndex(s, -1))
	if !strings.HasSuffix(s, "\n") && !strings.HasSuffix(s, "\r") {
		n++
	}
	return n
}

// An export that holds as many messages as WhatsApp puts in one at most
// (about 10,000 with media, 40,000 without) may have been cut short: the
// ledger and the notes say so.
func TestMayBeCut(t *testing.T) {
	for _, tc := range []struct {
		messages int
		media    bool
		want     int
	}{
		{9_899, true, 0},
		{9_900, true, 10_000},
		{10_000, true, 10_000},
		{10_100, true, 10_000},
		{10_101, true, 0},
		{10_000, false, 0},
		{39_599, false, 0},
		{39_600, false, 40_000},
		{40_000, false, 40_000},
		{40_000, true, 40_000},
		{40_401, false, 0},
	} {
		var b strings.Builder
		start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range tc.messages {
			at := start.Add(time.Duration(i) * time.Minute)
			text := fmt.Sprintf("message %d", i)
			if tc.media && i == 0 {
				text = "IMG-20240101-WA0000.jpg (file attached)"
			}
			fmt.Fprintf(&b, "%s - Alice: %s\n", at.Format("02/01/2006, 15:04"), text)
		}
		th, err := readBytes(t, []byte(b.String()), "chat.txt", Options{Location: time.UTC, DateOrder: DMY})
		if err != nil {
			t.Fatal(err)
		}
		l := th.Provenance.Ledger
		notes := strings.Join(th.Provenance.Notes, "\n")
		if l.MayBeCut != tc.want || (tc.want > 0) != strings.Contains(notes, "WhatsApp stops there without saying so") {
			t.Errorf("Read(%d messages, media %v): MayBeCut = %d, notes %q; want %d", tc.messages, tc.media, l.MayBeCut, notes, tc.want)
		}
	}
}
