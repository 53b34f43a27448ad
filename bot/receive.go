package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
	"github.com/recordbot/recordbot/filing"
)

// Sent is a file a person sent the bot in a direct message, to be read as
// a WhatsApp export: the same for every front end.
type Sent struct {
	Name string
	// Team is the workspace (or server) it was sent in.
	Team string
	By   capture.Person
	At   time.Time
	// Via is the front end's name for this way in.
	Via string
	// Location is the time zone the export's times are read in, and
	// LocationBasis where it comes from (the person's profile, the
	// organisation's zone).
	Location      *time.Location
	LocationBasis string
	// DateOrderBasis is recorded when the person chooses the date order
	// of an export whose dates fit both.
	DateOrderBasis string
}

// Received is an export read and kept, ready to be offered for filing.
type Received struct {
	Upload
	Messages int
	// Media are the media files in the export; Omitted those it names
	// but does not hold (exported without media, or missing).
	Media, Omitted int
	// NotUnderstood counts the lines of the chat text that were not
	// understood: part of no message, listed in the record.
	NotUnderstood int
	// MayBeCut is the message limit of WhatsApp's exports the export is
	// at (10,000 or 40,000), when it is: the chat may be longer.
	MayBeCut int
	// Earlier is the latest record filed of the same export before, when
	// it read the export otherwise (Upload.Corrects names it); Differs
	// says how.
	Earlier *filing.Record
	Differs []filing.Difference
	// Same is a record filed of the same export before and read as it is
	// now, when there is one.
	Same *filing.Record
}

// ReceiveError is why a file sent to the bot was not kept: Tell is what
// to say to the person (plain text: escape it for the platform), Why and
// Err are for the log. Err is nil when its text could carry something
// from the file.
type ReceiveError struct {
	Tell string
	Why  string
	Err  error
}

func (e *ReceiveError) Error() string {
	if e.Err != nil {
		return e.Why + ": " + e.Err.Error()
	}
	return e.Why
}

func (e *ReceiveError) Unwrap() error { return e.Err }

// Receive reads the export in r (n bytes) that s describes and keeps it
// (Keep) for its sender to file: their own, whoever else sent the same.
// When every date in it fits both orders of day and month it is kept
// Ambiguous, read day first for the counts, and the sender chooses before
// filing. Any error is a *ReceiveError.
func (k *Uploads) Receive(ctx context.Context, r io.ReaderAt, n int64, s Sent) (Received, error) {
	// The export is described, not read whole: a message at a time.
	read := func(order whatsapp.DateOrder) (*whatsapp.Description, error) {
		o := whatsapp.Options{Location: s.Location, LocationBasis: s.LocationBasis, SuppliedBy: s.By, SuppliedAt: s.At,
			Via: s.Via, Limits: k.Limits, DateOrder: order}
		if order != "" {
			o.DateOrderBasis = s.DateOrderBasis
		}
		return whatsapp.Describe(ctx, r, n, s.Name, o)
	}
	d, err := read("")
	ambiguous := false
	if errors.Is(err, whatsapp.ErrDateOrder) {
		if d2, err2 := read(whatsapp.DMY); err2 == nil {
			d, err, ambiguous = d2, nil, true
		}
	}
	if we, ok := errors.AsType[*whatsapp.Error](err); ok {
		// Its message may quote the file: for the person, not the log.
		return Received{}, &ReceiveError{Tell: "I cannot file this file: " + we.Msg, Why: "not an export it can file (" + we.Kind.Error() + ")"}
	}
	if err != nil {
		return Received{}, &ReceiveError{Tell: "Sorry, I could not read the file. Please send it again.", Why: "could not read an export", Err: err}
	}
	th := d.Thread
	// A record of this export filed before and read otherwise is named:
	// the person is told how it differs, and the record filed now names
	// it as the one it corrects. A date order still to be chosen is not
	// a difference yet.
	earlier, err := filing.RecordsOf(ctx, k.Store, th.Platform, th.ThreadID)
	if err != nil {
		// The export can be filed all the same: it is only not linked.
		k.log().Warn("could not look for records filed of an export before", "err", err)
		earlier = nil
	}
	var last, same *filing.Record
	var differs []filing.Difference
	for i := range earlier {
		var ds []filing.Difference
		for _, d := range filing.Differences(&earlier[i], th, earlier[i].Class.Code, earlier[i].Title) {
			if !(ambiguous && d.Subject == "date order") {
				ds = append(ds, d)
			}
		}
		if len(ds) == 0 {
			// Read as a record filed before was: nothing to correct.
			last, differs, same = nil, nil, &earlier[i]
			break
		}
		last, differs = &earlier[i], ds
	}
	u := Upload{
		SHA256: th.ThreadID, Name: s.Name, Team: s.Team, SuppliedBy: s.By, SuppliedAt: s.At, Via: s.Via,
		TimeZone: s.Location.String(), TimeZoneBasis: s.LocationBasis, ChatName: th.Channel.Name, Ambiguous: ambiguous,
	}
	if last != nil {
		u.Corrects = last.ID
	}
	if same != nil {
		u.SameAs, u.SameClass = same.ID, same.Class.Code
		if ambiguous {
			u.SameDateOrder = dateOrderOf(same)
		}
	}
	up, err := k.Keep(ctx, r, n, u)
	if err != nil {
		return Received{}, &ReceiveError{Tell: "Sorry, I could not keep the file. Please send it again.", Why: "could not keep an export", Err: err}
	}
	rec := Received{Upload: up, Messages: d.Messages, Media: d.Media, Omitted: d.Omitted, Same: same}
	if last != nil && up.Corrects == last.ID {
		rec.Earlier, rec.Differs = last, differs
	}
	if l := th.Provenance.Ledger; l != nil {
		rec.NotUnderstood, rec.MayBeCut = l.NotUnderstood, l.MayBeCut
	}
	return rec, nil
}

