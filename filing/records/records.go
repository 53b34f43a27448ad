// Package records is the records officer's side of recordbot: it lists,
// shows, verifies, registers, reports disposal of, holds and searches the
// records filed in a filing.Store. It reads the store's layout (records/,
// index/, audit/) and writes only registers/ and new audit events; it never
// changes a record.
package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/recordbot/recordbot/filing"
)

// parallel is how many objects are read at once when walking the index or
// the records: enough to hide the round trip of an S3 GET.
const parallel = 16

// ErrNoRecord is returned for a record id that is not in the index.
var ErrNoRecord = errors.New("no such record")

// Filter selects records by class and filing date.
type Filter struct {
	// Class is a class code; it matches records filed in that class or any
	// class below it. Empty matches every class.
	Class string
	// Since and Until bound the filing date (inclusive, by UTC day); zero
	// means unbounded.
	Since, Until time.Time
}

// Match reports whether e passes f.
func (f Filter) Match(e filing.IndexEntry) bool {
	if f.Class != "" && !InClass(e, f.Class) {
		return false
	}
	day := e.FiledAt.UTC().Format(time.DateOnly)
	if !f.Since.IsZero() && day < f.Since.UTC().Format(time.DateOnly) {
		return false
	}
	if !f.Until.IsZero() && day > f.Until.UTC().Format(time.DateOnly) {
		return false
	}
	return true
}

// InClass reports whether e is filed in class code or a class below it. It
// uses the class path stored with the record ("100 Administration > 100-20
// Committees"), so it holds even after the file plan has changed.
func InClass(e filing.IndexEntry, code string) bool {
	code = strings.TrimSpace(code)
	if strings.EqualFold(e.ClassCode, code) {
		return true
	}
	for _, step := range strings.Split(e.ClassPath, " > ") {
		c, _, _ := strings.Cut(strings.TrimSpace(step), " ")
		if strings.EqualFold(c, code) {
			return true
		}
	}
	return false
}

// List returns the index entries of the records that pass f, oldest first.
func List(ctx context.Context, st filing.Store, f Filter) ([]filing.IndexEntry, error) {
	all, err := Index(ctx, st)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, e := range all {
		if f.Match(e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Index reads every index entry of the store, sorted by filing time then id.
// It reads the entries in parallel: one small GET per record.
func Index(ctx context.Context, st filing.Store) ([]filing.IndexEntry, error) {
	var keys []string
	for oi, err := range st.List(ctx, filing.IndexPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list the index: %w", err)
		}
		if strings.HasSuffix(oi.Key, ".json") {
			keys = append(keys, oi.Key)
		}
	}
	entries := make([]filing.IndexEntry, len(keys))
	err := forEach(ctx, len(keys), parallel, func(ctx context.Context, i int) error {
		return readJSON(ctx, st, keys[i], &entries[i])
	})
	if err != nil {
		return nil, err
	}
	sortEntries(entries)
	return entries, nil
}

func sortEntries(es []filing.IndexEntry) {
	sort.Slice(es, func(i, j int) bool {
		if !es[i].FiledAt.Equal(es[j].FiledAt) {
			return es[i].FiledAt.Before(es[j].FiledAt)
		}
		return es[i].ID < es[j].ID
	})
}

// Entry returns the index entry of record id.
func Entry(ctx context.Context, st filing.Store, id string) (filing.IndexEntry, error) {
	var e filing.IndexEntry
	id = strings.TrimSpace(id)
	if id == "" || strings.ContainsAny(id, "/\\") || filing.CheckKey(filing.IndexPrefix+id+".json") != nil {
		return e, fmt.Errorf("record %q: %w", id, ErrNoRecord)
	}
	err := readJSON(ctx, st, filing.IndexPrefix+id+".json", &e)
	if errors.Is(err, filing.ErrNotExist) {
		return e, fmt.Errorf("record %q: %w", id, ErrNoRecord)
	}
	return e, err
}

// Object is one stored object of a record, for people.
type Object struct {
	// Path is the object's path inside the record package.
	Path string `json:"path"`
	Size int64  `json:"size"`
	// Where is the object's s3:// URL or local path.
	Where       string    `json:"where"`
	RetainUntil time.Time `json:"retain_until,omitzero"`
	LegalHold   bool      `json:"legal_hold,omitempty"`
}

// Detail is everything `records show` tells about a record.
type Detail struct {
	Record *filing.Record `json:"record"`
	// Where is the record package's folder.
	Where string `json:"where"`
	// Objects are the package's objects as stored now.
	Objects []Object `json:"objects"`
	// Filed is the filing event of the audit trail, nil if it is missing.
	Filed *filing.Event `json:"filed_event,omitempty"`
	// FiledEventWhere is where the filing event is stored.
	FiledEventWhere string `json:"filed_event_where"`
}

// Show reads record id's metadata (record.json), its objects with their
// Object Lock state and its filing event.
func Show(ctx context.Context, st filing.Store, id string) (*Detail, error) {
	e, err := Entry(ctx, st, id)
	if err != nil {
		return nil, err
	}
	var rec filing.Record
	if err := readJSON(ctx, st, e.Key+filing.RecordFile, &rec); err != nil {
		return nil, fmt.Errorf("record %s: %w", id, err)
	}
	d := &Detail{Record: &rec, Where: st.Where(e.Key)}
	for oi, err := range st.List(ctx, e.Key) {
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", id, err)
		}
		d.Objects = append(d.Objects, Object{Path: strings.TrimPrefix(oi.Key, e.Key), Size: oi.Size, Where: st.Where(oi.Key)})
	}
	err = forEach(ctx, len(d.Objects), parallel, func(ctx context.Context, i int) error {
		oi, err := st.Stat(ctx, e.Key+d.Objects[i].Path)
		if err != nil {
			return err
		}
		d.Objects[i].RetainUntil, d.Objects[i].LegalHold = oi.RetainUntil, oi.LegalHold
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", id, err)
	}
	key := FiledEventKey(e)
	d.FiledEventWhere = st.Where(key)
	var ev filing.Event
	if err := readJSON(ctx, st, key, &ev); err == nil {
		d.Filed = &ev
	} else if !errors.Is(err, filing.ErrNotExist) {
		return nil, err
	}
	return d, nil
}

// FiledEventKey returns where the filing event of the record is stored: the
// filing service writes it under the filing day, with the record's id.
func FiledEventKey(e filing.IndexEntry) string {
	return filing.EventKey(filing.Event{ID: e.ID, Type: "filed"}, e.FiledAt)
}

func readJSON(ctx context.Context, st filing.Store, key string, v any) error {
	rc, err := st.Open(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(v); err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	return nil
}

// forEach runs fn for 0..n-1 with at most par at once and returns the first
// error; it stops starting new calls after one fails.
func forEach(ctx context.Context, n, par int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, par) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}
