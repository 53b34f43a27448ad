package filing

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf16"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/unicode/norm"
)

// typer draws text in every script into an fpdf document: each
// character in the first font that has it (the Go fonts, then
// fallbackFonts), right-to-left text reordered for display (Unicode's
// bidirectional algorithm, golang.org/x/text/unicode/bidi), Arabic
// joined (pdfarabic.go). Text the Go fonts draw whole goes through
// fpdf's own Write and MultiCell, as before. Characters no font here
// draws are shown as notShown and listed by missingNote.
type typer struct {
	*fpdf.Fpdf
	set   *fontSet
	style string
	size  float64
	added map[string]bool
	// missing are the characters no font could draw.
	missing map[rune]bool
	// natural is set while text is a paragraph of its own (a message's
	// text), whose first strong character sets its direction; other
	// text (names in a heading, labels) is laid out left to right.
	natural bool
}

// notShown stands in for a character no font draws.
const notShown = '\u25a1' // WHITE SQUARE

func newTyper(p *fpdf.Fpdf) *typer {
	return &typer{Fpdf: p, set: fonts(fontsDir()), added: map[string]bool{}, missing: map[rune]bool{}}
}

// font sets the style ("", "B", "I") and size (points) of what follows.
func (t *typer) font(style string, size float64) {
	t.style, t.size = style, size
	t.SetFont("go", style, size)
}

// ignorable are characters drawn as nothing: emoji variation selectors,
// joiners, tags.
func ignorable(r rune) bool {
	return r == 0xFE0F || r == 0xFE0E || r == 0x200D || r == 0x200C || r == 0x200B || r == 0x2060 || r == 0xFEFF ||
		(r >= 0xE0020 && r <= 0xE007F) || (r >= 0x1F3FB && r <= 0x1F3FF)
}

// simple reports whether the Go fonts draw every character of s.
func simple(s string) bool {
	for _, r := range s {
		if r != '\n' && !inGo(r) {
			return false
		}
	}
	return true
}

func isHan(r rune) bool {
	return unicode.Is(unicode.Han, r) || r >= 0x3000 && r <= 0x303F || r >= 0xFF00 && r <= 0xFFEF
}

// fontFor is the family that draws r ("" when none does); ja and ko say
// whether the paragraph has kana or hangul, whose Han ideographs are
// then drawn in the Japanese or Korean font.
func (t *typer) fontFor(r rune, ja, ko bool) string {
	if inGo(r) {
		return "go"
	}
	var order []string
	if isHan(r) {
		switch {
		case ja:
			order = []string{"ja", "zh", "ko"}
		case ko:
			order = []string{"ko", "zh", "ja"}
		default:
			order = []string{"zh", "ja", "ko"}
		}
	}
	for _, fam := range order {
		for _, f := range t.set.fonts {
			if f.family == fam && f.has(r) {
				return fam
			}
		}
	}
	for _, f := range t.set.fonts {
		if f.has(r) {
			return f.family
		}
	}
	return ""
}

// use selects family for drawing, registering it with the document the
// first time.
func (t *typer) use(family string) {
	if family == "go" {
		t.SetFont("go", t.style, t.size)
		return
	}
	if !t.added[family] {
		for _, f := range t.set.fonts {
			if f.family == family && f.load() {
				t.AddUTF8FontFromBytes(family, "", f.data)
			}
		}
		t.added[family] = true
	}
	t.SetFont(family, "", t.size)
}

// run is a piece of a line in one font, in display order.
type run struct {
	family string
	text   string // as drawn (emoji in the Private Use Area)
	actual string // the characters it stands for, when text differs
	w      float64
}

