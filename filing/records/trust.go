package records

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/recordbot/recordbot/filing"
)

// An index entry is a claim: anyone with the store's keys can plant one
// (a record that was never filed) or write one over another (a changed
// class or disposal date). ls, due and show check the entries they show
// with the checks disposal makes (checkEntry) and say which do not check,
// rather than presenting them as records.

// Trust is what tells an index entry this deployment wrote from one
// planted: the public keys whose signatures are trusted, and when the
// deployment began signing every record (see Verifier.SignedSince).
type Trust struct {
	Keys        *filing.Keyring
	SignedSince time.Time
}

// Checks reports whether anything can be checked: with no trusted key,
// nothing can be told from a forgery.
func (t Trust) Checks() bool { return t.Keys.Len() > 0 }

// checkEntry derives the facts of the record index entry e names, from the
// record's package as filed and its signed filing event (derive), and
// checks e against them: an unsigned filing stored after signing began,
// an entry that says other facts than the record (sameFacts), or one a
// signed record's deployment did not sign. Disposal and ls, due and show
// all judge an entry by it.
//
// A disagreement is an error matching isTampered, with the facts when
// they were derived (nil when the record itself does not check); plan,
// when set, may give errPlanChanged with the facts, as derive does. Any
// other error is a read that failed.
func checkEntry(ctx context.Context, st filing.Store, keys *filing.Keyring, plan *filing.Plan, signedSince time.Time, e filing.IndexEntry) (*facts, error) {
	f, err := derive(ctx, st, keys, plan, e.ID, e.Key)
	if err == nil && f.unsigned && unsignedTooLate(f.stored, signedSince) {
		err = tampered("%s: the filing event is not signed, and was stored on %s, after this deployment began signing every record (%s): not filed by this deployment",
			FiledEventKey(f.entry), f.stored.UTC().Format(time.DateOnly), signedSince.UTC().Format(time.DateOnly))
	}
	switch {
	case isTampered(err):
		return nil, tampered("%s (named by %s%s.json)", err, filing.IndexPrefix, e.ID)
	case err != nil:
		return f, err
	}
	if !sameFacts(e, f.entry) {
		return f, tampered("%s%s.json: says class %s, disposal %s (%s), but the record as filed says class %s, disposal %s (%s)",
			filing.IndexPrefix, e.ID, e.ClassCode, orNone(e.DisposalDate), e.DisposalAction, f.entry.ClassCode, orNone(f.entry.DisposalDate), f.entry.DisposalAction)
	}
	if !f.unsigned {
		if err := keys.Check(filing.KindIndex, &e, &e.Signature); err != nil {
			return f, tampered("%s%s.json: not written by this deployment: %v", filing.IndexPrefix, e.ID, err)
		}
	}
	return f, nil
}

// signedEntry is the check of an index entry that needs no read beyond
// the entry itself (stored is when its first version was stored): its
// signature, or, unsigned, that it was stored before the deployment began
// signing every record. It returns why the entry is not trusted, or "".
// An unsigned entry stored earlier passes: only checkEntry, which reads
// the record, can tell it from a forgery.
func (t Trust) signedEntry(e filing.IndexEntry, stored time.Time) string {
	err := t.Keys.Check(filing.KindIndex, &e, &e.Signature)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, filing.ErrUnsigned):
		if unsignedTooLate(stored, t.SignedSince) {
			return fmt.Sprintf("%s%s.json: not signed, and stored on %s, after this deployment began signing every record (%s): not written by this deployment",
				filing.IndexPrefix, e.ID, stored.UTC().Format(time.DateOnly), t.SignedSince.UTC().Format(time.DateOnly))
		}
		return ""
	}
	return fmt.Sprintf("%s%s.json: not written by this deployment: %v", filing.IndexPrefix, e.ID, err)
}

// check is checkEntry for ls, due and show: why e is not trusted ("" when
// it checks), and what the record as filed says when that could be read.
// A read that failed is a reason too: the entry could not be checked.
func (t Trust) check(ctx context.Context, st filing.Store, e filing.IndexEntry) (string, *filing.IndexEntry) {
	f, err := checkEntry(ctx, st, t.Keys, nil, t.SignedSince, e)
	var filed *filing.IndexEntry
	if f != nil {
		filed = &f.entry
	}
	switch {
	case err == nil:
		return "", nil
	case isTampered(err):
		return err.Error(), filed
	}
	return fmt.Sprintf("could not be checked: %v", err), filed
}

