// Package pdfacheck is a test rig: a check of the clauses of PDF/A-2b
// (ISO 19005-2) that apply to the PDFs recordbot writes, for its tests,
// since no PDF/A validator can be installed where they run.
//
// It is NOT a validator and no substitute for one: it reads only the
// kind of file recordbot writes (one revision, a classic
// cross-reference table) and checks only the clauses listed at Check.
// An archive should validate what it ingests with veraPDF
// (https://verapdf.org), the PDF Association's reference validator for
// every part of PDF/A; see docs/pdfa.md.
package pdfacheck

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// Check returns what in pdf breaks the PDF/A-2b clauses it checks (nil
// when nothing does). Clause numbers are those of ISO 19005-2, as
// veraPDF's rules for PDF/A-2 number them
// (https://docs.verapdf.org/validation/pdfa-part2/):
//
//   - 6.1.2: the header is %PDF-1.n (n from 0 to 7) and the second line
//     a comment of at least four bytes of 128 or more;
//   - 6.1.3: the trailer has /ID and no /Encrypt;
//   - 6.2.2, 6.2.4.3: the catalog has a PDF/A output intent
//     (/S /GTS_PDFA1) whose profile is an ICC profile with as many
//     components as its /N says (RGB here, which DeviceRGB needs);
//   - 6.6.2, 6.6.4: the catalog's /Metadata is an unfiltered XMP stream
//     that identifies the file as PDF/A part 2, conformance B;
//   - 6.6.3: each entry of the document information dictionary has
//     its XMP property with the same value (dates compared as instants);
//   - 6.2.11.4, 6.2.11.5: every font is embedded, and the widths a
//     CIDFontType2 font declares (/W) are those of its embedded glyphs;
//   - 6.2.11.8: no text shows the .notdef glyph (for the Identity-H
//     Type0 fonts recordbot uses);
//   - 6.5, 6.6.1: no JavaScript, no additional actions (/AA), no
//     /OpenAction, and only /URI and /GoTo actions;
//   - 6.3.2: every annotation has /F with Print set and Hidden,
//     Invisible and NoView clear;
//   - 6.2.10 (as recordbot applies it: nothing transparent at all): no
//     transparency group, soft mask, constant alpha below 1 or blend
//     mode other than Normal;
//   - 6.2.4.3: no DeviceCMYK image with the RGB output intent;
//   - 6.1.7, 6.2.9: no external streams (/F on a stream), no PostScript
//     or reference XObjects, no embedded files.
func Check(pdf []byte) []string {
	var c checker
	c.run(pdf)
	return c.problems
}

type checker struct {
	f        *file
	problems []string
}

func (c *checker) fail(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *checker) run(pdf []byte) {
	// 6.1.2 header.
	nl := bytes.IndexAny(pdf, "\r\n")
	if nl < 0 || nl != 8 || !bytes.HasPrefix(pdf, []byte("%PDF-1.")) || pdf[7] < '0' || pdf[7] > '7' {
		c.fail("6.1.2: the file does not start with a %%PDF-1.n header line")
	} else {
		rest := bytes.TrimLeft(pdf[nl:], "\r\n")
		if len(rest) < 5 || rest[0] != '%' || rest[1] < 128 || rest[2] < 128 || rest[3] < 128 || rest[4] < 128 {
			c.fail("6.1.2: the header is not followed by a comment of four bytes of 128 or more")
		}
	}
	f, err := parseFile(pdf)
	if err != nil {
		c.fail("the file cannot be read: %v", err)
		return
	}
	c.f = f
	// 6.1.3 trailer.
	if id := f.array(f.trailer["ID"]); len(id) != 2 {
		c.fail("6.1.3: the trailer has no /ID of two strings")
	} else if _, ok := id[0].(string); !ok || id[0] == "" {
		c.fail("6.1.3: the trailer's /ID is not a string")
	}
	if _, ok := f.trailer["Encrypt"]; ok {
		c.fail("6.1.3: the file is encrypted")
	}
	cat := f.dict(f.trailer["Root"])
	if cat == nil || f.name(cat["Type"]) != "Catalog" {
		c.fail("the trailer's /Root is not a catalog")
		return
	}
	c.outputIntent(cat)
	c.glyphs(cat)
	xmp := c.metadata(cat)
	c.info(xmp)
	for _, k := range []name{"OpenAction", "AA"} {
		if _, ok := cat[k]; ok {
			c.fail("6.5/6.6.1: the catalog has /%s", k)
		}
	}
	if names := f.dict(cat["Names"]); names != nil {
		if _, ok := names["JavaScript"]; ok {
			c.fail("6.6.1: the catalog's name tree has JavaScript")
		}
		if ef := f.dict(names["EmbeddedFiles"]); ef != nil && (len(f.array(ef["Names"])) > 0 || len(f.array(ef["Kids"])) > 0) {
			c.fail("6.9 (recordbot): the file has embedded files")
		}
	}
	// Every object, for what may not be anywhere.
	for num := range f.offsets {
		v, err := f.object(num)
		if err != nil {
			c.fail("the file cannot be read: %v", err)
			continue
		}
		c.object(num, v)
	}
}

