// Package records is the records officer's side of recordbot: it lists,
// shows, verifies, registers, reports disposal of, holds and searches the
// records filed in a filing.Store, and carries out disposal (destroy,
// transfer, review) and export. It reads the store's layout (records/,
// index/, audit/). Apart from disposal it writes only registers/, reviews/
// and new audit events and never changes a record; destroy removes a
// record whole, only with an authority, after writing its residual entry
// (disposed/) and before its certificate (certificates/).
package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
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
//
// Each entry is read as it was written at filing (its first version), so
// an entry rewritten or deleted since (a delete marker on a versioned
// bucket) neither changes nor hides the record: `records verify` reports
// that tampering.
//
// An entry is a claim, not checked here: Trust.ListChecked and DueChecked
// check them.
func Index(ctx context.Context, st filing.Store) ([]filing.IndexEntry, error) {
	all, err := indexEntries(ctx, st)
	if err != nil {
		return nil, err
	}
	entries := make([]filing.IndexEntry, len(all))
	for i, e := range all {
		entries[i] = e.IndexEntry
	}
	return entries, nil
}

// indexEntries is Index with when each entry's first version was stored.
func indexEntries(ctx context.Context, st filing.Store) ([]stamped, error) {
	var hs []*filing.History
	for h, err := range filing.Histories(ctx, st, filing.IndexPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list the index: %w", err)
		}
		if strings.HasSuffix(h.Key, ".json") {
			hs = append(hs, h)
		}
	}
	entries := make([]stamped, len(hs))
	err := forEach(ctx, len(hs), parallel, func(ctx context.Context, i int) error {
		entries[i].stored = hs[i].First.LastModified
		return readFirst(ctx, st, hs[i], &entries[i].IndexEntry)
	})
	if err != nil {
		return nil, err
	}
	sortEntries(entries)
	return entries, nil
}

func sortEntries(es []stamped) {
	sort.Slice(es, func(i, j int) bool {
		if !es[i].FiledAt.Equal(es[j].FiledAt) {
			return es[i].FiledAt.Before(es[j].FiledAt)
		}
		return es[i].ID < es[j].ID
	})
}

// checkID reports whether id can name a record (and its index key).
func checkID(id string) bool {
	return id != "" && !strings.ContainsAny(id, "/\\") && filing.CheckKey(filing.IndexPrefix+id+".json") == nil
}

// Entry returns the index entry of record id, as written at filing (its
// first version, even if it was deleted or rewritten since).
func Entry(ctx context.Context, st filing.Store, id string) (filing.IndexEntry, error) {
	e, _, err := entry(ctx, st, id)
	return e, err
}

// entry is Entry that also gives the index entry's history.
func entry(ctx context.Context, st filing.Store, id string) (filing.IndexEntry, *filing.History, error) {
	var e filing.IndexEntry
	id = strings.TrimSpace(id)
	if !checkID(id) {
		return e, nil, fmt.Errorf("record %q: %w", id, ErrNoRecord)
	}
	h, err := filing.HistoryOf(ctx, st, filing.IndexPrefix+id+".json")
	if errors.Is(err, filing.ErrNotExist) {
		return e, nil, fmt.Errorf("record %q: %w", id, ErrNoRecord)
	}
	if err != nil {
		return e, nil, err
	}
	return e, h, readFirst(ctx, st, h, &e)
}

// Locate finds record id: through its index entry, or, when it has none,
// by walking records/ for a package folder ending in the id's short form
// whose record.json (as filed) has that id. indexed reports which.
func Locate(ctx context.Context, st filing.Store, id string) (e filing.IndexEntry, indexed bool, err error) {
	e, h, err := locate(ctx, st, id)
	return e, h != nil, err
}

// locate is Locate that gives the index entry's history (nil when the
// record has no index entry).
func locate(ctx context.Context, st filing.Store, id string) (e filing.IndexEntry, h *filing.History, err error) {
	e, h, err = entry(ctx, st, id)
	if err == nil || !errors.Is(err, ErrNoRecord) {
		if err != nil {
			h = nil
		}
		return e, h, err
	}
	id = strings.TrimSpace(id)
	if !checkID(id) {
		return e, nil, err
	}
	suffix := "_" + filing.ShortID(id) + "/"
	seen := make(map[string]bool)
	for oi, lerr := range st.List(ctx, filing.RecordsPrefix) {
		if lerr != nil {
			return e, nil, lerr
		}
		folder := packageOf(oi.Key)
		if folder == "" || seen[folder] || !strings.HasSuffix(folder, suffix) {
			continue
		}
		seen[folder] = true
		h, herr := filing.HistoryOf(ctx, st, folder+filing.RecordFile)
		if errors.Is(herr, filing.ErrNotExist) {
			continue
		}
		if herr != nil {
			return e, nil, herr
		}
		var rec filing.Record
		if rerr := readFirst(ctx, st, h, &rec); rerr != nil {
			return e, nil, rerr
		}
		if rec.ID == id || filing.ShortID(rec.ID) == strings.ToLower(id) {
			if rec.ID != id {
				// Named by its short id: the record may well have an
				// index entry under its full one.
				e, h, err := entry(ctx, st, rec.ID)
				switch {
				case err == nil:
					return e, h, nil
				case !errors.Is(err, ErrNoRecord):
					return e, nil, err
				}
			}
			return entryOf(&rec, folder), nil, nil
		}
	}
	return e, nil, err
}

