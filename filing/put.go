package filing

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/ctxio"
)

// bufSize is how much of a file is read before it is stored: a file up to
// bufSize goes to the store in one write of known length, a larger one is
// streamed (size -1), which the S3 store sends in parts.
const bufSize = 8 << 20

// bufPool holds the buffers of bufSize+1 bytes that tell a file that fits
// from one that does not.
var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize+1); return &b }}

// loadImage reads a stored image of the record being filed, for the PDF.
func (f *filer) loadImage(fl *filing) imageLoader {
	return func(ctx context.Context, path string) ([]byte, error) {
		rc, _, err := f.store.Open(ctx, fl.key+path)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return readAll(rc, maxInlineImage)
	}
}

// fileUploads is how many of a record's files are uploaded at once. Each
// holds one buffer of up to bufSize, so memory stays bounded.
const fileUploads = 3

// putFiles streams the thread's attached files into the record, a few at
// a time, and returns their entries in thread order, and the files whose
// content can no longer be had.
//
// Which files are missing is settled once the transcripts (which show
// them) are stored: a later attempt then downloads nothing more, so the
// manifest, the record and the transcripts always agree.
func (f *filer) putFiles(ctx context.Context, fl *filing, snap *snap, src fetch) ([]FileEntry, []MissingFile, error) {
	// A path given by several files (which share their content) is
	// stored once, from the first of them.
	var files []*capture.File
	seen := make(map[string]bool)
	for _, file := range snap.Files() {
		if file.Path != "" && !seen[file.Path] {
			seen[file.Path] = true
			files = append(files, file)
		}
	}
	sealed, settled, err := f.settled(ctx, fl)
	if err != nil {
		return nil, nil, err
	}
	fresh := make(map[string]*capture.File)
	switch {
	case snap.fresh:
		// The snapshot was made from this attempt's capture: its files
		// open the capture's content.
		for _, file := range snap.Files() {
			fresh[file.ID] = file
		}
	case src.thread != nil:
		files, err := src.thread.FilesOf(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("capture thread: %w", err)
		}
		for _, file := range files {
			fresh[file.ID] = file
		}
	}
	entries := make([]FileEntry, len(files))
	reasons := make([]string, len(files))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, fileUploads)
	var wg sync.WaitGroup
	for i, file := range files {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer func() {
				if v := recover(); v != nil { // a platform's opener; the worker logs the attempt's error
					cancel(fmt.Errorf("file %q: internal error while downloading (%T)", file.Name, v))
				}
			}()
			key := fl.key + file.Path
			e, err := f.hashStored(ctx, key)
			switch {
			case err == nil:
				entries[i] = FileEntry{Path: file.Path, Size: e.Size, SHA256: e.SHA256, MIMEType: file.MIMEType, Name: file.Name, SourceID: file.ID}
				return
			case !errors.Is(err, ErrNotExist):
				cancel(fmt.Errorf("file %q: %w", file.Name, err))
				return
			case sealed:
				reasons[i] = cmp.Or(settled[file.Path], "the content could not be downloaded after the thread was captured (the transcripts give the reason)")
				return
			}
			size, sum, reason, err := f.fetchFile(ctx, key, fresh[file.ID], snap.thread.Platform, src, fl.with(contentTypeOr(file.MIMEType)))
			if err != nil {
				cancel(fmt.Errorf("file %q: %w", file.Name, err))
				return
			}
			if reason != "" {
				reasons[i] = reason
				return
			}
			entries[i] = FileEntry{Path: file.Path, Size: size, SHA256: sum, MIMEType: file.MIMEType, Name: file.Name, SourceID: file.ID}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, nil, err
	}
	var stored []FileEntry
	var missing []MissingFile
	for i, file := range files {
		if reasons[i] != "" {
			missing = append(missing, MissingFile{Path: file.Path, Name: file.Name, SourceID: file.ID, Reason: reasons[i]})
			continue
		}
		stored = append(stored, entries[i])
	}
	return stored, missing, nil
}

