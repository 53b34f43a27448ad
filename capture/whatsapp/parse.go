package whatsapp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
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

// rawMessage is one message as written: the line it starts on, its
// header's date and time, and its text, continuation lines and all.
// It is kept small: a reading holds one at a time.
type rawMessage struct {
	line   int
	author string
	text   string
	st     stamp
	system bool
}

// stamp is a header's date and time, compactly: the three date fields in
// the order written and their widths in digits, the time of day on a
// 24-hour clock, and whether the header is iOS's bracketed form.
type stamp struct {
	f              [3]int32
	w              [3]uint8
	hour, min, sec uint8
	ios            bool
}

func (h *header) stamp() stamp {
	hh, mm, ss := h.clock()
	return stamp{
		f:    [3]int32{int32(h.f[0]), int32(h.f[1]), int32(h.f[2])},
		w:    [3]uint8{uint8(h.w[0]), uint8(h.w[1]), uint8(h.w[2])},
		hour: uint8(hh), min: uint8(mm), sec: uint8(ss), ios: h.ios,
	}
}

// readLines calls fn with each line of the text rd reads and its number,
// from 1, holding no more of the text than a line. A line ends at "\n",
// "\r\n" or a lone "\r" (old Macs and some mail programs write that);
// the line end is not part of the line. Once fn fails it is called no
// more, but the text is still read to its end: bad is then the number
// of the first line (counted by "\n") holding bytes that are not UTF-8,
// or 0, and readErr the error reading it, so that a caller can put those
// before what fn found.
func readLines(rd io.Reader, fn func(no int, line string) error) (bad int, fnErr, readErr error) {
	br := bufio.NewReaderSize(rd, 64<<10)
	var acc []byte
	no, nl := 1, 1 // the next line's number, and the number by "\n"
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			acc = append(acc, chunk...)
			continue
		}
		seg := chunk
		if len(acc) > 0 {
			acc = append(acc, chunk...)
			seg = acc
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return bad, fnErr, err
		}
		if bad == 0 && !utf8.Valid(seg) {
			bad = nl
		}
		// seg is the text up to a "\n" or to its end: each "\r" in it
		// ends a line, "\r\n" ending one as "\n" does.
		eol := len(seg) > 0 && seg[len(seg)-1] == '\n'
		if eol {
			seg = seg[:len(seg)-1]
			nl++
		}
		if len(seg) > 0 && seg[len(seg)-1] == '\r' {
			seg = seg[:len(seg)-1]
		} else if !eol && len(seg) == 0 {
			break // the text ended with its last line's end
		}
		if fnErr == nil {
			for {
				i := bytes.IndexByte(seg, '\r')
				ln := seg
				if i >= 0 {
					ln = seg[:i]
				}
				if fnErr = fn(no, string(ln)); fnErr != nil {
					break
				}
				no++
				if i < 0 {
					break
				}
				seg = seg[i+1:]
			}
		}
		acc = acc[:0]
		if err != nil {
			break
		}
	}
	return bad, fnErr, nil
}

