package filing

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
)

// longThread is a thread of n messages with links, edits, reactions and,
// every 25 messages, a small PNG chart attached.
func longThread(n int) (*capture.Thread, map[string][]byte) {
	base := time.Date(2026, 3, 28, 23, 30, 0, 0, time.UTC)
	t := &capture.Thread{
		Platform: capture.Slack, Workspace: capture.Workspace{ID: "T1", Name: "Example Council"},
		Channel:  capture.Channel{ID: "C1", Name: "roads-budget", Kind: "channel"},
		ThreadID: "1774740600.000100", Permalink: "https://example.slack.com/archives/C1/p1774740600000100",
		CapturedAt: base.Add(48 * time.Hour),
	}
	people := []capture.Person{{ID: "U1", DisplayName: "alice", RealName: "Alice Smith"}, {ID: "U2", DisplayName: "bob", RealName: "Bob Jones"},
		{ID: "U3", DisplayName: "carol", RealName: "Carol Ng"}}
	files := map[string][]byte{}
	for i := range n {
		text := fmt.Sprintf("Message %d about the roads budget: option %c looks best to me, because the cost per mile is lower and the works can start in spring.", i, 'A'+rune(i%3))
		if i%7 == 3 {
			text += "\nSee https://example.org/budget/2026?page=" + fmt.Sprint(i) + " for the figures."
		}
		if i%11 == 5 {
			text += "\nAccents: café, Zürich, Łódź — and emoji 🎉 and 日本."
		}
		m := capture.Message{ID: fmt.Sprintf("m%05d", i), Position: i, Author: people[i%3], Time: base.Add(time.Duration(i) * 7 * time.Minute),
			Text: text, ReadableText: text}
		if i%9 == 1 {
			m.Edited = &capture.Edit{At: m.Time.Add(3 * time.Minute)}
		}
		if i%4 == 2 {
			m.Reactions = []capture.Reaction{{Emoji: "+1", Count: 2, Users: people[:2]}, {Emoji: "white_check_mark", Count: 1, Users: people[2:]}, {Emoji: "custom_roadworks", Count: 1}}
		}
		if i%25 == 10 {
			path := fmt.Sprintf("data/files/%03d_chart.png", i)
			img := chart(i)
			files[path] = img
			m.Files = append(m.Files, capture.File{ID: fmt.Sprint("F", i), Name: fmt.Sprintf("chart %d.png", i), MIMEType: "image/png", Size: int64(len(img)), Path: path})
		}
		if i == 40 {
			m.Files = append(m.Files, capture.File{ID: "F-gone", Name: "minutes.docx", Error: "deleted from Slack before filing"},
				capture.File{ID: "F-doc", Name: "minutes.pdf", MIMEType: "application/pdf", Size: 123456, Path: "data/files/041_minutes.pdf"})
		}
		t.Messages = append(t.Messages, m)
	}
	return t, files
}

