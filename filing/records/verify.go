package records

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

// The kinds of problem a fixity check reports.
const (
	// Missing: an object a manifest lists (or the filing's audit event,
	// or the index entry, or the record folder an index entry names) is
	// not in the store.
	Missing = "missing"
	// Altered: an object's SHA-256 differs from the one its manifest
	// holds, or the tag manifest's from the one in the filing event.
	Altered = "altered"
	// Extra: an object in the record's folder that no manifest lists.
	Extra = "extra"
	// Malformed: a manifest line that cannot be read.
	Malformed = "malformed"
	// Tampered: something was written over an object that is written
	// once (a record object, the index entry, the filing event): a newer
	// version or a delete marker on top of the version filed. The first
	// version is the record, and the other checks read it; only a store
	// that keeps versions (S3 with Object Lock) can show this.
	Tampered = "tampered"
	// Forged: evidence that decides a record's fate (its filing event,
	// index entry, a later audit event, a review decision, a residual
	// entry) that no trusted key signed: made with the store's keys, not
	// by recordbot.
	Forged = "forged"
	// OutOfOrder: an audit event names as the event before it one written
	// after it.
	OutOfOrder = "out-of-order"
	// Backdated: record.json was stored (as the store's own write time
	// says) more than a day from when it says it was filed, or from its
	// id's time: a record made up later and dated back.
	Backdated = "backdated"
)

// Problem is one thing wrong with a record.
type Problem struct {
	Kind string `json:"kind"`
	// Path is the object's path inside the package, or a store key for
	// objects outside it (the audit event, the index entry).
	Path   string `json:"path"`
	Detail string `json:"detail,omitempty"`
	// Later are the versions and delete markers written over the object
	// since filing, for a Tampered problem.
	Later []filing.Version `json:"later_versions,omitempty"`
}

