package filing

import (
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
)

// This file holds the only place recordbot changes the bytes the PDF
// library (codeberg.org/go-pdf/fpdf) writes. fpdf v0.12.0 cannot be asked
// for three things PDF/A-2b needs (ISO 19005-2 clauses as summarised in
// veraPDF's rule set, https://docs.verapdf.org/validation/pdfa-part2/):
//
//   - 6.1.3: the trailer holds a file identifier, /ID;
//   - 6.3.2: every annotation (recordbot's links) has the /F key with
//     the Print flag set and Hidden, Invisible and NoView clear;
//   - 6.6.3 (dates): the document information dictionary's dates agree
//     with the XMP metadata, so they carry their time zone (UTC, "Z").
//
// and it names the wrong object as the document information dictionary
// in the trailer once the document has an output intent.
//
// fpdf also gives every page of a PDF 1.4 file a transparency group
// (/Group /S /Transparency), which recordbot, which draws nothing
// transparent, leaves out.
//
// finishPDF reads fpdf's document strictly, as fpdf v0.12.0 writes it:
// any object, table or trailer that is not exactly in that form is an
// error, not a guess, so a change in the library is caught by the tests
// (TestFinishPDFRejects) instead of yielding a damaged file.

// pdfTrailer is the trailer fpdf writes for an unencrypted document.
var pdfTrailer = regexp.MustCompile(`\Atrailer\n<<\n/Size (\d+)\n/Root (\d+) 0 R\n/Info (\d+) 0 R\n>>\nstartxref\n(\d+)\n%%EOF\n\z`)

// pdfInfoDate is a date in fpdf's document information dictionary.
var pdfInfoDate = regexp.MustCompile(`/(CreationDate|ModDate) \(D:(\d{14})\)\n`)

// pdfFontName is the name fpdf gives a font it embeds.
var pdfFontName = regexp.MustCompile(`/(BaseFont|FontName) /utf8[A-Za-z0-9]+`)

// subsetName puts a subset tag, made from the font's name, before the
// name in m.
func subsetName(m []byte) []byte {
	i := bytes.Index(m, []byte(" /utf8")) + 2
	sum := md5.Sum(m[i:])
	tag := make([]byte, 6)
	for k := range tag {
		tag[k] = 'A' + sum[k]%26
	}
	return append(append(append(m[:i:i], tag...), '+'), m[i:]...)
}

const (
	pdfLinkAnnot  = "<</Type /Annot /Subtype /Link /Rect ["
	pdfPageGroup  = "/Group <</Type /Group /S /Transparency /CS /DeviceRGB>>\n"
	pdfPageHeader = " 0 obj\n<</Type /Page\n"
)