// entryOf rebuilds the index entry of a record from its record.json, as
// found in folder.
func entryOf(rec *filing.Record, folder string) filing.IndexEntry {
	e := filing.IndexEntryOf(rec)
	e.Key = folder
	return e
}

// packageOf returns the record package folder (ending in "/") that the
// object at key belongs to, judged by its name alone: the folder above a
// "data" segment or above one of the bag's tag files. "" if neither.
func packageOf(key string) string {
	if !strings.HasPrefix(key, filing.RecordsPrefix) {
		return ""
	}
	segs := strings.Split(key, "/")
	for i := 2; i < len(segs)-1; i++ {
		if segs[i] == "data" {
			return strings.Join(segs[:i], "/") + "/"
		}
	}
	switch segs[len(segs)-1] {
	case filing.BagItFile, filing.BagInfoFile, filing.ManifestFile, filing.TagManifestFile, filing.RecordFile:
		if len(segs) > 2 {
			return strings.Join(segs[:len(segs)-1], "/") + "/"
		}
	}
	return ""
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
	// Later lists what was written over the object since it was filed
	// (newer versions, delete markers): tampering. Size, lock and hold
	// are the first version's, which is the record.
	Later []filing.Version `json:"later_versions,omitempty"`
}

// Detail is everything `records show` tells about a record.
type Detail struct {
	Record *filing.Record `json:"record"`
	// Where is the record package's folder.
	Where string `json:"where"`
	// Objects are the package's objects as filed.
	Objects []Object `json:"objects"`
	// Filed is the filing event of the audit trail, nil if it is missing.
	Filed *filing.Event `json:"filed_event,omitempty"`
	// FiledEventWhere is where the filing event is stored.
	FiledEventWhere string `json:"filed_event_where"`
	// Unindexed is set when the record has no index entry (it was found
	// by walking records/): ls, due and find do not see it.
	Unindexed bool `json:"unindexed,omitempty"`
	// NotTrusted says why the record's index entry does not check against
	// the record as filed (Trust.Show), whose facts Record gives; Claimed
	// is what the entry says.
	NotTrusted string             `json:"not_trusted,omitempty"`
	Claimed    *filing.IndexEntry `json:"index_entry_claims,omitempty"`
	// OnHold reports a legal hold on the record now: on every object as
	// filed. A hold on some objects only is reported in PartialHold.
	OnHold      bool `json:"on_hold"`
	PartialHold bool `json:"partial_hold,omitempty"`
	// History is every audit event of the record, oldest first: filed,
	// fixity checks with their outcome, holds on and off with who and why.
	History []filing.Event `json:"history"`
}