// chart draws a small bar chart, a different one for each seed.
func chart(seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 240, 140))
	for y := range 140 {
		for x := range 240 {
			img.Set(x, y, color.RGBA{250, 250, 250, 255})
		}
	}
	for b := range 6 {
		h := 20 + (seed*37+b*53)%110
		for y := 140 - h; y < 135; y++ {
			for x := 15 + b*37; x < 15+b*37+28; x++ {
				img.Set(x, y, color.RGBA{29, 53, 87, 255})
			}
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

// pdfBytes renders the PDF transcript into memory.
func pdfBytes(ctx context.Context, rec *Record, t *capture.Thread, tz *time.Location, load imageLoader) ([]byte, error) {
	var b bytes.Buffer
	err := renderPDF(ctx, &b, rec, t, tz, load)
	return b.Bytes(), err
}

func testRecord(t *capture.Thread) *Record {
	filed := time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC)
	return &Record{Schema: RecordSchema, ID: "019d4a5e-7c00-7000-8000-00000abc1234", Title: "Roads budget 2026: option B agreed",
		Class:   ClassRef{Code: "100-20", Title: "Committees", Path: []ClassStep{{"100", "Administration"}, {"100-20", "Committees"}}},
		FiledBy: capture.Person{ID: "U1", DisplayName: "alice", RealName: "Alice Smith"}, FiledAt: filed, CapturedAt: t.CapturedAt,
		ThreadStart: t.Messages[0].Time, ThreadEnd: t.Messages[len(t.Messages)-1].Time, Participants: t.Participants(),
		Source:    Source{Platform: t.Platform, Workspace: t.Workspace, Channel: t.Channel, ThreadID: t.ThreadID, Permalink: t.Permalink},
		Retention: RetentionInfo{Rule: "destroy 7 years after filing", Action: Destroy, DisposalDate: "2033-03-31"},
		Marking:   "OFFICIAL-SENSITIVE", Messages: len(t.Messages)}
}

// The PDF of a 200-message thread: A4 pages, every page marked, links clickable, images inline, XMP metadata.
// RECORDBOT_PDF_OUT=dir writes it there to look at.
func TestRenderPDF(t *testing.T) {
	ctx := context.Background()
	th, files := longThread(200)
	rec := testRecord(th)
	tz, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	load := func(_ context.Context, p string) ([]byte, error) {
		if b, ok := files[p]; ok {
			return b, nil
		}
		return nil, ErrNotExist
	}
	pdf, err := pdfBytes(ctx, rec, th, tz, load)
	if err != nil {
		t.Fatalf("renderPDF: %v", err)
	}
	if dir := os.Getenv("RECORDBOT_PDF_OUT"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "transcript.pdf"), pdf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	checkXref(t, pdf)
	s := string(pdf)
	pages := strings.Count(s, "/Type /Page\n")
	if pages < 10 {
		t.Errorf("pages = %d, want at least 10 for 200 messages", pages)
	}
	for _, want := range []string{
		"%PDF-1.",
		"/MediaBox [0 0 595.28 841.89]",                 // A4
		"/URI (" + th.Permalink + ")",                   // the permalink can be clicked
		"/URI (https://example.org/budget/2026?page=3)", // so can links in messages
		"/URI (files/041_minutes.pdf)",                  // and files in the package
		"/Type /Metadata /Subtype /XML",
		"<pdfaid:part>2</pdfaid:part>",
		"/FontFile2", // embedded TrueType
		"/Metadata ", // named in the catalog
		"/ID [<",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("PDF lacks %q", want)
		}
	}
	if got, want := strings.Count(s, "/Subtype /Image"), len(files); got != want {
		t.Errorf("inline images = %d, want %d", got, want)
	}
}

func TestStamp(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	tests := []struct {
		t    time.Time
		tz   *time.Location
		want string
	}{
		{time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC), nil, "2026-01-05 09:00:00 UTC"},
		{time.Date(2026, 7, 5, 9, 0, 0, 0, time.UTC), london, "2026-07-05 09:00:00 UTC (10:00 BST)"},
		{time.Date(2026, 7, 5, 23, 30, 0, 0, time.UTC), london, "2026-07-05 23:30:00 UTC (2026-07-06 00:30 BST)"},
	}
	for _, tc := range tests {
		if got := stamp(tc.t, tc.tz); got != tc.want {
			t.Errorf("stamp(%v, %v) = %q, want %q", tc.t, tc.tz, got, tc.want)
		}
	}
}

func TestReactionWords(t *testing.T) {
	tests := []struct{ in, emoji, words string }{
		{"+1", "👍", "thumbs up"},
		{"white_check_mark", "✅", "tick"},
		{"custom_roadworks", ":custom_roadworks:", "custom roadworks"},
		{"🎉", "🎉", "emoji U+1F389"},
	}
	for _, tc := range tests {
		if got := reactionEmoji(tc.in); got != tc.emoji {
			t.Errorf("reactionEmoji(%q) = %q, want %q", tc.in, got, tc.emoji)
		}
		if got := reactionWords(tc.in); got != tc.words {
			t.Errorf("reactionWords(%q) = %q, want %q", tc.in, got, tc.words)
		}
	}
}