// settled reports whether an earlier attempt stored the transcripts, which
// settles which files are missing, and the reasons the stored record.json
// gives for them, if it was stored too.
func (f *filer) settled(ctx context.Context, fl *filing) (bool, map[string]string, error) {
	if _, err := f.store.Stat(ctx, fl.key+HTMLFile); errors.Is(err, ErrNotExist) {
		return false, nil, nil
	} else if err != nil {
		return false, nil, err
	}
	reasons := make(map[string]string)
	rc, _, err := f.store.Open(ctx, fl.key+RecordFile)
	if errors.Is(err, ErrNotExist) {
		return true, reasons, nil
	} else if err != nil {
		return false, nil, err
	}
	defer rc.Close()
	var rec Record
	if err := json.NewDecoder(rc).Decode(&rec); err != nil {
		return false, nil, fmt.Errorf("read stored %s: %w", RecordFile, err)
	}
	for _, m := range rec.Missing {
		reasons[m.Path] = m.Reason
	}
	return true, reasons, nil
}

// downloaded reports whether nothing is left to download for the record
// at key: every file of its stored snapshot is stored, or the transcripts
// are, which settles the rest as missing.
func (f *filer) downloaded(ctx context.Context, key string, snap *capture.Thread) (bool, error) {
	if _, err := f.store.Stat(ctx, key+HTMLFile); err == nil {
		return true, nil
	} else if !errors.Is(err, ErrNotExist) {
		return false, err
	}
	seen := make(map[string]bool)
	for _, file := range snap.Files() {
		if file.Path == "" || seen[file.Path] {
			continue
		}
		seen[file.Path] = true
		if _, err := f.store.Stat(ctx, key+file.Path); errors.Is(err, ErrNotExist) {
			return false, nil
		} else if err != nil {
			return false, err
		}
	}
	return true, nil
}

// fetchFile downloads a file not stored yet from fresh, its counterpart in
// this attempt's capture, and stores it at key. When the content can no
// longer be had (the file is gone from the thread or the platform, or the
// thread cannot be read) it returns the reason instead, for the record; on
// the last attempt any download failure is such a reason.
func (f *filer) fetchFile(ctx context.Context, key string, fresh *capture.File, p capture.Platform, src fetch, opts WriteOptions) (int64, string, string, error) {
	after := "after the thread was captured"
	switch {
	case fresh == nil && src.gone != "":
		return 0, "", src.gone, nil
	case fresh == nil && src.thread != nil:
		return 0, "", "the file was removed from the thread " + after, nil
	case fresh == nil:
		if src.last {
			return 0, "", "the content was no longer available to download " + after, nil
		}
		return 0, "", "", errors.New("content is no longer available to download")
	case fresh.Error != "":
		return 0, "", "not available " + after + ": " + fresh.Error, nil
	case fresh.Open == nil:
		return 0, "", "the content was no longer available to download " + after, nil
	}
	size, sum, err := f.putStream(ctx, key, fresh.Open, opts)
	var de downloadError
	switch {
	case err == nil:
		return size, sum, "", nil
	case !errors.As(err, &de) || ctx.Err() != nil:
		return 0, "", "", err
	case errors.Is(err, capture.ErrNotFound):
		return 0, "", "the file was deleted from " + platformName(p) + " " + after, nil
	case errors.Is(err, capture.ErrAccess):
		return 0, "", "the file could no longer be read on " + platformName(p) + " " + after, nil
	case src.last && !errors.Is(err, capture.ErrRateLimited):
		return 0, "", "the file could not be downloaded " + after + ": " + err.Error(), nil
	}
	return 0, "", "", err
}

func platformName(p capture.Platform) string {
	switch p {
	case capture.Slack:
		return "Slack"
	case capture.Mattermost:
		return "Mattermost"
	case capture.Teams:
		return "Microsoft Teams"
	case capture.WhatsApp:
		return "WhatsApp"
	}
	return "the platform"
}

func contentTypeOr(ct string) string {
	if ct == "" {
		return "application/octet-stream"
	}
	return ct
}

