package records

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/recordbot/recordbot/filing"
)

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
