package records

import (
	"context"
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

	"github.com/recordbot/recordbot/filing"
)

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

// check verifies one record package and writes its fixity-check event:
// it reads every object of the package, then runs the named checks below
// in turn, each adding the problems it finds to the result.
func (v *Verifier) check(ctx context.Context, p *pkg, locking bool, sem chan struct{}, src eventSource) (Result, error) {
	c := &checking{v: v, p: p, r: Result{ID: p.id, Where: v.Store.Where(p.folder)}}
	if p.entry != nil {
		c.r.Title, c.r.ClassCode, c.r.FiledAt = p.entry.Title, p.entry.ClassCode, p.entry.FiledAt
		c.disposal, c.entryLater = p.entry.DisposalDate, p.entry.later
	}
	if p.objects == nil {
		// An index entry naming a folder with nothing in it.
		c.problem(Missing, p.folder, "the index names this record folder, but nothing is stored there")
		c.tampered(filing.IndexPrefix+p.id+".json", c.entryLater)
		return v.record(ctx, c.r, p, c.disposal, "", "")
	}
	for path, h := range p.objects {
		c.tampered(path, h)
	}
	if err := c.readPackage(ctx, sem, src); err != nil {
		return c.r, err
	}
	c.checkRecordJSON()
	c.checkIndexEntry()
	head, err := c.checkFiling(ctx, sem, src)
	if err != nil {
		return c.r, err
	}
	if locking && c.r.ID != "" {
		c.checkLocks()
	}
	c.checkManifests()
	if c.r.ID != "" {
		// Review decisions and a residual entry: each must be recordbot's.
		reviews, residual := p.reviews, p.residual
		if !p.sidesKnown || c.r.ID != p.id {
			if reviews, residual, err = v.sidesFrom(ctx, src, c.r.ID); err != nil {
				return c.r, err
			}
		}
		v.checkSides(&c.r, reviews, residual)
	}
	return v.record(ctx, c.r, p, c.disposal, c.tagSum, head)
}

// checking is one record package being checked: what was read of it, and
// the result so far.
type checking struct {
	v  *Verifier
	p  *pkg
	mu sync.Mutex // guards r.Problems while the package is read
	r  Result

	// disposal is the record's disposal date (from its index entry, else
	// its record.json); entryLater the index entry's history when
	// something was written over it.
	disposal   string
	entryLater *filing.History

	// What reading the package gave: record.json and the two manifests
	// as filed, the SHA-256 of every object read and how its GET
	// described it, and the record's audit events.
	recBuf, tagBuf, manBuf capped
	sums                   map[string]string
	infos                  map[string]filing.ObjectInfo
	links                  []Link
	linksOf                string // the record whose events links holds

	// Set by the checks for those after them.
	tagSum string
	tagOK  bool
	idxKey string
	evKey  string
	filed  int // index of the filing event in links; -1 when none
}

func (c *checking) problem(kind, path, detail string) {
	c.mu.Lock()
	c.r.Problems = append(c.r.Problems, Problem{Kind: kind, Path: path, Detail: detail})
	c.mu.Unlock()
}

// tampered reports what was written over the object at path since filing,
// if anything.
func (c *checking) tampered(path string, h *filing.History) {
	if h != nil && len(h.Later) > 0 {
		c.mu.Lock()
		c.r.Problems = append(c.r.Problems, Problem{Kind: Tampered, Path: path, Detail: overwritten(h), Later: h.Later})
		c.mu.Unlock()
	}
}

