package records

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
)

// The outcomes of a record in a disposal run.
const (
	Destroyed   = "destroyed"
	WouldGo     = "would destroy"
	Transferred = "transferred"
	Kept        = "kept"
	Marked      = "marked for destruction"
	Refused     = "refused"
	Failed      = "failed"
)

// Disposal is who disposes of records, under what authority, and how.
type Disposal struct {
	// Authority is the disposal authority (a schedule, a decision
	// reference). Required, as is ApprovedBy.
	Authority  string
	ApprovedBy string
	// By is who carries it out.
	By capture.Person
	// DryRun reports what would be done and changes nothing.
	DryRun bool
	// BypassGovernance lets destruction remove versions whose GOVERNANCE
	// retention has not ended (early disposal; the credentials need
	// s3:BypassGovernanceRetention). COMPLIANCE retention is never
	// bypassed.
	BypassGovernance bool
	// Now is the clock; time.Now when nil. It decides which records are
	// due and whether a retention has ended.
	Now func() time.Time
	// Parallel is how many records are disposed of at once; 8 when zero.
	Parallel int
	// Signer signs what the run writes (residual entries, reviews,
	// certificates, events); Keys are the public keys whose signatures
	// the run trusts on what it reads. A run acts only on evidence a
	// trusted key signed.
	Signer *filing.Signer
	Keys   *filing.Keyring
	// Plan is the file plan as it is now: a record whose class it no
	// longer gives the retention the record was filed with is refused
	// (review it). nil checks nothing against a plan.
	Plan *filing.Plan
	// AllowUnsigned disposes of records filed before recordbot signed
	// its filings (check them with verify first); without it they are
	// refused.
	AllowUnsigned bool
	// SignedSince is when the deployment began signing every record (see
	// Verifier.SignedSince): an unsigned record stored after it is
	// reported as tampered, --allow-unsigned or not.
	SignedSince time.Time
}

func (d *Disposal) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

// Configuration errors of a disposal run.
var (
	// ErrNoKeys: no public key to check signatures with.
	ErrNoKeys = errors.New("disposal needs the deployment's public key, to tell its records from forgeries")
	// ErrNoSigner: no key to sign what the run writes.
	ErrNoSigner = errors.New("disposal needs the deployment's secret key, to sign what it writes")
)

func (d *Disposal) check() error {
	var errs []error
	if strings.TrimSpace(d.Authority) == "" {
		errs = append(errs, errors.New("a disposal authority is required (--authority)"))
	}
	if strings.TrimSpace(d.ApprovedBy) == "" {
		errs = append(errs, errors.New("who approved the disposal is required (--approved-by)"))
	}
	if d.By.Name() == "" {
		errs = append(errs, errors.New("who carries the disposal out is required (--by)"))
	}
	if d.Keys.Len() == 0 {
		errs = append(errs, ErrNoKeys)
	}
	if d.Signer == nil && !d.DryRun {
		errs = append(errs, ErrNoSigner)
	}
	return errors.Join(errs...)
}

// Outcome is what a disposal run did with one record.
type Outcome struct {
	ID           string `json:"id"`
	Title        string `json:"title"`
	ClassCode    string `json:"class"`
	DisposalDate string `json:"disposal_date,omitempty"`
	// Action is what was asked: destroy, transfer, review.
	Action string `json:"action"`
	// Outcome is Destroyed, Transferred, Kept, Marked, Refused, Failed
	// or, on a dry run, WouldGo.
	Outcome string `json:"outcome"`
	// Detail says why (a refusal, a failure) or what (the new date,
	// where it was transferred to).
	Detail string `json:"detail,omitempty"`
	// Objects are the object versions destroyed, or that a dry run would
	// destroy: "key" or "key@version".
	Objects []string `json:"objects,omitempty"`
	// Residual is the key of the residual entry.
	Residual string `json:"residual,omitempty"`
	// Copy is where a transferred record's package and checksum went.
	Copy string `json:"copy,omitempty"`
}

// OK reports whether the record was dealt with as asked.
func (o Outcome) OK() bool {
	return o.Outcome != Refused && o.Outcome != Failed && o.Outcome != Tampered
}

// Report is what a disposal run did.
type Report struct {
	Certificate *Certificate `json:"certificate,omitempty"`
	// CertificateJSON and CertificateCSV are where the certificate is.
	CertificateJSON string    `json:"certificate_json,omitempty"`
	CertificateCSV  string    `json:"certificate_csv,omitempty"`
	CertificatePDF  string    `json:"certificate_pdf,omitempty"` // certificate_pdf.go
	Records         []Outcome `json:"records"`
	DryRun          bool      `json:"dry_run,omitempty"`
}