// Hostile and odd text renders, in time: control and bidi characters, a
// word longer than a line, a message as long as Slack allows, empty messages, a corrupt or
// unsupported image, and scripts the fonts lack.
func TestRenderPDFHostile(t *testing.T) {
	ctx := context.Background()
	th, _ := longThread(6)
	long := strings.Repeat("x", 5000)
	th.Messages[0].ReadableText = "pay \u202Eevil\u202C \x00\x1b[2J now " + long
	th.Messages[1].ReadableText = ""
	th.Messages[2].ReadableText = strings.Repeat("A line of text. ", 2500) // 40,000 characters: Slack's limit
	th.Messages[3].ReadableText = "עברית العربية 日本語 🎉 \u2028 \t tab https://" + long
	th.Messages[3].Author = capture.Person{ID: "U9", DisplayName: "\u202Emallory", RealName: strings.Repeat("M", 300)}
	th.Messages[4].Files = []capture.File{
		{Name: "corrupt.png", MIMEType: "image/png", Size: 10, Path: "data/files/001_corrupt.png"},
		{Name: "interlaced.png", MIMEType: "image/png", Size: 100, Path: "data/files/002_interlaced.png"},
		{Name: "huge-dimensions.png", MIMEType: "image/png", Size: 100, Path: "data/files/003_huge.png"},
	}
	th.Messages[5].Reactions = []capture.Reaction{{Emoji: "\u202E", Count: -1}, {Emoji: "", Count: 0}}
	rec := testRecord(th)
	rec.Title = strings.Repeat("Title ", 200) + "\x00"
	files := map[string][]byte{
		"data/files/001_corrupt.png":    []byte("\x89PNG\r\n\x1a\nnot really"),
		"data/files/002_interlaced.png": interlacedPNG(),
		"data/files/003_huge.png":       chart(3),
	}
	load := func(_ context.Context, p string) ([]byte, error) { return files[p], nil }
	start := time.Now()
	pdf, err := pdfBytes(ctx, rec, th, nil, load)
	if err != nil {
		t.Fatalf("renderPDF(hostile): %v", err)
	}
	// fpdf's Write takes time in the square of the text it is given: a
	// 40,000-character message in one piece took 15 s; in pieces, well
	// under one.
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("renderPDF(hostile) took %v, want well under 10s", d)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("renderPDF(hostile) is not a PDF")
	}
	checkXref(t, pdf)
	if dir := os.Getenv("RECORDBOT_PDF_OUT"); dir != "" {
		os.WriteFile(filepath.Join(dir, "hostile.pdf"), pdf, 0o644)
	}
}

// interlacedPNG is a PNG fpdf cannot embed (Adam7 interlacing).
func interlacedPNG() []byte {
	b := chart(1)
	// Set the IHDR interlace byte; the CRC no longer matches, which is
	// also a PNG a decoder may refuse: either way it must not break the
	// transcript.
	b[28] = 1
	return b
}

// When the PDF library fails on a thread, the record still gets a PDF:
// the metadata, and a note saying where the transcript is.
func TestRenderPDFFallback(t *testing.T) {
	th, _ := longThread(30)
	rec := testRecord(th)
	broken := func(context.Context, string) ([]byte, error) { panic("drawing failed") }
	pdf, err := pdfBytes(context.Background(), rec, th, nil, broken)
	if err != nil {
		t.Fatalf("renderPDF with a failing drawing: %v", err)
	}
	checkXref(t, pdf)
	if s := string(pdf); !strings.HasPrefix(s, "%PDF-") || strings.Count(s, "/Type /Page\n") != 1 || !strings.Contains(s, "/Metadata ") {
		t.Errorf("fallback PDF: want one page with metadata, got %d pages", strings.Count(s, "/Type /Page\n"))
	}
}