// readPackage reads every object of the package at once, beside the
// record's audit events: each is read anyway, and the manifests only say
// what it must hash to, so a record costs one round of reads, not one per
// manifest (an object no manifest lists is read too, and reported).
// record.json and the two manifests are kept.
func (c *checking) readPackage(ctx context.Context, sem chan struct{}, src eventSource) error {
	p, st := c.p, c.v.Store
	c.sums = make(map[string]string, len(p.objects))
	c.infos = make(map[string]filing.ObjectInfo, len(p.objects))
	var (
		wg       sync.WaitGroup
		linksErr error
	)
	keep := map[string]*capped{filing.RecordFile: &c.recBuf, filing.TagManifestFile: &c.tagBuf, filing.ManifestFile: &c.manBuf}
	if p.id != "" {
		var filed time.Time
		if p.entry != nil {
			filed = p.entry.FiledAt
		}
		c.linksOf = p.id
		wg.Go(func() { c.links, linksErr = c.v.readEvents(ctx, src, p.id, filed, sem) })
	}
	paths := slices.Collect(maps.Keys(p.objects))
	err := forEach(ctx, len(paths), parallel, func(ctx context.Context, i int) error {
		path := paths[i]
		sem <- struct{}{}
		var k io.Writer
		if b := keep[path]; b != nil {
			k = b
		}
		sum, n, info, err := hashFirst(ctx, st, p.objects[path], k)
		<-sem
		if errors.Is(err, filing.ErrNotExist) {
			return nil // gone since it was listed: missing
		}
		if err != nil {
			return err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.sums[path] = sum
		c.infos[path] = info
		c.r.Objects++
		c.r.Bytes += n
		return nil
	})
	wg.Wait()
	if err != nil {
		return err
	}
	if linksErr != nil {
		return linksErr
	}
	// Whoever can write to the store could make these huge; they are
	// hashed whole, but not held beyond keepLimit.
	for path, b := range keep {
		if b.over {
			c.problem(Malformed, path, fmt.Sprintf("over %d MiB: too large to be read as the bot wrote it", keepLimit>>20))
			b.Reset()
		}
	}
	c.tagSum, c.tagOK = c.sums[filing.TagManifestFile]
	return nil
}

// checkRecordJSON reads record.json as filed: who the record is, and
// whether it was stored when it says it was filed.
func (c *checking) checkRecordJSON() {
	p, r := c.p, &c.r
	var rec filing.Record
	_, recOK := c.sums[filing.RecordFile]
	if recOK {
		if err := json.Unmarshal(c.recBuf.Bytes(), &rec); err != nil {
			rec = filing.Record{}
		}
	}
	switch {
	case p.id == "" && rec.ID != "":
		r.ID = rec.ID
	case p.id != "" && rec.ID != "" && rec.ID != p.id:
		c.problem(Altered, filing.IndexPrefix+p.id+".json", fmt.Sprintf("names the record at %s, whose record.json is record %s", p.folder, rec.ID))
	}
	if r.FiledAt.IsZero() {
		r.Title, r.ClassCode, r.FiledAt = rec.Title, rec.Class.Code, rec.FiledAt
	}
	if p.entry == nil {
		c.disposal = rec.Retention.DisposalDate
	}
	if recOK && rec.ID != "" {
		checkTimes(r, &rec, p.objects[filing.RecordFile].First.LastModified, p.objects[filing.RecordFile].First.ID != "")
	}
}

// checkIndexEntry checks the record's index entry, which ls, due and find
// go by: there, and nothing written over it.
func (c *checking) checkIndexEntry() {
	c.idxKey = filing.IndexPrefix + c.r.ID + ".json"
	switch {
	case c.r.ID == "":
	case c.p.entry == nil:
		c.problem(Missing, c.idxKey, "no index entry: ls, due, find and the registers do not know this record")
	default:
		c.tampered(c.idxKey, c.entryLater)
	}
}

// checkFiling checks the tag manifest, sealed by the filing event as
// filed, and the chain of the record's audit events that event heads. It
// returns the latest event of the record that counts, for the fixity-check
// event to follow.
func (c *checking) checkFiling(ctx context.Context, sem chan struct{}, src eventSource) (string, error) {
	r := &c.r
	c.filed = -1
	if !c.tagOK {
		c.problem(Missing, filing.TagManifestFile, "the record's seal; without it the record is not completely filed")
	}
	if r.ID == "" {
		c.problem(Missing, filing.RecordFile, "no record.json, so no record id: the filing of this folder did not finish")
		return "", nil
	}
	if c.linksOf != r.ID {
		// Found by its record.json: its events are read now.
		var err error
		if c.links, err = c.v.readEvents(ctx, src, r.ID, r.FiledAt, sem); err != nil {
			return "", err
		}
	}
	c.evKey = filedEventKey(r.ID, r.FiledAt)
	for i, l := range c.links {
		c.tampered(l.History.Key, l.History)
		if l.History.Key == c.evKey {
			c.filed = i
		}
	}
	if c.filed < 0 {
		c.problem(Missing, c.evKey, "the filing event of the audit trail")
	} else if ev := c.links[c.filed].Event; ev.Type != "filed" || ev.RecordID != r.ID {
		c.problem(Altered, c.evKey, fmt.Sprintf("a %q event of record %q, not the filing of this record", ev.Type, ev.RecordID))
	} else if c.tagOK && ev.TagManifestSHA256 != c.tagSum {
		c.problem(Altered, filing.TagManifestFile, fmt.Sprintf("sha256 %s, but the filing event recorded %s", c.tagSum, ev.TagManifestSHA256))
	}
	return c.v.checkChain(r, chainCheck{id: r.ID, links: c.links, filed: c.filed, entry: c.p.entry, idxKey: c.idxKey}), nil
}

// checkLocks checks, on a store with Object Lock, that every object of the
// record is locked as long as the record is kept, or its first version
// could be removed and replaced. Their GETs said how long; no HEAD is
// needed.
func (c *checking) checkLocks() {
	r, p := &c.r, c.p
	var evInfo filing.ObjectInfo
	if c.filed >= 0 {
		evInfo = c.links[c.filed].Info
	}
	for _, x := range []struct {
		read bool
		info filing.ObjectInfo
		name string
	}{{c.filed >= 0, evInfo, "the filing event " + c.evKey}, {c.tagOK, c.infos[filing.TagManifestFile], "the tag manifest"}} {
		if x.read && x.info.RetainUntil.IsZero() && !x.info.LegalHold {
			r.Notes = append(r.Notes, x.name+" has no Object Lock retention (filed by an older recordbot?): "+
				"whoever may delete object versions could replace it unseen")
		}
	}
	until := filing.RecordLock(r.FiledAt, c.disposal)
	shortened := func(path string, info filing.ObjectInfo) {
		if !info.LegalHold && !info.RetainUntil.IsZero() && info.RetainUntil.Add(lockSlack).Before(until) {
			c.problem(Tampered, path, fmt.Sprintf("retention shortened to %s, the record is kept until %s: once that date passes its first version can be removed",
				info.RetainUntil.UTC().Format(time.RFC3339), until.UTC().Format(time.DateOnly)))
		}
	}
	for path, info := range c.infos {
		shortened(path, info)
	}
	if c.filed >= 0 {
		shortened(c.evKey, evInfo)
	}
	if p.entry != nil && p.entry.lockKnown {
		shortened(c.idxKey, filing.ObjectInfo{RetainUntil: p.entry.retain, LegalHold: p.entry.held})
	}
}

// checkManifests checks the tag files the tag manifest lists, the payload
// the manifest lists, and that no object of the package is in neither.
func (c *checking) checkManifests() {
	listed := map[string]bool{filing.TagManifestFile: true}
	tagEntries := parseManifest(c.tagBuf.Bytes(), filing.TagManifestFile, c.problem)
	if _, sealed := tagEntries[filing.ManifestFile]; !sealed {
		// Check the payload anyway, against the unsealed manifest.
		if c.tagOK {
			c.problem(Missing, filing.ManifestFile, "not listed in "+filing.TagManifestFile)
		} else {
			for _, f := range []string{filing.BagItFile, filing.BagInfoFile, filing.RecordFile} {
				listed[f] = true
			}
		}
		if _, found := c.sums[filing.ManifestFile]; !found {
			c.problem(Missing, filing.ManifestFile, "the payload manifest")
		}
		listed[filing.ManifestFile] = true
	}
	checkEntries(tagEntries, listed, c.sums, c.problem)
	checkEntries(parseManifest(c.manBuf.Bytes(), filing.ManifestFile, c.problem), listed, c.sums, c.problem)
	for path := range c.p.objects {
		if !listed[path] {
			c.problem(Extra, path, "in the record's folder but in no manifest")
		}
	}
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
	now := filing.ClockOr(v.Clock).Now
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
