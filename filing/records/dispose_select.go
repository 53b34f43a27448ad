package records

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/recordbot/recordbot/filing"
)

// selected is a record chosen for a run, with its residual when an earlier
// run began destroying it.
type selected struct {
	// IndexEntry is what the record's package as filed says (facts), or
	// its signed residual entry; for a tampered selection, what was
	// found.
	filing.IndexEntry
	facts    *facts
	residual *Residual
	// refused says why the record cannot be disposed of (not due, wrong
	// action); "" when it can.
	refused string
	// tampered names the object that does not agree with what recordbot
	// wrote, and how; failed, a read that failed. Either stops the record.
	tampered, failed string
	// notDue is set when refused only because the record is not due for
	// the run's action.
	notDue bool
}

func (s selected) outcome(action, outcome, detail string) Outcome {
	return Outcome{ID: s.ID, Title: s.Title, ClassCode: s.ClassCode, DisposalDate: s.DisposalDate, Action: action, Outcome: outcome, Detail: detail}
}

// blocked returns the outcome of a record that must not be acted on, and
// true; or false when it may be.
func (s selected) blocked(action string) (Outcome, bool) {
	switch {
	case s.tampered != "":
		return s.outcome(action, Tampered, s.tampered+"; nothing was done to it"), true
	case s.failed != "":
		return s.outcome(action, Failed, s.failed), true
	case s.refused != "":
		return s.outcome(action, Refused, s.refused), true
	}
	return Outcome{}, false
}