func (c *checker) outputIntent(cat dict) {
	f := c.f
	found := false
	for _, oi := range f.array(cat["OutputIntents"]) {
		d := f.dict(oi)
		if f.name(d["S"]) != "GTS_PDFA1" {
			continue
		}
		found = true
		v, err := f.resolve(d["DestOutputProfile"])
		s, ok := v.(*stream)
		if err != nil || !ok {
			c.fail("6.2.4.3: the PDF/A output intent has no /DestOutputProfile stream")
			continue
		}
		icc, err := f.decode(s)
		if err != nil || len(icc) < 128 || string(icc[36:40]) != "acsp" {
			c.fail("6.2.4.3: the output intent's profile is not an ICC profile")
			continue
		}
		n, _ := f.integer(s.dict["N"])
		space := string(icc[16:20])
		if want := map[string]int{"RGB ": 3, "GRAY": 1, "CMYK": 4}[space]; want == 0 || want != n {
			c.fail("6.2.4.3: the ICC profile's colour space %q does not agree with /N %d", space, n)
		}
		if space != "RGB " {
			c.fail("6.2.4.3: the output intent is %q, not RGB, which the DeviceRGB colours need", space)
		}
		if cls := string(icc[12:16]); cls != "mntr" && cls != "prtr" {
			c.fail("6.2.4.3: the ICC profile's class is %q, not an output or monitor profile", cls)
		}
	}
	if !found {
		c.fail("6.2.4.3: the catalog has no PDF/A output intent (/OutputIntents with /S /GTS_PDFA1)")
	}
}

// xmpProps are the properties of an XMP packet, by namespace and name:
// the first value of each (for an rdf:Alt, rdf:Seq or rdf:Bag, its
// first item).
type xmpProps map[string]string

const (
	nsDC     = "http://purl.org/dc/elements/1.1/"
	nsXMP    = "http://ns.adobe.com/xap/1.0/"
	nsPDF    = "http://ns.adobe.com/pdf/1.3/"
	nsPDFAID = "http://www.aiim.org/pdfa/ns/id/"
	nsRDF    = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
)

func (c *checker) metadata(cat dict) xmpProps {
	v, err := c.f.resolve(cat["Metadata"])
	s, ok := v.(*stream)
	if err != nil || !ok || c.f.name(s.dict["Type"]) != "Metadata" || c.f.name(s.dict["Subtype"]) != "XML" {
		c.fail("6.6.2: the catalog has no /Metadata XMP stream")
		return nil
	}
	if _, ok := s.dict["Filter"]; ok {
		c.fail("6.6.2: the XMP metadata stream is filtered")
		return nil
	}
	props, err := parseXMP(s.raw)
	if err != nil {
		c.fail("6.6.2: the XMP metadata cannot be read: %v", err)
		return nil
	}
	if props[nsPDFAID+"part"] != "2" {
		c.fail("6.6.4: the XMP's pdfaid:part is %q, not 2", props[nsPDFAID+"part"])
	}
	if props[nsPDFAID+"conformance"] != "B" {
		c.fail("6.6.4: the XMP's pdfaid:conformance is %q, not B", props[nsPDFAID+"conformance"])
	}
	return props
}

