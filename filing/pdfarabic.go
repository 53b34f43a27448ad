package filing

import (
	"sync"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Arabic letters change shape with their neighbours (isolated, final,
// initial, medial), and lam followed by alef is written as one ligature.
// fpdf draws a character's default glyph and does no OpenType shaping,
// and no maintained Go library that shapes to characters (rather than
// to a font's glyph ids, which fpdf cannot take) is served here, so the
// text is shaped into Unicode's Arabic Presentation Forms (U+FB50 to
// U+FDFF, U+FE70 to U+FEFF), which the Arabic fonts draw.
//
// The forms are not typed in: they are read from Unicode's own data.
// Each presentation form decomposes (NFKD) to its letter, and the
// forms of a letter are listed in the order isolated, final, initial,
// medial; a letter with four forms joins on both sides, one with two
// joins on its right only (Unicode's Arabic joining types D and R).

// arabicForms are a letter's presentation forms: isolated, final,
// initial, medial (0 when it has no such form).
type arabicForms [4]rune

type arabicTables struct {
	forms  map[rune]arabicForms
	lamAlf map[rune][2]rune // alef variant → lam-alef ligature, isolated and final
}

var arabic = sync.OnceValue(func() *arabicTables {
	t := &arabicTables{forms: map[rune]arabicForms{}, lamAlf: map[rune][2]rune{}}
	seen := map[rune]int{}
	for _, block := range [][2]rune{{0xFB50, 0xFDFF}, {0xFE70, 0xFEFC}} {
		var last rune = -1
		for r := block[0]; r <= block[1]; r++ {
			d := []rune(norm.NFKD.String(string(r)))
			switch {
			case len(d) == 1 && d[0] >= 0x0620 && d[0] <= 0x06FF && unicode.IsLetter(d[0]):
				base := d[0]
				if base != last {
					if _, done := t.forms[base]; done {
						last = -1
						continue
					}
					last = base
					seen[base] = 0
				}
				if k := seen[base]; k < 4 {
					f := t.forms[base]
					f[k] = r
					t.forms[base] = f
					seen[base] = k + 1
				}
			case len(d) == 2 && d[0] == 0x0644 && r >= 0xFEF5:
				l := t.lamAlf[d[1]]
				if l[0] == 0 {
					l[0] = r
				} else {
					l[1] = r
				}
				t.lamAlf[d[1]] = l
				last = -1
			default:
				last = -1
			}
		}
	}
	// A letter with only isolated and final forms joins on its right
	// only; with three (a few letters in Forms-A) it is treated alike.
	for base, n := range seen {
		if n != 4 && n != 2 {
			f := t.forms[base]
			t.forms[base] = arabicForms{f[0], f[1]}
		}
	}
	return t
})

// joinsBoth reports whether r joins to the letter after it too.
func (t *arabicTables) joinsBoth(r rune) bool {
	if r == 0x0640 { // tatweel
		return true
	}
	f, ok := t.forms[r]
	return ok && f[2] != 0
}

func (t *arabicTables) joins(r rune) bool {
	_, ok := t.forms[r]
	return ok || r == 0x0640
}

// transparent reports whether r is skipped when letters join (the
// vowel marks and other combining marks).
func transparent(r rune) bool {
	return unicode.Is(unicode.Mn, r)
}

// hasArabic reports whether s holds Arabic letters.
func hasArabic(s string) bool {
	for _, r := range s {
		if r >= 0x0600 && r <= 0x06FF {
			return true
		}
	}
	return false
}

// shapeArabic returns s (in logical order) with its Arabic letters
// replaced by the presentation form their neighbours call for.
func shapeArabic(s string) string {
	if !hasArabic(s) {
		return s
	}
	t := arabic()
	in := []rune(s)
	out := make([]rune, 0, len(in))
	prevJoins := false // the letter before (marks skipped) joins to this one
	for i := 0; i < len(in); i++ {
		r := in[i]
		if transparent(r) {
			out = append(out, r)
			continue
		}
		if !t.joins(r) {
			out = append(out, r)
			prevJoins = false
			continue
		}
		next := rune(0)
		j := i + 1
		for j < len(in) && transparent(in[j]) {
			j++
		}
		if j < len(in) {
			next = in[j]
		}
		// Lam-alef: one ligature, isolated or final.
		if r == 0x0644 {
			if lig, ok := t.lamAlf[next]; ok && lig[0] != 0 {
				form := lig[0]
				if prevJoins && lig[1] != 0 {
					form = lig[1]
				}
				out = append(out, form)
				out = append(out, in[i+1:j]...) // marks on the lam
				i = j
				prevJoins = false
				continue
			}
		}
		nextJoins := t.joinsBoth(r) && next != 0 && t.joins(next)
		f := t.forms[r]
		k := 0
		switch {
		case prevJoins && nextJoins:
			k = 3
		case prevJoins:
			k = 1
		case nextJoins:
			k = 2
		}
		if r == 0x0640 || f[k] == 0 {
			out = append(out, r)
		} else {
			out = append(out, f[k])
		}
		prevJoins = t.joinsBoth(r)
	}
	return string(out)
}
