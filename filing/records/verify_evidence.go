package records

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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

// eventSource gives the audit events of a record: the objects to read, and
// events already read.
type eventSource interface {
	events(ctx context.Context, id string, filed time.Time) ([]*filing.History, []Link, error)
}

// chainSource reads each record's events with Chain: a listing of the
// audit trail per record, for checking a few records.
type chainSource struct{ st filing.Store }

func (c chainSource) events(ctx context.Context, id string, filed time.Time) ([]*filing.History, []Link, error) {
	links, err := Chain(ctx, c.st, id, filed)
	return nil, links, err
}

// auditIndex is the whole audit trail listed once, every event key by the
// record its key names, with the review decisions and residual entries:
// for checking every record. Of each event it keeps the key and its first
// version id (and its history when something was written over it); events
// whose key names no record (written before keys named them) are read
// while listing, to know their record.
type auditIndex struct {
	done chan struct{}
	err  error

	mu        sync.Mutex
	byID      map[string][]evRef
	reviews   map[string][]sideRef
	residuals map[string]*sideRef
	taken     map[string]bool // ids whose reviews and residual a check took
}

// evRef is one event object of the audit trail.
type evRef struct {
	name string // key without AuditPrefix
	vid  string
	// stored is when the first version was stored (Unix nanoseconds):
	// an unsigned filing event stored after signing began is forged.
	stored int64
	h      *filing.History // when something was written over it
	link   *Link           // read while listing
}

// sideRef is a review decision or a residual entry as filed, with what its
// signature check said (nil: a trusted key signed it).
type sideRef struct {
	key string
	sig error
	// later is set when something was written over the object.
	later *filing.History
	// what the object says, for people.
	at     time.Time
	detail string
}

// listAudit starts listing the audit trail, the reviews and the residual
// entries.
func (v *Verifier) listAudit(ctx context.Context) *auditIndex {
	a := &auditIndex{done: make(chan struct{}), byID: make(map[string][]evRef),
		reviews: make(map[string][]sideRef), residuals: make(map[string]*sideRef), taken: make(map[string]bool)}
	go func() {
		defer close(a.done)
		var wg sync.WaitGroup
		var sideErr error
		wg.Go(func() { sideErr = v.readSides(ctx, a) })
		a.err = a.list(ctx, v.Store)
		wg.Wait()
		if a.err == nil {
			a.err = sideErr
		}
	}()
	return a
}

func (a *auditIndex) list(ctx context.Context, st filing.Store) error {
	var unnamed []*filing.History
	for h, err := range filing.Histories(ctx, st, filing.AuditPrefix) {
		if err != nil {
			return fmt.Errorf("list the audit trail: %w", err)
		}
		if !strings.HasSuffix(h.Key, ".json") {
			continue
		}
		id, named := filing.EventRecord(h.Key)
		if !named {
			unnamed = append(unnamed, h)
			continue
		}
		r := evRef{name: strings.TrimPrefix(h.Key, filing.AuditPrefix), vid: h.First.ID}
		if !h.First.LastModified.IsZero() {
			r.stored = h.First.LastModified.UnixNano()
		}
		if len(h.Later) > 0 {
			r.h = h
		}
		a.byID[id] = append(a.byID[id], r)
	}
	links := make([]Link, len(unnamed))
	err := forEach(ctx, len(unnamed), parallel, func(ctx context.Context, i int) error {
		var err error
		links[i], err = readLink(ctx, st, unnamed[i])
		return err
	})
	if err != nil {
		return err
	}
	for i := range links {
		if id := links[i].Event.RecordID; id != "" {
			a.byID[id] = append(a.byID[id], evRef{link: &links[i]})
		}
	}
	return nil
}

