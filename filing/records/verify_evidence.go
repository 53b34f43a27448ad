package records

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/recordbot/recordbot/filing"
)

// What verify trusts beyond Object Lock: whoever holds the bot's S3 keys
// can create any object the bot could, so a record, an event, a review
// decision or a residual entry counts as recordbot's only when a trusted
// key signed it (filing.Keyring), and a record's events count only as
// links of its chain (filing.Event.Prev).

// timeSlack is how far the time a record's objects were stored may be from
// the time it says it was filed (and from its id's time): filing retries,
// so a record may be written a while after its id was made.
const timeSlack = 24 * time.Hour

// lockSlack absorbs the rounding of retain-until dates by the store.
const lockSlack = time.Minute

// orderSlack is how far apart the clocks of two writers of a record's
// events (the bot, an officer's workstation) may be: an event may name one
// stamped up to this much after it without being out of order.
const orderSlack = 5 * time.Minute

// sigError is why a signature was not accepted, for people; it matches
// filing.ErrUnsigned, ErrUnknownKey or ErrBadSignature.
type sigError struct {
	msg  string
	kind error
}

func (e sigError) Error() string { return e.msg }
func (e sigError) Unwrap() error { return e.kind }

// checkSig is keys.Check, its error saying which key for people.
func checkSig(keys *filing.Keyring, kind string, v any, sig **filing.Signature) error {
	got := *sig
	err := keys.Check(kind, v, sig)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, filing.ErrUnsigned):
		return sigError{"not signed", filing.ErrUnsigned}
	case errors.Is(err, filing.ErrUnknownKey):
		return sigError{"signed by key " + got.Key + ", which this deployment does not trust", filing.ErrUnknownKey}
	case errors.Is(err, filing.ErrBadSignature):
		return sigError{"its signature (key " + got.Key + ") does not match it: changed after signing, or made up", filing.ErrBadSignature}
	}
	return err
}

// checkSides reports what is wrong with the review decisions and residual
// entry of a record that is in the store.
func (v *Verifier) checkSides(r *Result, reviews []sideRef, residual *sideRef) {
	for _, rv := range reviews {
		if rv.later != nil {
			r.Problems = append(r.Problems, Problem{Kind: Tampered, Path: rv.key, Detail: overwritten(rv.later), Later: rv.later.Later})
		}
		if v.Keys != nil && rv.sig != nil {
			r.Problems = append(r.Problems, Problem{Kind: Forged, Path: rv.key,
				Detail: "a review decision recordbot did not write (" + rv.sig.Error() + ")"})
		}
	}
	if residual == nil {
		return
	}
	switch {
	case v.Keys != nil && residual.sig != nil:
		r.Problems = append(r.Problems, Problem{Kind: Forged, Path: residual.key,
			Detail: "a forged residual of a live record: recordbot did not write it (" + residual.sig.Error() + "), yet it says the record was destroyed"})
	default:
		r.Notes = append(r.Notes, residual.detail+", but the record is still here: its destruction did not finish (`records dispose destroy` finishes it)")
	}
}

// idTime returns the time in a UUIDv7 record id; ok is false for an id
// of another kind.
func idTime(id string) (time.Time, bool) {
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		return time.Time{}, false
	}
	sec, nsec := u.Time().UnixTime()
	return time.Unix(sec, nsec).UTC(), true
}

// apart reports whether a and b are more than timeSlack apart.
func apart(a, b time.Time) bool {
	d := a.Sub(b)
	return d > timeSlack || d < -timeSlack
}

// checkTimes compares when record.json was stored with when the record
// says it was filed and with its id's time. A record made up today and
// dated years ago shows here on S3, whose write times nobody can set; on a
// store that keeps no versions it is only a note (a file's time can be
// set).
func checkTimes(r *Result, rec *filing.Record, stored time.Time, versioned bool) {
	if stored.IsZero() || rec.FiledAt.IsZero() {
		return
	}
	var says []string
	if apart(stored, rec.FiledAt) {
		says = append(says, "it says it was filed "+rec.FiledAt.UTC().Format(time.RFC3339))
	}
	if t, ok := idTime(rec.ID); ok && apart(stored, t) {
		says = append(says, "its id was made "+t.Format(time.RFC3339))
	}
	if len(says) == 0 {
		return
	}
	detail := fmt.Sprintf("stored %s, but %s", stored.UTC().Format(time.RFC3339), strings.Join(says, " and "))
	if versioned {
		r.Problems = append(r.Problems, Problem{Kind: Backdated, Path: filing.RecordFile, Detail: detail + ": not filed when it says"})
		return
	}
	r.Notes = append(r.Notes, filing.RecordFile+" was "+detail+" (a file's time can be set, so this store cannot tell)")
}

// chainCheck is what checkChain needs of a record.
type chainCheck struct {
	id     string
	links  []Link
	filed  int // index of the filing event in links; -1 if missing
	entry  *entryRef
	idxKey string
}

