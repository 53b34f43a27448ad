package whatsapp

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// header is the start of a message line: its date and time as written,
// and what follows them.
type header struct {
	// f are the three date fields in the order written, w their widths
	// in digits.
	f [3]int
	w [3]int
	// hour, min and sec as written; pm and am mark a 12-hour clock.
	hour, min, sec int
	am, pm         bool
	// ios is set for the bracketed form "[date, time] ...".
	ios bool
	// bare is set for a form with neither brackets nor a dash: only an
	// author after it makes the line a header.
	bare bool
	// odd is set for a 12-hour clock whose hour is 0 or above 12, read
	// as a 24-hour time.
	odd bool
	// rest is what follows the header: "Author: text" or a system text.
	rest string
}

// isMark reports whether r is an invisible direction or format mark that
// WhatsApp puts around names, numbers and markers: LRM, RLM, the bidi
// embeddings and isolates, and the byte order mark.
func isMark(r rune) bool {
	switch {
	case r == 0x200E, r == 0x200F, r == 0xFEFF, r == 0x061C:
		return true
	case r >= 0x202A && r <= 0x202E:
		return true
	case r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// isSpace reports whether r separates words in a header: a space, a
// no-break space or the narrow no-break space newer Android puts before
// AM/PM.
func isSpace(r rune) bool { return r == ' ' || r == 0xA0 || r == 0x202F || r == 0x2009 }

// trimMarks removes direction marks from both ends of s.
func trimMarks(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return isMark(r) || unicode.IsSpace(r) })
}

// stripMarks removes every direction mark from s.
func stripMarks(s string) string {
	if !strings.ContainsFunc(s, isMark) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isMark(r) {
			return -1
		}
		return r
	}, s)
}

// scanner reads a header left to right.
type scanner struct {
	s string
	i int
}

func (c *scanner) peek() (rune, int) {
	if c.i >= len(c.s) {
		return -1, 0
	}
	return utf8.DecodeRuneInString(c.s[c.i:])
}

// skip moves past every rune for which ok holds and reports how many.
func (c *scanner) skip(ok func(rune) bool) int {
	n := 0
	for {
		r, size := c.peek()
		if size == 0 || !ok(r) {
			return n
		}
		c.i += size
		n++
	}
}

// num reads 1 to max ASCII digits.
func (c *scanner) num(max int) (v, width int, ok bool) {
	for width < max && c.i < len(c.s) && c.s[c.i] >= '0' && c.s[c.i] <= '9' {
		v = v*10 + int(c.s[c.i]-'0')
		c.i++
		width++
	}
	return v, width, width > 0
}

func (c *scanner) byte(b byte) bool {
	if c.i < len(c.s) && c.s[c.i] == b {
		c.i++
		return true
	}
	return false
}

// prefix moves past p if s continues with it.
func (c *scanner) prefix(p string) bool {
	if strings.HasPrefix(c.s[c.i:], p) {
		c.i += len(p)
		return true
	}
	return false
}

// parseHeader reads the date and time a message line starts with, in any
// of the forms WhatsApp writes:
//
//	[31/12/2022, 11:40:26] Alice: Hello           iOS
//	[12/31/22, 11:40:26 AM] Alice: Hello          iOS, 12-hour clock
//	31/12/2022, 11:40 - Alice: Hello              Android
//	12/31/22, 11:40 PM - Alice: Hello            Android (U+202F before PM)
//	31.12.22, 11:40 - Alice: Hello                dotted locales
//	31/12/2022 à 11:40 - Alice: Hello             a word between date and time
//	2022-12-31 11:40 - Alice: Hello               year first
//	13. 6. 2018. 21:25:15 Alice: Hello            dotted with spaces, no dash
//	13.06.18 21.25.15: Alice: Hello               dotted time, a colon
//
// with any direction marks or byte-order mark before it. The last two
// forms carry no bracket or dash to tell a header from text, so a line in
// them is a header only when an author follows (h.bare). A 12-hour clock
// whose hour is 0 or above 12 is read as the 24-hour time it must be
// (h.odd). It reports false for a line that does not start with a header.
func parseHeader(line string) (header, bool) {
	var h header
	c := scanner{s: line}
	c.skip(isMark)
	h.ios = c.byte('[')
	c.skip(isMark)
	var ok bool
	if h.f[0], h.w[0], ok = c.num(4); !ok {
		return h, false
	}
	if c.i >= len(c.s) {
		return h, false
	}
	sep := c.s[c.i]
	if sep != '/' && sep != '.' && sep != '-' {
		return h, false
	}
	c.i++
	if sep == '.' {
		c.byte(' ') // "13. 6. 2018."
	}
	if h.f[1], h.w[1], ok = c.num(2); !ok || !c.byte(sep) {
		return h, false
	}
	if sep == '.' {
		c.byte(' ')
	}
	if h.f[2], h.w[2], ok = c.num(4); !ok {
		return h, false
	}
	if sep == '.' {
		c.byte('.') // "31.12.2022." in some locales
	}
	// Between date and time: ", ", " ", or a word ("à", "um", "klo");
	// Arabic writes its own comma, U+060C (as in "1/5/2025، 09:17 -",
	// quoted by an export reader found with the search, excerpt
	// 11961877866).
	comma := c.byte(',') || c.prefix("\u060c")
	if c.skip(isSpace) == 0 && !comma {
		return h, false
	}
	if r, _ := c.peek(); unicode.IsLetter(r) {
		start := c.i
		c.skip(func(r rune) bool { return unicode.IsLetter(r) || r == '.' })
		if c.i-start > 16 {
			return h, false
		}
		c.byte(',')
		if c.skip(isSpace) == 0 {
			return h, false
		}
	}
	if h.hour, _, ok = c.num(2); !ok || c.i >= len(c.s) {
		return h, false
	}
	tsep := c.s[c.i]
	if tsep != ':' && tsep != '.' {
		return h, false
	}
	c.i++
	var w int
	if h.min, w, ok = c.num(2); !ok || w != 2 {
		return h, false
	}
	if save := c.i; c.byte(tsep) {
		if h.sec, w, ok = c.num(2); !ok || w != 2 {
			c.i = save
			h.sec = 0
		}
	}
	// AM/PM, after a space, a no-break space or U+202F, and followed by
	// no letter (an author may be called Amelia). Arabic writes ص and م
	// (seen in Arabic exports read by other parsers: search excerpts
	// 71001239046, 68487488857).
	save := c.i
	c.skip(isSpace)
	switch {
	case c.word("AM"), c.word("am"), c.word("a.m."), c.word("a. m."), c.word("a.\u00a0m."), c.word("a.\u202fm."), c.word("\u0635"):
		h.am = true
	case c.word("PM"), c.word("pm"), c.word("p.m."), c.word("p. m."), c.word("p.\u00a0m."), c.word("p.\u202fm."), c.word("\u0645"):
		h.pm = true
	default:
		c.i = save
	}
	afterClock := c.i
	switch {
	case h.ios:
		if !c.byte(']') {
			return h, false
		}
		c.byte(' ')
	case c.skip(isSpace) > 0 && (c.byte('-') || c.prefix("\u2013")):
		if !c.byte(' ') && c.i < len(c.s) {
			return h, false
		}
	default:
		// "13. 6. 2018. 21:25:15 Alice: …" or "13.06.18 21.25.15: Alice: …"
		c.i = afterClock
		c.byte(':')
		if c.skip(isSpace) == 0 {
			return h, false
		}
		h.bare = true
	}
	h.rest = c.s[c.i:]
	if !h.valid() {
		return h, false
	}
	return h, true
}