// runs cuts s (display order) into runs by font, measuring each.
func (t *typer) runs(s string, ja, ko bool) []run {
	var out []run
	var cur run
	var b, act strings.Builder
	flush := func() {
		if b.Len() == 0 {
			return
		}
		cur.text = b.String()
		switch cur.family {
		case "emoji":
			cur.actual = act.String()
		case "arabic":
			// The letters themselves, not their presentation forms,
			// for copying and search: each form's decomposition, in
			// the run's display order.
			var a strings.Builder
			changed := false
			for _, r := range cur.text {
				d := []rune(norm.NFKC.String(string(r)))
				if len(d) != 1 || d[0] != r {
					changed = true
				}
				for i := len(d) - 1; i >= 0; i-- {
					a.WriteRune(d[i])
				}
			}
			if changed {
				cur.actual = a.String()
			}
		}
		t.use(cur.family)
		cur.w = t.GetStringWidth(cur.text)
		out = append(out, cur)
		b.Reset()
		act.Reset()
	}
	for _, r := range s {
		if ignorable(r) {
			continue
		}
		fam := t.fontFor(r, ja, ko)
		draw := r
		if fam == "" {
			t.missing[r] = true
			fam, draw = "go", notShown
		}
		if fam != cur.family {
			flush()
			cur = run{family: fam}
		}
		if fam == "emoji" {
			act.WriteRune(r)
			draw = emojiPUA + r - emojiBase
		}
		b.WriteRune(draw)
	}
	flush()
	return out
}

// text writes s from the current position as fpdf's Write does
// (wrapping at the right margin, going on from the left margin), and,
// when link is not "", as a link to it.
func (t *typer) text(h float64, s, link string) {
	if simple(s) {
		if link != "" {
			t.WriteLinkString(h, s, link)
		} else {
			t.Write(h, s)
		}
		return
	}
	l, _, _, _ := t.GetMargins()
	t.flow(h, s, link, l)
}

// multi writes s as fpdf's MultiCell(0, h, s, "", "L", false) does: from
// the current position, lines wrapped back to where it started, and
// the position at the start of the next line after.
func (t *typer) multi(h float64, s string) {
	if simple(s) {
		t.MultiCell(0, h, s, "", "L", false)
		return
	}
	t.flow(h, s, "", t.GetX())
	t.Ln(h)
}

// cell writes s on one line of width wd (to the right margin when 0),
// cut short with "…" if it is too long, aligned "L", "C" or "R", on the
// fill colour when fill; the position moves to its right.
func (t *typer) cell(wd, h float64, s, align string, fill bool) {
	if wd == 0 {
		pw, _ := t.GetPageSize()
		_, _, r, _ := t.GetMargins()
		wd = pw - r - t.GetX()
	}
	if simple(s) {
		t.CellFormat(wd, h, t.fitGo(s, wd-2*t.GetCellMargin()), "", 0, align, fill, 0, "")
		return
	}
	x, y := t.GetX(), t.GetY()
	if fill {
		t.CellFormat(wd, h, "", "", 0, "", true, 0, "")
	}
	rs := t.line(s)
	total := 0.0
	for i, r := range rs {
		if total+r.w > wd-2*t.GetCellMargin() {
			rs = append(rs[:i:i], t.runs("…", false, false)...)
			break
		}
		total += r.w
	}
	total = 0
	for _, r := range rs {
		total += r.w
	}
	start := x + t.GetCellMargin()
	switch align {
	case "C":
		start = x + (wd-total)/2
	case "R":
		start = x + wd - t.GetCellMargin() - total
	}
	t.SetXY(start, y)
	t.draw(h, rs, "")
	t.SetXY(x+wd, y)
}

