package filing

// The files of a message in the PDF transcript: attached images shown
// inline (bounded in number, bytes and pixels), every other file named.

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"strings"

	"codeberg.org/go-pdf/fpdf"
	"github.com/recordbot/recordbot/capture"
)

// showable reports whether an attached file is an image small enough to
// show inside the transcripts (the HTML shows them all; the PDF shows
// those its budget allows).
func showable(f capture.File) bool {
	return f.Path != "" && imgType(f.MIMEType) != "" && f.Size >= 0 && f.Size <= maxInlineImage
}

// file writes one attached file: a small image inline while the PDF's
// image budget lasts, else its name, size and a link to it inside the
// package.
func (w *pdfWriter) file(ctx context.Context, f capture.File) {
	w.font("", 8.5)
	if f.Path == "" {
		w.SetTextColor(0xa4, 0x00, 0x0f)
		msg := "File not captured: " + f.Name
		if f.Error != "" {
			msg += " (" + f.Error + ")"
		}
		w.multi(4.5, pdfText(msg))
		w.SetTextColor(0, 0, 0)
		return
	}
	rel := strings.TrimPrefix(f.Path, "data/")
	label := "File: "
	if showable(f) && w.load != nil {
		if r, ok := w.registered[f.Path]; ok && w.shown < pdfImages {
			w.place(f, r)
			w.shown++
			return
		}
		if w.shown < pdfImages && w.read+f.Size <= pdfImageBytes {
			data, err := w.load(ctx, f.Path)
			w.read += max(int64(len(data)), f.Size)
			if err == nil && w.image(f, data) {
				w.shown++
				return
			}
		} else {
			w.left++
			label = "Image not shown in this PDF (see the note at its end): "
		}
	}
	w.Write(4.5, label)
	w.SetTextColor(0x1a, 0x4f, 0xa0)
	w.text(4.5, pdfText(f.Name), rel)
	w.SetTextColor(60, 60, 60)
	w.text(4.5, pdfText(fmt.Sprintf("  (%s%s, %s)", humanSize(f.Size), firstNonEmpty(", "+f.MIMEType, ""), rel)), "")
	w.SetTextColor(0, 0, 0)
	w.ln(5)
}

// imagesNote says, at the end of a PDF that left images out, how many
// and why, and where they are.
func (w *pdfWriter) imagesNote() string {
	return fmt.Sprintf("This PDF shows %d of the thread's %d images: it shows at most %d, read from at most %s of image files. "+
		"The other %d are named where they were attached, with their place in this package (files/...). Every attached file, "+
		"these images included, is kept whole in the files folder beside this transcript, listed in manifest-sha256.txt, "+
		"and transcript.html shows every image.",
		w.shown, w.showable, pdfImages, humanSize(pdfImageBytes), w.showable-w.shown)
}

// image shows an attached image at most 90 mm wide and 70 mm high, with
// its name under it; false if it cannot be decoded.
func (w *pdfWriter) image(f capture.File, data []byte) bool {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width == 0 || cfg.Height == 0 {
		return false
	}
	if t := imgType(f.MIMEType); (t == "PNG" || t == "GIF") && cfg.Width*cfg.Height > maxImagePixels {
		return false
	}
	data, typ, ok := pdfaImage(data, imgType(f.MIMEType))
	if !ok {
		return false
	}
	w.images++
	name := fmt.Sprintf("img%d", w.images)
	info := w.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: typ}, bytes.NewReader(data))
	if w.Err() {
		w.ClearError()
		return false
	}
	_ = info
	r := registeredImage{name: name, width: cfg.Width, height: cfg.Height, typ: typ}
	if w.registered == nil {
		w.registered = make(map[string]registeredImage)
	}
	w.registered[f.Path] = r
	w.place(f, r)
	return true
}

// registeredImage is an image registered with fpdf under name.
type registeredImage struct {
	name, typ     string
	width, height int
}

// place draws the registered image r of f at most 90 mm wide and 70 mm
// high, with its name under it.
func (w *pdfWriter) place(f capture.File, r registeredImage) {
	name := r.name
	cfg := struct{ Width, Height int }{r.width, r.height}
	// 96 dpi, bounded.
	wd := float64(cfg.Width) * 25.4 / 96
	ht := float64(cfg.Height) * 25.4 / 96
	if wd > 90 {
		ht, wd = ht*90/wd, 90
	}
	if ht > 70 {
		wd, ht = wd*70/ht, 70
	}
	if w.GetY()+ht+6 > 297-22 {
		w.AddPage()
	}
	y := w.GetY()
	w.ImageOptions(name, 17, y, wd, ht, false, fpdf.ImageOptions{ImageType: r.typ}, 0, strings.TrimPrefix(f.Path, "data/"))
	w.SetY(y + ht + 0.5)
	w.font("I", 7.5)
	w.SetTextColor(80, 80, 80)
	w.SetX(17)
	w.cell(0, 4, pdfText(f.Name+" ("+humanSize(f.Size)+")"), "L", false)
	w.Ln(4)
	w.SetTextColor(0, 0, 0)
}

// imgType is fpdf's name for an image MIME type, "" if it cannot show it.
func imgType(mime string) string {
	switch strings.ToLower(strings.TrimSpace(strings.Split(mime, ";")[0])) {
	case "image/png":
		return "PNG"
	case "image/jpeg", "image/jpg":
		return "JPG"
	case "image/gif":
		return "GIF"
	}
	return ""
}
