package filing

import (
	"bytes"
	"fmt"
	"io"
	"time"
)

// PDFDoc is an A4 PDF/A-2b document (units: millimetres) for recordbot's
// other printed documents (the disposal certificate): the same output
// intent, metadata, fonts for every script and checks as the PDF
// transcript. Its text goes through Font, Text and Cell, never through
// fpdf's core fonts.
type PDFDoc struct {
	t *typer
}

// NewPDFDoc starts a document with its title, subject, keywords and
// identifier (in its XMP metadata and information dictionary), dated at.
func NewPDFDoc(title, subject, keywords, id string, at time.Time) *PDFDoc {
	p := newPDFA(pdfMeta{Title: title, Subject: subject, Keywords: keywords, ID: id, Date: at})
	p.SetMargins(15, 15, 15)
	p.SetAutoPageBreak(true, 15)
	p.AliasNbPages("{nb}")
	return &PDFDoc{t: newTyper(p)}
}

// AddPage starts a page.
func (d *PDFDoc) AddPage() { d.t.AddPage() }

// Font sets the style ("", "B", "I") and size (points) of what follows.
func (d *PDFDoc) Font(style string, size float64) { d.t.font(style, size) }

// Text writes s as a paragraph from the current position, lines h high,
// wrapped at the right margin; the position then at the next line.
func (d *PDFDoc) Text(h float64, s string) { d.t.multi(h, pdfText(s)) }

// Cell writes s on one line w wide (to the right margin when 0), cut
// short if too long, aligned "L", "C" or "R", on a light grey when fill;
// the position moves to its right.
func (d *PDFDoc) Cell(w, h float64, s, align string, fill bool) {
	d.t.SetFillColor(0xe8, 0xe8, 0xe8)
	d.t.cell(w, h, pdfText(s), align, fill)
}

// Line draws a line from (x1, y1) to (x2, y2).
func (d *PDFDoc) Line(x1, y1, x2, y2 float64) {
	d.t.SetDrawColor(0, 0, 0)
	d.t.SetLineWidth(0.3)
	d.t.Line(x1, y1, x2, y2)
}

// Ln moves to the start of the next line, h below.
func (d *PDFDoc) Ln(h float64) { d.t.Ln(h) }

// XY returns the current position.
func (d *PDFDoc) XY() (float64, float64) { return d.t.GetXY() }

// SetXY moves the current position.
func (d *PDFDoc) SetXY(x, y float64) { d.t.SetXY(x, y) }

// SpaceLeft is how far the current position is from the bottom margin.
func (d *PDFDoc) SpaceLeft() float64 {
	_, ph := d.t.GetPageSize()
	_, _, _, bm := d.t.GetMargins()
	return ph - bm - d.t.GetY()
}

// WriteTo finishes the document (saying, at its end, which characters
// it could not show, if any) and writes it to w.
func (d *PDFDoc) WriteTo(w io.Writer) (int64, error) {
	if note := d.t.missingNote(); note != "" {
		d.t.font("I", 8)
		d.t.multi(4, note)
	}
	var doc pdfDoc
	if err := d.t.Output(&doc); err != nil {
		return 0, fmt.Errorf("PDF: %w", err)
	}
	var b bytes.Buffer
	if err := finishPDF(doc.data, &b); err != nil {
		return 0, fmt.Errorf("PDF: %w", err)
	}
	return b.WriteTo(w)
}
