package records

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/recordbot/recordbot/filing"
)

// DueRecord is a record whose retention has ended.
type DueRecord struct {
	filing.IndexEntry
	// Where is the record package's s3:// URL or local path.
	Where string `json:"where"`
	// LegalHold is set when the record is under legal hold: it must not be
	// disposed of until the hold is lifted.
	LegalHold bool `json:"legal_hold,omitempty"`
	// Problem names a review decision of the record that this deployment
	// did not write: disposal refuses the record until someone looks.
	Problem string `json:"problem,omitempty"`
	// NotTrusted says why the index entry does not check against the
	// record it names (DueChecked): it must not be taken for a record.
	NotTrusted string `json:"not_trusted,omitempty"`
	// Filed is what the record as filed says, for an entry that does not
	// check, when the record could be read.
	Filed *filing.IndexEntry `json:"filed,omitempty"`
}

// DueGroup is the records due for one disposal action.
type DueGroup struct {
	Action  filing.DisposalAction `json:"action"`
	Records []DueRecord           `json:"records"`
}

// actionOrder lists the disposal actions in report order.
var actionOrder = []filing.DisposalAction{filing.Destroy, filing.Review, filing.Transfer}

// Due returns the records whose disposal date is before the given day (UTC),
// grouped by disposal action (destroy, review, transfer, then any other),
// oldest disposal date first. Permanent records are never due. Each record's
// legal hold is read from its tag manifest's Object Lock state.
//
// With keys set, only signed review decisions count, and a record with a
// decision that is not has its Problem said (keys nil: nothing checked);
// an index entry that does not check is left out (DueChecked lists them).
func Due(ctx context.Context, st filing.Store, keys *filing.Keyring, before time.Time) ([]DueGroup, error) {
	gs, _, err := DueChecked(ctx, st, Trust{Keys: keys}, before)
	return gs, err
}

// DueChecked is Due that also returns the index entries that do not check
// (with t.Keys set; nothing is checked without): every entry's signature
// is checked, which reads nothing more, and each entry that says its
// record is due is checked against the record as filed, as disposal does
// (checkEntry). An entry that does not check is not in the groups, due or
// not, for what it says cannot be taken for the record's: it is in
// notTrusted, as it claims, with NotTrusted saying why and Filed what the
// record as filed says, when it could be read.
func DueChecked(ctx context.Context, st filing.Store, t Trust, before time.Time) (groups []DueGroup, notTrusted []DueRecord, err error) {
	all, err := indexEntries(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	// A review decision (keep until a later date, or destroy) replaces
	// the date and action the record was filed with.
	reviews, bad, err := Reviews(ctx, st, t.Keys)
	if err != nil {
		return nil, nil, err
	}
	day := before.UTC().Format(time.DateOnly)
	var due []DueRecord
	var claims []filing.IndexEntry // of due, as the index entries say
	for _, se := range all {
		if t.Checks() {
			if why := t.signedEntry(se.IndexEntry, se.stored); why != "" {
				notTrusted = append(notTrusted, DueRecord{IndexEntry: se.IndexEntry, Where: st.Where(se.Key), NotTrusted: why})
				continue
			}
		}
		e := se.IndexEntry
		e.DisposalDate, e.DisposalAction = EffectiveDisposal(e, reviews)
		if e.DisposalDate != "" && e.DisposalAction != filing.Permanent && e.DisposalDate < day {
			due = append(due, DueRecord{IndexEntry: e, Where: st.Where(e.Key), Problem: bad[e.ID]})
			claims = append(claims, se.IndexEntry)
		}
	}
	err = forEach(ctx, len(due), parallel, func(ctx context.Context, i int) error {
		if t.Checks() {
			if why, filed := t.check(ctx, st, claims[i]); why != "" {
				due[i].IndexEntry, due[i].NotTrusted, due[i].Filed = claims[i], why, filed
				return nil
			}
		}
		// The hold on the tag manifest as filed, not on whatever may
		// have been written over it since.
		h, err := filing.HistoryOf(ctx, st, due[i].Key+filing.TagManifestFile)
		if err != nil {
			return fmt.Errorf("record %s: %w", due[i].ID, err)
		}
		oi, err := h.Stat(ctx, st)
		if err != nil {
			return fmt.Errorf("record %s: %w", due[i].ID, err)
		}
		due[i].LegalHold = oi.LegalHold
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	due = slices.DeleteFunc(due, func(d DueRecord) bool {
		if d.NotTrusted != "" {
			notTrusted = append(notTrusted, d)
		}
		return d.NotTrusted != ""
	})
	slices.SortStableFunc(notTrusted, func(a, b DueRecord) int { return strings.Compare(a.ID, b.ID) })
	slices.SortStableFunc(due, func(a, b DueRecord) int {
		if a.DisposalDate != b.DisposalDate {
			if a.DisposalDate < b.DisposalDate {
				return -1
			}
			return 1
		}
		return 0
	})
	index := make(map[filing.DisposalAction]int)
	for _, a := range actionOrder {
		index[a] = len(groups)
		groups = append(groups, DueGroup{Action: a})
	}
	for _, d := range due {
		i, ok := index[d.DisposalAction]
		if !ok {
			i = len(groups)
			index[d.DisposalAction] = i
			groups = append(groups, DueGroup{Action: d.DisposalAction})
		}
		groups[i].Records = append(groups[i].Records, d)
	}
	return slices.DeleteFunc(groups, func(g DueGroup) bool { return len(g.Records) == 0 }), notTrusted, nil
}