// pdfWords returns the text drawn in pdf: its compressed streams
// inflated, with the zero bytes of the UTF-16 text taken out, enough to
// find a sentence the PDF shows.
func pdfWords(t *testing.T, pdf []byte) string {
	t.Helper()
	var b strings.Builder
	for rest := pdf; ; {
		i := bytes.Index(rest, []byte("/FlateDecode"))
		if i < 0 {
			break
		}
		rest = rest[i:]
		s := bytes.Index(rest, []byte("stream\n"))
		e := bytes.Index(rest, []byte("\nendstream"))
		if s < 0 || e < s {
			break
		}
		if zr, err := zlib.NewReader(bytes.NewReader(rest[s+len("stream\n") : e])); err == nil {
			data, _ := io.ReadAll(zr)
			b.Write(bytes.ReplaceAll(data, []byte{0}, nil))
		}
		rest = rest[e:]
	}
	return b.String()
}

// imageThread is a thread of n messages, each with a PNG chart of about
// size bytes attached (padded with a text chunk), and a loader that
// counts what the PDF reads.
func imageThread(n, size int) (*capture.Thread, imageLoader, *int, *int64) {
	th, _ := longThread(n)
	files := map[string][]byte{}
	for i := range th.Messages {
		img := chart(i)
		if pad := size - len(img); pad > 0 {
			img = padPNG(img, pad)
		}
		path := fmt.Sprintf("data/files/%03d_photo.png", i+1)
		files[path] = img
		th.Messages[i].Files = []capture.File{{ID: fmt.Sprint("P", i), Name: fmt.Sprintf("photo %d.png", i+1), MIMEType: "image/png", Size: int64(len(img)), Path: path}}
	}
	var loads int
	var read int64
	load := func(_ context.Context, p string) ([]byte, error) {
		loads++
		read += int64(len(files[p]))
		return files[p], nil
	}
	return th, load, &loads, &read
}

// padPNG adds a tEXt chunk of n bytes before a PNG's end chunk, so that
// it is larger but shows the same.
func padPNG(img []byte, n int) []byte {
	end := len(img) - 12 // the IEND chunk
	chunk := make([]byte, 0, n+12)
	chunk = binary.BigEndian.AppendUint32(chunk, uint32(n))
	body := append([]byte("tEXt"), "pad\x00"...)
	body = append(body, bytes.Repeat([]byte("x"), n-4)...)
	chunk = append(chunk, body...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(body))
	return append(append(append([]byte(nil), img[:end]...), chunk...), img[end:]...)
}

// The PDF shows at most pdfImages images: a thread with more reads no
// more than that from the store, names the rest with their place in the
// package, and says why on its first page and at its end.
func TestRenderPDFImageCount(t *testing.T) {
	n := pdfImages + 15
	th, load, loads, _ := imageThread(n, 0)
	rec := testRecord(th)
	pdf, err := pdfBytes(context.Background(), rec, th, nil, load)
	if err != nil {
		t.Fatal(err)
	}
	checkXref(t, pdf)
	if got := bytes.Count(pdf, []byte("/Subtype /Image")); got != pdfImages {
		t.Errorf("images shown = %d, want the budget, %d", got, pdfImages)
	}
	if *loads != pdfImages {
		t.Errorf("images read from the store = %d, want %d", *loads, pdfImages)
	}
	for i := pdfImages + 1; i <= n; i++ { // the rest are named, with a link into the package
		if want := fmt.Sprintf("/URI (files/%03d_photo.png)", i); !bytes.Contains(pdf, []byte(want)) {
			t.Errorf("PDF lacks %q for an image over the budget", want)
		}
	}
	words := pdfWords(t, pdf)
	for _, want := range []string{
		fmt.Sprintf("This PDF shows %d of the thread's %d images", pdfImages, n),
		"Image not shown in this PDF",
		fmt.Sprintf("%d attached. This PDF shows at most the first %d", n, pdfImages), // the first page's row
	} {
		if !strings.Contains(words, want) {
			t.Errorf("PDF does not say %q", want)
		}
	}
}

