package records

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// matcher finds what a person typed in stored text the way people expect
// of a search: case, accents and width are ignored ("chloe" finds
// "Chloé", "ＡＢＣ" finds "abc"), and a phone number is found whatever
// its spacing and its "+" or "00" prefix ("+447700900123" finds
// "+44 7700 900123" and "07700 900123").
type matcher struct {
	text  string // the folded text to find
	phone string // the number's digits without prefix, or "" when text is not a number
}

// minPhoneDigits is the fewest digits searched for as a phone number.
const minPhoneDigits = 7

func newMatcher(q string) matcher {
	return matcher{text: fold(strings.TrimSpace(q)), phone: phoneQuery(q)}
}

// match reports whether s holds what m looks for.
func (m matcher) match(s string) bool {
	if m.text != "" && strings.Contains(fold(s), m.text) {
		return true
	}
	if m.phone == "" {
		return false
	}
	for _, n := range phoneNumbers(s) {
		short, long := n, m.phone
		if len(short) > len(long) {
			short, long = long, short
		}
		if len(short) >= minPhoneDigits && strings.HasSuffix(long, short) {
			return true
		}
	}
	return false
}

// fold writes s in the form searches compare: compatibility-decomposed
// (full-width letters and digits become ordinary ones, ligatures letters),
// without combining marks (accents), in lower case.
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// phoneSeparator reports whether r may stand between the digits of a
// phone number as people write it.
func phoneSeparator(r rune) bool {
	switch r {
	case ' ', '\u00a0', '\u202f', '-', '.', '(', ')', '/':
		return true
	}
	return false
}

// phoneQuery returns the digits of q when q is a phone number (digits and
// separators only, perhaps after "+", with at least minPhoneDigits
// digits), without its international or trunk prefix; "" otherwise.
func phoneQuery(q string) string {
	q = norm.NFKC.String(strings.TrimSpace(q))
	rest := strings.TrimPrefix(q, "+")
	var digits strings.Builder
	for _, r := range rest {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case phoneSeparator(r):
		default:
			return ""
		}
	}
	d := digits.String()
	if len(d) < minPhoneDigits {
		return ""
	}
	return trimPrefix(d)
}

// trimPrefix removes the "00" international prefix or the "0" trunk
// prefix of a number's digits.
func trimPrefix(d string) string {
	if s, ok := strings.CutPrefix(d, "00"); ok {
		return s
	}
	return strings.TrimPrefix(d, "0")
}

// phoneNumbers returns the digits, without prefix, of every run of digits
// and separators in s that may be a phone number; a "+" starts a new
// one. A trunk "0" in brackets after a country code is left out.
func phoneNumbers(s string) []string {
	// "+44 (0)7700 900123": the trunk 0 written in brackets is not dialled.
	s = strings.ReplaceAll(norm.NFKC.String(s), "(0)", "")
	var out []string
	var cur strings.Builder
	end := func() {
		if cur.Len() >= minPhoneDigits {
			out = append(out, trimPrefix(cur.String()))
		}
		cur.Reset()
	}
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			cur.WriteRune(r)
		case r == '+':
			end()
		case phoneSeparator(r) && cur.Len() > 0:
		default:
			end()
		}
	}
	end()
	return out
}
