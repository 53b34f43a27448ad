package filing

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/internal/pdfacheck"
)

// scriptSamples are text in each script the PDF must show.
var scriptSamples = map[string]string{
	"Greek":    "Καλημέρα κόσμε, η συνάντηση είναι αύριο",
	"Cyrillic": "Здравствуйте, встреча завтра в десять",
	"Arabic":   "مرحبا بالعالم، الاجتماع غدا في الساعة 10",
	"Hebrew":   "שלום עולם, הפגישה מחר בעשר",
	"Chinese":  "会议定于明天上午十点举行",
	"Japanese": "会議は明日の午前十時に始まります",
	"Korean":   "회의는 내일 오전 열 시에 시작합니다",
	"Emoji":    "Approved 👍 🚢 ✅ 😀",
}

// scriptThread is a thread with a message (and an author's name) in
// every script of scriptSamples.
func scriptThread() *capture.Thread {
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	t := &capture.Thread{Platform: capture.Slack, Workspace: capture.Workspace{ID: "T1", Name: "Example"},
		Channel: capture.Channel{ID: "C1", Name: "international"}, ThreadID: "1", CapturedAt: base.Add(time.Hour)}
	names := map[string]string{"Greek": "Ελένη", "Cyrillic": "Иван", "Arabic": "فاطمة", "Hebrew": "דוד", "Chinese": "王芳",
		"Japanese": "さくら", "Korean": "김민준", "Emoji": "Sam 🌟"}
	for i, s := range []string{"Greek", "Cyrillic", "Arabic", "Hebrew", "Chinese", "Japanese", "Korean", "Emoji"} {
		p := capture.Person{ID: "U" + s, DisplayName: names[s]}
		t.Messages = append(t.Messages, capture.Message{ID: s, Position: i, Author: p, Time: base.Add(time.Duration(i) * time.Minute),
			Text: scriptSamples[s], ReadableText: scriptSamples[s],
			Reactions: []capture.Reaction{{Emoji: "👍", Count: 1, Users: []capture.Person{p}}}})
	}
	return t
}

// requireFonts fails the test when the fonts for other scripts are not
// installed: in CI they must be (.ci/run installs them), and elsewhere
// the message says which packages to install.
func requireFonts(t *testing.T) {
	t.Helper()
	if m := MissingFonts(); len(m) > 0 {
		t.Fatalf("fonts missing (apt-get install fonts-noto-core fonts-droid-fallback fonts-ipafont-gothic fonts-nanum fonts-symbola fonts-dejavu-core, or set %s):\n%s",
			"the fonts directory", strings.Join(m, "\n"))
	}
}

// A thread in every script shows each in the PDF with the fonts found,
// nothing left out, and the PDF is PDF/A-2b by the check.
// RECORDBOT_PDF_OUT=dir writes it there to look at.
func TestRenderPDFScripts(t *testing.T) {
	requireFonts(t)
	th := scriptThread()
	rec := testRecord(th)
	rec.Title = "Международная встреча · 国際会議 · اجتماع"
	pdf, err := pdfBytes(context.Background(), rec, th, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("RECORDBOT_PDF_OUT"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "scripts.pdf"), pdf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if p := pdfacheck.Check(pdf); len(p) > 0 {
		t.Fatalf("not PDF/A-2b:\n%s", strings.Join(p, "\n"))
	}
	s := string(pdf)
	for _, fam := range []string{"arabic", "hebrew", "zh", "ja", "ko", "emoji"} {
		if !strings.Contains(s, "+utf8"+fam) {
			t.Errorf("the PDF does not embed the %s font", fam)
		}
	}
	if strings.Contains(pdfWords(t, pdf), "could not show") {
		t.Error("the PDF says it could not show characters of a covered script")
	}
	if !strings.Contains(pdfWords(t, pdf), "/ActualText <FEFFD83DDC4D>") {
		t.Error("the 👍 emoji is not in the PDF as its own character (ActualText)")
	}
}

// Characters no font draws are drawn as a square and listed at the end.
func TestRenderPDFNotShown(t *testing.T) {
	th := scriptThread()
	th.Messages[0].ReadableText = "Old Italic \U00010300\U00010301 here"
	w := &pdfWriter{typer: newTyper(newPDFA(pdfMeta{Title: "x", Date: time.Unix(0, 0)}))}
	w.AddPage()
	w.font("", 10)
	w.text(5, th.Messages[0].ReadableText, "")
	note := w.missingNote()
	if !strings.Contains(note, "U+10300, U+10301") {
		t.Errorf("note = %q", note)
	}
}

// A fuzzed range of threads (scripts, marks, mixed directions, long
// words, links, empty and hostile text) all give PDF/A-2b by the check.
func TestRenderPDFFuzzedPDFA(t *testing.T) {
	requireFonts(t)
	var pool []string
	for _, s := range scriptSamples {
		pool = append(pool, s)
	}
	pool = append(pool, "", "\u202eoverride\u202c", "a\tb\x00c", strings.Repeat("long", 80), "https://example.org/x?y=1 ok",
		"עם 123 ו-456 מספרים", "كَتَبَ الطالبُ لا إله", "混合 text 日本語 한국어 mixed", "\U00010300 \uFFFF \U0010FFFF", "ภาษาไทย ሰላም", "❤️‍🔥 👍🏽")
	rng := rand.New(rand.NewPCG(7, 26))
	for n := range 12 {
		th := scriptThread()
		for i := range th.Messages {
			var parts []string
			for range 1 + rng.IntN(5) {
				parts = append(parts, pool[rng.IntN(len(pool))])
			}
			sep := []string{" ", "\n", ""}[rng.IntN(3)]
			th.Messages[i].ReadableText = strings.Join(parts, sep)
			th.Messages[i].Author.DisplayName = pool[rng.IntN(len(pool))]
		}
		rec := testRecord(th)
		rec.Title = pool[rng.IntN(len(pool))] + " title"
		pdf, err := pdfBytes(context.Background(), rec, th, nil, nil)
		if err != nil {
			t.Fatalf("thread %d: %v", n, err)
		}
		if p := pdfacheck.Check(pdf); len(p) > 0 {
			t.Fatalf("thread %d is not PDF/A-2b:\n%s", n, strings.Join(p, "\n"))
		}
	}
}