// Summary is what the bot answers with an export it kept: the chat, what
// it holds and the time zone it is read in. A front end adds how the date
// order is chosen, when the export is Ambiguous.
func (r Received) Summary(m Markup) string {
	text := fmt.Sprintf("WhatsApp chat %s: %s, %s", m.Bold(r.ChatName), count(r.Messages, "message"), count(r.Media, "media file"))
	if r.Omitted > 0 {
		text += fmt.Sprintf(" (%d more not in the export)", r.Omitted)
	}
	text += "."
	switch {
	case r.NotUnderstood == 1:
		text += " 1 line of the chat was not understood: it is part of no message, and the record lists it."
	case r.NotUnderstood > 1:
		text += fmt.Sprintf(" %d lines of the chat were not understood: they are part of no message, and the record lists them.", r.NotUnderstood)
	}
	if r.MayBeCut > 0 {
		text += fmt.Sprintf(" It holds about %s messages, where WhatsApp stops an export without saying so: the chat may be longer than this export.", thousands(r.MayBeCut))
	}
	text += fmt.Sprintf(" Times are read as %s (%s).", r.TimeZone, r.TimeZoneBasis)
	if r.Earlier != nil {
		var ds []string
		for _, d := range r.Differs {
			ds = append(ds, fmt.Sprintf("%s %s there, %s now", d.Subject, d.Filed, d.Now))
		}
		text += fmt.Sprintf(" This export was filed before as record %s (%s, class %s), read otherwise: %s."+
			" A filed record never changes: filing this one makes a new record that names %s as the record it corrects.",
			m.Bold(r.Earlier.Title), r.Earlier.ID, r.Earlier.Class.Code, strings.Join(ds, "; "), r.Earlier.ID)
	}
	switch {
	case r.Same != nil && r.Ambiguous && r.DateOrder == "":
		text += fmt.Sprintf(" This export was filed before as record %s (%s, class %s), its dates read as %s:"+
			" filed with the other order, it makes a new record that names %s as the record it corrects.",
			m.Bold(r.Same.Title), r.Same.ID, r.Same.Class.Code, r.SameDateOrder, r.Same.ID)
	case r.Same != nil:
		text += fmt.Sprintf(" This export was filed before as record %s (%s, class %s), read as it is now:"+
			" filed under class %s again, it is not filed twice; filed under another class, it makes a new record that names %s as the record it corrects.",
			m.Bold(r.Same.Title), r.Same.ID, r.Same.Class.Code, r.Same.Class.Code, r.Same.ID)
	}
	return text
}

// thousands writes n with commas between its thousands: 40,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// dateOrderOf is how rec read its dates ("day/month/year"), as its
// provenance says.
func dateOrderOf(rec *filing.Record) string {
	if rec.Provenance != nil {
		for _, a := range rec.Provenance.Assumptions {
			if a.Subject == "date order" {
				return a.Value
			}
		}
	}
	return ""
}
