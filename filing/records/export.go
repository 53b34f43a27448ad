package records

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

// EventsFile is the tag file an exported or transferred package carries
// its audit events in. It is listed in the copy's tag manifest: the tag
// manifest as filed, with one line for it appended, so dropping that last
// line gives back the file whose SHA-256 the filing event holds.
const EventsFile = "audit-events.json"

// ErrCopy is returned when a copy does not match the record's manifests.
var ErrCopy = errors.New("the copy does not match the record's manifests")

// copyPlan is a record package as filed, ready to be copied: every file its
// manifests list, with the SHA-256 they give.
type copyPlan struct {
	entry filing.IndexEntry
	// name is the package's folder name, the root of its copy.
	name string
	// files are the paths inside the package, in copy order, with their
	// first versions and sizes.
	files []pkgFile
	// tagManifest is the copy's tag manifest (filed, the filed one plus
	// the events file's line); events is the events file.
	filed, tagManifest, events []byte
	// want maps each path of the copy to its SHA-256.
	want map[string]string
}

type pkgFile struct {
	path string
	h    *filing.History
}

// loadPackage reads record e's manifests (first versions) and its audit
// events, and plans its copy.
func loadPackage(ctx context.Context, st filing.Store, e filing.IndexEntry, events []filing.Event) (*copyPlan, error) {
	p := &copyPlan{entry: e, name: path.Base(strings.TrimSuffix(e.Key, "/")), want: map[string]string{}}
	hist := map[string]*filing.History{}
	for h, err := range filing.Histories(ctx, st, e.Key) {
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", e.ID, err)
		}
		hist[strings.TrimPrefix(h.Key, e.Key)] = h
	}
	read := func(name string) ([]byte, error) {
		h, ok := hist[name]
		if !ok {
			return nil, fmt.Errorf("record %s: %s is missing: %w", e.ID, name, ErrCopy)
		}
		rc, _, err := h.Open(ctx, st)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	tm, err := read(filing.TagManifestFile)
	if err != nil {
		return nil, err
	}
	m, err := read(filing.ManifestFile)
	if err != nil {
		return nil, err
	}
	tags, err := parseSums(tm)
	if err != nil {
		return nil, fmt.Errorf("record %s: %s: %w", e.ID, filing.TagManifestFile, err)
	}
	payload, err := parseSums(m)
	if err != nil {
		return nil, fmt.Errorf("record %s: %s: %w", e.ID, filing.ManifestFile, err)
	}
	if events == nil {
		events = []filing.Event{}
	}
	p.events, _ = json.MarshalIndent(events, "", "  ")
	p.events = append(p.events, '\n')
	sum := sha256.Sum256(p.events)
	if len(tm) > 0 && tm[len(tm)-1] != '\n' {
		tm = append(tm, '\n')
	}
	p.filed = tm
	p.tagManifest = append(append([]byte{}, tm...), fmt.Sprintf("%s  %s\n", hex.EncodeToString(sum[:]), EventsFile)...)
	for _, sums := range []map[string]string{tags, payload} {
		names := make([]string, 0, len(sums))
		for n := range sums {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if n == EventsFile || n == filing.TagManifestFile {
				return nil, fmt.Errorf("record %s: its manifests list %s: %w", e.ID, n, ErrCopy)
			}
			h, ok := hist[n]
			if !ok {
				return nil, fmt.Errorf("record %s: %s is listed in its manifests but missing: %w", e.ID, n, ErrCopy)
			}
			p.files = append(p.files, pkgFile{path: n, h: h})
			p.want[n] = sums[n]
		}
	}
	return p, nil
}

// parseSums reads a BagIt manifest with the reader verify uses; a line it
// cannot read fails the export.
func parseSums(data []byte) (map[string]string, error) {
	lines := strings.Split(string(data), "\n")
	var bad []string
	sums, err := readManifest(data, func(n int) { bad = append(bad, fmt.Sprintf("malformed line %q", strings.TrimRight(lines[n-1], "\r"))) })
	if err != nil {
		return nil, err
	}
	if len(bad) > 0 {
		return nil, errors.New(strings.Join(bad, "; "))
	}
	return sums, nil
}

