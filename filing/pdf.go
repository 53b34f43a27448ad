package filing

import (
	"context"
	"errors"
	"fmt"
	_ "image/gif" // image.DecodeConfig of GIF attachments
	_ "image/jpeg"
	_ "image/png"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/recordbot/recordbot/capture"
)

// PDFFile is the PDF rendition of the transcript: A4, for printing and for
// consoles (the MinIO Console, S3 browsers) that preview PDF but not HTML.
const PDFFile = "data/transcript.pdf"

// maxInlineImage bounds the attached images shown inside the PDF: larger
// ones are listed by name, like other files, and stay in data/files/.
const maxInlineImage = 2 << 20

// The PDF shows at most pdfImages attached images, and reads at most
// pdfImageBytes of them from the store (each image shown is read back
// once, and held by the PDF library until the document is written, when
// it is copied into the document: about three times its size in memory). The
// images after that are named, with their size and their place in the
// package, and the PDF says why: so a chat with a thousand photos costs
// the PDF a bounded download and bounded memory, and every image is
// still in the record, whole, beside the transcript.
const (
	pdfImages     = 40
	pdfImageBytes = 8 << 20
)

// maxImagePixels bounds the PNG and GIF images shown in the PDF: fpdf
// decodes a GIF, and a PNG with transparency, whole (4 bytes a pixel and
// more), so a small file of huge dimensions would take any amount of
// memory. Larger ones are named like other files. (JPEG is embedded as
// it is, without decoding.) A phone's screenshot is about 3 megapixels.
const maxImagePixels = 4_000_000

// imageLoader returns the stored content of a record's payload file (a
// path such as "data/files/001_chart.png"), for images shown in the PDF.
type imageLoader func(ctx context.Context, path string) ([]byte, error)

// pdfColour is the marking bar's colour, the HTML transcript's too.
var pdfColour = [3]int{0x1d, 0x35, 0x57}

// renderPDF renders the transcript of rec as an A4 PDF and writes it to
// w: the security marking at the top and bottom of every page, the record
// id, class and "page N of M" on every page, links that can be clicked,
// small images inline (the first pdfImages), reactions in words, and
// times in UTC with the organisation's time zone (tz, nil for UTC only)
// beside them. The Go fonts (BSD licence) are embedded, subset, so it
// prints the same anywhere; characters they lack (emoji, most non-Latin
// scripts) are shown as U+XXXX. A thread of more than pdfMessages
// messages or pdfTextBytes of text is shown up to there, and the PDF says
// so. The output depends only on its inputs, so every attempt at a
// filing writes the same bytes.
//
// It aims at PDF/A-2b: embedded fonts, XMP metadata with the PDF/A
// identification, no encryption, no JavaScript. fpdf writes no output
// intent (an ICC profile), which PDF/A requires for device colours: see
// docs/pdfa.md.
func renderPDF(ctx context.Context, w io.Writer, rec *Record, t *capture.Thread, tz *time.Location, load imageLoader) error {
	err := drawPDF(ctx, w, rec, t, tz, load)
	var we writeError
	if err == nil || ctx.Err() != nil || errors.As(err, &we) {
		return err
	}
	// A thread the PDF library cannot draw must not stop the record from
	// being filed: the PDF then holds the metadata and says where the
	// transcript is. Nothing was written to w.
	note := *t
	note.Stream = nil
	note.Messages = []capture.Message{{Position: 0, Author: capture.Person{ID: Agent, DisplayName: Agent, Bot: true}, Time: rec.FiledAt,
		ReadableText: "This transcript could not be drawn as PDF (" + err.Error() + "). The whole thread is in transcript.html, transcript.txt and thread.json in this folder."}}
	return drawPDF(ctx, w, rec, &note, tz, nil)
}

// writeError is a failure to write the finished PDF to its destination,
// as opposed to a failure to draw it.
type writeError struct{ error }

func (e writeError) Unwrap() error { return e.error }