// The PDF reads at most pdfImageBytes of images: 1.5 MiB photos stop it
// after five, well before the count budget.
func TestRenderPDFImageBytes(t *testing.T) {
	th, load, loads, read := imageThread(20, 1536<<10)
	rec := testRecord(th)
	pdf, err := pdfBytes(context.Background(), rec, th, nil, load)
	if err != nil {
		t.Fatal(err)
	}
	if *read > pdfImageBytes {
		t.Errorf("read %d bytes of images for the PDF, want at most %d", *read, pdfImageBytes)
	}
	want := int(pdfImageBytes / (1536<<10 + 10_000))
	if got := bytes.Count(pdf, []byte("/Subtype /Image")); got != *loads || got != want {
		t.Errorf("images shown = %d (read %d), want %d", got, *loads, want)
	}
	if words := pdfWords(t, pdf); !strings.Contains(words, fmt.Sprintf("This PDF shows %d of the thread's 20 images", want)) {
		t.Errorf("PDF does not say how many images it shows")
	}
}

// A thread over pdfMessages messages gets a PDF of the first ones that
// says where it stops and where the rest is; one message of megabytes is
// cut at pdfTextBytes. Both keep the PDF to a bounded number of pages.
func TestRenderPDFExtent(t *testing.T) {
	t.Run("messages", func(t *testing.T) {
		th := chatThread(pdfMessages + 50)
		pdf, err := pdfBytes(context.Background(), testRecord(th), th, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkXref(t, pdf)
		words := pdfWords(t, pdf)
		last := fmt.Sprintf("[%d] ", pdfMessages-1)
		if !strings.Contains(words, last) || strings.Contains(words, fmt.Sprintf("[%d] ", pdfMessages)) {
			t.Errorf("PDF should end with message %s", last)
		}
		for _, want := range []string{
			fmt.Sprintf("This PDF shows the thread up to message [%d] of its %d messages", pdfMessages-1, pdfMessages+50),
			fmt.Sprintf("The thread up to message [%d] of %d", pdfMessages-1, pdfMessages+50),
		} {
			if !strings.Contains(words, want) {
				t.Errorf("PDF does not say %q", want)
			}
		}
		if pages := bytes.Count(pdf, []byte("/Type /Page\n")); pages > 400 {
			t.Errorf("pages = %d for %d messages shown, want at most 400", pages, pdfMessages)
		}
	})
	t.Run("text", func(t *testing.T) {
		th, _ := longThread(3)
		th.Messages[1].ReadableText = strings.Repeat("Ever so long a pasted document. ", 2*pdfTextBytes/32)
		pdf, err := pdfBytes(context.Background(), testRecord(th), th, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		words := pdfWords(t, pdf)
		if !strings.Contains(words, "The rest of this message is not in this PDF") || strings.Contains(words, "[2] ") {
			t.Errorf("the long message should be cut, and the PDF end there")
		}
		if !strings.Contains(words, "This PDF shows the thread up to message [1] of its 3 messages") {
			t.Errorf("PDF does not say where it stops")
		}
		// 2 MiB of text is about 400 pages; the whole message, twice that.
		if pages := bytes.Count(pdf, []byte("/Type /Page\n")); pages > 450 {
			t.Errorf("pages = %d, want the text budget to hold it under 450", pages)
		}
	})
}

// A thread within the budgets says nothing of them.
func TestRenderPDFWhole(t *testing.T) {
	th, load, _, _ := imageThread(5, 0)
	pdf, err := pdfBytes(context.Background(), testRecord(th), th, nil, load)
	if err != nil {
		t.Fatal(err)
	}
	words := pdfWords(t, pdf)
	for _, not := range []string{"not shown in this PDF", "This PDF shows", "In this PDF"} {
		if strings.Contains(words, not) {
			t.Errorf("PDF within the budgets says %q", not)
		}
	}
	if got := bytes.Count(pdf, []byte("/Subtype /Image")); got != 5 {
		t.Errorf("images shown = %d, want 5", got)
	}
}

// writeThreadJSON writes what json.MarshalIndent does, byte for byte,
// for threads with every field, hidden and HTML characters, and none.
func TestWriteThreadJSON(t *testing.T) {
	long, _ := longThread(60)
	long.Messages[3].ReadableText = "<b>&amp;</b> \u2028 \u202E \x00 \"quoted\"\n  \"messages\": []"
	long.Provenance = &capture.Provenance{Kind: "user-export", FileName: "x.zip", Notes: []string{"a"}}
	one := chatThread(1)
	for name, th := range map[string]*capture.Thread{"long": long, "one": one, "empty": {Platform: capture.Slack}} {
		want, err := json.MarshalIndent(th, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := writeThreadJSON(context.Background(), &got, th, nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: writeThreadJSON differs from json.MarshalIndent", name)
		}
	}
}

// A PNG of small size but huge dimensions, which fpdf would decode whole,
// is named rather than shown.
func TestRenderPDFImagePixels(t *testing.T) {
	var big bytes.Buffer
	if err := png.Encode(&big, image.NewNRGBA(image.Rect(0, 0, 2500, 2000))); err != nil { // 5 MP, transparent
		t.Fatal(err)
	}
	th, _ := longThread(2)
	th.Messages[0].Files = []capture.File{{Name: "blank.png", MIMEType: "image/png", Size: int64(big.Len()), Path: "data/files/001_blank.png"}}
	th.Messages[1].Files = []capture.File{{Name: "chart.png", MIMEType: "image/png", Size: 100, Path: "data/files/002_chart.png"}}
	files := map[string][]byte{"data/files/001_blank.png": big.Bytes(), "data/files/002_chart.png": chart(1)}
	load := func(_ context.Context, p string) ([]byte, error) { return files[p], nil }
	pdf, err := pdfBytes(context.Background(), testRecord(th), th, nil, load)
	if err != nil {
		t.Fatal(err)
	}
	if got := bytes.Count(pdf, []byte("/Subtype /Image")); got != 1 {
		t.Errorf("images shown = %d, want 1 (the chart, not the 5-megapixel PNG)", got)
	}
	if !bytes.Contains(pdf, []byte("/URI (files/001_blank.png)")) {
		t.Errorf("the PNG not shown is not named with a link")
	}
}

// checkXref checks pdf's cross-reference tables, as a reader follows
// them: the last one (the metadata update), then the one it names as
// /Prev; every entry must point at its object, and every stream's
// /Length must end at its endstream.
func checkXref(t *testing.T, pdf []byte) {
	t.Helper()
	start := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(pdf)
	if start == nil {
		t.Fatal("PDF does not end with startxref and its end-of-file marker")
	}
	at, _ := strconv.Atoi(string(start[1]))
	for tables := 0; at > 0; tables++ {
		if tables == 2 || at >= len(pdf) || !bytes.HasPrefix(pdf[at:], []byte("xref\n")) {
			t.Fatalf("no cross-reference table at %d", at)
		}
		sec := pdf[at+len("xref\n"):]
		var first, n int
		if _, err := fmt.Sscanf(string(sec[:bytes.IndexByte(sec, '\n')]), "%d %d", &first, &n); err != nil {
			t.Fatalf("cross-reference table at %d: %v", at, err)
		}
		sec = sec[bytes.IndexByte(sec, '\n')+1:]
		for i := range n {
			var off, gen int
			var kind string
			fmt.Sscanf(string(sec[i*20:i*20+19]), "%d %d %s", &off, &gen, &kind)
			if kind != "n" {
				continue
			}
			if want := fmt.Sprintf("%d 0 obj\n", first+i); off >= len(pdf) || !bytes.HasPrefix(pdf[off:], []byte(want)) {
				t.Fatalf("cross-reference entry %d points at %d, not at its object", first+i, off)
			}
		}
		trailer := pdf[at:]
		trailer = trailer[:bytes.Index(trailer, []byte("startxref"))]
		prev := regexp.MustCompile(`/Prev (\d+)`).FindSubmatch(trailer)
		at = 0
		if prev != nil {
			at, _ = strconv.Atoi(string(prev[1]))
		}
	}
	for _, m := range regexp.MustCompile(`/Length (\d+)[^\n]*>>\nstream\n`).FindAllSubmatchIndex(pdf, -1) {
		n, _ := strconv.Atoi(string(pdf[m[2]:m[3]]))
		if end := m[1] + n; end+10 > len(pdf) || string(pdf[end:end+10]) != "\nendstream" {
			t.Fatalf("a stream's /Length %d does not end at its endstream", n)
		}
	}
}

// An image attached to many messages at one path (stored once: see
// capture.File.ContentID) is read from the store and embedded in the PDF
// once, and shown at each message within the count budget.
func TestRenderPDFSharedImageOnce(t *testing.T) {
	th, load, loads, _ := imageThread(30, 1<<20)
	for i := range th.Messages {
		th.Messages[i].Files[0] = th.Messages[0].Files[0]
	}
	pdf, err := pdfBytes(context.Background(), testRecord(th), th, nil, load)
	if err != nil {
		t.Fatal(err)
	}
	checkXref(t, pdf)
	if got := bytes.Count(pdf, []byte("/Subtype /Image")); got != 1 || *loads != 1 {
		t.Errorf("images embedded = %d, read %d times, want the shared image once", got, *loads)
	}
	if len(pdf) > 2<<20 {
		t.Errorf("PDF of one 1 MiB image shown 30 times is %d bytes, want under 2 MiB", len(pdf))
	}
}

// The same snapshot with three images (all as wide: fpdf orders images
// by width alone, from a map), one of them an indexed PNG written with
// its palette, makes the same PDF, byte for byte, every time it is
// rendered, and each image names its own palette.
func TestRenderPDFImagesRepeatable(t *testing.T) {
	th, _ := longThread(3)
	pal := image.NewPaletted(image.Rect(0, 0, 240, 140), color.Palette{color.White, color.RGBA{29, 53, 87, 255}, color.RGBA{200, 30, 30, 255}})
	for y := 20; y < 120; y++ {
		for x := 30; x < 200; x++ {
			pal.SetColorIndex(x, y, uint8(1+(x/40)%2))
		}
	}
	var indexed bytes.Buffer
	if err := png.Encode(&indexed, pal); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for i := range th.Messages {
		img := chart(i)
		if i == 1 {
			img = indexed.Bytes()
		}
		path := fmt.Sprintf("data/files/%03d_photo.png", i+1)
		files[path] = img
		th.Messages[i].Files = []capture.File{{ID: fmt.Sprint("P", i), Name: fmt.Sprintf("photo %d.png", i+1), MIMEType: "image/png", Size: int64(len(img)), Path: path}}
	}
	load := func(_ context.Context, p string) ([]byte, error) { return files[p], nil }
	rec := testRecord(th)
	first, err := pdfBytes(context.Background(), rec, th, nil, load)
	if err != nil {
		t.Fatal(err)
	}
	s := string(first)
	if got := strings.Count(s, "/Subtype /Image"); got != 3 {
		t.Fatalf("inline images = %d, want 3", got)
	}
	// The indexed image names the object after it as its palette.
	m := regexp.MustCompile(`(\d+) 0 obj\n<</Type /XObject\n/Subtype /Image\n/Width 240\n/Height 140\n/ColorSpace \[/Indexed /DeviceRGB 2 (\d+) 0 R\]`).FindStringSubmatch(s)
	if m == nil {
		t.Fatal("no indexed image with its palette")
	}
	if img, palette := atoi(t, m[1]), atoi(t, m[2]); palette != img+1 || !strings.Contains(s, fmt.Sprintf("\n%d 0 obj\n<</Filter /FlateDecode /Length ", palette)) {
		t.Errorf("indexed image %d names object %d as its palette, want the stream after it", img, palette)
	}
	for i := range 8 {
		again, err := pdfBytes(context.Background(), rec, th, nil, load)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, first) {
			t.Fatalf("rendering %d differs from the first (%d and %d bytes)", i+2, len(again), len(first))
		}
	}
	checkXref(t, first)
	if dir := os.Getenv("RECORDBOT_PDF_OUT"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "images.pdf"), first, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
