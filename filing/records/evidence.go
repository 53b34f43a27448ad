package records

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/recordbot/recordbot/filing"
)

// Disposal acts on evidence, not on objects. Anyone with the bot's S3 keys
// can create an index entry, a review decision, a residual entry or a
// pending marker; none of them is taken as written. What a run acts on is
// derived again from the record's own package as filed: the first version
// of its record.json, sealed by its tag manifest, which the filing event
// (signed with the deployment's key) names by its SHA-256. Whatever does
// not agree is reported as tampered, by key, and left alone.

// maxRecordJSON bounds record.json as read for disposal.
const maxRecordJSON = 16 << 20

// errTampered marks a disagreement between what the store holds and what
// recordbot wrote; its text names the object and says what is wrong.
type tamperedError struct{ detail string }

func (e *tamperedError) Error() string { return e.detail }

func tampered(format string, a ...any) error {
	return &tamperedError{detail: fmt.Sprintf(format, a...)}
}

// isTampered reports whether err is a tampering found, not a failure to read.
func isTampered(err error) bool {
	var te *tamperedError
	return errors.As(err, &te)
}

// facts are what a disposal run knows of a record: derived from its
// package as filed, never from an index entry, review or marker.
type facts struct {
	rec filing.Record
	// entry is built from rec: what the index entry should say.
	entry filing.IndexEntry
	// tagSum is the SHA-256 of the tag manifest as filed, which the
	// signed filing event names.
	tagSum string
	// unsigned is set for a record whose filing event carries no
	// signature: filed before recordbot signed.
	unsigned bool
	// stored is when the filing event's first version was stored.
	stored time.Time
}

// checkFolder reports whether key has the shape of the package folder of
// record id: records/<class folders>/<year>/<date>_<title>_<short id>/,
// a well-formed key naming one folder, not a prefix of many.
func checkFolder(id, key string) error {
	rest, ok := strings.CutPrefix(key, filing.RecordsPrefix)
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	switch {
	case !ok || !strings.HasSuffix(key, "/") || filing.CheckKey(strings.TrimSuffix(key, "/")) != nil:
		return tampered("%q is not a record folder", key)
	case len(segs) < 3:
		return tampered("%q is not a record folder: too shallow for class, year and record", key)
	case !strings.HasSuffix(segs[len(segs)-1], "_"+filing.ShortID(id)):
		return tampered("%q is not the folder of record %s: its name does not end in the record's short id", key, id)
	}
	return nil
}

// readCapped reads the first version of h, at most max bytes, and
// describes it as its GET did (lock included). More is tampering: the bot
// never writes that much there.
func readCapped(ctx context.Context, st filing.Store, h *filing.History, max int64) ([]byte, filing.ObjectInfo, error) {
	rc, info, err := h.Open(ctx, st)
	if err != nil {
		return nil, info, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, info, fmt.Errorf("read %s: %w", h.Key, err)
	}
	if int64(len(data)) > max {
		return nil, info, tampered("%s: over %d KiB, not as recordbot writes it", h.Key, max>>10)
	}
	return data, info, nil
}

// recordAt reads the record.json (as filed) at key, which must be the
// package folder of record id: of that shape, and holding a record.json of
// that id at that key. An index entry anyone could write says no more than
// that. It returns the bytes read and the record.
func recordAt(ctx context.Context, st filing.Store, id, key string) ([]byte, *filing.Record, error) {
	if !checkID(id) {
		return nil, nil, tampered("%q is not a record id", id)
	}
	if err := checkFolder(id, key); err != nil {
		return nil, nil, err
	}
	h, err := filing.HistoryOf(ctx, st, key+filing.RecordFile)
	if errors.Is(err, filing.ErrNotExist) {
		return nil, nil, tampered("%s: no record.json, so no record %s is there", key+filing.RecordFile, id)
	}
	if err != nil {
		return nil, nil, err
	}
	raw, _, err := readCapped(ctx, st, h, maxRecordJSON)
	if err != nil {
		return nil, nil, err
	}
	var rec filing.Record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, nil, tampered("%s: not a record.json recordbot wrote: %v", h.Key, err)
	}
	if rec.ID != id || rec.Key != key {
		return nil, nil, tampered("%s is record %s at %s, not record %s", h.Key, rec.ID, rec.Key, id)
	}
	return raw, &rec, nil
}