// drawPDF draws the PDF transcript and writes it to out; a panic in the
// PDF library is returned as an error, and out is written to only once
// the whole document is drawn.
func drawPDF(ctx context.Context, out io.Writer, rec *Record, t *capture.Thread, tz *time.Location, load imageLoader) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("PDF library: %v", r)
		}
	}()
	p := newPDFA(pdfMeta{Title: rec.Title + " (" + rec.Marking + ")", Subject: "Record " + rec.ID + ", class " + rec.Class.Code,
		Keywords: rec.Marking + " " + rec.Class.Code, ID: rec.ID, Date: rec.FiledAt})
	p.AliasNbPages("{nb}")
	p.SetMargins(15, 24, 15)
	p.SetAutoPageBreak(true, 22)

	w := &pdfWriter{typer: newTyper(p), tz: tz, load: load, total: t.Len()}
	msgs, cut := pdfExtent(t.Messages)
	if len(msgs) < t.Len() || cut >= 0 {
		w.last = msgs[len(msgs)-1].Position
		w.partial = true
	}
	for _, m := range msgs {
		for _, f := range m.Files {
			if showable(f) {
				w.showable++
				w.showableBytes += f.Size
			}
		}
	}
	// Running header and footer: the marking, the record id and class,
	// the page number.
	p.SetHeaderFunc(func() {
		w.bar(6, rec.Marking)
		w.font("", 7.5)
		p.SetTextColor(80, 80, 80)
		p.SetXY(15, 14)
		w.cell(120, 4, pdfText("Record "+rec.ID+" · "+rec.Class.Code+" "+rec.Class.Title), "L", false)
		p.CellFormat(0, 4, "Filed "+rec.FiledAt.UTC().Format(time.DateOnly), "", 0, "R", false, 0, "")
		p.SetTextColor(0, 0, 0)
		p.SetXY(15, 24)
	})
	p.SetFooterFunc(func() {
		w.font("", 7.5)
		p.SetTextColor(80, 80, 80)
		p.SetXY(15, 297-19)
		w.cell(120, 4, pdfText("Record "+rec.ID), "L", false)
		p.CellFormat(0, 4, fmt.Sprintf("page %d of {nb}", p.PageNo()), "", 0, "R", false, 0, "")
		p.SetTextColor(0, 0, 0)
		w.bar(297-13, rec.Marking)
	})
	p.AddPage()
	w.metadata(rec)
	for i, m := range msgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if i == len(msgs)-1 && cut >= 0 {
			m.ReadableText = m.ReadableText[:cut] + "\n[The rest of this message is not in this PDF: see the note at its end.]"
		}
		w.message(ctx, m)
	}
	w.ln(3)
	w.font("I", 8)
	p.SetTextColor(80, 80, 80)
	if w.partial {
		w.multi(4, pdfText(w.extentNote()))
		w.ln(1)
	}
	if w.left > 0 {
		w.multi(4, pdfText(w.imagesNote()))
		w.ln(1)
	}
	if note := w.missingNote(); note != "" {
		w.multi(4, note)
		w.ln(1)
	}
	w.multi(4, "Filed by recordbot as a BagIt package. Checksums of every file are in manifest-sha256.txt beside this folder; metadata in record.json; the thread as captured in data/thread.json.")
	// fpdf holds the pages and the document in memory until Output,
	// which hands the document over in one piece; finishPDF (pdfpost.go)
	// writes it to out with what PDF/A needs and fpdf cannot write.
	var doc pdfDoc
	if err := p.Output(&doc); err != nil {
		return fmt.Errorf("render PDF transcript: %w", err)
	}
	if err := finishPDF(doc.data, out); err != nil {
		var we writeError
		if errors.As(err, &we) {
			return err
		}
		return fmt.Errorf("render PDF transcript: %w", err)
	}
	return nil
}

// countWriter counts what it writes; a failure to write is a writeError.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil {
		return n, writeError{err}
	}
	return n, nil
}

// pdfDoc receives fpdf's output: kept as given when it comes in one
// write (a slice of fpdf's buffer, which outlives Output), else copied.
type pdfDoc struct {
	data   []byte
	copied bool
}

