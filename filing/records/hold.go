package records

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

// ErrNoLock is returned for a legal hold on a store without Object Lock.
var ErrNoLock = fmt.Errorf("legal hold needs an S3 bucket with Object Lock: %w", filing.ErrNotSupported)

// HoldResult says what a legal hold changed.
type HoldResult struct {
	ID string `json:"id"`
	On bool   `json:"on"`
	// Objects counts the object versions changed: each object's first
	// version and any written over it.
	Objects int `json:"objects"`
	// Event is the key of the audit event recording the hold; "" when
	// nothing changed.
	Event string `json:"event"`
	// Unchanged is set when the record was already in the state asked
	// for (on hold for --on, not on hold for --off): nothing was written.
	Unchanged bool `json:"unchanged,omitempty"`
}

// ErrNoReason is returned for a legal hold put on without a reason.
var ErrNoReason = errors.New("a legal hold needs a reason (an FOI or litigation reference) for the audit trail")

// Hold puts a legal hold on every object of record id (on), or lifts it,
// through Object Lock, and records it in the audit trail with the reason.
// A store without Object Lock gets an error matching ErrNoLock and nothing
// changes. If the store fails part way, the error says how many objects
// were changed and the audit event records the partial outcome.
//
// signer (nil for none) signs the event.
func Hold(ctx context.Context, st filing.Store, signer *filing.Signer, id string, on bool, reason string, by capture.Person) (HoldResult, error) {
	res := HoldResult{ID: id, On: on}
	if on && strings.TrimSpace(reason) == "" {
		return res, ErrNoReason
	}
	lk, ok := st.(filing.Locker)
	if !ok {
		return res, fmt.Errorf("record %s: this store (%s) has no Object Lock: %w", id, st.Where(""), ErrNoLock)
	}
	locking, err := lk.Locking(ctx)
	if err != nil {
		return res, err
	}
	if !locking {
		return res, fmt.Errorf("record %s: the bucket %s was created without Object Lock: %w", id, st.Where(""), ErrNoLock)
	}
	id, err = Resolve(ctx, st, id)
	if err != nil {
		return res, err
	}
	res.ID = id
	e, err := Entry(ctx, st, id)
	if err != nil {
		return res, err
	}
	// The index entry names the folder whose objects are held or
	// released: it must be this record's, not another's it was pointed at.
	if _, _, err := recordAt(ctx, st, id, e.Key); err != nil {
		return res, fmt.Errorf("record %s: its index entry does not name its own package, so nothing was changed: %w", id, err)
	}
	// Already so? Every object's first version (the record) tells.
	var firsts []*filing.History
	for h, err := range filing.Histories(ctx, st, e.Key) {
		if err != nil {
			return res, err
		}
		firsts = append(firsts, h)
	}
	same := len(firsts) > 0
	for _, h := range firsts {
		oi, err := h.Stat(ctx, st)
		if err != nil {
			return res, err
		}
		if oi.LegalHold != on {
			same = false
			break
		}
	}
	if same {
		res.Unchanged = true
		return res, nil
	}
	// Every version of every object: the first is the record, and any
	// written over it is evidence of tampering, to be kept as well.
	type version struct{ key, id string }
	var vs []version
	for h, err := range filing.Histories(ctx, st, e.Key) {
		if err != nil {
			return res, err
		}
		for _, v := range append([]filing.Version{h.First}, h.Later...) {
			if !v.DeleteMarker {
				vs = append(vs, version{h.Key, v.ID})
			}
		}
	}
	if len(vs) == 0 {
		return res, fmt.Errorf("record %s: no objects at %s", id, st.Where(e.Key))
	}
	vr, _ := st.(filing.Versioner)
	var holdErr error
	for _, v := range vs {
		if vr != nil && v.id != "" {
			holdErr = vr.SetLegalHoldVersion(ctx, v.key, v.id, on)
		} else {
			holdErr = lk.SetLegalHold(ctx, v.key, on)
		}
		if holdErr != nil {
			break
		}
		res.Objects++
	}
	typ, outcome := "legal-hold-off", "lifted"
	if on {
		typ, outcome = "legal-hold-on", "applied"
	}
	detail := fmt.Sprintf("%s on %d of %d objects", outcome, res.Objects, len(vs))
	if holdErr != nil {
		outcome = "partial"
	}
	if r := strings.TrimSpace(reason); r != "" {
		detail += "; reason: " + r
	}
	ev, evErr := appendEvent(ctx, st, signer, filing.Event{Type: typ, By: by, RecordID: id, Key: e.Key,
		ClassCode: e.ClassCode, Outcome: outcome, Detail: detail}, e.FiledAt, filing.RecordLock(e.FiledAt, e.DisposalDate))
	if evErr == nil {
		res.Event = filing.EventKey(ev, ev.At)
	}
	if holdErr != nil {
		return res, fmt.Errorf("record %s: legal hold %s on %d of %d objects only: %w", id, outcome, res.Objects, len(vs), errors.Join(holdErr, evErr))
	}
	if evErr != nil {
		return res, fmt.Errorf("record %s: legal hold %s but not recorded in the audit trail: %w", id, outcome, evErr)
	}
	return res, nil
}
