package whatsapp

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/recordbot/recordbot/capture"
)

// DateOrder is the order of day, month and year in an export's dates,
// which follows the phone's language and region and is not written in
// the file.
type DateOrder string

// The date orders of WhatsApp exports.
const (
	// DMY is day/month/year: 31/12/2022.
	DMY DateOrder = "dmy"
	// MDY is month/day/year: 12/31/2022.
	MDY DateOrder = "mdy"
	// YMD is year-month-day: 2022-12-31. It is told by its four-digit
	// first field and never needs an option.
	YMD DateOrder = "ymd"
)

// String names the order for people.
func (o DateOrder) String() string {
	switch o {
	case DMY:
		return "day/month/year"
	case MDY:
		return "month/day/year"
	case YMD:
		return "year/month/day"
	}
	return string(o)
}

// ParseDateOrder reads "dmy", "mdy" or "ymd" (any case); "" is no order.
func ParseDateOrder(s string) (DateOrder, error) {
	switch o := DateOrder(strings.ToLower(strings.TrimSpace(s))); o {
	case "", DMY, MDY, YMD:
		return o, nil
	}
	return "", fmt.Errorf("date order %q: want dmy (31/12/2022) or mdy (12/31/2022)", s)
}

// rawMessage is one message as written: its header, the line it starts
// on and its text, continuation lines and all.
type rawMessage struct {
	line   int
	h      header
	author string
	system bool
	text   string
}

// lines calls fn with each line of text and its number, from 1. A line
// ends at "\n", "\r\n" or a lone "\r" (old Macs and some mail programs
// write that); the line end is not part of the line.
func lines(text string, fn func(no int, line string) error) error {
	for no := 1; len(text) > 0; no++ {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			return fn(no, text)
		}
		ln := text[:i]
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		text = text[i+1:]
		if err := fn(no, ln); err != nil {
			return err
		}
	}
	return nil
}

// lineReader reads a chat text a line at a time into messages, and
// accounts for every line in its ledger: a message's header, a line
// continuing the message above, a system line, a blank line before the
// first message, or a line not understood. A line that starts with a
// date and time but cannot be read as a header is not understood, and so
// is every line after it up to the next header: none is ever folded into
// the message above.
type lineReader struct {
	msgs   []rawMessage
	ledger capture.Ledger
	cont   []string // continuation lines of the last message
	unread bool     // the lines since the last header continue one not understood
	bare   bool     // the first header has neither bracket nor dash
	// odd counts headers with a 12-hour clock read as 24-hour, and
	// oddLine is the first.
	odd, oddLine int
}

// maxUnread is the most lines not understood that the ledger lists with
// their text; all are counted.
const maxUnread = 10_000

// add reads line no of the text.
func (r *lineReader) add(no int, ln string) error {
	r.ledger.Lines++
	h, ok := parseHeader(ln)
	var author, text string
	system := false
	why := ""
	if ok {
		if a, t, isAuthor := splitAuthor(h.rest); isAuthor {
			author, text = a, t
		} else {
			system, text = true, h.rest
		}
		switch {
		case h.bare && system:
			ok, why = false, "it starts with a date and time, but no author follows them"
		case h.bare && len(r.msgs) > 0 && !r.bare:
			ok, why = false, "it starts with a date and time written unlike the export's other messages"
		}
	} else if looksLikeHeader(ln) {
		why = "it starts with a date and time that could not be read as those of a message"
	}
	switch {
	case ok:
		r.flush()
		if len(r.msgs) == 0 {
			r.bare = h.bare
		}
		if h.odd {
			if r.odd == 0 {
				r.oddLine = no
			}
			r.odd++
		}
		h.rest = ""
		r.msgs = append(r.msgs, rawMessage{line: no, h: h, author: author, system: system, text: text})
		r.unread = false
		if system {
			r.ledger.System++
		} else {
			r.ledger.Headers++
		}
	case why != "":
		r.flush()
		r.unread = true
		r.notUnderstood(no, ln, why)
	case r.unread:
		r.notUnderstood(no, ln, "it continues the line not understood above it")
	case len(r.msgs) == 0:
		if strings.TrimSpace(stripMarks(ln)) != "" {
			return notExport(fmt.Sprintf("line %d does not start with a date and time as the messages of a WhatsApp export do", no))
		}
		r.ledger.Blank++
	default:
		r.cont = append(r.cont, ln)
		r.ledger.Continuations++
	}
	return nil
}

func (r *lineReader) notUnderstood(no int, ln, why string) {
	r.ledger.NotUnderstood++
	if len(r.ledger.Unread) < maxUnread {
		r.ledger.Unread = append(r.ledger.Unread, capture.LedgerLine{Line: no, Text: ln, Why: why})
	}
}

// flush adds the continuation lines read to the last message.
func (r *lineReader) flush() {
	if len(r.cont) > 0 {
		last := &r.msgs[len(r.msgs)-1]
		last.text = last.text + "\n" + strings.Join(r.cont, "\n")
		r.cont = r.cont[:0]
	}
}