func parseXMP(data []byte) (xmpProps, error) {
	props := xmpProps{}
	d := xml.NewDecoder(bytes.NewReader(data))
	var stack []xml.Name
	for {
		tok, err := d.Token()
		if err != nil {
			if len(stack) == 0 && strings.Contains(err.Error(), "EOF") {
				return props, nil
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space == nsRDF && t.Name.Local == "Description" {
				for _, a := range t.Attr {
					if a.Name.Space != nsRDF && a.Name.Space != "" && a.Name.Space != "xmlns" {
						props.set(a.Name.Space+a.Name.Local, a.Value)
					}
				}
			}
			stack = append(stack, t.Name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			// The property is the nearest element that is not RDF.
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i].Space != nsRDF {
					if strings.TrimSpace(string(t)) != "" || stack[len(stack)-1] == stack[i] || stack[len(stack)-1].Local == "li" {
						props.set(stack[i].Space+stack[i].Local, string(t))
					}
					break
				}
			}
		}
	}
}

func (p xmpProps) set(k, v string) {
	if _, ok := p[k]; !ok {
		p[k] = v
	}
}

// info checks that each entry of the document information dictionary
// has its XMP equivalent, with the same value (6.6.3).
func (c *checker) info(xmp xmpProps) {
	info := c.f.dict(c.f.trailer["Info"])
	if _, ok := c.f.trailer["Info"]; ok && info == nil {
		c.fail("6.6.3: the trailer's /Info is not a dictionary")
		return
	}
	pairs := []struct {
		key  name
		prop string
	}{{"Title", nsDC + "title"}, {"Author", nsDC + "creator"}, {"Subject", nsDC + "description"}, {"Keywords", nsPDF + "Keywords"},
		{"Creator", nsXMP + "CreatorTool"}, {"Producer", nsPDF + "Producer"}, {"CreationDate", nsXMP + "CreateDate"}, {"ModDate", nsXMP + "ModifyDate"}}
	for _, p := range pairs {
		v, ok := info[p.key]
		if !ok {
			continue
		}
		raw, _ := c.f.resolve(v)
		s, ok := raw.(string)
		if !ok {
			c.fail("6.6.3: /Info /%s is not a string", p.key)
			continue
		}
		got := textString(s)
		want, ok := xmp[p.prop]
		if !ok {
			c.fail("6.6.3: /Info /%s has no XMP equivalent %s", p.key, p.prop)
			continue
		}
		if strings.HasSuffix(string(p.key), "Date") {
			a, err1 := pdfDate(got)
			b, err2 := time.Parse(time.RFC3339, want)
			if err1 != nil || err2 != nil || !a.Equal(b) {
				c.fail("6.6.3: /Info /%s %q does not agree with its XMP %q", p.key, got, want)
			}
			continue
		}
		if got != want {
			c.fail("6.6.3: /Info /%s %q does not agree with its XMP %q", p.key, got, want)
		}
	}
}

// textString decodes a PDF text string (UTF-16BE with its byte order
// mark, or PDFDocEncoding, read as Latin-1).
func textString(s string) string {
	if strings.HasPrefix(s, "\xfe\xff") && len(s)%2 == 0 {
		u := make([]uint16, 0, len(s)/2)
		for i := 2; i+1 < len(s); i += 2 {
			u = append(u, uint16(s[i])<<8|uint16(s[i+1]))
		}
		return string(utf16.Decode(u))
	}
	r := make([]rune, len(s))
	for i := range len(s) {
		r[i] = rune(s[i])
	}
	return string(r)
}

