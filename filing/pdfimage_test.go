package filing

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/internal/pdfacheck"
)

// Images with transparency (PNG alpha, a GIF's transparent colour) and
// 16-bit PNGs are shown in the PDF, flattened onto white: nothing
// transparent, and PDF/A-2b by the check.
func TestRenderPDFImagesFlattened(t *testing.T) {
	alpha := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	deep := image.NewNRGBA64(image.Rect(0, 0, 40, 30))
	pal := image.NewPaletted(image.Rect(0, 0, 40, 30), color.Palette{color.Transparent, color.RGBA{200, 0, 0, 255}})
	for y := range 30 {
		for x := range 40 {
			alpha.Set(x, y, color.NRGBA{0, 0, 255, uint8(x * 6)})
			deep.Set(x, y, color.NRGBA64{uint16(x) << 10, 0, 0, 0xffff})
			pal.SetColorIndex(x, y, uint8((x/5)%2))
		}
	}
	enc := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	var g bytes.Buffer
	if err := gif.Encode(&g, pal, nil); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"data/files/a.png": enc(alpha), "data/files/d.png": enc(deep), "data/files/g.gif": g.Bytes()}
	th, _ := longThread(3)
	mime := map[string]string{"a.png": "image/png", "d.png": "image/png", "g.gif": "image/gif"}
	th.Messages[1].Files = nil
	for name, typ := range mime {
		th.Messages[1].Files = append(th.Messages[1].Files, capture.File{Name: name, MIMEType: typ, Size: int64(len(files["data/files/"+name])), Path: "data/files/" + name})
	}
	for i := range th.Messages {
		if i != 1 {
			th.Messages[i].Files = nil
		}
	}
	load := func(_ context.Context, p string) ([]byte, error) { return files[p], nil }
	pdf, err := pdfBytes(context.Background(), testRecord(th), th, nil, load)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(pdf), "/Subtype /Image"); got != 3 {
		t.Errorf("images shown = %d, want 3", got)
	}
	if p := pdfacheck.Check(pdf); len(p) > 0 {
		t.Fatalf("not PDF/A-2b:\n%s", strings.Join(p, "\n"))
	}
}
