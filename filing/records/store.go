package records

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/recordbot/recordbot/filing"
)

// ErrNoLayout is returned by CheckLayout for a store that holds nothing
// recordbot wrote: the wrong bucket, prefix or folder, or one where nothing
// has been filed yet. A records command must not answer "no records" from
// such a store.
var ErrNoLayout = errors.New("no recordbot records here")

// CheckLayout reports whether st looks like a recordbot store: at least one
// object under records/, index/ or audit/. It lists at most one object of
// each prefix. The error names the store and matches ErrNoLayout.
func CheckLayout(ctx context.Context, st filing.Store) error {
	for _, p := range []string{filing.IndexPrefix, filing.RecordsPrefix, filing.AuditPrefix} {
		for _, err := range st.List(ctx, p) {
			if err != nil {
				return fmt.Errorf("read %s: %w", st.Where(p), err)
			}
			return nil
		}
	}
	return fmt.Errorf("%s has no %s, %s or %s folder: it is the wrong store, or nothing has been filed in it yet: %w",
		st.Where(""), strings.TrimSuffix(filing.RecordsPrefix, "/"), strings.TrimSuffix(filing.IndexPrefix, "/"),
		strings.TrimSuffix(filing.AuditPrefix, "/"), ErrNoLayout)
}

// ErrAmbiguous is returned for a short id that more than one record has.
var ErrAmbiguous = errors.New("more than one record has this short id")

// Resolve turns what a person typed into a record id: a full record id is
// returned as it is; a short id (the last 8 characters of the id, without
// dashes, that ends every record folder's name) is looked up in the index.
// An unknown short id matches ErrNoRecord, one shared by two records
// ErrAmbiguous.
func Resolve(ctx context.Context, st filing.Store, id string) (string, error) {
	id = strings.TrimSpace(id)
	if len(id) != 8 || strings.Contains(id, "-") {
		return id, nil
	}
	want := strings.ToLower(id)
	var found []string
	for h, err := range filing.Histories(ctx, st, filing.IndexPrefix) {
		if err != nil {
			return "", fmt.Errorf("list the index: %w", err)
		}
		full, ok := strings.CutSuffix(strings.TrimPrefix(h.Key, filing.IndexPrefix), ".json")
		if ok && strings.ToLower(filing.ShortID(full)) == want {
			found = append(found, full)
		}
	}
	switch len(found) {
	case 0:
		// It may still be a record without an index entry, or an id that
		// happens to be 8 characters long: Locate walks records/.
		return id, nil
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("short id %q: records %s: %w", id, strings.Join(found, ", "), ErrAmbiguous)
}