// wait waits for the listing to end.
func (a *auditIndex) wait(ctx context.Context) error {
	select {
	case <-a.done:
		return a.err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (a *auditIndex) events(ctx context.Context, id string, _ time.Time) ([]*filing.History, []Link, error) {
	if err := a.wait(ctx); err != nil {
		return nil, nil, err
	}
	a.mu.Lock()
	refs := a.byID[id]
	a.mu.Unlock()
	var hs []*filing.History
	var links []Link
	for _, r := range refs {
		switch {
		case r.link != nil:
			links = append(links, *r.link)
		case r.h != nil:
			hs = append(hs, r.h)
		default:
			key := filing.AuditPrefix + r.name
			h := &filing.History{Key: key, First: filing.Version{Key: key, ID: r.vid}}
			if r.stored != 0 {
				h.First.LastModified = time.Unix(0, r.stored).UTC()
			}
			hs = append(hs, h)
		}
	}
	return hs, links, nil
}

// sides returns the review decisions and residual entry of record id, and
// marks them taken.
func (a *auditIndex) sides(ctx context.Context, id string) ([]sideRef, *sideRef, error) {
	if err := a.wait(ctx); err != nil {
		return nil, nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.taken[id] = true
	return a.reviews[id], a.residuals[id], nil
}

// readSides reads every review decision and residual entry, and checks
// their signatures.
func (v *Verifier) readSides(ctx context.Context, a *auditIndex) error {
	for _, prefix := range []string{ReviewsPrefix, DisposedPrefix} {
		var hs []*filing.History
		for h, err := range filing.Histories(ctx, v.Store, prefix) {
			if err != nil {
				return fmt.Errorf("list %s: %w", prefix, err)
			}
			if strings.HasSuffix(h.Key, ".json") {
				hs = append(hs, h)
			}
		}
		refs := make([]sideRef, len(hs))
		ids := make([]string, len(hs))
		err := forEach(ctx, len(hs), parallel, func(ctx context.Context, i int) error {
			var err error
			ids[i], refs[i], err = v.readSide(ctx, hs[i])
			return err
		})
		if err != nil {
			return err
		}
		a.mu.Lock()
		for i, r := range refs {
			if prefix == ReviewsPrefix {
				a.reviews[ids[i]] = append(a.reviews[ids[i]], r)
			} else {
				a.residuals[ids[i]] = &r
			}
		}
		a.mu.Unlock()
	}
	return nil
}

// readSide reads the review decision or residual entry h (which its key
// says) as filed: the record it concerns, by its key, and what its
// signature check said.
func (v *Verifier) readSide(ctx context.Context, h *filing.History) (string, sideRef, error) {
	ref := sideRef{key: h.Key}
	if len(h.Later) > 0 {
		ref.later = h
	}
	var id string
	if rest, ok := strings.CutPrefix(h.Key, ReviewsPrefix); ok {
		id, _, _ = strings.Cut(rest, "/")
		var d ReviewDecision
		err := readFirst(ctx, v.Store, h, &d)
		if errors.Is(err, filing.ErrNotExist) {
			return id, ref, nil
		}
		if err != nil {
			ref.sig = sigError{"not readable as one recordbot writes", filing.ErrBadSignature}
			return id, ref, nil
		}
		ref.at, ref.sig = d.At, checkSig(v.Keys, filing.KindReview, &d, &d.Signature)
		ref.detail = "a review decision"
		if d.RecordID != id {
			ref.sig = sigError{fmt.Sprintf("it concerns record %q, not the one its key names", d.RecordID), filing.ErrBadSignature}
		}
		return id, ref, nil
	}
	id = strings.TrimSuffix(strings.TrimPrefix(h.Key, DisposedPrefix), ".json")
	var res Residual
	err := readFirst(ctx, v.Store, h, &res)
	if errors.Is(err, filing.ErrNotExist) {
		return id, ref, nil
	}
	if err != nil {
		ref.sig = sigError{"not readable as one recordbot writes", filing.ErrBadSignature}
		return id, ref, nil
	}
	ref.at, ref.sig = res.At, checkSig(v.Keys, filing.KindResidual, &res, &res.Signature)
	ref.detail = "a residual entry saying the record was " + res.String()
	if res.ID != id {
		ref.sig = sigError{fmt.Sprintf("it is of record %q, not the one its key names", res.ID), filing.ErrBadSignature}
	}
	return id, ref, nil
}

// sidesOf reads the review decisions and residual entry of one record.
func (v *Verifier) sidesOf(ctx context.Context, id string) ([]sideRef, *sideRef, error) {
	var reviews []sideRef
	var residual *sideRef
	for _, prefix := range []string{ReviewsPrefix + id + "/", ResidualKey(id)} {
		for h, err := range filing.Histories(ctx, v.Store, prefix) {
			if err != nil {
				return nil, nil, fmt.Errorf("list %s: %w", prefix, err)
			}
			if !strings.HasSuffix(h.Key, ".json") || (prefix == ResidualKey(id) && h.Key != prefix) {
				continue
			}
			_, ref, err := v.readSide(ctx, h)
			if err != nil {
				return nil, nil, err
			}
			if prefix == ResidualKey(id) {
				residual = &ref
			} else {
				reviews = append(reviews, ref)
			}
		}
	}
	return reviews, residual, nil
}

// leftovers returns results for the residual entries and review decisions
// of records that were not checked (not in the store): a residual entry
// not signed by a trusted key, and a review decision of a record neither
// in the store nor destroyed by recordbot.
func (v *Verifier) leftovers(a *auditIndex) []Result {
	if v.Keys == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Result
	for id, res := range a.residuals {
		if a.taken[id] || res.sig == nil {
			continue
		}
		out = append(out, Result{ID: id, Where: v.Store.Where(res.key), Problems: []Problem{{Kind: Forged, Path: res.key,
			Detail: "a residual entry recordbot did not write (" + res.sig.Error() + "): recordbot did not destroy this record"}}})
	}
	for id, revs := range a.reviews {
		if a.taken[id] {
			continue
		}
		destroyed := a.residuals[id] != nil && a.residuals[id].sig == nil
		r := Result{ID: id, Where: v.Store.Where(ReviewsPrefix + id + "/")}
		for _, rv := range revs {
			switch {
			case rv.sig != nil:
				r.Problems = append(r.Problems, Problem{Kind: Forged, Path: rv.key,
					Detail: "a review decision recordbot did not write (" + rv.sig.Error() + ")"})
			case !destroyed:
				r.Problems = append(r.Problems, Problem{Kind: Missing, Path: rv.key,
					Detail: "a review decision of a record that is not in the store, and that recordbot did not destroy"})
			}
		}
		if len(r.Problems) > 0 {
			r.sortProblems()
			out = append(out, r)
		}
	}
	return out
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