// EventsOf returns the audit events of the records ids, oldest first, by
// record id. It lists the whole audit trail (events are stored by day, not
// by record) and reads each event as written whose key names one of the
// records, or names none.
func EventsOf(ctx context.Context, st filing.Store, ids []string) (map[string][]filing.Event, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var hs []*filing.History
	for h, err := range filing.Histories(ctx, st, filing.AuditPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list the audit trail: %w", err)
		}
		if strings.HasSuffix(h.Key, ".json") && mayConcern(h.Key, want) {
			hs = append(hs, h)
		}
	}
	evs := make([]filing.Event, len(hs))
	if err := forEach(ctx, len(hs), parallel, func(ctx context.Context, i int) error {
		return readFirst(ctx, st, hs[i], &evs[i])
	}); err != nil {
		return nil, err
	}
	out := map[string][]filing.Event{}
	for _, ev := range evs {
		if want[ev.RecordID] {
			out[ev.RecordID] = append(out[ev.RecordID], ev)
		}
	}
	for _, es := range out {
		sort.SliceStable(es, func(i, j int) bool { return es[i].At.Before(es[j].At) })
	}
	return out, nil
}

// ErrNoHistory is returned by Export for a record whose audit history
// cannot be read whole: a copy without its provenance is not exported.
var ErrNoHistory = errors.New("audit history incomplete")

// hasFiled reports whether evs holds the record's filing event.
func hasFiled(evs []filing.Event) bool {
	for _, ev := range evs {
		if ev.Type == "filed" {
			return true
		}
	}
	return false
}

// ExportResult says what an export wrote.
type ExportResult struct {
	// Out is the tar file or folder written.
	Out string `json:"out"`
	// SHA256 is the tar's SHA-256 (also in Out+".sha256"); "" for a
	// folder.
	SHA256 string `json:"sha256,omitempty"`
	// Records are the ids exported, with their package folder names.
	Records []ExportedRecord `json:"records"`
}

// ExportedRecord is one record of an export.
type ExportedRecord struct {
	ID     string `json:"id"`
	Folder string `json:"folder"`
	Files  int    `json:"files"`
	Events int    `json:"events"`
}

// Export copies the records ids, each as its complete BagIt package as
// filed plus its audit events (EventsFile), to out: a tar file when out
// ends in ".tar" (with a SHA-256 file beside it), else a folder holding one
// package folder per record. Every file is checked against the record's
// manifests on the way out and the copy is read back and checked again; a
// copy that fails is removed. Nothing is overwritten. Each export is an
// audit event of the record.
//
// signer (nil for none) signs the events.
func Export(ctx context.Context, st filing.Store, signer *filing.Signer, ids []string, out string, by capture.Person) (*ExportResult, error) {
	if len(ids) == 0 {
		return nil, errors.New("export: no record ids")
	}
	var entries []filing.IndexEntry
	var full []string // the records' full ids, whatever form each was given in
	for _, id := range ids {
		id, err := Resolve(ctx, st, id)
		if err != nil {
			return nil, err
		}
		e, _, err := Locate(ctx, st, id)
		if err != nil {
			if res, rerr := ResidualOf(ctx, st, nil, id); rerr == nil {
				return nil, fmt.Errorf("record %s was %s: nothing to export", id, res.String())
			}
			return nil, err
		}
		entries = append(entries, e)
		full = append(full, e.ID)
	}
	evs, err := EventsOf(ctx, st, full)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !hasFiled(evs[e.ID]) {
			return nil, fmt.Errorf("record %s: its filing event (%s) is not in the audit trail, so its history cannot be exported whole: %w",
				e.ID, st.Where(FiledEventKey(e)), ErrNoHistory)
		}
	}
	pkgs := make([]*copyPlan, len(entries))
	names := map[string]bool{}
	for i, e := range entries {
		if pkgs[i], err = loadPackage(ctx, st, e, evs[e.ID]); err != nil {
			return nil, err
		}
		if names[pkgs[i].name] {
			return nil, fmt.Errorf("record %s is given twice", e.ID)
		}
		names[pkgs[i].name] = true
	}
	res := &ExportResult{Out: out}
	if strings.HasSuffix(strings.ToLower(out), ".tar") {
		res.SHA256, err = exportTar(ctx, st, pkgs, out)
	} else {
		err = exportDir(ctx, st, pkgs, out)
	}
	if err != nil {
		return nil, err
	}
	for _, p := range pkgs {
		res.Records = append(res.Records, ExportedRecord{ID: p.entry.ID, Folder: p.name, Files: len(p.files) + 2, Events: len(evs[p.entry.ID])})
		detail := "exported to " + out
		if res.SHA256 != "" {
			detail += " (SHA-256 " + res.SHA256 + ")"
		}
		if _, err := appendEvent(ctx, st, signer, filing.Event{Type: "exported", By: by, RecordID: p.entry.ID, Key: p.entry.Key,
			ClassCode: p.entry.ClassCode, Outcome: "exported", Detail: detail}, p.entry.FiledAt, filing.RecordLock(p.entry.FiledAt, p.entry.DisposalDate)); err != nil {
			return res, fmt.Errorf("exported, but not recorded in the audit trail: %w", err)
		}
	}
	return res, nil
}