// finishPDF writes doc, a PDF as fpdf writes it with compression off, to
// out with the changes above: each object as it was but for those and
// its uncompressed streams compressed, a new cross-reference
// table, and the trailer with an /ID made of the MD5 of everything
// before it (so the same document always has the same id). Nothing is
// written to out when doc is not in the form expected.
func finishPDF(doc []byte, out io.Writer) error {
	doc, err := sortImages(doc)
	if err != nil {
		return err
	}
	objs, info, tr, err := parsePDF(doc)
	if err != nil {
		return err
	}
	// The edits are made first, so that a document not understood leaves
	// out untouched.
	edited := make([][]byte, len(objs))
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	for i, o := range objs {
		body := doc[o.at:o.end]
		stream := fmt.Appendf(nil, "%d 0 obj\n<</Length ", o.num)
		switch {
		case bytes.HasPrefix(body, stream):
			// A stream fpdf left uncompressed, its dictionary only its
			// length (the pages' content and the fonts' ToUnicode maps,
			// which fpdf would compress with a new compressor, over a
			// megabyte, for each page): compressed here with one. Other
			// streams are left as they are.
			rest := body[len(stream):]
			j := bytes.Index(rest, []byte(">>\nstream\n"))
			if j <= 0 || j > 12 {
				break
			}
			n, err := strconv.Atoi(string(rest[:j]))
			if err != nil {
				break
			}
			data := rest[j+len(">>\nstream\n"):]
			if n > len(data) || string(data[n:]) != "\nendstream\nendobj\n" {
				return errors.New("PDF library output not understood: stream " + strconv.Itoa(o.num))
			}
			z.Reset()
			zw.Reset(&z)
			zw.Write(data[:n])
			if err := zw.Close(); err != nil {
				return err
			}
			body = fmt.Appendf(nil, "%d 0 obj\n<</Filter /FlateDecode /Length %d>>\nstream\n%s\nendstream\nendobj\n", o.num, z.Len(), z.Bytes())
		case bytes.HasPrefix(body, fmt.Appendf(nil, "%d%s", o.num, pdfPageHeader)):
			body = bytes.Replace(body, []byte(pdfPageGroup), nil, 1)
			body = bytes.ReplaceAll(body, []byte(pdfLinkAnnot), []byte("<</Type /Annot /Subtype /Link /F 4 /Rect ["))
		case bytes.HasPrefix(body, fmt.Appendf(nil, "%d 0 obj\n<</Type /Font", o.num)):
			// fpdf subsets every font (pdffonts.go's fonts too) but does
			// not name them so: a subset's name starts with six capital
			// letters and "+" (ISO 32000-1, 9.6.4), one tag a font.
			body = pdfFontName.ReplaceAllFunc(body, subsetName)
		case o.num == info:
			if n := len(pdfInfoDate.FindAllIndex(body, -1)); n != 2 {
				return fmt.Errorf("PDF library output not understood: %d dates in the document information", n)
			}
			body = pdfInfoDate.ReplaceAll(body, []byte("/$1 (D:${2}Z)\n"))
		}
		edited[i] = body
	}
	h := md5.New()
	cw := &countWriter{w: io.MultiWriter(out, h)}
	if _, err := cw.Write(doc[:objs[0].at]); err != nil {
		return err
	}
	at := make(map[int]int64, len(objs))
	for i, o := range objs {
		at[o.num] = cw.n
		if _, err := cw.Write(edited[i]); err != nil {
			return err
		}
	}
	xref := cw.n
	var b bytes.Buffer
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", tr.size)
	for n := 1; n < tr.size; n++ {
		fmt.Fprintf(&b, "%010d 00000 n \n", at[n])
	}
	if _, err := cw.Write(b.Bytes()); err != nil {
		return err
	}
	id := hex.EncodeToString(h.Sum(nil))
	b.Reset()
	fmt.Fprintf(&b, "trailer\n<<\n/Size %d\n/Root %d 0 R\n/Info %d 0 R\n/ID [<%s> <%s>]\n>>\nstartxref\n%d\n%%%%EOF\n", tr.size, tr.root, tr.info, id, id, xref)
	_, err = cw.Write(b.Bytes())
	return err
}

// pdfObject is one indirect object of a document: its number, and where
// it starts and ends (after its endobj line).
type pdfObject struct {
	num, at, end int
}

// pdfTrailerInfo is what fpdf's trailer says.
type pdfTrailerInfo struct {
	size, root, info int
}