// putSmall creates key with data, or hashes what is stored there already.
func (f *filer) putSmall(ctx context.Context, key string, data []byte, opts WriteOptions) (FileEntry, error) {
	_, err := f.store.Create(ctx, key, bytes.NewReader(data), int64(len(data)), opts)
	if errors.Is(err, ErrExist) {
		return f.hashStored(ctx, key)
	}
	if err != nil {
		return FileEntry{}, err
	}
	sum := sha256.Sum256(data)
	return FileEntry{Path: key, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// putTemp creates key from what write writes, spooled through a
// temporary file and hashed on the way, so that a large transcript or
// snapshot is never held whole in memory; the store then reads the file
// at known length (an S3 store in parts side by side, without buffers).
// When an object exists at key already, the stored one is hashed and
// returned instead, and write's output is dropped.
func (f *filer) putTemp(ctx context.Context, key string, opts WriteOptions, write func(io.Writer) error) (FileEntry, error) {
	e, err := f.createTemp(ctx, key, opts, write)
	if errors.Is(err, ErrExist) {
		return f.hashStored(ctx, key)
	}
	return e, err
}

// putTemps is putTemp for several objects written in one go, by write
// to ws (one writer for each key, in order): the transcripts, rendered
// in one pass over a long thread.
func (f *filer) putTemps(ctx context.Context, keys []string, opts []WriteOptions, write func(ws []io.Writer) error) ([]FileEntry, error) {
	sps := make([]*spooled, len(keys))
	ws := make([]io.Writer, len(keys))
	defer func() {
		for _, sp := range sps {
			sp.close()
		}
	}()
	for i, key := range keys {
		sp, err := spool(key)
		if err != nil {
			return nil, err
		}
		sps[i], ws[i] = sp, sp.w
	}
	if err := write(ws); err != nil {
		return nil, fmt.Errorf("write %s: %w", strings.Join(keys, ", "), err)
	}
	es := make([]FileEntry, len(keys))
	for i, sp := range sps {
		e, err := f.createSpooled(ctx, sp, opts[i])
		if errors.Is(err, ErrExist) {
			e, err = f.hashStored(ctx, sp.key)
		}
		if err != nil {
			return nil, err
		}
		es[i] = e
	}
	return es, nil
}

// createTemp is putTemp without the fallback: an error matching ErrExist
// when an object exists at key already.
func (f *filer) createTemp(ctx context.Context, key string, opts WriteOptions, write func(io.Writer) error) (FileEntry, error) {
	sp, err := spool(key)
	if err != nil {
		return FileEntry{}, err
	}
	defer sp.close()
	if err := write(sp.w); err != nil {
		return FileEntry{}, fmt.Errorf("write %s: %w", key, err)
	}
	return f.createSpooled(ctx, sp, opts)
}

// spooled is an object for key being written to a temporary file
// through w, and hashed on the way.
type spooled struct {
	key string
	tmp *os.File
	h   hash.Hash
	w   *bufio.Writer
}

func spool(key string) (*spooled, error) {
	tmp, err := os.CreateTemp("", "recordbot-file-*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", key, err)
	}
	h := sha256.New()
	return &spooled{key: key, tmp: tmp, h: h, w: bufio.NewWriterSize(io.MultiWriter(tmp, h), 64<<10)}, nil
}

// close removes the temporary file; sp may be nil.
func (sp *spooled) close() {
	if sp != nil {
		sp.tmp.Close()
		os.Remove(sp.tmp.Name())
	}
}

// createSpooled creates sp.key from what was written to sp.
func (f *filer) createSpooled(ctx context.Context, sp *spooled, opts WriteOptions) (FileEntry, error) {
	if err := sp.w.Flush(); err != nil {
		return FileEntry{}, fmt.Errorf("write %s: %w", sp.key, err)
	}
	size, err := sp.tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return FileEntry{}, fmt.Errorf("write %s: %w", sp.key, err)
	}
	if _, err := f.store.Create(ctx, sp.key, io.NewSectionReader(sp.tmp, 0, size), size, opts); err != nil {
		return FileEntry{}, err
	}
	return FileEntry{Path: sp.key, Size: size, SHA256: hex.EncodeToString(sp.h.Sum(nil))}, nil
}