func (d *pdfDoc) Write(p []byte) (int, error) {
	switch {
	case d.data == nil:
		d.data = p
	case !d.copied:
		d.data = append(append([]byte(nil), d.data...), p...)
		d.copied = true
	default:
		d.data = append(d.data, p...)
	}
	return len(p), nil
}

// A PDF transcript shows at most pdfMessages messages, with at most
// pdfTextBytes of message text in all: fpdf holds every page of a
// document in memory, uncompressed, until it writes it (about 23 KB a
// page, 18 short messages), so a chat of 40,000 messages would take over
// 50 MiB, and a message of megabytes any amount. The PDF of a longer
// thread stops there, at the end of a message or inside one, and says so
// on its first page and at its end; transcript.html, transcript.txt and
// thread.json always hold the whole thread.
const (
	pdfMessages  = 5_000
	pdfTextBytes = 2 << 20
)

// pdfExtent returns the messages of msgs the PDF shows, and where the
// text of the last one is cut (a byte offset; -1 when it is shown whole).
func pdfExtent(msgs []capture.Message) ([]capture.Message, int) {
	left := pdfTextBytes
	for i, m := range msgs {
		if i == pdfMessages {
			return msgs[:i], -1
		}
		if len(m.ReadableText) > left {
			for left > 0 && !utf8.RuneStart(m.ReadableText[left]) {
				left--
			}
			return msgs[:i+1], left
		}
		left -= len(m.ReadableText)
	}
	return msgs, -1
}

// extentNote says, in a PDF that stops before the end of the thread,
// where it stops and where the rest is.
func (w *pdfWriter) extentNote() string {
	return fmt.Sprintf("This PDF shows the thread up to message [%d] of its %d messages: a PDF transcript holds at most %d messages and %s of message text. "+
		"The whole thread is in transcript.html and transcript.txt beside this PDF, and as captured in thread.json.",
		w.last, w.total, pdfMessages, humanSize(pdfTextBytes))
}

// pdfWriter holds the drawing helpers of one PDF transcript.
type pdfWriter struct {
	*typer
	tz   *time.Location
	load imageLoader
	// images counts the images registered with fpdf (its names), shown
	// those drawn, read the bytes read from the store for the PDF,
	// showable the attached images small enough to show, left those
	// of them named only, because the budget was spent.
	images, shown, showable, left int
	read, showableBytes           int64
	// registered are the images registered with fpdf, by their path in
	// the package: an image attached to several messages (stored once,
	// see capture.File.ContentID) is read and embedded once, and shown
	// at each.
	registered map[string]registeredImage
	// partial is set when the PDF stops before the end of the thread,
	// after message [last] of total.
	partial     bool
	last, total int
}

// bar draws the marking across the page at y.
func (w *pdfWriter) bar(y float64, marking string) {
	w.SetFillColor(pdfColour[0], pdfColour[1], pdfColour[2])
	w.SetTextColor(255, 255, 255)
	w.font("B", 10)
	w.SetXY(15, y)
	w.cell(180, 6, pdfText(marking), "C", true)
	w.SetTextColor(0, 0, 0)
}

func (w *pdfWriter) ln(h float64) { w.Ln(h) }

