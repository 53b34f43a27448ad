package records

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/recordbot/recordbot/filing"
)

// VerifyEach checks every record in the store: every record package under
// records/ and every index entry, so a package without an index entry (or
// with one deleted or rewritten) and an index entry whose package is gone
// are reported, as are objects under records/ that belong to no package,
// unsigned residual entries of records that are gone, and review decisions
// of records neither present nor destroyed by recordbot.
//
// fn receives each result as soon as its record is checked (in the order
// checks finish, never concurrently); an error from fn stops the check and
// is returned. The heap holds the packages being checked, a little of each
// index entry, and the key and version id of every audit event (listed
// once, grouped by record), not the results.
func (v *Verifier) VerifyEach(ctx context.Context, fn func(Result) error) error {
	st := v.Store
	// The listing of records/ (step 3) starts now, so that its first page
	// arrives while the index is read; it waits, a page ahead at most,
	// until step 3 takes what it lists.
	walk := v.listRecords(ctx)
	defer walk.stop()
	// So does the listing of the audit trail (and of the review decisions
	// and residual entries), which every check waits for: a record's
	// events may be on any day since its filing.
	actx, cancelAudit := context.WithCancel(ctx)
	audit := v.listAudit(actx)
	defer func() { cancelAudit(); <-audit.done }()

	// 1. The index, every entry as filed: one listing, and one GET each as
	// the listing goes, of which only what the check needs is kept, sorted
	// by the folder it names.
	var (
		mu      sync.Mutex
		entries []entryRef
	)
	indexEntries := func(yield func(*filing.History, error) bool) {
		for h, err := range filing.Histories(ctx, st, filing.IndexPrefix) {
			if err != nil {
				yield(nil, fmt.Errorf("list the index: %w", err))
				return
			}
			if strings.HasSuffix(h.Key, ".json") && !yield(h, nil) {
				return
			}
		}
	}
	err := forEachIn(ctx, indexEntries, parallel, func(ctx context.Context, h *filing.History) error {
		var e filing.IndexEntry
		info, err := readFirstInfo(ctx, st, h, &e)
		if err != nil {
			return err
		}
		ref := v.refOf(e, h, info)
		mu.Lock()
		entries = append(entries, ref)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(entries, func(a, b entryRef) int { return strings.Compare(a.Key, b.Key) })

	// 2. records/, every object with its versions, in one listing. A
	// package's objects are listed together (they share its folder), so
	// each is checked as soon as the listing has passed it, and the heap
	// holds the packages being checked, not the whole store.
	rn, err := v.start(ctx, len(entries), audit, func(_ int, r Result) error { return fn(r) })
	if err != nil {
		return err
	}
	submit := func(p *pkg) {
		i, _ := slices.BinarySearchFunc(entries, p.folder, func(e entryRef, f string) int { return strings.Compare(e.Key, f) })
		if i == len(entries) || entries[i].Key != p.folder {
			rn.add(-1, p, true)
			return
		}
		// A second entry naming the same folder is checked on its own,
		// and its id will not match the folder's record.json.
		for ; i < len(entries) && entries[i].Key == p.folder; i++ {
			entries[i].taken = true
			e := entries[i]
			rn.add(-1, &pkg{folder: p.folder, objects: p.objects, entry: &e, id: e.ID}, false)
		}
	}
	var (
		open  []*pkg            // packages whose folders hold the current key, outermost first
		loose []*filing.History // objects not yet known to be in a package
	)
	stray := func(h *filing.History) {
		rn.done(-1, Result{Where: st.Where(h.Key), Problems: []Problem{{Kind: Extra, Path: h.Key,
			Detail: "under " + filing.RecordsPrefix + " but in no record package"}}})
	}
	err = func() error {
		for l := range walk.c {
			h, err := l.h, l.err
			if err != nil {
				return fmt.Errorf("list the records: %w", err)
			}
			if rn.ctx.Err() != nil {
				return nil // a check failed, or ctx ended: wait says which
			}
			// Packages the listing has passed are complete.
			for len(open) > 0 && !strings.HasPrefix(h.Key, open[len(open)-1].folder) {
				submit(open[len(open)-1])
				open = open[:len(open)-1]
			}
			f := packageOf(h.Key)
			if f == "" {
				// An object beside a package's tag files that no name
				// gives away belongs to the package whose folder holds it,
				// which may be named only by a later key.
				if len(open) > 0 {
					p := open[len(open)-1]
					p.objects[strings.TrimPrefix(h.Key, p.folder)] = h
				} else {
					loose = append(loose, h)
				}
				continue
			}
			if len(open) == 0 || open[len(open)-1].folder != f {
				p := &pkg{folder: f, objects: make(map[string]*filing.History)}
				for _, l := range loose {
					if strings.HasPrefix(l.Key, f) {
						p.objects[strings.TrimPrefix(l.Key, f)] = l
					} else {
						stray(l)
					}
				}
				loose = loose[:0]
				open = append(open, p)
			}
			p := open[len(open)-1]
			p.objects[strings.TrimPrefix(h.Key, f)] = h
		}
		for i := len(open) - 1; i >= 0; i-- {
			submit(open[i])
		}
		for _, l := range loose {
			stray(l)
		}
		// 3. Index entries whose folder holds nothing stand alone.
		for i := range entries {
			if e := entries[i]; !e.taken {
				rn.add(-1, &pkg{folder: e.Key, entry: &e, id: e.ID}, false)
			}
		}
		return nil
	}()
	// 4. Residual entries and review decisions of records not in the
	// store.
	if werr := rn.wait(func() {
		if err := audit.wait(rn.ctx); err != nil {
			rn.cancel(err)
			return
		}
		for _, r := range v.leftovers(audit) {
			rn.done(-1, r)
		}
	}); err == nil {
		err = werr
	}
	return err
}

// listing is a listing of records/ running ahead of its reader.
type listing struct {
	c    chan listed
	stop func()
}

type listed struct {
	h   *filing.History
	err error
}

// listPage is how far the listing of records/ runs ahead: one page of an
// S3 listing.
const listPage = 1000

// listRecords starts listing records/ with every version. stop ends the
// listing and waits for it to end.
func (v *Verifier) listRecords(ctx context.Context) *listing {
	ctx, cancel := context.WithCancel(ctx)
	l := &listing{c: make(chan listed, listPage)}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(l.c)
		for h, err := range filing.Histories(ctx, v.Store, filing.RecordsPrefix) {
			select {
			case l.c <- listed{h, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	})
	l.stop = func() { cancel(); wg.Wait() }
	return l
}