// Show reads record id's metadata (record.json as filed), its objects with
// their Object Lock state and anything written over them since, and its
// filing event. A record without an index entry is found by walking
// records/.
func Show(ctx context.Context, st filing.Store, id string) (*Detail, error) {
	id, err := Resolve(ctx, st, id)
	if err != nil {
		return nil, err
	}
	e, indexed, err := Locate(ctx, st, id)
	if err != nil {
		return nil, err
	}
	d := &Detail{Where: st.Where(e.Key), Unindexed: !indexed}
	var hs []*filing.History
	for h, err := range filing.Histories(ctx, st, e.Key) {
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", id, err)
		}
		hs = append(hs, h)
		d.Objects = append(d.Objects, Object{Path: strings.TrimPrefix(h.Key, e.Key), Size: h.First.Size, Where: st.Where(h.Key), Later: h.Later})
	}
	var rec filing.Record
	for _, h := range hs {
		if h.Key == e.Key+filing.RecordFile {
			if err := readFirst(ctx, st, h, &rec); err != nil {
				return nil, fmt.Errorf("record %s: %w", id, err)
			}
			d.Record = &rec
		}
	}
	if d.Record == nil {
		return nil, fmt.Errorf("record %s: %s is missing: %w", id, st.Where(e.Key+filing.RecordFile), filing.ErrNotExist)
	}
	err = forEach(ctx, len(hs), parallel, func(ctx context.Context, i int) error {
		oi, err := hs[i].Stat(ctx, st)
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
	h, err := filing.HistoryOf(ctx, st, key)
	if err == nil {
		err = readFirst(ctx, st, h, &ev)
	}
	if err == nil {
		d.Filed = &ev
	} else if !errors.Is(err, filing.ErrNotExist) {
		return nil, err
	}
	held := 0
	for _, o := range d.Objects {
		if o.LegalHold {
			held++
		}
	}
	d.OnHold = held > 0 && held == len(d.Objects)
	d.PartialHold = held > 0 && held < len(d.Objects)
	if d.History, err = History(ctx, st, e.ID, e.FiledAt); err != nil {
		return nil, fmt.Errorf("record %s: %w", e.ID, err)
	}
	return d, nil
}

// History returns every audit event of record id, each as written (its
// first version), oldest first. Events are stored by day, so only the days
// from the filing day on are looked at: one listing, and one GET per event
// whose key names the record, or names none (written before keys named
// records), in parallel. Other records' events are not read.
func History(ctx context.Context, st filing.Store, id string, filed time.Time) ([]filing.Event, error) {
	links, err := Chain(ctx, st, id, filed)
	if err != nil {
		return nil, err
	}
	out := make([]filing.Event, 0, len(links))
	for _, l := range links {
		out = append(out, l.Event)
	}
	return out, nil
}

// mayConcern reports whether the audit event at key may be about one of
// the records ids: its key names one of them, or names no record.
func mayConcern(key string, ids map[string]bool) bool {
	id, named := filing.EventRecord(key)
	return !named || ids[id]
}

// FiledEventKey returns where the filing event of the record is stored: the
// filing service writes it under the filing day, with the record's id.
func FiledEventKey(e filing.IndexEntry) string { return filedEventKey(e.ID, e.FiledAt) }

// filedEventKey is where the filing event of record id, filed at filed, is.
func filedEventKey(id string, filed time.Time) string {
	return filing.EventKey(filing.Event{ID: id, Type: "filed"}, filed)
}

// readFirst decodes the first version of h, the one written at filing.
func readFirst(ctx context.Context, st filing.Store, h *filing.History, v any) error {
	_, err := readFirstInfo(ctx, st, h, v)
	return err
}

// readFirstInfo is readFirst that also describes the version read, as its
// GET did (lock included).
func readFirstInfo(ctx context.Context, st filing.Store, h *filing.History, v any) (filing.ObjectInfo, error) {
	rc, info, err := h.Open(ctx, st)
	if err != nil {
		return info, err
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(v); err != nil {
		return info, fmt.Errorf("read %s: %w", h.Key, err)
	}
	return info, nil
}

func readJSON(ctx context.Context, st filing.Store, key string, v any) error {
	rc, _, err := st.Open(ctx, key)
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
	if n < par {
		par = n
	}
	upto := func(yield func(int, error) bool) {
		for i := range n {
			if !yield(i, nil) {
				return
			}
		}
	}
	return forEachIn(ctx, upto, par, fn)
}

// forEachIn runs fn for each value seq yields, with at most par at once, as
// seq yields them (so a listing and the work on what it lists overlap),
// and returns the first error, seq's included; it stops taking values
// after one.
func forEachIn[T any](ctx context.Context, seq iter.Seq2[T, error], par int, fn func(ctx context.Context, v T) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan T)
	var wg sync.WaitGroup
	for range par {
		wg.Go(func() {
			for v := range next {
				if err := fn(ctx, v); err != nil {
					cancel(err)
				}
			}
		})
	}
	for v, err := range seq {
		if err != nil {
			cancel(err)
			break
		}
		select {
		case next <- v:
			continue
		case <-ctx.Done():
		}
		break
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// Unindexed returns the record folders under records/ that no index entry
// names (judged by the short id that ends each folder's name), from two
// listings and no reads: a cheap warning for ls, due and find, which go by
// the index. `verify --all` is the thorough check.
func Unindexed(ctx context.Context, st filing.Store) ([]string, error) {
	short := make(map[string]bool)
	for h, err := range filing.Histories(ctx, st, filing.IndexPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list the index: %w", err)
		}
		if id, ok := strings.CutSuffix(strings.TrimPrefix(h.Key, filing.IndexPrefix), ".json"); ok {
			short[filing.ShortID(id)] = true
		}
	}
	var out []string
	seen := make(map[string]bool)
	for oi, err := range st.List(ctx, filing.RecordsPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list the records: %w", err)
		}
		f := packageOf(oi.Key)
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		name := strings.TrimSuffix(f, "/")
		if i := strings.LastIndexByte(name, '_'); i < 0 || !short[name[i+1:]] {
			out = append(out, f)
		}
	}
	return out, nil
}
