// Package local is the record store in a local directory, with the same
// layout as the S3 store: the embedded default when no S3 is configured.
package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/recordbot/recordbot/capture/ctxio"
	"github.com/recordbot/recordbot/filing"
)

// Store is a filing.Store in a local directory. Objects are created
// exclusively (a hard link from a finished temporary file, so an object
// appears whole or not at all), and a record's objects are made read-only.
// It has no Object Lock: protect the directory with backups and permissions.
//
// Nothing it writes is readable by other users, whatever the umask:
// folders are 0750, a record's objects 0440 (read-only, readable by the
// group, such as a records officers' group), other objects 0600.
type Store struct {
	root string
	mu   sync.Mutex // serialises conditional Put
}

var (
	_ filing.Store  = (*Store)(nil)
	_ filing.Pinger = (*Store)(nil)
)

// New opens (creating it if needed) a local store rooted at dir.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, dirMode); err != nil {
		return nil, fmt.Errorf("local store: %w", err)
	}
	return &Store{root: abs}, nil
}

// The permissions of the local store's folders and of a record's objects:
// never readable by other users, since records may be marked SECRET.
const (
	dirMode    = 0o750
	recordMode = 0o440
)

// Root returns the store's directory.
func (l *Store) Root() string { return l.root }

func (l *Store) path(key string) (string, error) {
	if err := filing.CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(l.root, filepath.FromSlash(key)), nil
}