// pdfDate reads a PDF date with its time zone (D:YYYYMMDDHHmmSSZ or
// ±HH'mm'); one without a time zone is not an instant and is an error.
func pdfDate(s string) (time.Time, error) {
	s = strings.TrimPrefix(s, "D:")
	if len(s) < 15 {
		return time.Time{}, fmt.Errorf("date %q has no time zone", s)
	}
	tz := s[14:]
	switch {
	case tz == "Z" || tz == "Z00'00'" || tz == "Z00'00":
		return time.Parse("20060102150405Z07:00", s[:14]+"Z")
	case len(tz) >= 6 && (tz[0] == '+' || tz[0] == '-'):
		return time.Parse("20060102150405-07:00", s[:14]+tz[:3]+":"+tz[4:6])
	}
	return time.Time{}, fmt.Errorf("date %q has no time zone", s)
}

var forbiddenKeys = []name{"JavaScript", "JS", "AA", "Encrypt", "OPI", "PS"}

// object checks one object for what PDF/A forbids anywhere.
func (c *checker) object(num int, v any) {
	f := c.f
	d := f.dict(v)
	if d == nil {
		return
	}
	for _, k := range forbiddenKeys {
		if _, ok := d[k]; ok {
			c.fail("6.5/6.6.1: object %d has /%s", num, k)
		}
	}
	if s, ok := v.(*stream); ok {
		if _, ext := s.dict["F"]; ext {
			c.fail("6.1.7: object %d is an external stream (/F)", num)
		}
	}
	switch f.name(d["Type"]) {
	case "Annot":
		flags, err := f.integer(d["F"])
		if f.name(d["Subtype"]) != "Popup" && (err != nil || flags&4 == 0 || flags&(1|2|32) != 0) {
			c.fail("6.3.2: annotation %d has no /F with Print set and Hidden, Invisible and NoView clear", num)
		}
	case "Font":
		c.font(num, d)
	case "Action":
	}
	if s := f.name(d["S"]); s != "" && d["Type"] != name("OutputIntent") {
		switch s {
		case "URI", "GoTo", "GTS_PDFA1":
		case "Transparency":
			c.fail("6.2.10 (recordbot): object %d is a transparency group", num)
		default:
			c.fail("6.5.1: object %d is a %s action", num, s)
		}
	}
	if a := f.dict(d["A"]); a != nil {
		if s := f.name(a["S"]); s != "URI" && s != "GoTo" {
			c.fail("6.5.1: object %d has a %s action", num, s)
		}
	}
	if g := f.dict(d["Group"]); g != nil && f.name(g["S"]) == "Transparency" {
		c.fail("6.2.10 (recordbot): object %d has a transparency group", num)
	}
	if sm, ok := d["SMask"]; ok && f.name(sm) != "None" {
		c.fail("6.2.10 (recordbot): object %d has a soft mask", num)
	}
	for _, k := range []name{"CA", "ca"} {
		if a, ok := f.number(d[k]); ok && a < 1 {
			c.fail("6.2.10 (recordbot): object %d has constant alpha /%s %v", num, k, a)
		}
	}
	if bm := f.name(d["BM"]); bm != "" && bm != "Normal" && bm != "Compatible" {
		c.fail("6.2.10 (recordbot): object %d has blend mode %s", num, bm)
	}
	if f.name(d["Subtype"]) == "Image" && f.name(d["ColorSpace"]) == "DeviceCMYK" {
		c.fail("6.2.4.3: image %d is DeviceCMYK, which the RGB output intent does not allow", num)
	}
	if f.name(d["Subtype"]) == "PS" || (f.name(d["Type"]) == "XObject" && d["Ref"] != nil) {
		c.fail("6.2.9: object %d is a PostScript or reference XObject", num)
	}
}