func (p Problem) String() string {
	s := p.Kind + " " + p.Path
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// Result is the outcome of checking one record.
type Result struct {
	// ID is the record's id; "" for objects under records/ that belong to
	// no record anyone can name (a folder without record.json).
	ID        string    `json:"id"`
	Title     string    `json:"title,omitempty"`
	ClassCode string    `json:"class_code,omitempty"`
	FiledAt   time.Time `json:"filed_at,omitzero"`
	Where     string    `json:"where,omitempty"`
	// Objects and Bytes say how much was read.
	Objects  int       `json:"objects"`
	Bytes    int64     `json:"bytes"`
	Problems []Problem `json:"problems,omitempty"`
	// Notes say what the check could not establish, without failing the
	// record: an anchor without Object Lock retention, for one.
	Notes []string `json:"notes,omitempty"`
	// Event is where the fixity-check event was written ("" when the
	// record is unknown, so there was nothing to record it against).
	Event string `json:"event,omitempty"`
}

// OK reports whether the record passed.
func (r Result) OK() bool { return len(r.Problems) == 0 }

// Progress is reported after each record checked.
type Progress struct {
	Done, Total int
	Bytes       int64
	Failed      int
}

// Verifier checks records' fixity and that nothing was written over them.
//
// It trusts only what the bot wrote once, Object Lock keeps and a trusted
// key signed: the first version of each record object, of the record's
// index entry and of its audit events (the filing event holds the tag
// manifest's SHA-256). It re-reads the first version of every object of a
// record, checks each SHA-256 against the bag's manifests as filed and the
// tag manifest against the filing event, reports any later version or
// delete marker on any of them, and any retention shortened below the
// record's, as tampering; checks the signatures of the index entry, of
// every event, review decision and residual entry, and the chain of the
// record's events (each names the one before it); compares when
// record.json was stored with when it says it was filed; and adds a signed
// fixity-check event to the end of each record's chain. VerifyAll walks
// records/ itself, so a record whose index entry is missing or hidden is
// checked and reported too.
//
// On a store that keeps no versions (the local directory, a bucket without
// versioning) the first version is simply the object as it is now: see
// Limitation.
type Verifier struct {
	Store filing.Store
	// By is who runs the check, for the audit trail.
	By capture.Person
	// Parallel is how many objects are read at once (default 16).
	Parallel int
	// Progress, if set, is called after each record (never concurrently).
	Progress func(Progress)
	// Now is the clock for events; time.Now when nil.
	Now func() time.Time
	// Signer signs the fixity-check events; nil writes none (an unsigned
	// event would later look forged).
	Signer *filing.Signer
	// Keys are the public keys whose signatures are trusted; nil checks
	// no signature (and says so in each result's notes).
	Keys *filing.Keyring
	// SignedSince is when the deployment began signing every record: a
	// record whose filing event is unsigned but was stored after it was
	// not filed by this deployment (on S3 the store sets that time, so a
	// writer cannot backdate it). Zero takes every unsigned record as
	// filed before signing.
	SignedSince time.Time
}

// Limitation says what verify cannot detect on st, for people; "" when the
// store keeps every version under Object Lock.
func Limitation(ctx context.Context, st filing.Store) (string, error) {
	versions, err := filing.KeepsVersions(ctx, st)
	if err != nil {
		return "", err
	}
	if !versions {
		return "this store keeps no versions of its objects, so verify sees each object only as it is now: " +
			"it finds objects altered, removed or added without their manifests, tag manifest and filing event being " +
			"rewritten to match, and records without an index entry; it cannot tell a forgery that rewrote all of them " +
			"from the record as filed. Use an S3 bucket with Object Lock for tamper evidence.", nil
	}
	if lk, ok := st.(filing.Locker); ok {
		locking, err := lk.Locking(ctx)
		if err != nil {
			return "", err
		}
		if !locking {
			return "this bucket keeps versions but has no Object Lock: verify reports anything written over a record, " +
				"but anyone allowed s3:DeleteObjectVersion can remove a record's versions outright.", nil
		}
	}
	return "", nil
}

// pkg is one record package to check: found under records/, or named by
// an index entry.
type pkg struct {
	folder string
	// objects are the package's objects by path inside it; nil when
	// nothing is stored in the folder an index entry names.
	objects map[string]*filing.History
	// entry is what verify keeps of the index entry as filed; nil if none.
	entry *entryRef
	// id is the record id when known before reading the package.
	id string
	// reviews and residual are the record's review decisions and residual
	// entry, when sidesKnown.
	reviews    []sideRef
	residual   *sideRef
	sidesKnown bool
}

// entryRef is what verify keeps of an index entry: what a result and a
// fixity-check event need. Whole entries (who filed, participants, channel)
// held for every record of a store would be most of verify --all's heap.
type entryRef struct {
	ID, Key, Title, ClassCode, DisposalDate string
	FiledAt                                 time.Time
	// later is the entry's history when something was written over it
	// (tampering); nil when it holds only the version filed.
	later *filing.History
	// taken is set once a package has been checked with this entry.
	taken bool
	// sig is what checking the entry's signature said: nil when a
	// trusted key signed it.
	sig error
	// retain and held are the first version's Object Lock, when
	// lockKnown.
	retain          time.Time
	held, lockKnown bool
}

// refOf keeps what verify needs of index entry e, whose history is h and
// whose first version's GET (or HEAD) described it as info.
func (v *Verifier) refOf(e filing.IndexEntry, h *filing.History, info filing.ObjectInfo) entryRef {
	r := entryRef{ID: e.ID, Key: e.Key, Title: e.Title, ClassCode: e.ClassCode, DisposalDate: e.DisposalDate, FiledAt: e.FiledAt,
		retain: info.RetainUntil, held: info.LegalHold, lockKnown: true}
	if v.Keys != nil {
		r.sig = checkSig(v.Keys, filing.KindIndex, &e, &e.Signature)
	}
	if len(h.Later) > 0 {
		r.later = h
	}
	return r
}

// Verify checks the records with the given ids, in that order. A record
// without an index entry is found by walking records/; an unknown id gives
// a failed result. The error is for a check that could not be carried out
// (the store unreachable), not for a failed record.
func (v *Verifier) Verify(ctx context.Context, ids []string) ([]Result, error) {
	st := v.Store
	results := make([]Result, len(ids))
	rn, err := v.start(ctx, len(ids), chainSource{st}, func(i int, r Result) error { results[i] = r; return nil })
	if err != nil {
		return nil, err
	}
	// Records are looked up several at once (each is a few round trips),
	// and checked as soon as each is found.
	err = forEach(rn.ctx, len(ids), parallel, func(ctx context.Context, i int) error {
		id := ids[i]
		e, h, err := locate(ctx, st, id)
		switch {
		case errors.Is(err, ErrNoRecord):
			rn.done(i, Result{ID: id, Problems: []Problem{{Kind: Missing, Path: filing.IndexPrefix + id + ".json", Detail: "no record with this id in the index or under " + filing.RecordsPrefix}}})
			return nil
		case err != nil:
			return err
		}
		p := &pkg{folder: e.Key, id: e.ID, sidesKnown: true}
		if h != nil {
			var info filing.ObjectInfo
			if rn.locking {
				if info, err = h.Stat(ctx, st); err != nil && !errors.Is(err, filing.ErrNotExist) {
					return err
				}
			}
			ref := v.refOf(e, h, info)
			ref.lockKnown = rn.locking && err == nil
			p.entry = &ref
		}
		if p.reviews, p.residual, err = v.sidesOf(ctx, e.ID); err != nil {
			return err
		}
		for h, err := range filing.Histories(ctx, st, e.Key) {
			if err != nil {
				return err
			}
			if p.objects == nil {
				p.objects = make(map[string]*filing.History)
			}
			p.objects[strings.TrimPrefix(h.Key, e.Key)] = h
		}
		rn.add(i, p, false)
		return nil
	})
	// A check that failed stopped the lookups: its error is the one to give.
	if werr := rn.wait(nil); werr != nil {
		return nil, werr
	}
	if err != nil {
		return nil, err
	}
	return results, nil
}

// VerifyAll checks every record in the store, as VerifyEach does, and
// returns the results oldest first. It holds every result: a store of many
// records is better checked with VerifyEach.
func (v *Verifier) VerifyAll(ctx context.Context) ([]Result, error) {
	var results []Result
	err := v.VerifyEach(ctx, func(r Result) error { results = append(results, r); return nil })
	if err != nil {
		return nil, err
	}
	sort.SliceStable(results, func(i, j int) bool {
		a, b := results[i], results[j]
		if a.FiledAt.IsZero() != b.FiledAt.IsZero() {
			return !a.FiledAt.IsZero()
		}
		if !a.FiledAt.Equal(b.FiledAt) {
			return a.FiledAt.Before(b.FiledAt)
		}
		return a.ID < b.ID
	})
	return results, nil
}

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

// runner checks packages as they are added, Verifier.Parallel at once, and
// hands each result to emit.
type runner struct {
	v       *Verifier
	ctx     context.Context
	cancel  context.CancelCauseFunc
	locking bool
	events  eventSource
	sem     chan struct{}
	jobs    chan job
	wg      sync.WaitGroup

	mu      sync.Mutex
	prog    Progress
	added   int
	pending int // packages expected but not yet added, for Progress.Total
	// emit receives each result and the number it was added with; it is
	// called under mu, so never concurrently.
	emit func(int, Result) error
}

type job struct {
	p *pkg
	i int
}

// start starts checking; expect is how many packages are expected (it
// only makes Progress.Total right sooner).
func (v *Verifier) start(ctx context.Context, expect int, events eventSource, emit func(int, Result) error) (*runner, error) {
	par := v.Parallel
	if par <= 0 {
		par = parallel
	}
	locking := false
	if lk, ok := v.Store.(filing.Locker); ok {
		var err error
		if locking, err = lk.Locking(ctx); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	rn := &runner{v: v, ctx: ctx, cancel: cancel, locking: locking, events: events,
		sem: make(chan struct{}, par), jobs: make(chan job), pending: expect, emit: emit}
	for range par {
		rn.wg.Go(func() {
			for j := range rn.jobs {
				if ctx.Err() != nil {
					continue
				}
				r, err := v.check(ctx, j.p, locking, rn.sem, events)
				if err != nil {
					cancel(fmt.Errorf("verify %s: %w", firstOf(j.p.id, j.p.folder), err))
					continue
				}
				rn.finish(j.i, r)
			}
		})
	}
	return rn, nil
}

// add queues p, numbered i, for checking. found says p was not among the
// packages expected.
func (rn *runner) add(i int, p *pkg, found bool) {
	rn.count(found)
	select {
	case rn.jobs <- job{p, i}:
	case <-rn.ctx.Done():
	}
}

// done hands on a result found without checking.
func (rn *runner) done(i int, r Result) {
	rn.count(false)
	rn.finish(i, r)
}

func (rn *runner) count(found bool) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.added++
	if !found {
		rn.pending = max(rn.pending-1, 0)
	}
}

func (rn *runner) finish(i int, r Result) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.ctx.Err() != nil {
		return
	}
	if err := rn.emit(i, r); err != nil {
		rn.cancel(err)
		return
	}
	rn.prog.Done++
	rn.prog.Total = rn.added + rn.pending
	rn.prog.Bytes += r.Bytes
	if !r.OK() {
		rn.prog.Failed++
	}
	if rn.v.Progress != nil {
		rn.v.Progress(rn.prog)
	}
}

