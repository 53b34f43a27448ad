package records

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
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
	// Clock decides which records are due and whether a retention has
	// ended; the system's when nil.
	Clock filing.Clock
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

func (d *Disposal) now() time.Time { return filing.ClockOr(d.Clock).Now().UTC() }

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
