package whatsapp

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/recordbot/recordbot/capture"
)

// holdUpTo is the most messages a thread Read returns holds in its
// Messages as well as in its Stream, for the callers that look at the
// messages of a short chat; a longer chat is only read as a stream.
const holdUpTo = 1000

// messages are the messages of an export's chat text as a
// capture.MessageStream: each pass reads the text again from the export,
// a message at a time, as parse read it first. Nothing of the messages
// is held between passes.
type messages struct {
	open  func() (io.ReadCloser, error) // opens the chat text
	n     int                           // its messages
	order DateOrder
	loc   *time.Location
	arc   *archive
	l     Limits
}

var _ capture.MessageStream = (*messages)(nil)

// Len implements capture.MessageStream.
func (s *messages) Len() int { return s.n }

// Each implements capture.MessageStream. It fails with an *Error when the
// text no longer reads as it did (the export changed since it was read).
func (s *messages) Each(ctx context.Context, fn func(m *capture.Message) error) error {
	changed := damaged("the export changed while it was read: send it again")
	rc, err := s.open()
	if err != nil {
		return changed
	}
	defer rc.Close()
	rd := newReading(s.arc, s.l)
	lr := &lineReader{}
	rd.ledger = &lr.ledger
	pos := 0
	var stop error // fn's error, or ctx's
	lr.emit = func(rm *rawMessage) error {
		if pos%1024 == 0 {
			if stop = ctx.Err(); stop != nil {
				return stop
			}
		}
		if pos == s.n {
			return changed
		}
		m, err := rd.message(rm, pos)
		if err != nil {
			return changed // it was read before
		}
		m.Time = rm.timeOf(s.order, s.loc)
		pos++
		if err := fn(&m); err != nil {
			stop = err
			return err
		}
		return nil
	}
	readErr, err := lr.read(io.LimitReader(rc, s.l.MaxText+1))
	switch {
	case stop != nil:
		return stop
	case readErr != nil || err != nil || pos != s.n:
		return changed
	}
	return nil
}