// pending returns the records whose destruction an earlier run began. A
// marker only names a record: what is acted on is the record's residual
// entry, which the run that began wrote and signed before it deleted
// anything, checked against the record where it still stands.
func (r *run) pending(ctx context.Context) ([]selected, error) {
	ids, err := pendingIDs(ctx, r.st)
	if err != nil {
		return nil, err
	}
	out := make([]selected, 0, len(ids))
	var mu sync.Mutex
	keys := make([]string, 0, len(ids))
	for id := range ids {
		keys = append(keys, id)
	}
	err = forEach(ctx, len(keys), parallel, func(ctx context.Context, i int) error {
		id, marker := keys[i], ids[keys[i]]
		s := selected{IndexEntry: filing.IndexEntry{ID: id}}
		if e, err := Entry(ctx, r.st, id); err == nil {
			// For people to recognise it by; nothing is decided on it.
			s.Title, s.ClassCode = e.Title, e.ClassCode
		}
		res, err := signedResidual(ctx, r.st, r.d.Keys, id)
		switch {
		case errors.Is(err, filing.ErrNotExist):
			s.tampered = fmt.Sprintf("%s: a disposal marker naming record %s, which no disposal run of this deployment began (it has no residual entry)", marker, id)
		case isTampered(err):
			s.tampered = fmt.Sprintf("%s, named by the disposal marker %s", err, marker)
		case err != nil:
			return err
		default:
			s = r.resume(ctx, res, marker)
		}
		mu.Lock()
		out = append(out, s)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortSelected(out)
	return out, nil
}

// resume checks the signed residual res of a destruction begun earlier
// against the record, where its record.json still stands.
func (r *run) resume(ctx context.Context, res *Residual, marker string) selected {
	s := selected{IndexEntry: res.IndexEntry, residual: res}
	if err := checkFolder(res.ID, res.Key); err != nil {
		s.tampered = fmt.Sprintf("%s (residual entry %s)", err, ResidualKey(res.ID))
		return s
	}
	if _, err := filing.HistoryOf(ctx, r.st, res.Key+filing.RecordFile); errors.Is(err, filing.ErrNotExist) {
		return s // record.json already went: the residual is all there is
	} else if err != nil {
		s.failed = fmt.Sprintf("read it: %v", err)
		return s
	}
	f, err := derive(ctx, r.st, r.d.Keys, nil, res.ID, res.Key)
	switch {
	case isTampered(err):
		s.tampered = err.Error()
	case err != nil:
		s.failed = fmt.Sprintf("read it: %v", err)
	case f.tagSum != res.TagManifestSHA256 || !sameFacts(res.IndexEntry, f.entry):
		s.tampered = fmt.Sprintf("%s: does not describe the record as filed at %s", ResidualKey(res.ID), res.Key)
	default:
		s.facts = f
	}
	return s
}

func sortSelected(ss []selected) {
	sort.SliceStable(ss, func(i, j int) bool {
		a, b := ss[i].IndexEntry, ss[j].IndexEntry
		if a.ClassCode != b.ClassCode {
			return a.ClassCode < b.ClassCode
		}
		if !a.FiledAt.Equal(b.FiledAt) {
			return a.FiledAt.Before(b.FiledAt)
		}
		return a.ID < b.ID
	})
}

// selectDue picks the records of a run: ids, or every record due for
// action; records in first come first (they are not selected twice).
// Whether a record is due is judged on its facts as filed (derive) and
// its signed review decisions, never on its index entry: an index entry
// only says which records to look at. A record given by id that is not
// due, or is due for another action, is refused; one whose evidence does
// not agree is reported as tampered.
func (r *run) selectDue(ctx context.Context, ids []string, action filing.DisposalAction, first []selected) ([]selected, error) {
	reviews, badReviews, err := Reviews(ctx, r.st, r.d.Keys)
	if err != nil {
		return nil, err
	}
	out := first
	seen := make(map[string]bool)
	for _, s := range first {
		seen[s.ID] = true
	}
	today := r.at.Format(time.DateOnly)
	judge := func(e filing.IndexEntry) string {
		date, act := EffectiveDisposal(e, reviews)
		switch {
		case act == filing.Permanent || date == "":
			return "kept permanently: never disposed of"
		case date >= today:
			return "not due: its disposal date is " + date
		case act != action:
			return fmt.Sprintf("due for %s, not %s", act, action)
		}
		return ""
	}
	// examine derives the facts of the record an index entry names.
	examine := func(ctx context.Context, e filing.IndexEntry) selected {
		s := selected{IndexEntry: e}
		f, err := checkEntry(ctx, r.st, r.d.Keys, r.d.Plan, r.d.SignedSince, e)
		switch {
		case isTampered(err):
			if f != nil {
				s.IndexEntry, s.facts = f.entry, f
			}
			s.tampered = err.Error()
			return s
		case errors.Is(err, errPlanChanged):
			s.IndexEntry, s.refused = f.entry, err.Error()
			return s
		case err != nil:
			s.failed = fmt.Sprintf("read it: %v", err)
			return s
		}
		s.IndexEntry, s.facts = f.entry, f
		if why := badReviews[e.ID]; why != "" {
			s.tampered = "a review decision " + why
			return s
		}
		if f.unsigned && !r.d.AllowUnsigned {
			s.refused = "filed before recordbot signed its records: check it with `bot records verify " + e.ID + "`, then dispose of it with --allow-unsigned"
			return s
		}
		s.refused = judge(s.IndexEntry)
		s.notDue = s.refused != ""
		return s
	}
	// Each slot is a record to judge (cand) or one already judged (done),
	// in the order asked.
	type slot struct {
		cand *filing.IndexEntry
		done selected
	}
	var slots []slot
	byID := len(ids) > 0
	if !byID {
		all, err := Index(ctx, r.st)
		if err != nil {
			return nil, err
		}
		// The index entry (and any review, signed or not) only says
		// which records may be due; each is then judged on its facts.
		for _, e := range all {
			if !seen[e.ID] && (judge(e) == "" || badReviews[e.ID] != "") {
				seen[e.ID] = true
				slots = append(slots, slot{cand: &e})
			}
		}
	} else {
		for _, id := range ids {
			id = strings.TrimSpace(id)
			if seen[id] {
				continue
			}
			seen[id] = true
			e, err := Entry(ctx, r.st, id)
			if errors.Is(err, ErrNoRecord) {
				s := selected{IndexEntry: filing.IndexEntry{ID: id}, refused: "no such record"}
				if res, rerr := ResidualOf(ctx, r.st, r.d.Keys, id); rerr == nil {
					s.IndexEntry = res.IndexEntry
					s.refused = "already " + res.String()
					if res.Problem != "" {
						s.refused, s.tampered = "", "a residual entry claims it was destroyed, but "+res.Problem
					}
				}
				slots = append(slots, slot{done: s})
				continue
			}
			if err != nil {
				return nil, err
			}
			slots = append(slots, slot{cand: &e})
		}
	}
	if err := forEach(ctx, len(slots), parallel, func(ctx context.Context, i int) error {
		if slots[i].cand != nil {
			slots[i].done = examine(ctx, *slots[i].cand)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for _, sl := range slots {
		// Run over everything due, a record found not due after all
		// (its index entry said otherwise) is no concern of this run.
		if !byID && sl.done.notDue {
			continue
		}
		out = append(out, sl.done)
	}
	return out, nil
}