// parsePDF finds the objects of doc, in the order they are in the file,
// from its cross-reference table, and reads its trailer; an error unless
// doc is a single-revision PDF whose objects 1 to Size-1 are all in use,
// each a "N 0 obj" ... "endobj" block, one after the other.
func parsePDF(doc []byte) (objs []pdfObject, info int, tr pdfTrailerInfo, err error) {
	bad := func(what string) ([]pdfObject, int, pdfTrailerInfo, error) {
		return nil, 0, pdfTrailerInfo{}, errors.New("PDF library output not understood: " + what)
	}
	if !bytes.HasPrefix(doc, []byte("%PDF-1.")) {
		return bad("no PDF header")
	}
	t := bytes.LastIndex(doc, []byte("\ntrailer\n"))
	if t < 0 {
		return bad("no trailer")
	}
	m := pdfTrailer.FindSubmatch(doc[t+1:])
	if m == nil {
		return bad("trailer")
	}
	size, _ := strconv.Atoi(string(m[1]))
	root, _ := strconv.Atoi(string(m[2]))
	info, _ = strconv.Atoi(string(m[3]))
	xrefAt, _ := strconv.Atoi(string(m[4]))
	// fpdf v0.12.0 names object Root-1 as /Info, but with an output
	// intent that is the ICC profile's stream: the information
	// dictionary is the object before it (checked below), and the
	// trailer written names that one.
	if size < 4 || root != size-1 || info != root-1 || xrefAt <= 0 || xrefAt > t {
		return bad("trailer entries")
	}
	info = root - 2
	head := fmt.Sprintf("xref\n0 %d\n0000000000 65535 f \n", size)
	table := doc[xrefAt : t+1]
	if !bytes.HasPrefix(table, []byte(head)) || len(table) != len(head)+20*(size-1) {
		return bad("cross-reference table")
	}
	table = table[len(head):]
	objs = make([]pdfObject, 0, size-1)
	for n := 1; n < size; n++ {
		e := table[(n-1)*20 : n*20]
		off, err := strconv.Atoi(string(e[:10]))
		if err != nil || string(e[10:]) != " 00000 n \n" || off <= 0 || off >= xrefAt {
			return bad("cross-reference entry " + strconv.Itoa(n))
		}
		objs = append(objs, pdfObject{num: n, at: off})
	}
	sort.Slice(objs, func(a, b int) bool { return objs[a].at < objs[b].at })
	for i := range objs {
		end := xrefAt
		if i+1 < len(objs) {
			end = objs[i+1].at
		}
		objs[i].end = end
		body := doc[objs[i].at:end]
		if !bytes.HasPrefix(body, fmt.Appendf(nil, "%d 0 obj\n", objs[i].num)) || !bytes.HasSuffix(body, []byte("\nendobj\n")) {
			return bad("object " + strconv.Itoa(objs[i].num))
		}
		if objs[i].num == info && !bytes.HasPrefix(body, fmt.Appendf(nil, "%d 0 obj\n<<\n/Producer ", info)) {
			return bad("document information dictionary")
		}
	}
	return objs, info, pdfTrailerInfo{size: size, root: root, info: info}, nil
}

// fpdf v0.12.0 writes the images of a document in the order of a map's
// keys, sorted by their width alone (putimages), so two images as wide
// as each other come out in either order, with their object numbers:
// the same transcript would not be the same bytes twice. sortImages puts
// them in the order of their names in the XObject resources (fpdf names
// an image by the SHA-1 of its data, and sorts those names), and numbers
// them in that order.

// pdfImageHead begins every image XObject fpdf writes, after its number.
const pdfImageHead = " 0 obj\n<</Type /XObject\n/Subtype /Image\n"

// pdfImageName is one entry of the XObject resources: an image's name
// and its object.
var pdfImageName = regexp.MustCompile(`(?m)^/I([0-9a-f]{40}) (\d+) 0 R$`)

// pdfImagePart is an image's reference to an object written with it:
// its soft mask, or the palette of an indexed image.
var pdfImagePart = regexp.MustCompile(`(\n/SMask |\n/ColorSpace \[/Indexed /DeviceRGB \d+ )(\d+)( 0 R)`)