// writeTemp copies r into a new temporary file beside p and syncs it.
func writeTemp(p string, r io.Reader, size int64) (string, error) {
	if err := os.MkdirAll(filepath.Dir(p), dirMode); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-")
	if err != nil {
		return "", err
	}
	n, err := io.Copy(f, r)
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("wrote %d bytes, expected %d", n, size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// Create implements filing.Store.
func (l *Store) Create(ctx context.Context, key string, r io.Reader, size int64, opts filing.WriteOptions) (filing.ObjectInfo, error) {
	p, err := l.path(key)
	if err != nil {
		return filing.ObjectInfo{}, err
	}
	if _, err := os.Lstat(p); err == nil {
		return filing.ObjectInfo{}, fmt.Errorf("create %s: %w", key, filing.ErrExist)
	}
	tmp, err := writeTemp(p, ctxio.Reader(ctx, r), size)
	if err != nil {
		return filing.ObjectInfo{}, fmt.Errorf("create %s: %w", key, err)
	}
	defer os.Remove(tmp)
	if !opts.RetainUntil.IsZero() {
		if err := os.Chmod(tmp, recordMode); err != nil {
			return filing.ObjectInfo{}, fmt.Errorf("create %s: %w", key, err)
		}
	}
	if err := os.Link(tmp, p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return filing.ObjectInfo{}, fmt.Errorf("create %s: %w", key, filing.ErrExist)
		}
		return filing.ObjectInfo{}, fmt.Errorf("create %s: %w", key, err)
	}
	syncDir(filepath.Dir(p))
	return l.Stat(ctx, key)
}

// Put implements filing.Store.
func (l *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts filing.WriteOptions) (filing.ObjectInfo, error) {
	p, err := l.path(key)
	if err != nil {
		return filing.ObjectInfo{}, err
	}
	tmp, err := writeTemp(p, ctxio.Reader(ctx, r), size)
	if err != nil {
		return filing.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	defer os.Remove(tmp)
	l.mu.Lock()
	defer l.mu.Unlock()
	if opts.IfMatch != "" {
		cur, err := l.Stat(ctx, key)
		if err != nil || cur.ETag != opts.IfMatch {
			return filing.ObjectInfo{}, fmt.Errorf("put %s: %w", key, filing.ErrConflict)
		}
	}
	if err := os.Rename(tmp, p); err != nil {
		return filing.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	syncDir(filepath.Dir(p))
	return l.Stat(ctx, key)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Open implements filing.Store. The info describes the file opened, even if a
// Put replaces it meanwhile.
func (l *Store) Open(ctx context.Context, key string) (io.ReadCloser, filing.ObjectInfo, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, filing.ObjectInfo{}, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, filing.ObjectInfo{}, fmt.Errorf("open %s: %w", key, filing.ErrNotExist)
	}
	if err != nil {
		return nil, filing.ObjectInfo{}, fmt.Errorf("open %s: %w", key, err)
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		err = fmt.Errorf("open %s: %w", key, filing.ErrNotExist)
	}
	if err != nil {
		f.Close()
		return nil, filing.ObjectInfo{}, err
	}
	return f, localInfo(key, fi), nil
}

// Stat implements filing.Store.
func (l *Store) Stat(ctx context.Context, key string) (filing.ObjectInfo, error) {
	p, err := l.path(key)
	if err != nil {
		return filing.ObjectInfo{}, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return filing.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, filing.ErrNotExist)
	}
	if err != nil {
		return filing.ObjectInfo{}, err
	}
	if fi.IsDir() {
		return filing.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, filing.ErrNotExist)
	}
	return localInfo(key, fi), nil
}

func localInfo(key string, fi fs.FileInfo) filing.ObjectInfo {
	h := sha256.Sum256(fmt.Appendf(nil, "%d/%d/%s", fi.ModTime().UnixNano(), fi.Size(), key))
	return filing.ObjectInfo{Key: key, Size: fi.Size(), ETag: hex.EncodeToString(h[:8]), LastModified: fi.ModTime()}
}

// List implements filing.Store. Keys come in key order as the walk finds
// them: the heap holds the directories being walked, not every key.
func (l *Store) List(ctx context.Context, prefix string) iter.Seq2[filing.ObjectInfo, error] {
	return func(yield func(filing.ObjectInfo, error) bool) {
		if strings.Contains(prefix, "..") {
			yield(filing.ObjectInfo{}, fmt.Errorf("list: bad prefix %q", prefix))
			return
		}
		// Walk only the directory the prefix is in.
		dir := prefix[:strings.LastIndexByte(prefix, '/')+1]
		if _, err := l.walk(ctx, dir, prefix, yield); err != nil {
			yield(filing.ObjectInfo{}, fmt.Errorf("list %s: %w", prefix, err))
		}
	}
}

// walk yields the objects under dir (a key prefix ending in "/", or "" for
// the root) whose keys start with prefix, in key order: a directory's
// entries are taken in the order of their keys, a subdirectory's name
// followed by "/", so "a.txt" comes before the keys under "a/". Only the
// keys of each directory being walked are held. It reports whether to go
// on.
func (l *Store) walk(ctx context.Context, dir, prefix string, yield func(filing.ObjectInfo, error) bool) (bool, error) {
	keys, err := l.readDir(dir)
	if err != nil {
		return false, err
	}
	for _, key := range keys {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if strings.HasSuffix(key, "/") {
			// A folder can hold matches if it starts with the prefix or
			// the prefix goes on inside it.
			if strings.HasPrefix(key, prefix) || strings.HasPrefix(prefix, key) {
				if more, err := l.walk(ctx, key, prefix, yield); !more || err != nil {
					return more, err
				}
			}
			continue
		}
		if !strings.HasPrefix(key, prefix) || strings.HasPrefix(path.Base(key), ".tmp-") {
			continue
		}
		fi, err := os.Lstat(filepath.Join(l.root, filepath.FromSlash(key)))
		if err != nil {
			continue // removed meanwhile
		}
		if !yield(localInfo(key, fi), nil) {
			return false, nil
		}
	}
	return true, nil
}

// readDir returns the keys in dir, sorted: a subdirectory's with a "/" at
// the end. A directory that does not exist holds none.
func (l *Store) readDir(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(l.root, filepath.FromSlash(dir)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var keys []string
	for {
		ents, err := f.ReadDir(256)
		for _, e := range ents {
			key := dir + e.Name()
			if e.IsDir() {
				key += "/"
			}
			keys = append(keys, key)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Delete implements filing.Store.
func (l *Store) Delete(ctx context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// Where implements filing.Store.
func (l *Store) Where(key string) string {
	return filepath.Join(l.root, filepath.FromSlash(key))
}

// Ping checks that the directory is still there: for readiness.
func (l *Store) Ping(ctx context.Context) error {
	fi, err := os.Stat(l.root)
	if err != nil {
		return fmt.Errorf("local store: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("local store %s is not a directory", l.root)
	}
	return nil
}