// fitGo shortens s, which the Go fonts draw, to fit width.
func (t *typer) fitGo(s string, width float64) string {
	if t.GetStringWidth(s) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && t.GetStringWidth(string(r)+"…") > width {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// line returns s as one line's runs in display order.
func (t *typer) line(s string) []run {
	ja, ko := scripts(s)
	return t.runs(visual(shapeArabic(s), rtlParagraph(s)), ja, ko)
}

func scripts(s string) (ja, ko bool) {
	for _, r := range s {
		switch {
		case r >= 0x3040 && r <= 0x30FF:
			ja = true
		case r >= 0xAC00 && r <= 0xD7AF || r >= 0x1100 && r <= 0x11FF:
			ko = true
		}
	}
	return
}

// rtlParagraph reports whether s's first strong character is right to
// left (the paragraph direction, rules P2 and P3).
func rtlParagraph(s string) bool {
	for _, r := range s {
		p, _ := bidi.LookupRune(r)
		switch p.Class() {
		case bidi.L:
			return false
		case bidi.R, bidi.AL:
			return true
		}
	}
	return false
}

// visual returns s, one line in logical order, in display order:
// the runs golang.org/x/text/unicode/bidi finds, given levels (right to
// left runs odd; numbers and left-to-right text inside right-to-left
// text one above), reordered by rule L2, right-to-left runs reversed
// with their marks kept after their letters and brackets mirrored.
func visual(s string, rtl bool) string {
	if !rtl && !strings.ContainsFunc(s, func(r rune) bool {
		p, _ := bidi.LookupRune(r)
		return p.Class() == bidi.R || p.Class() == bidi.AL
	}) {
		return s
	}
	// The paragraph's direction is set by a mark before it (the package
	// would take it from the first strong character), taken out after.
	mark := "\u200e"
	if rtl {
		mark = "\u200f"
	}
	var p bidi.Paragraph
	if _, err := p.SetString(mark + s); err != nil {
		return s
	}
	o, err := p.Order()
	if err != nil {
		return s
	}
	type lr struct {
		text  string
		level int
	}
	base := 0
	if rtl {
		base = 1
	}
	var rs []lr
	for i := range o.NumRuns() {
		r := o.Run(i)
		lv := base
		if r.Direction() == bidi.RightToLeft {
			lv = 1
		} else if rtl {
			lv = 2
		}
		rs = append(rs, lr{r.String(), lv})
	}
	// In a left-to-right paragraph, numbers between right-to-left runs
	// belong to them (level 2).
	if !rtl {
		for i := 1; i+1 < len(rs); i++ {
			if rs[i].level == 0 && rs[i-1].level == 1 && rs[i+1].level == 1 && strings.TrimFunc(rs[i].text, func(r rune) bool {
				return unicode.IsDigit(r) || unicode.IsSpace(r) || strings.ContainsRune(".,:/-+%", r)
			}) == "" {
				rs[i].level = 2
			}
		}
	}
	// L2: from the highest level to the lowest odd one, reverse each
	// stretch of runs at that level or above.
	maxLv := 0
	for _, r := range rs {
		maxLv = max(maxLv, r.level)
	}
	for lv := maxLv; lv >= 1; lv-- {
		for i := 0; i < len(rs); {
			if rs[i].level < lv {
				i++
				continue
			}
			j := i
			for j < len(rs) && rs[j].level >= lv {
				j++
			}
			for a, b := i, j-1; a < b; a, b = a+1, b-1 {
				rs[a], rs[b] = rs[b], rs[a]
			}
			i = j
		}
	}
	var b strings.Builder
	for _, r := range rs {
		r.text = strings.ReplaceAll(r.text, mark, "")
		if r.level%2 == 1 {
			b.WriteString(bidi.ReverseString(r.text))
		} else {
			b.WriteString(r.text)
		}
	}
	return b.String()
}

// flow writes s from the current position, wrapping lines at the right
// margin, each line after the first starting at x0; right-to-left
// paragraphs that start at x0 are aligned right.
func (t *typer) flow(h float64, s, link string, x0 float64) {
	pw, ph := t.GetPageSize()
	_, _, rm, bm := t.GetMargins()
	right := pw - rm
	paras := strings.Split(s, "\n")
	for pi, para := range paras {
		if pi > 0 {
			t.Ln(h)
			t.SetX(x0)
		}
		ja, ko := scripts(para)
		rtl := t.natural && rtlParagraph(para)
		shaped := shapeArabic(para)
		for li, ln := range t.wrap(shaped, ja, ko, right-t.GetX(), right-x0) {
			if li > 0 {
				t.Ln(h)
				t.SetX(x0)
			}
			if t.GetY()+h > ph-bm {
				t.AddPage()
				t.SetX(x0)
			}
			rs := t.runs(visual(ln, rtl), ja, ko)
			if rtl && t.GetX() <= x0+0.01 {
				total := 0.0
				for _, r := range rs {
					total += r.w
				}
				t.SetX(right - total)
			}
			t.draw(h, rs, link)
		}
	}
}

// wrap cuts a paragraph (logical order) into lines: the first at most
// first wide, the others at most width; breaks after spaces, and
// between ideographs.
func (t *typer) wrap(s string, ja, ko bool, first, width float64) []string {
	var words []string
	start := 0
	rs := []rune(s)
	for i, r := range rs {
		if r == ' ' || isHan(r) || r >= 0x3040 && r <= 0x30FF {
			words = append(words, string(rs[start:i+1]))
			start = i + 1
		}
	}
	if start < len(rs) {
		words = append(words, string(rs[start:]))
	}
	var lines []string
	var cur strings.Builder
	curW, limit := 0.0, first
	measure := func(w string) float64 {
		total := 0.0
		for _, r := range t.runs(w, ja, ko) {
			total += r.w
		}
		return total
	}
	for _, w := range words {
		ww := measure(w)
		if curW+ww > limit && (cur.Len() > 0 || ww <= width && limit < width) {
			lines = append(lines, strings.TrimRight(cur.String(), " "))
			cur.Reset()
			curW, limit = 0, width
		}
		// A word longer than a line is cut where it fills one
		// (measured a character at a time, so in linear time).
		if ww > limit {
			var piece strings.Builder
			pw := 0.0
			for _, r := range w {
				cw := measure(string(r))
				if pw+cw > limit && piece.Len() > 0 {
					lines = append(lines, piece.String())
					piece.Reset()
					pw, limit = 0, width
				}
				piece.WriteRune(r)
				pw += cw
			}
			w, ww = piece.String(), pw
		}
		cur.WriteString(w)
		curW += ww
	}
	lines = append(lines, cur.String())
	return lines
}

// draw writes runs on the current line from the current position.
func (t *typer) draw(h float64, rs []run, link string) {
	for _, r := range rs {
		t.use(r.family)
		if r.actual != "" {
			t.RawWriteStr("/Span <</ActualText <" + utf16Hex(r.actual) + ">>> BDC")
		}
		x, y := t.GetX(), t.GetY()
		t.CellFormat(r.w, h, r.text, "", 0, "L", false, 0, "")
		if r.actual != "" {
			t.RawWriteStr("EMC")
		}
		if link != "" {
			t.LinkString(x, y, r.w, h, link)
		}
	}
	t.SetFont("go", t.style, t.size)
}

// utf16Hex is s as a PDF text string in hexadecimal (UTF-16BE with its
// byte order mark).
func utf16Hex(s string) string {
	var b strings.Builder
	b.WriteString("FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	return b.String()
}

// missingNote says which characters this PDF could not show; "" when
// it showed them all.
func (t *typer) missingNote() string {
	if len(t.missing) == 0 {
		return ""
	}
	var rs []rune
	for r := range t.missing {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(a, b int) bool { return rs[a] < rs[b] })
	var codes []string
	for i, r := range rs {
		if i == 50 {
			codes = append(codes, fmt.Sprintf("and %d more", len(rs)-i))
			break
		}
		codes = append(codes, fmt.Sprintf("U+%04X", r))
	}
	return fmt.Sprintf("This PDF could not show %d different characters (no font for them where it was made), drawn as %c: %s. "+
		"thread.json, transcript.html and transcript.txt beside it hold them as written.", len(rs), notShown, strings.Join(codes, ", "))
}
