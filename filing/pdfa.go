package filing

import (
	_ "embed"
	"html"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/goregular"
)

// srgbProfile is the ICC's sRGB profile (sRGB2014.icc, ICC v2), as
// shipped with codeberg.org/go-pdf/fpdf v0.12.0 (its icc/ folder). Its
// licence (pdfa_sRGB2014.LICENSE, from the ICC) lets it be copied and
// embedded without restriction.
//
//go:embed pdfa_sRGB2014.icc
var srgbProfile []byte

// srgbIntent is the PDF/A output intent: every colour recordbot draws is
// DeviceRGB (or DeviceGray), which PDF/A-2 allows only with an output
// intent whose profile is RGB (ISO 19005-2, 6.2.4.3; veraPDF rule
// 6.2.4.3-2). /S /GTS_PDFA1 is the subtype for every part of PDF/A.
var srgbIntent = fpdf.OutputIntentType{
	SubtypeIdent:              fpdf.OutputIntent_GTS_PDFA1,
	OutputConditionIdentifier: "sRGB IEC61966-2.1",
	Info:                      "sRGB IEC61966-2.1",
	ICCProfile:                srgbProfile,
}

// pdfMeta is what a PDF/A document says about itself, in its document
// information dictionary and, with the same values, its XMP metadata.
type pdfMeta struct {
	Title, Subject, Keywords, ID string
	Date                         time.Time
}

// newPDFA starts an A4 PDF/A-2b document (millimetres): the output
// intent, the metadata in the information dictionary and in XMP, the
// language, and the Go fonts (family "go", styles "", "B", "I")
// embedded. Everything written into it must use fonts from pdfFonts
// (the fonts the text functions choose), never fpdf's core fonts, which
// are not embedded. Its pages are compressed by finishPDF, which writes
// it out.
func newPDFA(m pdfMeta) *fpdf.Fpdf {
	p := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	p.SetCompression(false)
	p.SetCatalogSort(true)
	p.AddOutputIntent(srgbIntent)
	// The values as they are in XMP: an information dictionary entry and
	// its XMP property must be equal (ISO 19005-2, 6.6.3; veraPDF rules
	// 6.6.3-*), so hidden characters are made visible in both.
	title, subject, keywords := xmlText(m.Title), xmlText(m.Subject), xmlText(m.Keywords)
	at := m.Date.UTC()
	p.SetCreationDate(at)
	p.SetModificationDate(at)
	// fpdf writes characters beyond U+FFFF into the information
	// dictionary wrongly; such an entry is left out there (XMP, the
	// metadata PDF/A reads, has it whole).
	if bmp(title) {
		p.SetTitle(title, true)
	}
	if bmp(subject) {
		p.SetSubject(subject, true)
	}
	p.SetAuthor(Agent, true)
	p.SetCreator(Agent, true)
	p.SetProducer(Agent, true)
	if bmp(keywords) {
		p.SetKeywords(keywords, true)
	}
	p.SetLang("en")
	p.SetXmpMetadata(xmpMetadata(title, subject, keywords, xmlText(m.ID), at))
	p.AddUTF8FontFromBytes("go", "", goregular.TTF)
	p.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	p.AddUTF8FontFromBytes("go", "I", goitalic.TTF)
	return p
}

// xmpMetadata is a document's XMP packet: Dublin Core title, creator
// (the author), description (the subject), the XMP and PDF properties
// that mirror the information dictionary, and the PDF/A-2b
// identification (ISO 19005-2, 6.6.4).
func xmpMetadata(title, subject, keywords, id string, at time.Time) []byte {
	esc := html.EscapeString
	date := at.UTC().Format("2006-01-02T15:04:05Z")
	return []byte(`<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
<dc:format>application/pdf</dc:format>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">` + esc(title) + `</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>` + esc(Agent) + `</rdf:li></rdf:Seq></dc:creator>
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">` + esc(subject) + `</rdf:li></rdf:Alt></dc:description>
<dc:identifier>` + esc(id) + `</dc:identifier>
<xmp:CreateDate>` + date + `</xmp:CreateDate>
<xmp:ModifyDate>` + date + `</xmp:ModifyDate>
<xmp:MetadataDate>` + date + `</xmp:MetadataDate>
<xmp:CreatorTool>` + esc(Agent) + `</xmp:CreatorTool>
<pdf:Producer>` + esc(Agent) + `</pdf:Producer>
<pdf:Keywords>` + esc(keywords) + `</pdf:Keywords>
<pdfaid:part>2</pdfaid:part>
<pdfaid:conformance>B</pdfaid:conformance>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`)
}

// bmp reports whether every character of s is in the Basic Multilingual
// Plane.
func bmp(s string) bool {
	for _, r := range s {
		if r > 0xffff {
			return false
		}
	}
	return true
}

// xmlText is s with hidden characters made visible (Visible) and the
// characters XML cannot hold (U+FFFE, U+FFFF, surrogates) replaced by
// U+FFFD.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == 0xfffe || r == 0xffff || r >= 0xd800 && r <= 0xdfff {
			return 0xfffd
		}
		return r
	}, Visible(s))
}