// metadata writes the title and the record's metadata block.
func (w *pdfWriter) metadata(rec *Record) {
	w.font("B", 15)
	w.multi(7, pdfText(rec.Title))
	if rec.Description != "" {
		w.font("", 10)
		w.multi(5, pdfText(rec.Description))
	}
	w.ln(2)
	var people []string
	for i, p := range rec.Participants {
		if i == maxParticipants {
			people = append(people, fmt.Sprintf("and %d more (record.json lists them all)", len(rec.Participants)-i))
			break
		}
		people = append(people, Label(p))
	}
	disposal := "none: kept permanently"
	if rec.Retention.DisposalDate != "" {
		disposal = string(rec.Retention.Action) + " on " + rec.Retention.DisposalDate
	}
	rows := [][2]string{
		{"Record id", rec.ID},
		{"Class", rec.Class.String()},
		{"Security marking", rec.Marking},
		{"Filed by", Label(rec.FiledBy) + " (" + rec.FiledBy.ID + ")"},
		{"Filed", stamp(rec.FiledAt, w.tz)},
		{"Captured", stamp(rec.CapturedAt, w.tz)},
		{"Source", fmt.Sprintf("%s, %s, %s", rec.Source.Platform, firstNonEmpty(rec.Source.Workspace.Name, rec.Source.Workspace.ID), sourceWhere(rec.Source))},
		{"Permalink", rec.Source.Permalink},
		{"Thread", fmt.Sprintf("%d messages, %s to %s", rec.Messages, stamp(rec.ThreadStart, w.tz), stamp(rec.ThreadEnd, w.tz))},
		{"Participants", strings.Join(people, ", ")},
		{"Retention", rec.Retention.Rule},
		{"Disposal", disposal},
	}
	if w.partial {
		rows = append(rows, [2]string{"In this PDF", fmt.Sprintf("The thread up to message [%d] of %d (the most a PDF transcript holds). "+
			"The whole thread is in transcript.html, transcript.txt and thread.json beside this PDF.", w.last, w.total)})
	}
	if w.showable > pdfImages || w.showableBytes > pdfImageBytes {
		rows = append(rows, [2]string{"Images", fmt.Sprintf("%d attached. This PDF shows at most the first %d (%s of image files); "+
			"it names the others where they were attached, with their place in this package. All are kept whole in files/ and shown in transcript.html.",
			w.showable, pdfImages, humanSize(pdfImageBytes))})
	}
	w.SetFillColor(0xf3, 0xf3, 0xf3)
	for _, r := range rows {
		if r[1] == "" {
			continue
		}
		w.font("B", 8.5)
		y := w.GetY()
		w.SetX(15)
		w.CellFormat(32, 4.5, r[0], "", 0, "L", false, 0, "")
		w.font("", 8.5)
		if r[0] == "Permalink" {
			w.SetTextColor(0x1a, 0x4f, 0xa0)
			w.SetXY(47, y)
			w.SetLeftMargin(47)
			w.text(4.5, pdfText(r[1]), r[1])
			w.SetLeftMargin(15)
			w.SetTextColor(0, 0, 0)
			w.Ln(4.5)
			continue
		}
		w.SetXY(47, y)
		w.multi(4.5, pdfText(r[1]))
	}
	w.SetDrawColor(pdfColour[0], pdfColour[1], pdfColour[2])
	w.SetLineWidth(0.6)
	w.Line(15, w.GetY()+2, 195, w.GetY()+2)
	w.ln(4)
}

// message writes one message: who and when, its text with links, its
// files (small images shown) and its reactions.
func (w *pdfWriter) message(ctx context.Context, m capture.Message) {
	if w.GetY() > 297-22-18 {
		w.AddPage()
	}
	w.SetDrawColor(0xdd, 0xdd, 0xdd)
	w.SetLineWidth(0.2)
	w.Line(15, w.GetY(), 195, w.GetY())
	w.ln(1.2)
	w.font("B", 9.5)
	head := fmt.Sprintf("[%d] %s", m.Position, Label(m.Author))
	if m.Author.Bot {
		head += " (bot)"
	}
	w.text(5, pdfText(head), "")
	w.font("", 8.5)
	w.SetTextColor(90, 90, 90)
	when := "  " + stamp(m.Time, w.tz)
	if m.Edited != nil && m.Edited.At.IsZero() {
		when += "  · edited"
	} else if m.Edited != nil {
		when += "  · edited " + stamp(m.Edited.At, w.tz)
	}
	w.Write(5, when)
	w.SetTextColor(0, 0, 0)
	w.ln(5.5)
	w.font("", 10)
	w.natural = true
	w.linked(5, m.ReadableText)
	w.natural = false
	w.ln(5.5)
	for _, f := range m.Files {
		w.file(ctx, f)
	}
	if len(m.Reactions) > 0 {
		var rs []string
		for _, r := range m.Reactions {
			what := reactionWords(r.Emoji)
			if !isShortName(r.Emoji) {
				what = r.Emoji // the emoji itself, which the PDF draws
			}
			s := fmt.Sprintf("%s × %d", what, r.Count)
			var names []string
			for i, u := range r.Users {
				if i == maxReactionNames {
					names = append(names, fmt.Sprintf("and %d more", len(r.Users)-i))
					break
				}
				names = append(names, Label(u))
			}
			if len(names) > 0 {
				s += " (" + strings.Join(names, ", ") + ")"
			}
			rs = append(rs, s)
		}
		w.font("", 8.5)
		w.SetTextColor(70, 70, 70)
		w.multi(4.5, pdfText("Reactions: "+strings.Join(rs, "; ")))
		w.SetTextColor(0, 0, 0)
	}
	w.ln(1.5)
}

