package records

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

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

// writeTar writes the package into tw under its folder name, checking every
// file against the manifests on the way.
func (p *copyPlan) writeTar(ctx context.Context, st filing.Store, tw *tar.Writer, mtime time.Time) error {
	put := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: p.name + "/" + name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, f := range p.files {
		if err := tw.WriteHeader(&tar.Header{Name: p.name + "/" + f.path, Mode: 0o644, Size: f.h.First.Size, ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if err := p.copyFile(ctx, st, f, tw); err != nil {
			return err
		}
	}
	if err := put(EventsFile, p.events); err != nil {
		return err
	}
	return put(filing.TagManifestFile, p.tagManifest)
}

// copyFile copies f's first version to w and checks its SHA-256.
func (p *copyPlan) copyFile(ctx context.Context, st filing.Store, f pkgFile, w io.Writer) error {
	rc, _, err := f.h.Open(ctx, st)
	if err != nil {
		return fmt.Errorf("record %s: %s: %w", p.entry.ID, f.path, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), rc)
	if err != nil {
		return fmt.Errorf("record %s: %s: %w", p.entry.ID, f.path, err)
	}
	if n != f.h.First.Size {
		return fmt.Errorf("record %s: %s: read %d bytes of %d: %w", p.entry.ID, f.path, n, f.h.First.Size, ErrCopy)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != p.want[f.path] {
		return fmt.Errorf("record %s: %s has SHA-256 %s, its manifest says %s: %w", p.entry.ID, f.path, got, p.want[f.path], ErrCopy)
	}
	return nil
}

// checkTar reads a tar of packages back and checks that it holds exactly
// each package's files, each with the SHA-256 its manifests give, and an
// events file listed in a tag manifest that is the filed one with that
// one line appended. (The events file of a copy written by an earlier run
// holds fewer events than one written now; it is checked against its own
// line.) It returns the SHA-256 of the whole tar.
func checkTar(r io.Reader, pkgs []*copyPlan) (string, error) {
	whole := sha256.New()
	tr := tar.NewReader(io.TeeReader(r, whole))
	want := map[string]string{}
	byName := map[string]*copyPlan{}
	for _, p := range pkgs {
		byName[p.name] = p
		for n, s := range p.want {
			want[p.name+"/"+n] = s
		}
	}
	var errs []error
	seen := map[string]bool{}
	tms := map[string][]byte{}
	evSums := map[string]string{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read the copy back: %w", err)
		}
		if hdr.Typeflag == tar.TypeDir {
			continue
		}
		folder, name, _ := strings.Cut(hdr.Name, "/")
		if p := byName[folder]; p != nil && (name == EventsFile || name == filing.TagManifestFile) && !seen[hdr.Name] {
			seen[hdr.Name] = true
			data, err := io.ReadAll(io.LimitReader(tr, 64<<20))
			if err != nil {
				return "", fmt.Errorf("read the copy back: %s: %w", hdr.Name, err)
			}
			if name == EventsFile {
				s := sha256.Sum256(data)
				evSums[folder] = hex.EncodeToString(s[:])
			} else {
				tms[folder] = data
			}
			continue
		}
		s, ok := want[hdr.Name]
		if !ok || seen[hdr.Name] {
			errs = append(errs, fmt.Errorf("%s: not in the record's manifests", hdr.Name))
			continue
		}
		seen[hdr.Name] = true
		h := sha256.New()
		if _, err := io.Copy(h, tr); err != nil {
			return "", fmt.Errorf("read the copy back: %s: %w", hdr.Name, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != s {
			errs = append(errs, fmt.Errorf("%s: SHA-256 %s, the manifest says %s", hdr.Name, got, s))
		}
	}
	io.Copy(io.Discard, r)
	for n := range want {
		if !seen[n] {
			errs = append(errs, fmt.Errorf("%s: missing from the copy", n))
		}
	}
	for _, p := range pkgs {
		if err := p.checkTags(tms[p.name], evSums[p.name]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
		return "", fmt.Errorf("%w: %w", ErrCopy, errors.Join(errs...))
	}
	return hex.EncodeToString(whole.Sum(nil)), nil
}

// checkTags checks a copy's tag manifest tm: the filed one plus one line
// for the events file, whose SHA-256 is evSum ("" if it is missing).
func (p *copyPlan) checkTags(tm []byte, evSum string) error {
	switch {
	case tm == nil:
		return fmt.Errorf("%s/%s: missing from the copy", p.name, filing.TagManifestFile)
	case evSum == "":
		return fmt.Errorf("%s/%s: missing from the copy", p.name, EventsFile)
	case !bytes.Equal(tm, append(append([]byte{}, p.filed...), evSum+"  "+EventsFile+"\n"...)):
		return fmt.Errorf("%s/%s: not the tag manifest as filed with the line of %s (SHA-256 %s) appended", p.name, filing.TagManifestFile, EventsFile, evSum)
	}
	return nil
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

// createNew creates the file at p for this run alone: O_CREATE|O_EXCL
// fails on any name already there, a symlink (even a dangling one)
// included, and follows none, so nothing is overwritten, here or through
// a link.
func createNew(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("export: %s is there already, and an export overwrites nothing: choose another name, or move it away: %w", p, fs.ErrExist)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return f, nil
}

// exportTar writes the packages to the tar out and its SHA-256 to
// out+".sha256", both created before anything is written; a run that
// fails removes both, and nothing it did not create.
func exportTar(ctx context.Context, st filing.Store, pkgs []*copyPlan, out string) (string, error) {
	sumFile := out + ".sha256"
	f, err := createNew(out)
	if err != nil {
		return "", err
	}
	sf, err := createNew(sumFile)
	if err != nil {
		f.Close()
		os.Remove(out)
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			sf.Close()
			os.Remove(out)
			os.Remove(sumFile)
		}
	}()
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<16)
	if err := writeTars(ctx, st, pkgs, bw); err != nil {
		return "", err
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	got, err := checkTar(bufio.NewReader(f), pkgs)
	if err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if got != sum {
		return "", fmt.Errorf("export: the tar read back has SHA-256 %s, %s was written: %w", got, sum, ErrCopy)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if _, err := io.WriteString(sf, sum+"  "+filepath.Base(out)+"\n"); err != nil {
		return "", err
	}
	if err := sf.Sync(); err != nil {
		return "", err
	}
	if err := sf.Close(); err != nil {
		return "", err
	}
	ok = true
	return sum, nil
}

// writeTars writes the packages as one tar.
func writeTars(ctx context.Context, st filing.Store, pkgs []*copyPlan, w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, p := range pkgs {
		if err := p.writeTar(ctx, st, tw, p.entry.FiledAt); err != nil {
			return err
		}
	}
	return tw.Close()
}

func exportDir(ctx context.Context, st filing.Store, pkgs []*copyPlan, out string) error {
	if err := os.MkdirAll(out, 0o750); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	for _, p := range pkgs {
		root := filepath.Join(out, p.name)
		if err := os.Mkdir(root, 0o750); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := p.writeDir(ctx, st, root); err != nil {
			os.RemoveAll(root)
			return err
		}
	}
	return nil
}

// writeDir writes the package into the folder root and checks it back.
func (p *copyPlan) writeDir(ctx context.Context, st filing.Store, root string) error {
	create := func(name string) (*os.File, error) {
		fp := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(fp), 0o750); err != nil {
			return nil, err
		}
		return os.OpenFile(fp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}
	for _, f := range p.files {
		w, err := create(f.path)
		if err != nil {
			return err
		}
		err = p.copyFile(ctx, st, f, w)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	for name, data := range map[string][]byte{EventsFile: p.events, filing.TagManifestFile: p.tagManifest} {
		w, err := create(name)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	// Read it back.
	var errs []error
	var tm []byte
	var evSum string
	seen := 0
	err := filepath.WalkDir(root, func(fp string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, fp)
		rel = filepath.ToSlash(rel)
		if rel == EventsFile || rel == filing.TagManifestFile {
			data, err := os.ReadFile(fp)
			if err != nil {
				return err
			}
			if rel == EventsFile {
				s := sha256.Sum256(data)
				evSum = hex.EncodeToString(s[:])
			} else {
				tm = data
			}
			return nil
		}
		want, ok := p.want[rel]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: not in the record's manifests", rel))
			return nil
		}
		seen++
		got, err := fileSum(fp, sha256.New())
		if err != nil {
			return err
		}
		if got != want {
			errs = append(errs, fmt.Errorf("%s: SHA-256 %s, the manifest says %s", rel, got, want))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if seen != len(p.want) {
		errs = append(errs, fmt.Errorf("%d of %d files in the copy", seen, len(p.want)))
	}
	if err := p.checkTags(tm, evSum); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("record %s: %w: %w", p.entry.ID, ErrCopy, errors.Join(errs...))
	}
	return nil
}

func fileSum(fp string, h hash.Hash) (string, error) {
	f, err := os.Open(fp)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