// parseLines splits chat text into messages and accounts for its lines.
// It fails when the text does not start with a message line, which is how
// a file that is not a WhatsApp export shows itself.
func parseLines(text string) ([]rawMessage, *lineReader, error) {
	var r lineReader
	if err := lines(text, r.add); err != nil {
		return nil, nil, err
	}
	r.flush()
	if len(r.msgs) == 0 {
		return nil, nil, notExport("the chat text holds no messages")
	}
	return r.msgs, &r, nil
}

// daysIn returns the number of days of month m (1-12) of year y.
func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func year(v, width int) int {
	if width <= 2 {
		return 2000 + v
	}
	return v
}

// ymd returns the year, month and day of h read in order o, and whether
// they make a date.
func (h *header) ymd(o DateOrder) (y, m, d int, ok bool) {
	switch o {
	case YMD:
		y, m, d = h.f[0], h.f[1], h.f[2]
	case DMY:
		y, m, d = year(h.f[2], h.w[2]), h.f[1], h.f[0]
	case MDY:
		y, m, d = year(h.f[2], h.w[2]), h.f[0], h.f[1]
	default:
		return 0, 0, 0, false
	}
	if (o == YMD) != (h.w[0] == 4) {
		return 0, 0, 0, false
	}
	return y, m, d, m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
}

// dateOrder decides the order of day and month over the whole file: an
// order the dates cannot have is ruled out (a first field above 12 is a
// day), and of two that fit, one that keeps the messages in time order
// wins over one that does not. Otherwise the option decides, and with
// none the error asks for it. It returns the order and the basis of it,
// for the record.
func dateOrder(msgs []rawMessage, opt DateOrder) (DateOrder, string, error) {
	if msgs[0].h.w[0] == 4 {
		for _, m := range msgs {
			if _, _, _, ok := m.h.ymd(YMD); !ok {
				return "", "", dateError(fmt.Sprintf("line %d has a date that is not year-month-day like the first line's", m.line))
			}
		}
		return YMD, "written year first in the export", nil
	}
	fits := map[DateOrder]int{DMY: 0, MDY: 0} // line that rules the order out, 0 when none
	sorted := map[DateOrder]bool{DMY: true, MDY: true}
	for _, o := range []DateOrder{DMY, MDY} {
		var prev int
		for _, m := range msgs {
			y, mo, d, ok := m.h.ymd(o)
			if !ok {
				fits[o] = m.line
				break
			}
			day := y*10000 + mo*100 + d
			if day < prev {
				sorted[o] = false
			}
			prev = day
		}
	}
	dmy, mdy := fits[DMY] == 0, fits[MDY] == 0
	given := func(o DateOrder) string {
		return fmt.Sprintf("the export's dates fit both orders, so it was taken from the option given (%s)", o)
	}
	switch {
	case !dmy && !mdy:
		return "", "", dateError(fmt.Sprintf("the dates fit neither day/month nor month/day order (see lines %d and %d)", fits[DMY], fits[MDY]))
	case dmy && !mdy:
		if opt == MDY {
			return "", "", dateError(fmt.Sprintf("the date on line %d cannot be month/day/year, as the option says: it has a month above 12", fits[MDY]))
		}
		return DMY, fmt.Sprintf("inferred from the export: the date on line %d has a first field above 12, so it is the day", fits[MDY]), nil
	case mdy && !dmy:
		if opt == DMY {
			return "", "", dateError(fmt.Sprintf("the date on line %d cannot be day/month/year, as the option says: it has a month above 12", fits[DMY]))
		}
		return MDY, fmt.Sprintf("inferred from the export: the date on line %d has a second field above 12, so it is the day", fits[DMY]), nil
	case sorted[DMY] && !sorted[MDY] && opt != MDY:
		return DMY, "inferred from the export: no field is above 12, and only day/month order keeps the messages in time order", nil
	case sorted[MDY] && !sorted[DMY] && opt != DMY:
		return MDY, "inferred from the export: no field is above 12, and only month/day order keeps the messages in time order", nil
	case opt == DMY || opt == MDY:
		return opt, given(opt), nil
	}
	return "", "", dateError("every date in the export fits both day/month and month/day order; say which the phone uses (dmy for 31/12/2022, mdy for 12/31/2022)")
}

// timeOf returns the time of m's header in order o and zone loc.
func (m *rawMessage) timeOf(o DateOrder, loc *time.Location) time.Time {
	y, mo, d, _ := m.h.ymd(o)
	hh, mm, ss := m.h.clock()
	return time.Date(y, time.Month(mo), d, hh, mm, ss, 0, loc)
}

// validUTF8 returns the line number of the first byte of text that is not
// UTF-8, or 0 when it all is.
func validUTF8(text string) int {
	if utf8.ValidString(text) {
		return 0
	}
	line := 1
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && n == 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		i += n
	}
	return line
}
