package records

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
)

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
	at := filing.SystemClock().Now().UTC()
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