// putStream creates key from a file's content, hashing it on the way; a
// file up to bufSize goes in one write of exact length, a larger one is
// streamed, so memory stays bounded whatever the file's size.
func (f *filer) putStream(ctx context.Context, key string, open capture.Opener, opts WriteOptions) (int64, string, error) {
	rc, err := open(ctx)
	if err != nil {
		return 0, "", downloadError{fmt.Errorf("download: %w", err)}
	}
	defer rc.Close()
	if ra, ok := rc.(sizedReaderAt); ok && ra.Size() > 0 {
		return f.putReaderAt(ctx, key, rc, ra, opts)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	n, err := io.ReadFull(rc, buf)
	var body io.Reader
	var size int64
	var hashed chan struct{}
	h := sha256.New()
	counted := &countReader{n: int64(n)}
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		// Hash while the upload reads the same (unchanging) buffer.
		hashed = make(chan struct{})
		go func() { h.Write(buf[:n]); close(hashed) }()
		defer func() { <-hashed }() // before buf goes back to the pool
		body, size = bytes.NewReader(buf[:n]), int64(n)
	case err == nil:
		// buf is full: hash it, then stream the rest, counting it.
		h.Write(buf)
		counted.r = io.TeeReader(rc, h)
		body, size = io.MultiReader(bytes.NewReader(buf), counted), -1
	default:
		return 0, "", downloadError{fmt.Errorf("download: %w", err)}
	}
	_, err = f.store.Create(ctx, key, body, size, opts)
	if errors.Is(err, ErrExist) {
		e, err := f.hashStored(ctx, key)
		return e.Size, e.SHA256, err
	}
	if err != nil {
		return 0, "", err
	}
	if hashed != nil {
		<-hashed
	}
	return counted.n, hex.EncodeToString(h.Sum(nil)), nil
}

// sizedReaderAt is content that can be read at any offset, such as a
// file of a zip stored uncompressed (capture/whatsapp's media).
type sizedReaderAt interface {
	io.ReaderAt
	Size() int64
}

// putReaderAt creates key from content readable at any offset: the store
// reads it as it likes (an S3 store in parts side by side) and nothing is
// buffered, while rc, the same content, is read once in order to hash it
// (which lets the opener check it too, as a zip entry's CRC). The store
// cannot read the content's last byte before the hash is done, so a
// failed check stops the object being created.
func (f *filer) putReaderAt(ctx context.Context, key string, rc io.Reader, ra sizedReaderAt, opts WriteOptions) (int64, string, error) {
	size := ra.Size()
	g := &gatedReaderAt{ra: ra, size: size, done: make(chan struct{})}
	hctx, stopHash := context.WithCancel(ctx)
	defer stopHash()
	uctx, stopUpload := context.WithCancel(ctx)
	defer stopUpload()
	var sum string
	go func() {
		h := sha256.New()
		n, err := io.CopyBuffer(h, ctxio.Reader(hctx, rc), make([]byte, 64<<10))
		switch {
		case err != nil:
			g.err = downloadError{fmt.Errorf("download: %w", err)}
		case n != size:
			g.err = downloadError{fmt.Errorf("download: %d bytes read of %d", n, size)}
		default:
			sum = hex.EncodeToString(h.Sum(nil))
		}
		close(g.done)
		if g.err != nil {
			stopUpload()
		}
	}()
	_, err := f.store.Create(uctx, key, io.NewSectionReader(g, 0, size), size, opts)
	hashed := true // the hash ended by itself, not stopped here
	if err != nil {
		select {
		case <-g.done:
		default:
			hashed = false
			stopHash()
		}
	}
	<-g.done
	switch {
	case errors.Is(err, ErrExist):
		e, err := f.hashStored(ctx, key)
		return e.Size, e.SHA256, err
	case hashed && g.err != nil:
		return 0, "", g.err
	case err != nil:
		return 0, "", err
	}
	return size, sum, nil
}

// gatedReaderAt holds back the last byte of its content until done is
// closed, and then fails with err if it is set.
type gatedReaderAt struct {
	ra   io.ReaderAt
	size int64
	done chan struct{}
	err  error
}

func (g *gatedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) >= g.size {
		<-g.done
		if g.err != nil {
			return 0, g.err
		}
	}
	return g.ra.ReadAt(p, off)
}

// downloadError is a failure to fetch content from the platform, as
// opposed to a failure to store it.
type downloadError struct{ error }

func (e downloadError) Unwrap() error { return e.error }

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// hashStored reads the object at key and returns its size and SHA-256.
func (f *filer) hashStored(ctx context.Context, key string) (FileEntry, error) {
	rc, _, err := f.store.Open(ctx, key)
	if err != nil {
		return FileEntry{}, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return FileEntry{}, fmt.Errorf("read back %s: %w", key, err)
	}
	return FileEntry{Path: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