// sortImages returns doc with its images, each with the objects written
// with it, in the order of their names and numbered in that order; doc
// itself when it has fewer than two. The images must be one run of
// objects, numbered one after the other, as fpdf writes them, and every
// one named in the resources: anything else is an error.
func sortImages(doc []byte) ([]byte, error) {
	objs, _, tr, err := parsePDF(doc)
	if err != nil {
		return nil, err
	}
	bad := func(what string) ([]byte, error) {
		return nil, errors.New("PDF library output not understood: " + what)
	}
	// dict is an object's dictionary: all of it before its stream.
	dict := func(o pdfObject) []byte {
		body := doc[o.at:o.end]
		if i := bytes.Index(body, []byte(">>\nstream\n")); i >= 0 {
			return body[:i+2]
		}
		return body
	}
	type group struct {
		name string
		nums []int // the image's number first
	}
	var groups []*group
	part := map[int]bool{}
	first, last := -1, -1 // the run of image objects, in file order
	resources := -1
	for i, o := range objs {
		body := doc[o.at:o.end]
		if bytes.Contains(dict(o), []byte("\n/XObject <<\n")) {
			if resources >= 0 {
				return bad("two XObject resources")
			}
			resources = i
		}
		if !bytes.HasPrefix(body, fmt.Appendf(nil, "%d%s", o.num, pdfImageHead)) && !part[o.num] {
			continue
		}
		if first < 0 {
			first = i
		}
		if last != i-1 && last >= 0 {
			return bad("images not one after the other")
		}
		last = i
		if part[o.num] {
			continue
		}
		g := &group{nums: []int{o.num}}
		for _, m := range pdfImagePart.FindAllSubmatch(dict(o), -1) {
			n, _ := strconv.Atoi(string(m[2]))
			part[n] = true
			g.nums = append(g.nums, n)
		}
		groups = append(groups, g)
	}
	if len(groups) < 2 {
		return doc, nil
	}
	if resources < 0 {
		return bad("images without XObject resources")
	}
	byNum := map[int]*group{}
	for _, g := range groups {
		byNum[g.nums[0]] = g
	}
	refs := pdfImageName.FindAllSubmatch(doc[objs[resources].at:objs[resources].end], -1)
	for _, m := range refs {
		n, _ := strconv.Atoi(string(m[2]))
		g := byNum[n]
		if g == nil {
			return bad("an XObject resource that is not an image")
		}
		if g.name == "" || string(m[1]) < g.name {
			g.name = string(m[1])
		}
	}
	lo := objs[first].num
	count := 0
	for _, g := range groups {
		if g.name == "" {
			return bad("an image not in the XObject resources")
		}
		count += len(g.nums)
	}
	for i := first; i <= last; i++ {
		if objs[i].num != lo+i-first {
			return bad("images not numbered one after the other")
		}
	}
	if count != last-first+1 {
		return bad("objects among the images")
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].name < groups[j].name })
	renum := make(map[int]int, count)
	next := lo
	for _, g := range groups {
		for _, n := range g.nums {
			renum[n] = next
			next++
		}
	}
	byObj := make(map[int]pdfObject, count)
	for _, o := range objs[first : last+1] {
		byObj[o.num] = o
	}
	out := make([]byte, 0, len(doc))
	out = append(out, doc[:objs[0].at]...)
	at := make([]int, tr.size)
	put := func(o pdfObject, num int, body []byte) {
		at[num] = len(out)
		out = append(out, body...)
	}
	for i := 0; i < len(objs); i++ {
		o := objs[i]
		switch {
		case i == first:
			for _, g := range groups {
				for _, n := range g.nums {
					src := byObj[n]
					d := dict(src)
					head := fmt.Appendf(nil, "%d 0 obj\n", n)
					nd := pdfImagePart.ReplaceAllFunc(d[len(head):], func(m []byte) []byte {
						sm := pdfImagePart.FindSubmatch(m)
						k, _ := strconv.Atoi(string(sm[2]))
						return fmt.Appendf(nil, "%s%d%s", sm[1], renum[k], sm[3])
					})
					body := fmt.Appendf(nil, "%d 0 obj\n%s%s", renum[n], nd, doc[src.at+len(d):src.end])
					put(src, renum[n], body)
				}
			}
			i = last
		case i == resources:
			body := pdfImageName.ReplaceAllFunc(doc[o.at:o.end], func(m []byte) []byte {
				sm := pdfImageName.FindSubmatch(m)
				k, _ := strconv.Atoi(string(sm[2]))
				return fmt.Appendf(nil, "/I%s %d 0 R", sm[1], renum[k])
			})
			put(o, o.num, body)
		default:
			put(o, o.num, doc[o.at:o.end])
		}
	}
	xref := len(out)
	out = fmt.Appendf(out, "xref\n0 %d\n0000000000 65535 f \n", tr.size)
	for n := 1; n < tr.size; n++ {
		out = fmt.Appendf(out, "%010d 00000 n \n", at[n])
	}
	out = fmt.Appendf(out, "trailer\n<<\n/Size %d\n/Root %d 0 R\n/Info %d 0 R\n>>\nstartxref\n%d\n%%%%EOF\n", tr.size, tr.root, tr.root-1, xref)
	return out, nil
}
