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
	Certificate string `json:"certificate"`
	// Signature is by the deployment's key (KindResidual), over the
	// residual entry as stored (the index entry's own signature is not
	// part of it).
	Signature *filing.Signature `json:"signature,omitempty"`
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
	// Problem says why the residual entry cannot be believed: not signed
	// by this deployment, written over, or naming a record that still
	// stands. "" when it checks out (or was not checked: no keys).
	Problem string `json:"problem,omitempty"`
	// Pending is set while objects of the record remain: the destruction
	// began and did not finish (refused, or interrupted); a rerun of
	// `records dispose destroy` finishes it.
	Pending bool `json:"pending,omitempty"`
}

// Residuals returns every residual entry, oldest destruction first, each
// marked Pending when its destruction has not finished (a marker, or the
// record's index entry, is still there). With keys set, each is checked:
// one not signed by a trusted key, or written over, has its Problem said;
// keys nil checks nothing.
func Residuals(ctx context.Context, st filing.Store, keys *filing.Keyring) ([]DisposedRecord, error) {
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
		return residualAt(ctx, st, keys, hs[i], &out[i])
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		if _, ok := pending[out[i].ID]; ok {
			out[i].Pending = true
		}
	}
	sortResiduals(out)
	return out, nil
}

// residualAt reads the residual entry h into d and checks it: its
// signature (keys nil: not checked), that nothing was written over it, and
// whether the record's index entry is still there (a destruction begun and
// not finished, or a residual made up for a live record).
func residualAt(ctx context.Context, st filing.Store, keys *filing.Keyring, h *filing.History, d *DisposedRecord) error {
	if err := readFirst(ctx, st, h, &d.Residual); err != nil {
		return err
	}
	want := ResidualKey(d.ID)
	switch {
	case h.Key != want:
		d.Problem = fmt.Sprintf("%s: the residual entry of record %s is stored in the wrong place", h.Key, d.ID)
	case len(h.Later) > 0:
		d.Problem = fmt.Sprintf("%s: %s", h.Key, overwritten(h))
	case keys != nil:
		if err := keys.Check(filing.KindResidual, &d.Residual, &d.Residual.Signature); err != nil {
			d.Problem = fmt.Sprintf("%s: not written by this deployment (%v)", h.Key, err)
		}
	}
	if checkID(d.ID) {
		if _, err := st.Stat(ctx, filing.IndexPrefix+d.ID+".json"); err == nil {
			d.Pending = true
		} else if !errors.Is(err, filing.ErrNotExist) {
			return err
		}
	}
	return nil
}

func sortResiduals(rs []DisposedRecord) {
	sort.Slice(rs, func(i, j int) bool {
		if !rs[i].At.Equal(rs[j].At) {
			return rs[i].At.Before(rs[j].At)
		}
		return rs[i].ID < rs[j].ID
	})
}

// ResidualOf returns the residual entry of record id, checked as by
// Residuals, or an error matching filing.ErrNotExist when the record was
// never destroyed.
func ResidualOf(ctx context.Context, st filing.Store, keys *filing.Keyring, id string) (*DisposedRecord, error) {
	id = strings.TrimSpace(id)
	if !checkID(id) {
		return nil, fmt.Errorf("record %q: %w", id, filing.ErrNotExist)
	}
	h, err := filing.HistoryOf(ctx, st, ResidualKey(id))
	if err != nil {
		return nil, err
	}
	var d DisposedRecord
	if err := residualAt(ctx, st, keys, h, &d); err != nil {
		return nil, err
	}
	if !d.Pending {
		if d.Pending, err = pendingMarked(ctx, st, id); err != nil {
			return nil, err
		}
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
