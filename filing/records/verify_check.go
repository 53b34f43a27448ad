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