// maxParticipants bounds the participants listed in the PDF's metadata.
const maxParticipants = 100

// maxReactionNames bounds the names listed under one reaction in the PDF
// (thread.json and the HTML transcript have them all).
const maxReactionNames = 20

// urlPattern finds the links in a message's readable text.
var urlPattern = regexp.MustCompile(`(?i)\b(?:https?|mailto):[^\s<>"]+[^\s<>".,;:!?)\]]`)

// linked writes text with its URLs as links that can be clicked.
func (w *pdfWriter) linked(h float64, text string) {
	text = pdfText(text)
	for text != "" {
		loc := urlPattern.FindStringIndex(text)
		if loc == nil {
			w.plain(h, text)
			return
		}
		if loc[0] > 0 {
			w.plain(h, text[:loc[0]])
		}
		u := text[loc[0]:loc[1]]
		w.SetTextColor(0x1a, 0x4f, 0xa0)
		w.text(h, u, u)
		w.SetTextColor(0, 0, 0)
		text = text[loc[1]:]
	}
}

// writeChunk is the most text handed to fpdf's Write at once: its time
// grows with the square of the text's length (a 40,000-character message,
// Slack's limit, would take a quarter of a minute in one piece).
const writeChunk = 256

// plain writes text in pieces of at most writeChunk bytes, cut after a
// space or a line end where there is one, else on a character boundary,
// so the time stays linear in the length of a message.
func (w *pdfWriter) plain(h float64, text string) {
	if !simple(text) {
		// typer lays such text out itself, in linear time, and must see
		// a paragraph whole to order it (right to left) and join it.
		w.text(h, text, "")
		return
	}
	for len(text) > writeChunk {
		cut := strings.LastIndexAny(text[:writeChunk], " \n")
		if cut < writeChunk/2 {
			cut = writeChunk
			for cut > 0 && !utf8.RuneStart(text[cut]) {
				cut--
			}
		} else {
			cut++
		}
		w.text(h, text[:cut], "")
		text = text[cut:]
	}
	if text != "" {
		w.text(h, text, "")
	}
}

// pdfText makes chat text safe for the PDF: hidden characters made
// visible (Visible), tabs as spaces. Characters no font draws are
// dealt with as the text is drawn (typer).
func pdfText(s string) string {
	return strings.ReplaceAll(Visible(s), "\t", "    ")
}

// stamp writes t in UTC with the organisation's local time beside it:
// "2025-03-04 09:00:00 UTC (10:00 CET)".
func stamp(t time.Time, tz *time.Location) string {
	s := t.UTC().Format("2006-01-02 15:04:05 UTC")
	if tz == nil || tz == time.UTC {
		return s
	}
	l := t.In(tz)
	if l.Format(time.DateOnly) != t.UTC().Format(time.DateOnly) {
		return s + " (" + l.Format("2006-01-02 15:04 MST") + ")"
	}
	return s + " (" + l.Format("15:04 MST") + ")"
}

// readAll reads r whole, at most max bytes.
func readAll(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return b, nil
}
