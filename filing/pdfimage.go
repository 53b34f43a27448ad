package filing

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
)

// pdfaImage returns an attached image as the PDF can hold it in PDF/A
// with its RGB output intent, and fpdf's image type for it: nothing
// transparent (a PNG or GIF with transparency, which fpdf would give a
// soft mask, is drawn onto white), no CMYK (a CMYK JPEG, whose device
// colours PDF/A allows only with a CMYK output intent, is converted to
// RGB) and no 16-bit PNG (which fpdf refuses); other images as they
// are. typ is imgType's; ok is false when the image cannot be decoded.
// The PNGs and GIFs it decodes are bounded by maxImagePixels (checked
// before).
func pdfaImage(data []byte, typ string) (out []byte, outTyp string, ok bool) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, "", false
	}
	switch typ {
	case "JPG":
		if cfg.ColorModel != color.CMYKModel {
			return data, typ, true
		}
	case "PNG", "GIF":
		if typ == "PNG" && !needsFlattening(cfg.ColorModel) {
			return data, typ, true
		}
	default:
		return data, typ, true
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, "", false
	}
	if o, isOpaque := img.(interface{ Opaque() bool }); typ == "GIF" && isOpaque && o.Opaque() {
		return data, typ, true
	}
	rgb := image.NewRGBA(img.Bounds())
	draw.Draw(rgb, rgb.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(rgb, rgb.Bounds(), img, img.Bounds().Min, draw.Over)
	var b bytes.Buffer
	if typ == "JPG" {
		if err := jpeg.Encode(&b, rgb, &jpeg.Options{Quality: 90}); err != nil {
			return nil, "", false
		}
		return b.Bytes(), "JPG", true
	}
	// rgb is opaque, so the encoder writes 8-bit RGB without alpha.
	if err := png.Encode(&b, rgb); err != nil {
		return nil, "", false
	}
	return b.Bytes(), "PNG", true
}

// needsFlattening reports whether a PNG of colour model m may hold
// transparency or 16-bit samples. (A paletted PNG's palette may hold
// transparent colours: it is decoded to find out.)
func needsFlattening(m color.Model) bool {
	switch m {
	case color.RGBAModel, color.GrayModel:
		// image/png reports 8-bit truecolour without alpha as RGBA; a
		// tRNS chunk makes it NRGBA.
		return false
	}
	if p, ok := m.(color.Palette); ok {
		for _, c := range p {
			if _, _, _, a := c.RGBA(); a != 0xffff {
				return true
			}
		}
		return false
	}
	return true
}