// derive establishes the facts of record id, whose package folder is said
// to be key, from the package as filed and its signed filing event. keys
// are the trusted public keys; allowUnsigned accepts a record filed before
// signing. plan, when set, must agree with the record's retention.
// A disagreement is an error matching isTampered.
func derive(ctx context.Context, st filing.Store, keys *filing.Keyring, plan *filing.Plan, id, key string) (*facts, error) {
	raw, rec, err := recordAt(ctx, st, id, key)
	if err != nil {
		return nil, err
	}
	recKey := key + filing.RecordFile
	f := &facts{rec: *rec}
	// The filing event, signed, names the tag manifest by its SHA-256.
	evKey := filedEventKey(id, f.rec.FiledAt)
	eh, err := filing.HistoryOf(ctx, st, evKey)
	if errors.Is(err, filing.ErrNotExist) {
		return nil, tampered("%s: the record's filing event is missing", evKey)
	}
	if err != nil {
		return nil, err
	}
	link, err := readLink(ctx, st, eh)
	if err != nil {
		return nil, err
	}
	f.stored = eh.First.LastModified
	ev := link.Event
	if ev.Type != "filed" || ev.RecordID != id || ev.Key != key {
		return nil, tampered("%s: a %q event of record %q at %q, not the filing of record %s at %s", evKey, ev.Type, ev.RecordID, ev.Key, id, key)
	}
	switch err := keys.Check(filing.KindEvent, &ev, &ev.Signature); {
	case errors.Is(err, filing.ErrUnsigned):
		f.unsigned = true
	case err != nil:
		return nil, tampered("%s: not filed by this deployment: %v", evKey, err)
	}
	tm, err := filing.HistoryOf(ctx, st, key+filing.TagManifestFile)
	if errors.Is(err, filing.ErrNotExist) {
		return nil, tampered("%s: the tag manifest is missing", key+filing.TagManifestFile)
	}
	if err != nil {
		return nil, err
	}
	tags, _, err := readCapped(ctx, st, tm, keepLimit)
	if err != nil {
		return nil, err
	}
	f.tagSum = filing.Sum(tags)
	if f.tagSum != ev.TagManifestSHA256 {
		return nil, tampered("%s: SHA-256 %s, but the filing event sealed %s", tm.Key, f.tagSum, ev.TagManifestSHA256)
	}
	sums, err := parseSums(tags)
	if err != nil {
		return nil, tampered("%s: %v", tm.Key, err)
	}
	if got := filing.Sum(raw); sums[filing.RecordFile] != got {
		return nil, tampered("%s: SHA-256 %s, but the tag manifest as filed says %q", recKey, got, sums[filing.RecordFile])
	}
	f.entry = entryOf(&f.rec, key)
	if plan != nil {
		if err := agreesWithPlan(plan, &f.rec); err != nil {
			return f, err
		}
	}
	return f, nil
}

// errPlanChanged says the file plan now gives a record another retention
// than it was filed with: a person must decide, not a routine run.
var errPlanChanged = errors.New("the file plan changed")

// agreesWithPlan checks rec's retention against what the plan's class
// gives a record filed when it was.
func agreesWithPlan(plan *filing.Plan, rec *filing.Record) error {
	c := plan.Class(rec.Class.Code)
	if c == nil {
		return fmt.Errorf("%w: class %s is no longer in it; review the record instead", errPlanChanged, rec.Class.Code)
	}
	date := ""
	if d := c.Retention.DisposalDate(rec.FiledAt); !d.IsZero() {
		date = d.Format(time.DateOnly)
	}
	if c.Retention.Action != rec.Retention.Action || date != rec.Retention.DisposalDate {
		return fmt.Errorf("%w: class %s now gives %s (%s), the record was filed with %s (%s); review it instead",
			errPlanChanged, c.Code, orNone(date), c.Retention.Action, orNone(rec.Retention.DisposalDate), rec.Retention.Action)
	}
	return nil
}

func orNone(date string) string {
	if date == "" {
		return "no date"
	}
	return date
}

// sameFacts compares an index entry with what the record says: the fields
// ls, due and disposal go by.
func sameFacts(e, want filing.IndexEntry) bool {
	return e.ID == want.ID && e.Key == want.Key && e.ClassCode == want.ClassCode &&
		e.DisposalDate == want.DisposalDate && e.DisposalAction == want.DisposalAction && e.FiledAt.Equal(want.FiledAt)
}

// signedResidual reads the residual entry of record id and checks it was
// written by this deployment; ErrNotExist when there is none.
func signedResidual(ctx context.Context, st filing.Store, keys *filing.Keyring, id string) (*Residual, error) {
	h, err := filing.HistoryOf(ctx, st, ResidualKey(id))
	if err != nil {
		return nil, err
	}
	raw, _, err := readCapped(ctx, st, h, 1<<20)
	if err != nil {
		return nil, err
	}
	var res Residual
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&res); err != nil {
		return nil, tampered("%s: not a residual entry recordbot wrote: %v", h.Key, err)
	}
	if err := keys.Check(filing.KindResidual, &res, &res.Signature); err != nil {
		return nil, tampered("%s: not written by this deployment: %v", h.Key, err)
	}
	if res.ID != id {
		return nil, tampered("%s: the residual entry of record %s, not %s", h.Key, res.ID, id)
	}
	if len(h.Later) > 0 {
		return &res, tampered("%s: %s", h.Key, overwritten(h))
	}
	return &res, nil
}