// wait waits for every package added to be checked, then runs after (if
// set) unless a check failed.
func (rn *runner) wait(after func()) error {
	close(rn.jobs)
	rn.wg.Wait()
	defer rn.cancel(nil)
	if after != nil && rn.ctx.Err() == nil {
		after()
	}
	return context.Cause(rn.ctx)
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// overwritten describes what was written over an object since filing.
func overwritten(h *filing.History) string {
	var parts []string
	for _, v := range h.Later {
		what := "a new version"
		if v.DeleteMarker {
			what = "a delete marker"
		}
		s := fmt.Sprintf("%s (version %s, %s)", what, v.ID, v.LastModified.UTC().Format(time.RFC3339))
		if v.Latest {
			s += " now current"
		}
		parts = append(parts, s)
	}
	lead := "written over since filing"
	if h.Deleted() {
		lead = "deleted since filing"
	}
	return fmt.Sprintf("%s: %s; the version filed on %s is the record", lead, strings.Join(parts, ", "),
		h.First.LastModified.UTC().Format(time.RFC3339))
}

// check verifies one record package and writes its fixity-check event.
func (v *Verifier) check(ctx context.Context, p *pkg, locking bool, sem chan struct{}, src eventSource) (Result, error) {
	st := v.Store
	r := Result{ID: p.id, Where: st.Where(p.folder)}
	if p.entry != nil {
		r.Title, r.ClassCode, r.FiledAt = p.entry.Title, p.entry.ClassCode, p.entry.FiledAt
	}
	var mu sync.Mutex
	problem := func(kind, path, detail string) {
		mu.Lock()
		r.Problems = append(r.Problems, Problem{Kind: kind, Path: path, Detail: detail})
		mu.Unlock()
	}
	tampered := func(path string, h *filing.History) {
		if h != nil && len(h.Later) > 0 {
			mu.Lock()
			r.Problems = append(r.Problems, Problem{Kind: Tampered, Path: path, Detail: overwritten(h), Later: h.Later})
			mu.Unlock()
		}
	}
	var disposal string
	var entryLater *filing.History
	if p.entry != nil {
		disposal, entryLater = p.entry.DisposalDate, p.entry.later
	}
	if p.objects == nil {
		// An index entry naming a folder with nothing in it.
		problem(Missing, p.folder, "the index names this record folder, but nothing is stored there")
		tampered(filing.IndexPrefix+p.id+".json", entryLater)
		return v.record(ctx, r, p, disposal, "", "")
	}
	for path, h := range p.objects {
		tampered(path, h)
	}

	// Every object of the package is read at once, beside the record's
	// audit events: each is read anyway, and the manifests only say what
	// it must hash to, so a record costs one round of reads, not one per
	// manifest (an object no manifest lists is read too, and reported).
	// record.json and the two manifests are kept.
	var (
		recBuf, tagBuf, manBuf capped
		infos                  = make(map[string]filing.ObjectInfo, len(p.objects)) // as each GET described it
		sums                   = make(map[string]string, len(p.objects))
		wg                     sync.WaitGroup
		links                  []Link
		linksOf                string // the record whose events links holds
		linksErr               error
	)
	keep := map[string]*capped{filing.RecordFile: &recBuf, filing.TagManifestFile: &tagBuf, filing.ManifestFile: &manBuf}
	if p.id != "" {
		var filed time.Time
		if p.entry != nil {
			filed = p.entry.FiledAt
		}
		linksOf = p.id
		wg.Go(func() { links, linksErr = v.readEvents(ctx, src, p.id, filed, sem) })
	}
	paths := slices.Collect(maps.Keys(p.objects))
	err := forEach(ctx, len(paths), parallel, func(ctx context.Context, i int) error {
		path := paths[i]
		sem <- struct{}{}
		var k io.Writer
		if c := keep[path]; c != nil {
			k = c
		}
		sum, n, info, err := hashFirst(ctx, st, p.objects[path], k)
		<-sem
		if errors.Is(err, filing.ErrNotExist) {
			return nil // gone since it was listed: missing
		}
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		sums[path] = sum
		infos[path] = info
		r.Objects++
		r.Bytes += n
		return nil
	})
	wg.Wait()
	if err != nil {
		return r, err
	}
	if linksErr != nil {
		return r, linksErr
	}
	// Whoever can write to the store could make these huge; they are
	// hashed whole, but not held beyond keepLimit.
	for path, c := range keep {
		if c.over {
			problem(Malformed, path, fmt.Sprintf("over %d MiB: too large to be read as the bot wrote it", keepLimit>>20))
			c.Reset()
		}
	}
	var rec filing.Record
	_, recOK := sums[filing.RecordFile]
	tagSum, tagOK := sums[filing.TagManifestFile]

	// 0. record.json as filed: who the record is.
	if recOK {
		if err := json.Unmarshal(recBuf.Bytes(), &rec); err != nil {
			rec = filing.Record{}
		}
	}
	switch {
	case p.id == "" && rec.ID != "":
		r.ID = rec.ID
	case p.id != "" && rec.ID != "" && rec.ID != p.id:
		problem(Altered, filing.IndexPrefix+p.id+".json", fmt.Sprintf("names the record at %s, whose record.json is record %s", p.folder, rec.ID))
	}
	if r.FiledAt.IsZero() {
		r.Title, r.ClassCode, r.FiledAt = rec.Title, rec.Class.Code, rec.FiledAt
	}
	if p.entry == nil {
		disposal = rec.Retention.DisposalDate
	}
	if recOK && rec.ID != "" {
		checkTimes(&r, &rec, p.objects[filing.RecordFile].First.LastModified, p.objects[filing.RecordFile].First.ID != "")
	}

	// 1. The index entry, which ls, due and find go by.
	idxKey := filing.IndexPrefix + r.ID + ".json"
	switch {
	case r.ID == "":
	case p.entry == nil:
		problem(Missing, idxKey, "no index entry: ls, due, find and the registers do not know this record")
	default:
		tampered(idxKey, entryLater)
	}

	// 2. The tag manifest, sealed by the filing event as filed, which
	// heads the chain of the record's audit events.
	ok := tagOK
	if !ok {
		problem(Missing, filing.TagManifestFile, "the record's seal; without it the record is not completely filed")
	}
	head := ""
	if r.ID == "" {
		problem(Missing, filing.RecordFile, "no record.json, so no record id: the filing of this folder did not finish")
	} else {
		if linksOf != r.ID {
			// Found by its record.json: its events are read now.
			if links, err = v.readEvents(ctx, src, r.ID, r.FiledAt, sem); err != nil {
				return r, err
			}
		}
		evKey := FiledEventKey(filing.IndexEntry{ID: r.ID, FiledAt: r.FiledAt})
		filed := -1
		for i, l := range links {
			tampered(l.History.Key, l.History)
			if l.History.Key == evKey {
				filed = i
			}
		}
		if filed < 0 {
			problem(Missing, evKey, "the filing event of the audit trail")
		} else if ev := links[filed].Event; ev.Type != "filed" || ev.RecordID != r.ID {
			problem(Altered, evKey, fmt.Sprintf("a %q event of record %q, not the filing of this record", ev.Type, ev.RecordID))
		} else if ok && ev.TagManifestSHA256 != tagSum {
			problem(Altered, filing.TagManifestFile, fmt.Sprintf("sha256 %s, but the filing event recorded %s", tagSum, ev.TagManifestSHA256))
		}
		head = v.checkChain(&r, chainCheck{id: r.ID, links: links, filed: filed, entry: p.entry, idxKey: idxKey})

		// On a store with Object Lock every object of the record must be
		// locked as long as the record is kept, or its first version
		// could be removed and replaced. Their GETs said how long; no
		// HEAD is needed.
		if locking {
			var evInfo filing.ObjectInfo
			if filed >= 0 {
				evInfo = links[filed].Info
			}
			for _, x := range []struct {
				read bool
				info filing.ObjectInfo
				name string
			}{{filed >= 0, evInfo, "the filing event " + evKey}, {ok, infos[filing.TagManifestFile], "the tag manifest"}} {
				if x.read && x.info.RetainUntil.IsZero() && !x.info.LegalHold {
					r.Notes = append(r.Notes, x.name+" has no Object Lock retention (filed by an older recordbot?): "+
						"whoever may delete object versions could replace it unseen")
				}
			}
			until := filing.RecordLock(r.FiledAt, disposal)
			shortened := func(path string, info filing.ObjectInfo) {
				if !info.LegalHold && !info.RetainUntil.IsZero() && info.RetainUntil.Add(lockSlack).Before(until) {
					problem(Tampered, path, fmt.Sprintf("retention shortened to %s, the record is kept until %s: once that date passes its first version can be removed",
						info.RetainUntil.UTC().Format(time.RFC3339), until.UTC().Format(time.DateOnly)))
				}
			}
			for path, info := range infos {
				shortened(path, info)
			}
			if filed >= 0 {
				shortened(evKey, evInfo)
			}
			if p.entry != nil && p.entry.lockKnown {
				shortened(idxKey, filing.ObjectInfo{RetainUntil: p.entry.retain, LegalHold: p.entry.held})
			}
		}
	}

	// 3. The tag files the tag manifest lists.
	listed := map[string]bool{filing.TagManifestFile: true}
	tagEntries := parseManifest(tagBuf.Bytes(), filing.TagManifestFile, problem)
	if _, sealed := tagEntries[filing.ManifestFile]; !sealed {
		// Check the payload anyway, against the unsealed manifest.
		if ok {
			problem(Missing, filing.ManifestFile, "not listed in "+filing.TagManifestFile)
		} else {
			for _, f := range []string{filing.BagItFile, filing.BagInfoFile, filing.RecordFile} {
				listed[f] = true
			}
		}
		if _, found := sums[filing.ManifestFile]; !found {
			problem(Missing, filing.ManifestFile, "the payload manifest")
		}
		listed[filing.ManifestFile] = true
	}
	checkEntries(tagEntries, listed, sums, problem)

	// 4. The payload.
	checkEntries(parseManifest(manBuf.Bytes(), filing.ManifestFile, problem), listed, sums, problem)

	// 5. Objects no manifest lists.
	for path := range p.objects {
		if !listed[path] {
			problem(Extra, path, "in the record's folder but in no manifest")
		}
	}

	// 6. Review decisions and a residual entry: each must be recordbot's.
	if r.ID != "" {
		reviews, residual := p.reviews, p.residual
		if !p.sidesKnown || r.ID != p.id {
			var err error
			if reviews, residual, err = v.sidesFrom(ctx, src, r.ID); err != nil {
				return r, err
			}
		}
		v.checkSides(&r, reviews, residual)
	}
	return v.record(ctx, r, p, disposal, tagSum, head)
}

// readEvents reads the audit events of record id that src gives, each as
// written (its first version); an object gone since it was listed is left
// out, as is an event of another record.
func (v *Verifier) readEvents(ctx context.Context, src eventSource, id string, filed time.Time, sem chan struct{}) ([]Link, error) {
	hs, links, err := src.events(ctx, id, filed)
	if err != nil {
		return nil, err
	}
	read := make([]Link, len(hs))
	err = forEach(ctx, len(hs), parallel, func(ctx context.Context, i int) error {
		sem <- struct{}{}
		defer func() { <-sem }()
		l, err := readLink(ctx, v.Store, hs[i])
		if errors.Is(err, filing.ErrNotExist) {
			return nil
		}
		if err != nil {
			// An event the bot could not have written (not JSON, too
			// large) is kept as an event of no record.
			if ctx.Err() != nil {
				return err
			}
			l = Link{History: hs[i]}
		}
		read[i] = l
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := links[:len(links):len(links)]
	for _, l := range read {
		if l.History != nil && l.Event.RecordID == id {
			out = append(out, l)
		}
	}
	return out, nil
}

// sidesFrom gives the review decisions and residual entry of record id:
// from the audit index when there is one, else read.
func (v *Verifier) sidesFrom(ctx context.Context, src eventSource, id string) ([]sideRef, *sideRef, error) {
	if a, ok := src.(*auditIndex); ok {
		return a.sides(ctx, id)
	}
	return v.sidesOf(ctx, id)
}

func (r *Result) sortProblems() {
	sort.SliceStable(r.Problems, func(i, j int) bool {
		if r.Problems[i].Path != r.Problems[j].Path {
			return r.Problems[i].Path < r.Problems[j].Path
		}
		return r.Problems[i].Kind < r.Problems[j].Kind
	})
}

// record adds the fixity-check event of r to the audit trail, locked as
// long as the record, signed, and naming head (the latest event of the
// record that counts) as the event before it. Without a signer it adds
// none: an unsigned event would later look forged.
func (v *Verifier) record(ctx context.Context, r Result, p *pkg, disposal, tagSum, head string) (Result, error) {
	r.sortProblems()
	if r.ID == "" || v.Signer == nil {
		return r, nil
	}
	out := "pass"
	detail := fmt.Sprintf("%d objects, %d bytes read; all checksums match, nothing written over the record", r.Objects, r.Bytes)
	if !r.OK() {
		out = "fail"
		var ps []string
		for _, p := range r.Problems {
			ps = append(ps, p.Kind+" "+p.Path)
		}
		detail = fmt.Sprintf("%d objects, %d bytes read; %d problems: %s", r.Objects, r.Bytes, len(ps), strings.Join(ps, "; "))
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	filed := r.FiledAt
	if filed.IsZero() {
		filed = now()
	}
	written, err := filing.WriteEvent(ctx, v.Store, v.Signer, filing.Event{
		Type: "fixity-check", At: now().UTC(), By: v.By, RecordID: r.ID, Key: p.folder,
		ClassCode: r.ClassCode, TagManifestSHA256: tagSum, Outcome: out, Detail: detail, Prev: head,
	}, filing.RecordLock(filed, disposal))
	if err != nil {
		return r, fmt.Errorf("record the fixity check: %w", err)
	}
	r.Event = filing.EventKey(written, written.At)
	return r, nil
}

// checkEntries compares the sums a manifest's entries give with those read
// (sums holds the objects read), and marks the entries listed.
func checkEntries(entries map[string]string, listed map[string]bool, sums map[string]string, problem func(kind, path, detail string)) {
	for p, want := range entries {
		listed[p] = true
		switch got, ok := sums[p]; {
		case !ok:
			problem(Missing, p, "listed in the manifest")
		case got != want:
			problem(Altered, p, fmt.Sprintf("sha256 %s, the manifest says %s", got, want))
		}
	}
}

// parseManifest reads "<sha256> <path>" lines into path -> sum.
func parseManifest(data []byte, name string, problem func(kind, path, detail string)) map[string]string {
	out := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		sum, path, ok := strings.Cut(line, " ")
		path = strings.TrimLeft(path, " \t")
		if !ok || len(sum) != 64 || path == "" || strings.Contains(path, "..") {
			problem(Malformed, name, fmt.Sprintf("line %d cannot be read", n))
			continue
		}
		out[decodeBagPath(path)] = strings.ToLower(sum)
	}
	return out
}

// decodeBagPath undoes filing.EncodeBagPath.
func decodeBagPath(p string) string {
	return strings.NewReplacer("%0D", "\r", "%0d", "\r", "%0A", "\n", "%0a", "\n", "%25", "%").Replace(p)
}

// keepLimit is the most verify holds of record.json or a manifest. A
// manifest of 100,000 files is about 10 MiB.
const keepLimit = 64 << 20

// capped holds at most keepLimit bytes of what is written to it and
// remembers whether there was more; it never fails a write, so the hash
// beside it sees everything.
type capped struct {
	bytes.Buffer
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := keepLimit - c.Len(); len(p) > room {
		c.over = true
		c.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return c.Buffer.Write(p)
}

// bufPool holds copy buffers: large enough that a GET streams in few reads.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// hashFirst streams the first version of h through SHA-256 and describes
// it as its GET did; keep, if set, receives a copy of the content.
func hashFirst(ctx context.Context, st filing.Store, h *filing.History, keep io.Writer) (string, int64, filing.ObjectInfo, error) {
	rc, info, err := h.Open(ctx, st)
	if err != nil {
		return "", 0, info, err
	}
	defer rc.Close()
	hash := sha256.New()
	var w io.Writer = hash
	if keep != nil {
		w = io.MultiWriter(hash, keep)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	n, err := io.CopyBuffer(onlyWriter{w}, rc, *bp)
	if err != nil {
		return "", n, info, fmt.Errorf("read %s: %w", h.Key, err)
	}
	return hex.EncodeToString(hash.Sum(nil)), n, info, nil
}

// onlyWriter hides a writer's ReadFrom so io.CopyBuffer uses our buffer.
type onlyWriter struct{ io.Writer }