// Problems counts the records refused, failed or found tampered with.
func (r *Report) Problems() int {
	n := 0
	for _, o := range r.Records {
		if !o.OK() {
			n++
		}
	}
	return n
}

// Destroy destroys the records ids (every record due for destruction when
// ids is empty), after finishing any destruction an earlier run began and
// did not finish. Each record's residual entry is written first; then its
// index entry and every version of every object go. A record on legal hold,
// or with an object whose retention has not ended (unless
// d.BypassGovernance and the retention is GOVERNANCE), is refused and left
// untouched. The run writes a certificate, unless it is a dry run.
func Destroy(ctx context.Context, st filing.Store, d Disposal, ids []string) (*Report, error) {
	r, err := newRun(ctx, st, d, "destroy")
	if err != nil {
		return nil, err
	}
	todo, err := r.pending(ctx)
	if err != nil {
		return nil, err
	}
	sel, err := r.selectDue(ctx, ids, filing.Destroy, todo)
	if err != nil {
		return nil, err
	}
	outs := r.each(ctx, sel, func(ctx context.Context, s selected) Outcome {
		if o, stop := s.blocked("destroy"); stop {
			return o
		}
		return r.destroy(ctx, s, "")
	})
	return r.finish(ctx, outs)
}

// run is one disposal run.
type run struct {
	st   filing.Store
	d    Disposal
	id   string
	at   time.Time
	kind string
	// versions is set when the store keeps versions; remover when it can
	// remove them.
	versions bool
	remover  filing.Remover
}

func newRun(ctx context.Context, st filing.Store, d Disposal, kind string) (*run, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	r := &run{st: st, d: d, id: id.String(), at: d.now(), kind: kind}
	if r.versions, err = filing.KeepsVersions(ctx, st); err != nil {
		return nil, err
	}
	if r.versions {
		rm, ok := st.(filing.Remover)
		if !ok {
			return nil, fmt.Errorf("this store (%s) keeps versions but cannot remove them: %w", st.Where(""), filing.ErrNotSupported)
		}
		r.remover = rm
	}
	return r, nil
}

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
		f, err := derive(ctx, r.st, r.d.Keys, r.d.Plan, e.ID, e.Key)
		if err == nil && f.unsigned && unsignedTooLate(f.stored, r.d.SignedSince) {
			err = tampered("%s: the filing event is not signed, and was stored on %s, after this deployment began signing every record (%s): not filed by this deployment",
				FiledEventKey(f.entry), f.stored.UTC().Format(time.DateOnly), r.d.SignedSince.UTC().Format(time.DateOnly))
		}
		switch {
		case isTampered(err):
			s.tampered = fmt.Sprintf("%s (named by %s%s.json)", err, filing.IndexPrefix, e.ID)
			return s
		case errors.Is(err, errPlanChanged):
			s.IndexEntry, s.refused = f.entry, err.Error()
			return s
		case err != nil:
			s.failed = fmt.Sprintf("read it: %v", err)
			return s
		}
		s.IndexEntry, s.facts = f.entry, f
		if !sameFacts(e, f.entry) {
			s.tampered = fmt.Sprintf("%s%s.json: says class %s, disposal %s (%s), but the record as filed says class %s, disposal %s (%s)",
				filing.IndexPrefix, e.ID, e.ClassCode, orNone(e.DisposalDate), e.DisposalAction, f.entry.ClassCode, orNone(f.entry.DisposalDate), f.entry.DisposalAction)
			return s
		}
		if !f.unsigned {
			if err := r.d.Keys.Check(filing.KindIndex, &e, &e.Signature); err != nil {
				s.tampered = fmt.Sprintf("%s%s.json: not written by this deployment: %v", filing.IndexPrefix, e.ID, err)
				return s
			}
		}
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