// lineReader reads a chat text a line at a time into messages, and
// accounts for every line in its ledger: a message's header, a line
// continuing the message above, a system line, a blank line before the
// first message, or a line not understood. A line that starts with a
// date and time but cannot be read as a header is not understood, and so
// is every line after it up to the next header: none is ever folded into
// the message above.
//
// Each message is passed to emit once its last line is read; the
// reader keeps only that message and the tally of its dates.
type lineReader struct {
	emit func(*rawMessage) error
	n    int        // messages read
	cur  rawMessage // the last message read
	// pending says cur is not yet passed to emit.
	pending bool
	ios     bool // the first message has the bracketed iOS header
	dates   dateTally
	ledger  capture.Ledger
	cont    []string // continuation lines of the last message
	unread  bool     // the lines since the last header continue one not understood
	bare    bool     // the first header has neither bracket nor dash
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
		case h.bare && r.n > 0 && !r.bare:
			ok, why = false, "it starts with a date and time written unlike the export's other messages"
		}
	} else if looksLikeHeader(ln) {
		why = "it starts with a date and time that could not be read as those of a message"
	}
	switch {
	case ok:
		if err := r.flush(); err != nil {
			return err
		}
		if r.n == 0 {
			r.bare, r.ios = h.bare, h.ios
		}
		if h.odd {
			if r.odd == 0 {
				r.oddLine = no
			}
			r.odd++
		}
		r.n++
		r.cur, r.pending = rawMessage{line: no, st: h.stamp(), author: author, system: system, text: text}, true
		r.unread = false
		if system {
			r.ledger.System++
		} else {
			r.ledger.Headers++
		}
	case why != "":
		if err := r.flush(); err != nil {
			return err
		}
		r.unread = true
		r.notUnderstood(no, ln, why)
	case r.unread:
		r.notUnderstood(no, ln, "it continues the line not understood above it")
	case r.n == 0:
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

// flush adds the continuation lines read to the last message, and
// passes it on.
func (r *lineReader) flush() error {
	if !r.pending {
		return nil
	}
	if len(r.cont) > 0 {
		r.cur.text = r.cur.text + "\n" + strings.Join(r.cont, "\n")
		clear(r.cont)
		r.cont = r.cont[:0]
	}
	r.pending = false
	r.dates.add(&r.cur)
	return r.emit(&r.cur)
}

// read reads the chat text rd reads into messages, passed to r.emit one
// by one, and accounts for its lines. readErr is the error reading the
// text. err says the text is not UTF-8, or does not start with a message
// line, which is how a file that is not a WhatsApp export shows itself;
// or it is what emit returned, which stops the reading.
func (r *lineReader) read(rd io.Reader) (readErr, err error) {
	bad, err, readErr := readLines(rd, r.add)
	switch {
	case readErr != nil:
		return readErr, nil
	case bad > 0:
		return nil, &Error{ErrEncoding, fmt.Sprintf("the chat text is not UTF-8 (line %d): WhatsApp writes UTF-8, so the file was changed after it was exported; send it as the phone made it", bad)}
	case err != nil:
		return nil, err
	}
	if err := r.flush(); err != nil {
		return nil, err
	}
	if r.n == 0 {
		return nil, notExport("the chat text holds no messages")
	}
	return nil, nil
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

// ymd returns the year, month and day of st read in order o, and whether
// they make a date.
func (st *stamp) ymd(o DateOrder) (y, m, d int, ok bool) {
	f0, f1, f2 := int(st.f[0]), int(st.f[1]), int(st.f[2])
	switch o {
	case YMD:
		y, m, d = f0, f1, f2
	case DMY:
		y, m, d = year(f2, int(st.w[2])), f1, f0
	case MDY:
		y, m, d = year(f2, int(st.w[2])), f0, f1
	default:
		return 0, 0, 0, false
	}
	if (o == YMD) != (st.w[0] == 4) {
		return 0, 0, 0, false
	}
	return y, m, d, m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
}

// dateTally follows the dates of the messages read, one by one, for
// dateOrder.
type dateTally struct {
	n int
	// ymd is set when the first date is written year first; notYMD is
	// then the line of the first that is not.
	ymd    bool
	notYMD int
	// fits is the line that rules each order out, 0 when none; sorted
	// says the dates read in that order keep the messages in time order,
	// prev is the last date so read.
	fits   map[DateOrder]int
	sorted map[DateOrder]bool
	prev   map[DateOrder]int
}

func (t *dateTally) add(m *rawMessage) {
	if t.n == 0 {
		t.ymd = m.st.w[0] == 4
		t.fits = map[DateOrder]int{DMY: 0, MDY: 0}
		t.sorted = map[DateOrder]bool{DMY: true, MDY: true}
		t.prev = map[DateOrder]int{DMY: 0, MDY: 0}
	}
	t.n++
	if t.ymd {
		if _, _, _, ok := m.st.ymd(YMD); !ok && t.notYMD == 0 {
			t.notYMD = m.line
		}
		return
	}
	for _, o := range []DateOrder{DMY, MDY} {
		if t.fits[o] != 0 {
			continue
		}
		y, mo, d, ok := m.st.ymd(o)
		if !ok {
			t.fits[o] = m.line
			continue
		}
		day := y*10000 + mo*100 + d
		if day < t.prev[o] {
			t.sorted[o] = false
		}
		t.prev[o] = day
	}
}

// dateOrder decides the order of day and month over the whole file: an
// order the dates cannot have is ruled out (a first field above 12 is a
// day), and of two that fit, one that keeps the messages in time order
// wins over one that does not. Otherwise the option decides, and with
// none the error asks for it. It returns the order and the basis of it,
// for the record.
func (t *dateTally) dateOrder(opt DateOrder) (DateOrder, string, error) {
	if t.ymd {
		if t.notYMD != 0 {
			return "", "", dateError(fmt.Sprintf("line %d has a date that is not year-month-day like the first line's", t.notYMD))
		}
		return YMD, "written year first in the export", nil
	}
	fits, sorted := t.fits, t.sorted
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
	y, mo, d, _ := m.st.ymd(o)
	return time.Date(y, time.Month(mo), d, int(m.st.hour), int(m.st.min), int(m.st.sec), 0, loc)
}