// stamped is an index entry with when its first version was stored.
type stamped struct {
	filing.IndexEntry
	stored time.Time
}

// Listed is an index entry as ls shows it.
type Listed struct {
	filing.IndexEntry
	// NotTrusted says why the entry does not check against the record it
	// names (the checks disposal makes): it must not be taken for a
	// record. "" when it checks, or was not checked.
	NotTrusted string `json:"not_trusted,omitempty"`
	// Filed is what the record as filed says, when the entry does not
	// check and the record could be read (full checks only).
	Filed *filing.IndexEntry `json:"filed,omitempty"`
}

// ListChecked is List with each entry checked. Every entry's signature is
// checked (signedEntry), which reads nothing more; with full, each entry
// is also checked against its record as filed (checkEntry: the record's
// record.json, filing event and tag manifest, about six requests more
// per record), as disposal does. With no trusted key nothing is checked.
func (t Trust) ListChecked(ctx context.Context, st filing.Store, f Filter, full bool) ([]Listed, error) {
	all, err := indexEntries(ctx, st)
	if err != nil {
		return nil, err
	}
	var out []Listed
	for _, e := range all {
		if !f.Match(e.IndexEntry) {
			continue
		}
		l := Listed{IndexEntry: e.IndexEntry}
		if t.Checks() {
			l.NotTrusted = t.signedEntry(e.IndexEntry, e.stored)
		}
		out = append(out, l)
	}
	if !full || !t.Checks() {
		return out, nil
	}
	err = forEach(ctx, len(out), parallel, func(ctx context.Context, i int) error {
		if out[i].NotTrusted == "" {
			out[i].NotTrusted, out[i].Filed = t.check(ctx, st, out[i].IndexEntry)
		}
		return nil
	})
	return out, err
}

// NotTrustedError is returned by Trust.Show for a record whose index
// entry does not check and whose package holds no record.json of that
// id to show instead: nothing but the entry's claim is there.
type NotTrustedError struct {
	// Claimed is the index entry, as it claims.
	Claimed filing.IndexEntry
	// Reason says why it does not check.
	Reason string
	// Err is what reading the record as filed gave, if it failed.
	Err error
}

func (e *NotTrustedError) Error() string {
	msg := fmt.Sprintf("record %s: its index entry is not trusted, and no record as filed is there to show: %s", e.Claimed.ID, e.Reason)
	if e.Err != nil {
		msg += " (" + e.Err.Error() + ")"
	}
	return msg
}

func (e *NotTrustedError) Unwrap() error { return e.Err }

// Show is Show with the record's index entry checked, as disposal checks
// it (a read or two more than Show makes, and the record's filing event
// and tag manifest). An entry that does not check is said in
// d.NotTrusted, with the entry's claim in d.Claimed, and the record shown
// is the one filed at its folder, when that holds a record.json of the
// id; when it does not, a *NotTrustedError is returned. With no trusted
// key nothing is checked.
func (t Trust) Show(ctx context.Context, st filing.Store, id string) (*Detail, error) {
	d, err := Show(ctx, st, id)
	if !t.Checks() || errors.Is(err, ErrNoRecord) {
		return d, err
	}
	full, rerr := Resolve(ctx, st, id)
	if rerr != nil {
		return d, err
	}
	e, h, lerr := locate(ctx, st, full)
	if lerr != nil || h == nil {
		return d, err // an unindexed record: Show says so
	}
	why := t.signedEntry(e, h.First.LastModified)
	if why == "" {
		why, _ = t.check(ctx, st, e)
	}
	switch {
	case why == "":
		return d, err
	case err != nil || d.Record == nil || d.Record.ID != e.ID:
		return nil, &NotTrustedError{Claimed: e, Reason: why, Err: err}
	}
	d.NotTrusted, d.Claimed = why, &e
	return d, nil
}
