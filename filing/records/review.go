package records

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/recordbot/recordbot/filing"
)

// ReviewsPrefix holds the decisions of disposal reviews: one object per
// decision, reviews/<record id>/<time>_<event id>.json, created once. The
// latest decision of a record overrides its disposal date or action; the
// record's own package is never touched.
const ReviewsPrefix = "reviews/"

// ReviewDecision is the outcome of a disposal review of one record.
type ReviewDecision struct {
	RecordID string `json:"record_id"`
	// KeepUntil is the new disposal date (YYYY-MM-DD) when the record is
	// kept for a further period.
	KeepUntil string `json:"keep_until,omitempty"`
	// Destroy is set when the record is marked for destruction: it is then
	// due for `dispose destroy`.
	Destroy    bool              `json:"destroy,omitempty"`
	Reason     string            `json:"reason,omitempty"`
	Authority  string            `json:"authority"`
	ApprovedBy string            `json:"approved_by"`
	By         string            `json:"by"`
	At         time.Time         `json:"at"`
	Event      string            `json:"event"`
	Previous   string            `json:"previous_disposal_date,omitempty"`
	Signature  *filing.Signature `json:"signature,omitempty"`
}

// Reviews returns the latest review decision of every reviewed record, by
// record id.
func Reviews(ctx context.Context, st filing.Store) (map[string]ReviewDecision, error) {
	var hs []*filing.History
	for h, err := range filing.Histories(ctx, st, ReviewsPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list the reviews: %w", err)
		}
		if strings.HasSuffix(h.Key, ".json") {
			hs = append(hs, h)
		}
	}
	ds := make([]ReviewDecision, len(hs))
	if err := forEach(ctx, len(hs), parallel, func(ctx context.Context, i int) error {
		return readFirst(ctx, st, hs[i], &ds[i])
	}); err != nil {
		return nil, err
	}
	out := make(map[string]ReviewDecision)
	for _, d := range ds {
		if cur, ok := out[d.RecordID]; !ok || d.At.After(cur.At) {
			out[d.RecordID] = d
		}
	}
	return out, nil
}

// EffectiveDisposal returns the disposal date and action of e once its
// latest review decision (from Reviews) is applied: a record kept for a
// further period gets the new date, one marked for destruction is due for
// destruction (from the date it was due for review). `due` and the
// registers should show these rather than the index entry's.
func EffectiveDisposal(e filing.IndexEntry, reviews map[string]ReviewDecision) (date string, action filing.DisposalAction) {
	date, action = e.DisposalDate, e.DisposalAction
	if rv, ok := reviews[e.ID]; ok {
		if rv.Destroy {
			action = filing.Destroy
		} else if rv.KeepUntil != "" {
			date = rv.KeepUntil
		}
	}
	return date, action
}

// Review records a disposal review decision on the records ids (every
// record due for review when ids is empty): keep each until keepUntil, or,
// when keepUntil is zero, mark it for destruction. Each decision is an
// audit event and an object under ReviewsPrefix; the run writes a
// certificate.
func Review(ctx context.Context, st filing.Store, d Disposal, ids []string, keepUntil time.Time, reason string) (*Report, error) {
	r, err := newRun(ctx, st, d, "review")
	if err != nil {
		return nil, err
	}
	if !keepUntil.IsZero() && !keepUntil.After(r.at) {
		return nil, fmt.Errorf("keep until %s: the new disposal date must be after today", keepUntil.Format(time.DateOnly))
	}
	sel, err := r.selectDue(ctx, ids, filing.Review, nil)
	if err != nil {
		return nil, err
	}
	outs := r.each(ctx, sel, func(ctx context.Context, s selected) Outcome {
		if s.refused != "" && !strings.HasPrefix(s.refused, "due for ") {
			return s.outcome("review", Refused, s.refused)
		}
		return r.review(ctx, s, keepUntil, reason)
	})
	return r.finish(ctx, outs)
}

func (r *run) review(ctx context.Context, s selected, keepUntil time.Time, reason string) Outcome {
	out := s.outcome("review", Kept, "")
	dec := ReviewDecision{RecordID: s.ID, Reason: strings.TrimSpace(reason), Authority: r.d.Authority, ApprovedBy: r.d.ApprovedBy,
		By: r.d.By.Name(), At: r.d.now(), Previous: s.DisposalDate}
	typ := "disposal-review-keep"
	if keepUntil.IsZero() {
		dec.Destroy = true
		out.Outcome, out.Detail = Marked, "due for destruction from now"
		typ = "disposal-review-destroy"
	} else {
		dec.KeepUntil = keepUntil.UTC().Format(time.DateOnly)
		out.Detail = "new disposal date " + dec.KeepUntil
	}
	if dec.Reason != "" {
		out.Detail += "; reason: " + dec.Reason
	}
	if r.d.DryRun {
		out.Detail = "would be " + out.Outcome + ": " + out.Detail
		return out
	}
	ev, err := appendEvent(ctx, r.st, r.d.Signer, filing.Event{Type: typ, At: dec.At, By: r.d.By, RecordID: s.ID, Key: s.Key, ClassCode: s.ClassCode,
		Outcome: out.Outcome, Detail: fmt.Sprintf("%s; authority: %s; approved by: %s; certificate %s", out.Detail, r.d.Authority, r.d.ApprovedBy, r.id)},
		s.FiledAt, filing.RecordLock(s.FiledAt, s.DisposalDate))
	if err != nil {
		out.Outcome, out.Detail = Failed, fmt.Sprintf("record the decision in the audit trail: %v", err)
		return out
	}
	dec.Event = filing.EventKey(ev, ev.At)
	data, _ := json.MarshalIndent(dec, "", "  ")
	key := fmt.Sprintf("%s%s/%s_%s.json", ReviewsPrefix, s.ID, dec.At.Format("20060102T150405Z"), ev.ID)
	lock := filing.RecordLock(s.FiledAt, "")
	if _, err := r.st.Create(ctx, key, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{ContentType: "application/json", RetainUntil: lock}); err != nil {
		out.Outcome, out.Detail = Failed, fmt.Sprintf("store the decision: %v", err)
	}
	return out
}