// checkChain checks the signatures of a record's filing event, index entry
// and later events, and the chain of its events. It returns the Sum of the
// latest event, for the next event's Prev; it sorts c.links.
func (v *Verifier) checkChain(r *Result, c chainCheck) string {
	keys := v.Keys
	problem := func(kind, path, detail string) {
		r.Problems = append(r.Problems, Problem{Kind: kind, Path: path, Detail: detail})
	}
	signed := false // the record's filing event is signed by a trusted key
	if keys == nil {
		r.Notes = append(r.Notes, "signatures not checked: no trusted public keys were given")
	} else {
		var evSig error
		evKey := ""
		if c.filed >= 0 {
			ev := c.links[c.filed].Event
			evKey = c.links[c.filed].History.Key
			evSig = checkSig(keys, filing.KindEvent, &ev, &ev.Signature)
		}
		var idxSig error
		if c.entry != nil {
			idxSig = c.entry.sig
		}
		switch {
		case c.filed < 0:
		case evSig == nil:
			signed = true
		case errors.Is(evSig, filing.ErrUnsigned):
			stored := c.links[c.filed].History.First.LastModified
			switch {
			case c.entry != nil && idxSig == nil:
				problem(Forged, evKey, "not filed by this deployment: the filing event is not signed, but the index entry is")
			case unsignedTooLate(stored, v.SignedSince):
				problem(Forged, evKey, fmt.Sprintf("not filed by this deployment: the filing event is not signed, and was stored on %s, after this deployment began signing every record (%s)",
					stored.UTC().Format(time.DateOnly), v.SignedSince.UTC().Format(time.DateOnly)))
			default:
				r.Notes = append(r.Notes, "unsigned (filed before signing)")
			}
		default:
			problem(Forged, evKey, "not filed by this deployment: the filing event is "+evSig.Error())
		}
		switch {
		case c.entry == nil || idxSig == nil:
		case errors.Is(idxSig, filing.ErrUnsigned):
			if signed {
				problem(Forged, c.idxKey, "not written by this deployment: the index entry is not signed, but the filing event is")
			}
		default:
			problem(Forged, c.idxKey, "not written by this deployment: the index entry is "+idxSig.Error())
		}
	}

	// The later events: each signed by a trusted key (or, on a record
	// filed before signing, written before chaining), each naming in Prev
	// an event before it.
	bySum := make(map[string]int, len(c.links))
	for i, l := range c.links {
		bySum[l.Sum] = i
	}
	old := 0
	follows := make(map[string][]int)
	for i, l := range c.links {
		if i == c.filed {
			continue
		}
		key := l.History.Key
		if keys != nil {
			ev := l.Event
			switch err := checkSig(keys, filing.KindEvent, &ev, &ev.Signature); {
			case err == nil:
			case errors.Is(err, filing.ErrUnsigned) && !signed && l.Event.Prev == "":
				old++
				continue
			case errors.Is(err, filing.ErrUnsigned) && !signed:
				problem(Forged, key, fmt.Sprintf("a %q event not written by this deployment: unsigned, but it names an event before it, as only signed events do", l.Event.Type))
				continue
			default:
				problem(Forged, key, fmt.Sprintf("a %q event not written by this deployment: %s", l.Event.Type, err))
				continue
			}
		} else if l.Event.Prev == "" {
			old++
			continue
		}
		j, ok := bySum[l.Event.Prev]
		switch {
		case l.Event.Prev == "" || !ok:
			problem(Missing, key, fmt.Sprintf("a %q event: an event before this one is missing or was changed (its prev names no event of the record)", l.Event.Type))
		case c.links[j].Event.At.After(l.Event.At.Add(orderSlack)):
			problem(OutOfOrder, key, fmt.Sprintf("a %q event of %s names as the event before it %s, written later (%s)", l.Event.Type,
				l.Event.At.UTC().Format(time.RFC3339), c.links[j].History.Key, c.links[j].Event.At.UTC().Format(time.RFC3339)))
		default:
			follows[l.Event.Prev] = append(follows[l.Event.Prev], i)
		}
	}
	if old > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d audit events written before events were signed and chained: not checked against each other", old))
	}
	for prev, is := range follows {
		if len(is) > 1 {
			r.Notes = append(r.Notes, fmt.Sprintf("%d events follow the same event %s (written at once, by two writers)", len(is), c.links[bySum[prev]].History.Key))
		}
	}
	// The next event names the latest event read, forged or not: the
	// chain records what was there when it was written.
	SortChain(c.links)
	return Head(c.links)
}

// unsignedTooLate reports whether something unsigned was stored at or after
// since, when the deployment signed everything it wrote.
func unsignedTooLate(stored, since time.Time) bool {
	return !since.IsZero() && !stored.IsZero() && !stored.Before(since)
}