// each runs fn on every record, d.Parallel at once, and returns the
// outcomes in the records' order.
func (r *run) each(ctx context.Context, sel []selected, fn func(context.Context, selected) Outcome) []Outcome {
	outs := make([]Outcome, len(sel))
	par := r.d.Parallel
	if par <= 0 {
		par = 8
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(par, len(sel)) {
		wg.Go(func() {
			for i := range next {
				outs[i] = fn(ctx, sel[i])
			}
		})
	}
	for i := range sel {
		next <- i
	}
	close(next)
	wg.Wait()
	return outs
}

// finish writes the run's certificate (not on a dry run).
func (r *run) finish(ctx context.Context, outs []Outcome) (*Report, error) {
	rep := &Report{Records: outs, DryRun: r.d.DryRun}
	if outs == nil {
		rep.Records = []Outcome{}
	}
	if r.d.DryRun || len(outs) == 0 {
		return rep, nil
	}
	c := &Certificate{Schema: CertificateSchema, ID: r.id, Action: r.kind, Authority: r.d.Authority, ApprovedBy: r.d.ApprovedBy,
		By: r.d.By, At: r.at, Store: r.st.Where(""), Records: outs}
	for i := range c.Records {
		c.Records[i].Objects = nil
	}
	rep.Certificate = c
	var err error
	rep.CertificateJSON, rep.CertificateCSV, err = writeCertificate(ctx, r.st, r.d.Signer, c)
	if err == nil {
		rep.CertificatePDF, err = writeCertificatePDF(ctx, r.st, c)
	}
	return rep, err
}

// object is one version of one object of a record.
type object struct {
	key, version string
	marker       bool
}

func (o object) String() string {
	if o.version == "" {
		return o.key
	}
	return o.key + "@" + o.version
}

// objects lists every version (and delete marker) of the record's package
// and of its index entry.
func (r *run) objects(ctx context.Context, e filing.IndexEntry) (index, pkg []object, err error) {
	ikey := filing.IndexPrefix + e.ID + ".json"
	if !r.versions {
		if _, err := r.st.Stat(ctx, ikey); err == nil {
			index = append(index, object{key: ikey})
		} else if !errors.Is(err, filing.ErrNotExist) {
			return nil, nil, err
		}
		if e.Key != "" {
			for oi, err := range r.st.List(ctx, e.Key) {
				if err != nil {
					return nil, nil, err
				}
				pkg = append(pkg, object{key: oi.Key})
			}
		}
		return index, pkg, nil
	}
	vs := r.st.(filing.Versioner)
	for v, err := range vs.Versions(ctx, ikey) {
		if err != nil {
			return nil, nil, err
		}
		if v.Key == ikey {
			index = append(index, object{key: v.Key, version: v.ID, marker: v.DeleteMarker})
		}
	}
	if e.Key != "" {
		for v, err := range vs.Versions(ctx, e.Key) {
			if err != nil {
				return nil, nil, err
			}
			pkg = append(pkg, object{key: v.Key, version: v.ID, marker: v.DeleteMarker})
		}
	}
	return index, pkg, nil
}

// locked says why the store will refuse to remove objects, or "".
func (r *run) locked(ctx context.Context, objs []object) (string, error) {
	if r.remover == nil {
		return "", nil
	}
	// The store judges retention by its own clock, not the run's (which
	// a test may set ahead): a version is taken as retained if either
	// clock says so, so nothing the store would refuse is begun.
	at := time.Now().UTC()
	if r.at.Before(at) {
		at = r.at
	}
	var mu sync.Mutex
	var hold, compliance, governance []string
	var until time.Time
	err := forEach(ctx, len(objs), parallel, func(ctx context.Context, i int) error {
		o := objs[i]
		if o.marker {
			return nil
		}
		l, err := r.remover.LockOf(ctx, o.key, o.version)
		if errors.Is(err, filing.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if l.LegalHold {
			hold = append(hold, o.key)
		}
		if l.RetainUntil.After(at) {
			if l.RetainUntil.After(until) {
				until = l.RetainUntil
			}
			if l.Mode == "COMPLIANCE" {
				compliance = append(compliance, o.key)
			} else {
				governance = append(governance, o.key)
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return "", err
	case len(hold) > 0:
		return fmt.Sprintf("on legal hold (%d object versions): lift the hold first if it has ended", len(hold)), nil
	case len(compliance) > 0:
		return fmt.Sprintf("retained in COMPLIANCE mode until %s (%d object versions): nobody can delete it before then", until.Format(time.RFC3339), len(compliance)), nil
	case len(governance) > 0 && !r.d.BypassGovernance:
		return fmt.Sprintf("retained in GOVERNANCE mode until %s (%d object versions): --bypass-governance disposes of it early, with credentials holding s3:BypassGovernanceRetention", until.Format(time.RFC3339), len(governance)), nil
	}
	return "", nil
}

// residualOf builds the residual entry of a record from its facts as
// filed, signed.
func (r *run) residualOf(f *facts, action, transferredTo string) (*Residual, error) {
	res := &Residual{Schema: ResidualSchema, IndexEntry: f.entry, Authority: r.d.Authority, ApprovedBy: r.d.ApprovedBy,
		By: r.d.By, At: r.at, Action: action, TransferredTo: transferredTo, Certificate: r.id,
		Rule: f.rec.Retention.Rule, TagManifestSHA256: f.tagSum}
	res.Participants = nil
	res.IndexEntry.Signature = nil
	if err := r.d.Signer.Sign(filing.KindResidual, res, &res.Signature); err != nil {
		return nil, err
	}
	return res, nil
}

// begin writes the residual entry of the record, then its pending marker:
// from then on a rerun finishes the destruction. A residual entry already
// there must be this deployment's and describe this record as filed.
func (r *run) begin(ctx context.Context, s selected, action, transferredTo string) (*Residual, error) {
	res, err := r.residualOf(s.facts, action, transferredTo)
	if err != nil {
		return nil, err
	}
	data, _ := json.MarshalIndent(res, "", "  ")
	_, err = r.st.Create(ctx, ResidualKey(s.ID), bytes.NewReader(data), int64(len(data)),
		filing.WriteOptions{ContentType: "application/json", RetainUntil: filing.RecordLock(res.At, "")})
	if errors.Is(err, filing.ErrExist) {
		// Written by a run killed before its marker, or by someone else.
		var had *Residual
		had, err = signedResidual(ctx, r.st, r.d.Keys, s.ID)
		if err == nil && (had.Key != res.Key || had.TagManifestSHA256 != res.TagManifestSHA256 || !sameFacts(had.IndexEntry, res.IndexEntry)) {
			err = tampered("%s: does not describe the record as filed at %s", ResidualKey(s.ID), res.Key)
		}
		res = had
	}
	if err != nil {
		return nil, err
	}
	marker, _ := json.Marshal(map[string]string{"record_id": s.ID, "residual": ResidualKey(s.ID)})
	if _, err := r.st.Put(ctx, PendingPrefix+s.ID+".json", bytes.NewReader(marker), int64(len(marker)), filing.WriteOptions{ContentType: "application/json"}); err != nil {
		return nil, fmt.Errorf("mark its destruction as begun: %w", err)
	}
	return res, nil
}

// destroy destroys one record: the pending marker and the residual entry
// first, then its index entry, its objects (the tag manifest last), then
// the marker. transferredTo is set when the record was transferred first.
func (r *run) destroy(ctx context.Context, s selected, transferredTo string) Outcome {
	action := "destroy"
	if transferredTo != "" {
		action = "transfer"
	}
	out := s.outcome(action, Failed, "")
	fail := func(format string, a ...any) Outcome {
		out.Outcome, out.Detail = Failed, fmt.Sprintf(format, a...)
		return out
	}
	index, pkg, err := r.objects(ctx, s.IndexEntry)
	if err != nil {
		return fail("list its objects: %v", err)
	}
	all := append(append([]object{}, index...), pkg...)
	why, err := r.locked(ctx, all)
	if err != nil {
		return fail("read its object lock: %v", err)
	}
	if why != "" {
		out.Outcome, out.Detail = Refused, why
		if s.residual != nil {
			out.Detail += "; its destruction began on " + s.residual.At.Format(time.DateOnly) + " and will finish on a later run"
		}
		return out
	}
	for _, o := range all {
		out.Objects = append(out.Objects, o.String())
	}
	if r.d.DryRun {
		out.Outcome = WouldGo
		out.Detail = fmt.Sprintf("%d object versions", len(all))
		if s.residual != nil {
			out.Detail += "; finishing the destruction begun on " + s.residual.At.Format(time.DateOnly)
		}
		return out
	}
	res := s.residual
	if res == nil {
		if res, err = r.begin(ctx, s, action, transferredTo); isTampered(err) {
			out.Outcome, out.Detail = Tampered, err.Error()+"; nothing was done to it"
			return out
		} else if err != nil {
			return fail("begin its destruction: %v", err)
		}
	}
	out.Residual = ResidualKey(s.ID)
	// The index entry first, so ls and due stop showing the record at
	// once; the tag manifest last, so a package part-deleted is never
	// mistaken for a complete one.
	var last []object
	var middle []object
	for _, o := range pkg {
		if o.key == s.Key+filing.TagManifestFile {
			last = append(last, o)
		} else {
			middle = append(middle, o)
		}
	}
	for _, o := range index {
		if err := r.remove(ctx, o); err != nil {
			return r.partly(out, s.FiledAt, err)
		}
	}
	if err := forEach(ctx, len(middle), 4, func(ctx context.Context, i int) error { return r.remove(ctx, middle[i]) }); err != nil {
		return r.partly(out, s.FiledAt, err)
	}
	for _, o := range last {
		if err := r.remove(ctx, o); err != nil {
			return r.partly(out, s.FiledAt, err)
		}
	}
	r.prune(s.Key)
	index, pkg, err = r.objects(ctx, s.IndexEntry)
	if err != nil {
		return r.partly(out, s.FiledAt, err)
	}
	if n := len(index) + len(pkg); n > 0 {
		return r.partly(out, s.FiledAt, fmt.Errorf("%d object versions remain", n))
	}
	detail := fmt.Sprintf("%d object versions deleted", len(all))
	if s.residual != nil && s.residual.Certificate != r.id {
		detail += fmt.Sprintf("; destruction begun on %s (run %s) finished", s.residual.At.Format(time.DateOnly), s.residual.Certificate)
	}
	if transferredTo != "" {
		detail = "transferred to " + transferredTo + "; " + detail
	}
	typ := "destroyed"
	if _, err := appendEvent(ctx, r.st, r.d.Signer, filing.Event{Type: typ, At: r.d.now(), By: r.d.By, RecordID: s.ID, Key: s.Key,
		TagManifestSHA256: res.TagManifestSHA256, ClassCode: s.ClassCode, Outcome: Destroyed,
		Detail: fmt.Sprintf("%s; authority: %s; approved by: %s; certificate %s", detail, r.d.Authority, r.d.ApprovedBy, r.id)}, s.FiledAt, filing.RecordLock(r.at, "")); err != nil {
		return fail("destroyed, but not recorded in the audit trail (a rerun records it): %v", err)
	}
	if err := r.clearMarker(ctx, s.ID); err != nil {
		return fail("destroyed, but its pending marker stays: %v", err)
	}
	out.Outcome, out.Detail = Destroyed, detail
	return out
}

// partly reports a destruction that began and did not finish: the residual
// entry and the pending marker stay, and a rerun finishes it.
func (r *run) partly(out Outcome, filed time.Time, err error) Outcome {
	out.Outcome = Failed
	if errors.Is(err, filing.ErrLocked) {
		out.Outcome = Refused
	}
	out.Detail = fmt.Sprintf("destruction begun and not finished (rerun to finish it): %v", err)
	appendEvent(context.WithoutCancel(context.Background()), r.st, r.d.Signer, filing.Event{Type: "destruction-interrupted", At: r.d.now(), By: r.d.By,
		RecordID: out.ID, Outcome: out.Outcome, Detail: out.Detail + "; certificate " + r.id}, filed, filing.RecordLock(r.at, ""))
	return out
}

// clearMarker deletes the pending marker of record id (and one left under
// the legacy prefix, if there is one).
func (r *run) clearMarker(ctx context.Context, id string) error {
	if _, err := r.st.Stat(ctx, legacyPendingPrefix+id+".json"); err == nil {
		if err := r.st.Delete(ctx, legacyPendingPrefix+id+".json"); err != nil {
			return err
		}
	} else if !errors.Is(err, filing.ErrNotExist) {
		return err
	}
	return r.st.Delete(ctx, PendingPrefix+id+".json")
}

// remove removes one object version (or the object, on a store without
// versions).
func (r *run) remove(ctx context.Context, o object) error {
	if r.remover != nil && o.version != "" {
		return r.remover.RemoveVersion(ctx, o.key, o.version, r.d.BypassGovernance)
	}
	return r.st.Delete(ctx, o.key)
}

// prune removes the empty folders a destroyed package leaves in a local
// store: their names hold the record's title.
func (r *run) prune(key string) {
	l, ok := r.st.(*local.Store)
	if !ok || key == "" {
		return
	}
	dir := l.Where(key)
	stop := l.Where(filing.RecordsPrefix)
	var dirs []string
	filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
		if err == nil && de.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i])
	}
	for p := filepath.Dir(filepath.Clean(dir)); strings.HasPrefix(p, filepath.Clean(stop)+string(filepath.Separator)); p = filepath.Dir(p) {
		if os.Remove(p) != nil {
			break
		}
	}
}
