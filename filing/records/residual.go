package records

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

// DisposedPrefix holds one residual entry per destroyed record: what
// survives destruction (MoReq2010's residual metadata). Each is created
// once, before the record's objects are deleted, and kept from then on.
const DisposedPrefix = "disposed/"

// PendingPrefix holds a marker per record whose destruction has begun and
// not finished: a rerun of `dispose` finishes them. Markers are mutable
// bookkeeping, written and deleted by the disposal principal only (the
// bot's policy cannot write here), and deleted when the record is gone.
const PendingPrefix = "disposal/pending/"

// legacyPendingPrefix is where markers were kept before they moved out of
// the bot's writable requests/: still read, as hints only.
const legacyPendingPrefix = filing.RequestsPrefix + "disposal/"

// ResidualSchema identifies the JSON form of a residual entry.
const ResidualSchema = "recordbot.residual/1"

// Residual is what is kept of a destroyed record: who, what and when of the
// record, and the disposal's authority, approver, executor and date.
// Participants are not kept: the record, and the personal data in it, is
// gone.
type Residual struct {
	Schema string `json:"schema"`
	// IndexEntry is the record's index entry as filed, without its
	// participants. Key is where its package was.
	filing.IndexEntry
	// Rule is the retention rule the record was kept under.
	Rule string `json:"retention_rule,omitempty"`
	// TagManifestSHA256 is the SHA-256 of the record's
	// tagmanifest-sha256.txt as filed: it sealed every other checksum.
	TagManifestSHA256 string `json:"tagmanifest_sha256"`
	// Authority is the disposal authority (schedule, decision reference).
	Authority  string `json:"authority"`
	ApprovedBy string `json:"approved_by"`
	// By is who carried the disposal out.
	By capture.Person `json:"carried_out_by"`
	// At is when the destruction began (the residual entry was written).
	At time.Time `json:"destroyed_at"`
	// Action is "destroy", or "transfer" for a source destroyed after its
	// transfer.
	Action string `json:"action"`
	// TransferredTo is where a transferred record went.
	TransferredTo string `json:"transferred_to,omitempty"`
	// Certificate is the id of the disposal run (and its certificate).
	Certificate string            `json:"certificate"`
	Signature   *filing.Signature `json:"signature,omitempty"`
}

// String tells people what happened: "destroyed on 2027-03-02 under
// Disposal authority 2027/03".
func (r *Residual) String() string {
	verb := "destroyed"
	if r.TransferredTo != "" {
		verb = "transferred to " + r.TransferredTo + " and destroyed"
	}
	return fmt.Sprintf("%s on %s under %s", verb, r.At.UTC().Format(time.DateOnly), r.Authority)
}

// ResidualKey returns where the residual entry of record id is stored.
func ResidualKey(id string) string { return DisposedPrefix + id + ".json" }

// DisposedRecord is a residual entry and whether the destruction finished.
type DisposedRecord struct {
	Residual
	// Pending is set while objects of the record remain: the destruction
	// began and did not finish (refused, or interrupted); a rerun of
	// `records dispose destroy` finishes it.
	Pending bool `json:"pending,omitempty"`
}

// Residuals returns every residual entry, oldest destruction first, each
// marked Pending when its destruction has not finished.
func Residuals(ctx context.Context, st filing.Store) ([]DisposedRecord, error) {
	var hs []*filing.History
	for h, err := range filing.Histories(ctx, st, DisposedPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list the residual entries: %w", err)
		}
		if strings.HasSuffix(h.Key, ".json") {
			hs = append(hs, h)
		}
	}
	pending, err := pendingIDs(ctx, st)
	if err != nil {
		return nil, err
	}
	out := make([]DisposedRecord, len(hs))
	err = forEach(ctx, len(hs), parallel, func(ctx context.Context, i int) error {
		return readFirst(ctx, st, hs[i], &out[i].Residual)
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		_, out[i].Pending = pending[out[i].ID]
	}
	sortResiduals(out)
	return out, nil
}

func sortResiduals(rs []DisposedRecord) {
	sort.Slice(rs, func(i, j int) bool {
		if !rs[i].At.Equal(rs[j].At) {
			return rs[i].At.Before(rs[j].At)
		}
		return rs[i].ID < rs[j].ID
	})
}

// ResidualOf returns the residual entry of record id, or an error matching
// filing.ErrNotExist when the record was never destroyed.
func ResidualOf(ctx context.Context, st filing.Store, id string) (*DisposedRecord, error) {
	id = strings.TrimSpace(id)
	if !checkID(id) {
		return nil, fmt.Errorf("record %q: %w", id, filing.ErrNotExist)
	}
	h, err := filing.HistoryOf(ctx, st, ResidualKey(id))
	if err != nil {
		return nil, err
	}
	var d DisposedRecord
	if err := readFirst(ctx, st, h, &d.Residual); err != nil {
		return nil, err
	}
	if d.Pending, err = pendingMarked(ctx, st, id); err != nil {
		return nil, err
	}
	return &d, nil
}

// pendingIDs returns the ids of the records whose destruction has begun
// and not finished, each with the key of its marker (under PendingPrefix,
// or the legacy prefix).
func pendingIDs(ctx context.Context, st filing.Store) (map[string]string, error) {
	ids := make(map[string]string)
	for _, prefix := range []string{legacyPendingPrefix, PendingPrefix} {
		for oi, err := range st.List(ctx, prefix) {
			if err != nil {
				return nil, fmt.Errorf("list the pending disposals: %w", err)
			}
			if id, ok := strings.CutSuffix(strings.TrimPrefix(oi.Key, prefix), ".json"); ok {
				ids[id] = oi.Key
			}
		}
	}
	return ids, nil
}

// pendingMarked reports whether a marker says the destruction of record
// id has begun.
func pendingMarked(ctx context.Context, st filing.Store, id string) (bool, error) {
	for _, prefix := range []string{PendingPrefix, legacyPendingPrefix} {
		_, err := st.Stat(ctx, prefix+id+".json")
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, filing.ErrNotExist) {
			return false, err
		}
	}
	return false, nil
}
