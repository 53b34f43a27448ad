package records

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
	// or the index entry) is not in the store.
	Missing = "missing"
	// Altered: an object's SHA-256 differs from the one its manifest
	// holds, or the tag manifest's from the one in the filing event.
	Altered = "altered"
	// Extra: an object in the record's folder that no manifest lists.
	Extra = "extra"
	// Malformed: a manifest line that cannot be read.
	Malformed = "malformed"
)

// Problem is one thing wrong with a record.
type Problem struct {
	Kind string `json:"kind"`
	// Path is the object's path inside the package, or a store key for
	// objects outside it (the audit event, the index entry).
	Path   string `json:"path"`
	Detail string `json:"detail,omitempty"`
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
	ID        string    `json:"id"`
	Title     string    `json:"title,omitempty"`
	ClassCode string    `json:"class_code,omitempty"`
	FiledAt   time.Time `json:"filed_at,omitzero"`
	Where     string    `json:"where,omitempty"`
	// Objects and Bytes say how much was read.
	Objects  int       `json:"objects"`
	Bytes    int64     `json:"bytes"`
	Problems []Problem `json:"problems,omitempty"`
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

// Verifier checks records' fixity: it re-reads every object of a record,
// checks each SHA-256 against the bag's manifests and the tag manifest
// against the checksum the filing event recorded, and adds a fixity-check
// event to the audit trail for each record.
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
}

// Verify checks the records with the given ids, in that order. An unknown
// id gives a failed result. The error is for a check that could not be
// carried out (the store unreachable), not for a failed record.
func (v *Verifier) Verify(ctx context.Context, ids []string) ([]Result, error) {
	entries := make([]*filing.IndexEntry, len(ids))
	results := make([]Result, len(ids))
	for i, id := range ids {
		e, err := Entry(ctx, v.Store, id)
		switch {
		case errors.Is(err, ErrNoRecord):
			results[i] = Result{ID: id, Problems: []Problem{{Kind: Missing, Path: filing.IndexPrefix + id + ".json", Detail: "no record with this id in the index"}}}
		case err != nil:
			return nil, err
		default:
			entries[i] = &e
		}
	}
	return v.run(ctx, entries, results, nil)
}

// VerifyAll checks every record in the index, oldest first.
func (v *Verifier) VerifyAll(ctx context.Context) ([]Result, error) {
	all, err := Index(ctx, v.Store)
	if err != nil {
		return nil, err
	}
	entries := make([]*filing.IndexEntry, len(all))
	for i := range all {
		entries[i] = &all[i]
	}
	// One listing of records/ rather than one per record.
	objects := make(map[string][]filing.ObjectInfo)
	keys := make([]string, len(all))
	for i, e := range all {
		keys[i] = e.Key
	}
	sort.Strings(keys)
	for oi, err := range v.Store.List(ctx, filing.RecordsPrefix) {
		if err != nil {
			return nil, err
		}
		// The package whose key is the longest prefix of oi.Key.
		i := sort.SearchStrings(keys, oi.Key) - 1
		if i >= 0 && strings.HasPrefix(oi.Key, keys[i]) {
			objects[keys[i]] = append(objects[keys[i]], oi)
		}
	}
	return v.run(ctx, entries, make([]Result, len(all)), objects)
}