// parse builds the thread from the chat text open opens and the zip's
// files (arc, nil for a chat text alone): with its messages when keep is
// set, else only the counts of a Description.
//
// The text is read once to check it, count its messages and tell its
// date order, holding a message at a time. For Read, the thread's
// messages are then a stream that reads the text again at each pass
// (messages); those of a short chat are held in Messages too.
func parse(ctx context.Context, open func() (io.ReadCloser, error), arc *archive, o Options, keep bool) (*capture.Thread, *Description, error) {
	l := o.Limits.withDefaults()
	s := newReading(arc, l)
	rc, err := open()
	if err != nil {
		return nil, nil, damaged("the chat text in the zip cannot be read: " + err.Error())
	}
	defer rc.Close()
	var chat io.Reader = rc
	var counted *countingReader
	if arc != nil {
		counted = &countingReader{r: io.LimitReader(rc, l.MaxText+1)}
		chat = counted
	}
	var (
		msgErr error // the first message that cannot be filed
		nread  int
	)
	lr := &lineReader{}
	s.ledger = &lr.ledger
	lr.emit = func(rm *rawMessage) error {
		if msgErr == nil {
			_, msgErr = s.message(rm, nread)
		}
		nread++
		return nil
	}
	readErr, err := lr.read(chat)
	if counted != nil {
		// As a chat text in a zip was read whole before: its damage and
		// its size first, then the other files of the zip.
		switch {
		case readErr != nil:
			return nil, nil, damaged("the chat text in the zip is damaged: " + readErr.Error())
		case counted.n > l.MaxText:
			return nil, nil, tooLarge(fmt.Sprintf("the chat text is over %s", human(uint64(l.MaxText))))
		}
		if verr := arc.verify(ctx); verr != nil {
			return nil, nil, verr
		}
	} else if readErr != nil {
		return nil, nil, readErr
	}
	if err != nil {
		return nil, nil, err
	}
	order, orderBasis, err := lr.dates.dateOrder(o.DateOrder)
	if err != nil {
		return nil, nil, err
	}
	if msgErr != nil {
		return nil, nil, msgErr
	}
	if o.DateOrder != "" && strings.HasPrefix(orderBasis, "the export's dates fit both") && o.DateOrderBasis != "" {
		orderBasis = "the export's dates fit both orders, so it was taken from " + o.DateOrderBasis
	}
	t := &capture.Thread{
		SchemaVersion: capture.SchemaVersion, Platform: capture.WhatsApp,
		Workspace: capture.Workspace{ID: "user-export", Name: "user-made export"},
		Channel:   capture.Channel{Private: true},
	}
	if keep {
		t.Stream = &messages{open: open, n: lr.n, order: order, loc: o.Location, arc: arc, l: l}
		if lr.n <= holdUpTo {
			t.Messages = make([]capture.Message, 0, lr.n)
			if err := t.Stream.Each(ctx, func(m *capture.Message) error {
				t.Messages = append(t.Messages, *m)
				return nil
			}); err != nil {
				return nil, nil, err
			}
		}
	}
	if o.ChatName == "" && s.groupName != "" {
		t.Channel.Name = s.groupName
	}
	basis := o.LocationBasis
	if basis == "" {
		basis = "given by the person who supplied the export"
	}
	format := "whatsapp-android"
	if lr.ios {
		format = "whatsapp-ios"
	}
	p := &capture.Provenance{Format: format, Assumptions: []capture.Assumption{
		{Subject: "date order", Value: order.String(), Basis: orderBasis},
		{Subject: "time zone", Value: o.Location.String(), Basis: "the export's times are the phone's local time without an offset; the zone was " + basis},
	}}
	ledger := lr.ledger
	if lr.odd > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("%d message line(s) give a 12-hour clock with an hour of 0 or above 12 (the first on line %d); each was read as the 24-hour time its hour gives", lr.odd, lr.oddLine))
	}
	if ledger.NotUnderstood > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("%d line(s) of the chat text were not understood and are part of no message; they are listed in the ledger, and kept in the original export", ledger.NotUnderstood))
	}
	media := arc != nil && len(arc.names) > 0 || s.attached > 0
	if c := exportCap(lr.n, media); c > 0 {
		ledger.MayBeCut = c
		p.Notes = append(p.Notes, fmt.Sprintf("the export holds %d messages, as many as WhatsApp puts in an export %s (about %d): WhatsApp stops there without saying so, so the chat may hold more messages than this export", lr.n, capWords(c), c))
	}
	p.Ledger = &ledger
	if arc != nil {
		p.Notes = append(p.Notes, arc.renamed...)
		var unused []string
		for _, n := range arc.names {
			if !s.used[n] {
				unused = append(unused, n)
			}
		}
		if len(unused) > 0 {
			note := fmt.Sprintf("%d file(s) in the export are named by no message; they are kept in the original export: ", len(unused))
			if len(unused) > 20 {
				note += strings.Join(unused[:20], ", ") + fmt.Sprintf(" and %d more", len(unused)-20)
			} else {
				note += strings.Join(unused, ", ")
			}
			p.Notes = append(p.Notes, note)
		}
	}
	t.Provenance = p
	return t, &Description{Messages: lr.n, Media: s.media, Omitted: s.omitted}, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// The most messages WhatsApp puts in an export, with media and without:
// about 10,000 and 40,000, the most recent ones, and it stops there
// without saying so (issue 22; said too by, for one,
// https://receipts.love/learn/backing-up-whatsapp-conversations).
const (
	capWithMedia    = 10_000
	capWithoutMedia = 40_000
)

// exportCap returns the limit a chat of n messages is at, within 1%, or
// 0: at it, WhatsApp may have cut the export short without saying so. An
// export that names or holds media is held to both limits (it may have
// been made with media or without); one without media to the higher.
func exportCap(n int, media bool) int {
	near := func(c int) bool { return n >= c-c/100 && n <= c+c/100 }
	switch {
	case media && near(capWithMedia):
		return capWithMedia
	case near(capWithoutMedia):
		return capWithoutMedia
	}
	return 0
}

func capWords(c int) string {
	if c == capWithMedia {
		return "with media"
	}
	return "without media"
}