// word moves past w if s continues with it and no letter follows.
func (c *scanner) word(w string) bool {
	if !strings.HasPrefix(c.s[c.i:], w) {
		return false
	}
	if r, _ := utf8.DecodeRuneInString(c.s[c.i+len(w):]); unicode.IsLetter(r) {
		return false
	}
	c.i += len(w)
	return true
}

// valid checks the ranges a date and time can have in some order. A
// 12-hour clock whose hour is 0 or 13 to 23 is taken as the 24-hour time
// it can only be, and marked odd.
func (h *header) valid() bool {
	if h.am || h.pm {
		if h.hour == 0 || h.hour > 12 && h.hour <= 23 {
			h.odd = true
		} else if h.hour > 12 {
			return false
		}
	} else if h.hour > 23 {
		return false
	}
	if h.min > 59 || h.sec > 59 {
		return false
	}
	if h.w[0] == 4 { // year first
		return h.f[1] >= 1 && h.f[1] <= 12 && h.f[2] >= 1 && h.f[2] <= 31 && h.w[2] <= 2
	}
	if h.w[2] != 2 && h.w[2] != 4 {
		return false
	}
	a, b := h.f[0], h.f[1]
	return a >= 1 && b >= 1 && a <= 31 && b <= 31 && min(a, b) <= 12
}

// clock returns the time of day on a 24-hour clock.
func (h *header) clock() (hour, min, sec int) {
	hour = h.hour
	switch {
	case h.odd:
	case h.am && hour == 12:
		hour = 0
	case h.pm && hour < 12:
		hour += 12
	}
	return hour, h.min, h.sec
}

// looksLikeHeader reports whether a line that parseHeader did not read
// starts as a message line does, with a date and then a time ("31/12/2022
// 11:40", "[2022.12.31 11.40"): such a line is never taken as text of the
// message above it.
func looksLikeHeader(line string) bool {
	c := scanner{s: line}
	c.skip(isMark)
	c.byte('[')
	c.skip(isMark)
	for i := range 3 {
		if _, _, ok := c.num(4); !ok {
			return false
		}
		if i == 2 {
			break
		}
		if c.i >= len(c.s) || (c.s[c.i] != '/' && c.s[c.i] != '.' && c.s[c.i] != '-') {
			return false
		}
		c.i++
		c.skip(isSpace)
	}
	// A time within the next few characters: 1-2 digits, ':' or '.', 2 digits.
	rest := c.s[c.i:min(len(c.s), c.i+24)]
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' || (i > 0 && rest[i-1] >= '0' && rest[i-1] <= '9') {
			continue
		}
		j := i
		for j < len(rest) && j-i < 2 && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if j+2 < len(rest) && (rest[j] == ':' || rest[j] == '.') && isDigit(rest[j+1]) && isDigit(rest[j+2]) {
			return true
		}
	}
	return false
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// splitAuthor splits "Author: text" into author and text. A line without
// an author (a system line: "Alice added Bob", the encryption notice)
// returns ok false. What stands before the first ": " is an author only
// when it could be a name: short, one line, no quotation marks (a subject
// changed to "Q3: plans" is not a name). "Author:" with nothing after it
// is an author's message without text: how Android writes a view-once
// photo.
func splitAuthor(rest string) (author, text string, ok bool) {
	i := strings.Index(rest, ": ")
	if i <= 0 {
		a, found := strings.CutSuffix(strings.TrimRightFunc(rest, isMark), ":")
		if !found || strings.Contains(a, ":") {
			return "", rest, false
		}
		i = len(a)
		rest = a + ": "
	}
	a := rest[:i]
	if len(a) > 120 || strings.ContainsAny(a, "\"\u201c\u201d\u00ab\u00bb") || trimMarks(a) == "" {
		return "", rest, false
	}
	return a, rest[i+2:], true
}