// run checks entries (nil ones are already failed in results).
func (v *Verifier) run(ctx context.Context, entries []*filing.IndexEntry, results []Result, listed map[string][]filing.ObjectInfo) ([]Result, error) {
	par := v.Parallel
	if par <= 0 {
		par = parallel
	}
	sem := make(chan struct{}, par)
	var mu sync.Mutex
	prog := Progress{Total: len(entries)}
	err := forEach(ctx, len(entries), par, func(ctx context.Context, i int) error {
		if entries[i] != nil {
			var objs []filing.ObjectInfo
			if listed != nil {
				objs = listed[entries[i].Key]
				if objs == nil {
					objs = []filing.ObjectInfo{}
				}
			}
			r, err := v.check(ctx, *entries[i], objs, sem)
			if err != nil {
				return fmt.Errorf("verify %s: %w", entries[i].ID, err)
			}
			results[i] = r
		}
		mu.Lock()
		defer mu.Unlock()
		prog.Done++
		prog.Bytes += results[i].Bytes
		if !results[i].OK() {
			prog.Failed++
		}
		if v.Progress != nil {
			v.Progress(prog)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// check verifies one record and writes its fixity-check event. objs is the
// record's listing when the caller has it, nil to list here.
func (v *Verifier) check(ctx context.Context, e filing.IndexEntry, objs []filing.ObjectInfo, sem chan struct{}) (Result, error) {
	st := v.Store
	r := Result{ID: e.ID, Title: e.Title, ClassCode: e.ClassCode, FiledAt: e.FiledAt, Where: st.Where(e.Key)}
	if objs == nil {
		for oi, err := range st.List(ctx, e.Key) {
			if err != nil {
				return r, err
			}
			objs = append(objs, oi)
		}
	}
	present := make(map[string]bool, len(objs))
	for _, oi := range objs {
		present[strings.TrimPrefix(oi.Key, e.Key)] = true
	}
	listed := map[string]bool{filing.TagManifestFile: true}
	var mu sync.Mutex
	problem := func(kind, path, detail string) {
		mu.Lock()
		r.Problems = append(r.Problems, Problem{Kind: kind, Path: path, Detail: detail})
		mu.Unlock()
	}
	// read hashes one object; keep, if set, receives its content.
	read := func(ctx context.Context, path string, keep *bytes.Buffer) (string, bool, error) {
		sem <- struct{}{}
		defer func() { <-sem }()
		sum, n, err := hashObject(ctx, st, e.Key+path, keep)
		if errors.Is(err, filing.ErrNotExist) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		mu.Lock()
		r.Objects++
		r.Bytes += n
		mu.Unlock()
		return sum, true, nil
	}

	// 1. The tag manifest, sealed by the filing event.
	var tagBuf bytes.Buffer
	tagSum, ok, err := read(ctx, filing.TagManifestFile, &tagBuf)
	if err != nil {
		return r, err
	}
	if !ok {
		problem(Missing, filing.TagManifestFile, "the record's seal; without it the record is not completely filed")
	}
	evKey := FiledEventKey(e)
	var ev filing.Event
	switch err := readJSON(ctx, st, evKey, &ev); {
	case errors.Is(err, filing.ErrNotExist):
		problem(Missing, evKey, "the filing event of the audit trail")
	case err != nil:
		return r, err
	case ok && ev.TagManifestSHA256 != tagSum:
		problem(Altered, filing.TagManifestFile, fmt.Sprintf("sha256 %s, but the filing event recorded %s", tagSum, ev.TagManifestSHA256))
	}

	// 2. The tag files it lists; the payload manifest is kept.
	var manBuf bytes.Buffer
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
		_, found, err := read(ctx, filing.ManifestFile, &manBuf)
		if err != nil {
			return r, err
		}
		if !found {
			problem(Missing, filing.ManifestFile, "the payload manifest")
		}
		listed[filing.ManifestFile] = true
	}
	if err := v.checkEntries(ctx, tagEntries, listed, &manBuf, read, problem); err != nil {
		return r, err
	}

	// 3. The payload.
	payload := parseManifest(manBuf.Bytes(), filing.ManifestFile, problem)
	if err := v.checkEntries(ctx, payload, listed, nil, read, problem); err != nil {
		return r, err
	}

	// 4. Objects no manifest lists.
	for p := range present {
		if !listed[p] {
			problem(Extra, p, "in the record's folder but in no manifest")
		}
	}
	sort.Slice(r.Problems, func(i, j int) bool {
		if r.Problems[i].Path != r.Problems[j].Path {
			return r.Problems[i].Path < r.Problems[j].Path
		}
		return r.Problems[i].Kind < r.Problems[j].Kind
	})

	// 5. The audit trail.
	out := "pass"
	detail := fmt.Sprintf("%d objects, %d bytes read; all checksums match", r.Objects, r.Bytes)
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
	written, err := filing.WriteEvent(ctx, st, filing.Event{
		Type: "fixity-check", At: now().UTC(), By: v.By, RecordID: e.ID, Key: e.Key,
		ClassCode: e.ClassCode, TagManifestSHA256: tagSum, Outcome: out, Detail: detail,
	})
	if err != nil {
		return r, fmt.Errorf("record the fixity check: %w", err)
	}
	r.Event = filing.EventKey(written, written.At)
	return r, nil
}

// checkEntries reads every path of a manifest at once and compares sums.
// keepManifest, when set, receives manifest-sha256.txt's content.
func (v *Verifier) checkEntries(ctx context.Context, entries map[string]string, listed map[string]bool,
	keepManifest *bytes.Buffer, read func(context.Context, string, *bytes.Buffer) (string, bool, error), problem func(kind, path, detail string)) error {
	paths := make([]string, 0, len(entries))
	for p := range entries {
		paths = append(paths, p)
		listed[p] = true
	}
	return forEach(ctx, len(paths), len(paths), func(ctx context.Context, i int) error {
		p := paths[i]
		var keep *bytes.Buffer
		if keepManifest != nil && p == filing.ManifestFile {
			keep = keepManifest
		}
		sum, ok, err := read(ctx, p, keep)
		switch {
		case err != nil:
			return err
		case !ok:
			problem(Missing, p, "listed in the manifest")
		case sum != entries[p]:
			problem(Altered, p, fmt.Sprintf("sha256 %s, the manifest says %s", sum, entries[p]))
		}
		return nil
	})
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

// bufPool holds copy buffers: large enough that a GET streams in few reads.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// hashObject streams the object at key through SHA-256; keep, if set,
// receives a copy of the content.
func hashObject(ctx context.Context, st filing.Store, key string, keep *bytes.Buffer) (string, int64, error) {
	rc, err := st.Open(ctx, key)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	var w io.Writer = h
	if keep != nil {
		w = io.MultiWriter(h, keep)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	n, err := io.CopyBuffer(onlyWriter{w}, rc, *bp)
	if err != nil {
		return "", n, fmt.Errorf("read %s: %w", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// onlyWriter hides a writer's ReadFrom so io.CopyBuffer uses our buffer.
type onlyWriter struct{ io.Writer }
