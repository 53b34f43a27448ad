package records

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/recordbot/recordbot/filing"
)

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
