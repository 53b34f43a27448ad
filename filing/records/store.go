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

// ErrAmbiguous is returned for a short id or part of an id that more than
// one record has.
var ErrAmbiguous = errors.New("more than one record has this id")

// MinIDPart is the fewest characters of a record id that Resolve looks up.
const MinIDPart = 8

// IDRule says, for people, what names a record.
const IDRule = "give the full record id, the short id shown by `bot records ls` (the 8 characters that end the record's folder name), or at least 8 characters from the start or end of the id"

// Resolve turns what a person typed into a record id. A full record id is
// returned as it is; otherwise any part of an id of at least MinIDPart
// characters that starts or ends it (case and dashes ignored) is looked up
// in the index: the short id (the last 8 characters of the id without
// dashes, that ends every record folder's name) is one such part. A part
// no indexed record has is looked for by Locate, as the short id of a
// record without an index entry. A part shorter than MinIDPart, or that
// names no record, matches ErrNoRecord; one that more than one record has,
// ErrAmbiguous, naming them.
func Resolve(ctx context.Context, st filing.Store, id string) (string, error) {
	id = strings.TrimSpace(id)
	if isFullID(id) {
		return id, nil
	}
	want := strings.ToLower(strings.ReplaceAll(id, "-", ""))
	if len(want) < MinIDPart {
		return "", fmt.Errorf("record %q: too short to name a record (%s): %w", id, IDRule, ErrNoRecord)
	}
	var found []string
	for h, err := range filing.Histories(ctx, st, filing.IndexPrefix) {
		if err != nil {
			return "", fmt.Errorf("list the index: %w", err)
		}
		full, ok := strings.CutSuffix(strings.TrimPrefix(h.Key, filing.IndexPrefix), ".json")
		if !ok {
			continue
		}
		if full == id {
			return id, nil
		}
		f := strings.ToLower(strings.ReplaceAll(full, "-", ""))
		if strings.HasPrefix(f, want) || strings.HasSuffix(f, want) {
			found = append(found, full)
		}
	}
	switch len(found) {
	case 0:
		// It may still be a record without an index entry, named by its
		// short id: Locate walks records/ for it.
		e, _, err := Locate(ctx, st, id)
		if err != nil {
			return "", err
		}
		return e.ID, nil
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%q names %d records (%s): give more of the id: %w", id, len(found), strings.Join(found, ", "), ErrAmbiguous)
}

// isFullID reports whether id has the form of a record id: a UUID.
func isFullID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i, c := range id {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