// font checks that a font is embedded and, for a TrueType CID font,
// that its declared widths are its glyphs' (6.2.11.4, 6.2.11.5).
func (c *checker) font(num int, d dict) {
	f := c.f
	switch f.name(d["Subtype"]) {
	case "Type0":
		for _, df := range f.array(d["DescendantFonts"]) {
			if f.dict(df) == nil {
				c.fail("6.2.11.4: font %d has a descendant font that is not a dictionary", num)
			}
		}
		return
	case "Type3":
		return
	}
	fd := f.dict(d["FontDescriptor"])
	if fd == nil {
		c.fail("6.2.11.4: font %d (%s) has no font descriptor: it is not embedded", num, f.name(d["BaseFont"]))
		return
	}
	var prog *stream
	for _, k := range []name{"FontFile", "FontFile2", "FontFile3"} {
		if v, err := f.resolve(fd[k]); err == nil {
			if s, ok := v.(*stream); ok {
				prog = s
			}
		}
	}
	if prog == nil {
		c.fail("6.2.11.4: font %d (%s) is not embedded", num, f.name(d["BaseFont"]))
		return
	}
	if f.name(d["Subtype"]) != "CIDFontType2" || fd["FontFile2"] == nil {
		return
	}
	data, err := f.decode(prog)
	if err != nil {
		c.fail("6.2.11.4: font %d's program cannot be read: %v", num, err)
		return
	}
	ttf, err := sfnt.Parse(data)
	if err != nil {
		c.fail("6.2.11.4: font %d's program is not a TrueType font: %v", num, err)
		return
	}
	var cidToGID []byte
	if v, _ := f.resolve(d["CIDToGIDMap"]); v != nil {
		if s, ok := v.(*stream); ok {
			if cidToGID, err = f.decode(s); err != nil {
				c.fail("6.2.11.4: font %d's CIDToGIDMap cannot be read", num)
				return
			}
		}
	}
	upem := int(ttf.UnitsPerEm())
	var buf sfnt.Buffer
	dw := 1000.0
	if v, ok := f.number(d["DW"]); ok {
		dw = v
	}
	_ = dw
	w := f.array(d["W"])
	bad, first := 0, ""
	check := func(cid int, width float64) {
		gid := cid
		if cidToGID != nil {
			if 2*cid+1 >= len(cidToGID) {
				bad++
				return
			}
			gid = int(cidToGID[2*cid])<<8 | int(cidToGID[2*cid+1])
		}
		if gid == 0 {
			// A CID of the .notdef glyph: fpdf declares widths for
			// codes it does not use; widths only matter for glyphs
			// shown, and no text recordbot writes shows .notdef (this
			// check does not read the content streams to prove it).
			return
		}
		adv, err := ttf.GlyphAdvance(&buf, sfnt.GlyphIndex(gid), fixed.I(upem), 0)
		if err != nil {
			bad++
			return
		}
		// veraPDF allows a difference of one unit in a thousand.
		got := float64(adv) / 64 * 1000 / float64(upem)
		if d := got - width; d > 1 || d < -1 {
			if bad == 0 {
				first = fmt.Sprintf("CID %d (glyph %d) is %.0f wide in /W, %.0f in the font", cid, gid, width, got)
			}
			bad++
		}
	}
	for i := 0; i < len(w); {
		start, ok := f.number(w[i])
		if !ok || i+1 >= len(w) {
			c.fail("6.2.11.5: font %d has a malformed /W", num)
			return
		}
		if arr := f.array(w[i+1]); arr != nil {
			for k, x := range arr {
				n, _ := f.number(x)
				check(int(start)+k, n)
			}
			i += 2
			continue
		}
		last, ok1 := f.number(w[i+1])
		if i+2 >= len(w) || !ok1 {
			c.fail("6.2.11.5: font %d has a malformed /W", num)
			return
		}
		n, _ := f.number(w[i+2])
		for cid := int(start); cid <= int(last); cid++ {
			check(cid, n)
		}
		i += 3
	}
	if bad > 0 {
		c.fail("6.2.11.5: font %d (%s): %d widths in /W differ from the embedded glyphs' (the first: %s)", num, f.name(d["BaseFont"]), bad, first)
	}
}
