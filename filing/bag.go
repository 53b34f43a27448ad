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
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/ctxio"
)

// The files of a record package (a BagIt 1.0 bag, RFC 8493).
const (
	BagItFile       = "bagit.txt"
	BagInfoFile     = "bag-info.txt"
	ManifestFile    = "manifest-sha256.txt"
	TagManifestFile = "tagmanifest-sha256.txt"
	RecordFile      = "record.json"
	ThreadFile      = "data/thread.json"
	HTMLFile        = "data/transcript.html"
	TextFile        = "data/transcript.txt"
)

// permanentLock is how long Object Lock protects records kept permanently:
// S3 needs a date, and no record of ours will outlive it unreviewed.
const permanentLock = 100

// filer writes record packages. Every object is created only if absent;
// when it exists already (a retry, or another worker on the same request),
// the stored object is hashed and used instead, so every attempt converges
// on the same complete bag. The tag manifest is written last: a record
// without it is not filed.
type filer struct {
	store Store
	org   string
	// tz is the organisation's time zone, shown beside UTC in the
	// transcripts; nil for UTC only.
	tz *time.Location
}

// bufSize is how much of a file is read before it is stored: a file up to
// bufSize goes to the store in one write of known length, a larger one is
// streamed (size -1), which the S3 store sends in parts.
const bufSize = 8 << 20

// bufPool holds the buffers of bufSize+1 bytes that tell a file that fits
// from one that does not.
var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize+1); return &b }}

// plan of one filing: everything derived from the request.
type filing struct {
	req      Request
	class    *Class
	key      string
	filed    time.Time
	disposal time.Time
	opts     WriteOptions
}

func (f *filer) newFiling(req Request, class *Class) *filing {
	filed := req.RequestedAt.UTC()
	key := req.RecordKey
	if key == "" {
		key = RecordKey(class, filed, req.Title, req.ID)
	}
	fl := &filing{req: req, class: class, filed: filed, key: key}
	fl.disposal = class.Retention.DisposalDate(filed)
	lockUntil := fl.disposal
	if lockUntil.IsZero() {
		lockUntil = filed.AddDate(permanentLock, 0, 0)
	}
	disposal := "none"
	if !fl.disposal.IsZero() {
		disposal = fl.disposal.Format(time.DateOnly)
	}
	fl.opts = WriteOptions{RetainUntil: lockUntil, Tags: map[string]string{
		"record-id":        req.ID,
		"class-code":       class.Code,
		"security-marking": req.Marking,
		"disposal-date":    disposal,
		"disposal-action":  string(class.Retention.Action),
	}}
	return fl
}

func (fl *filing) with(contentType string) WriteOptions {
	o := fl.opts
	o.ContentType = contentType
	return o
}

// fetch is where a filing gets the content of files not stored yet.
type fetch struct {
	// thread is a capture of the thread made for this attempt; its files'
	// openers stream their content. The stored snapshot, if an earlier
	// attempt wrote one, is the record's all the same. Nil when the
	// thread was not captured.
	thread *capture.Thread
	// gone, when set, says why the thread could not be captured again
	// for good: files not stored yet are recorded as missing with it.
	gone string
	// last is set on the last attempt: a file that still cannot be
	// downloaded is recorded as missing rather than failing the record.
	last bool
}

// file writes the record for req from the snapshot (stored by an earlier
// attempt, else taken from src.thread), or completes one that an earlier
// attempt left unfinished.
func (f *filer) file(ctx context.Context, fl *filing, src fetch) (*Record, string, error) {
	// 1. The snapshot: the stored one if an earlier attempt wrote it.
	snap, snapEntry, err := f.snapshot(ctx, fl, src.thread)
	if err != nil {
		return nil, "", err
	}
	rec := f.record(fl, snap)

	// 2. The attached files, streamed; those that can no longer be had
	// are recorded as missing.
	payload, missing, err := f.putFiles(ctx, fl, snap, src)
	if err != nil {
		return nil, "", err
	}
	rec.Missing = missing

	// 3. The snapshot itself and the transcripts, which show the missing
	// files as not captured.
	var e FileEntry
	if snapEntry != nil {
		e = *snapEntry
	} else if e, err = f.hashStored(ctx, fl.key+ThreadFile); err != nil {
		return nil, "", err
	}
	payload = append(payload, e.withType("application/json"))
	// The transcripts are written to temporary files and sent from
	// there, never built whole in memory: a chat of 40,000 messages
	// makes transcripts of tens of megabytes each.
	view := withMissing(snap, missing)
	if e, err = f.putTemp(ctx, fl.key+HTMLFile, fl.with("text/html; charset=utf-8"), func(w io.Writer) error {
		return renderHTML(w, rec, view, f.tz)
	}); err != nil {
		return nil, "", err
	}
	payload = append(payload, e.withType("text/html"))
	if e, err = f.putTemp(ctx, fl.key+TextFile, fl.with("text/plain; charset=utf-8"), func(w io.Writer) error {
		return renderText(w, rec, view, f.tz)
	}); err != nil {
		return nil, "", err
	}
	payload = append(payload, e.withType("text/plain"))
	if e, err = f.putTemp(ctx, fl.key+PDFFile, fl.with("application/pdf"), func(w io.Writer) error {
		return renderPDF(ctx, w, rec, view, f.tz, f.loadImage(fl))
	}); err != nil {
		return nil, "", err
	}
	payload = append(payload, e.withType("application/pdf"))
	for i := range payload {
		payload[i].Path = strings.TrimPrefix(payload[i].Path, fl.key)
	}
	sort.Slice(payload, func(i, j int) bool { return payload[i].Path < payload[j].Path })
	rec.Payload = payload

	// 4. The tag files, then the tag manifest last.
	recJSON, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, "", err
	}
	tags := []struct {
		name string
		data []byte
		ct   string
	}{
		{RecordFile, recJSON, "application/json"}, // first: it holds why files are missing
		{BagItFile, []byte("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"), "text/plain; charset=utf-8"},
		{BagInfoFile, bagInfo(rec, f.org), "text/plain; charset=utf-8"},
		{ManifestFile, manifest(payload), "text/plain; charset=utf-8"},
	}
	var tagEntries []FileEntry
	for _, tf := range tags {
		e, err := f.putSmall(ctx, fl.key+tf.name, tf.data, fl.with(tf.ct))
		if err != nil {
			return nil, "", err
		}
		e.Path = tf.name
		tagEntries = append(tagEntries, e)
	}
	sort.Slice(tagEntries, func(i, j int) bool { return tagEntries[i].Path < tagEntries[j].Path })
	e, err = f.putSmall(ctx, fl.key+TagManifestFile, manifest(tagEntries), fl.with("text/plain; charset=utf-8"))
	if err != nil {
		return nil, "", err
	}
	return rec, e.SHA256, nil
}

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
func (f *filer) putFiles(ctx context.Context, fl *filing, snap *capture.Thread, src fetch) ([]FileEntry, []MissingFile, error) {
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
	if src.thread != nil {
		for _, file := range src.thread.Files() {
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
			size, sum, reason, err := f.fetchFile(ctx, key, fresh[file.ID], snap.Platform, src, fl.with(contentTypeOr(file.MIMEType)))
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
	}
	return "the platform"
}

// withMissing returns snap with the files in missing marked as not
// captured, with their reasons, for the transcripts.
func withMissing(snap *capture.Thread, missing []MissingFile) *capture.Thread {
	if len(missing) == 0 {
		return snap
	}
	why := make(map[string]string, len(missing))
	for _, m := range missing {
		why[m.Path] = m.Reason
	}
	view := *snap
	view.Messages = make([]capture.Message, len(snap.Messages))
	copy(view.Messages, snap.Messages)
	for i := range view.Messages {
		m := &view.Messages[i]
		m.Files = append([]capture.File(nil), m.Files...)
		for j := range m.Files {
			if r, ok := why[m.Files[j].Path]; ok && m.Files[j].Path != "" {
				m.Files[j].Path, m.Files[j].Error = "", r
			}
		}
	}
	return &view
}

// snapshot returns the thread as stored in the record, writing t first if
// no earlier attempt did. File paths are assigned here. When it writes the
// snapshot it returns its payload entry too, so that a large thread is not
// marshalled or read back a second time to hash it; nil when it was stored
// before.
func (f *filer) snapshot(ctx context.Context, fl *filing, t *capture.Thread) (*capture.Thread, *FileEntry, error) {
	if stored, err := f.readThread(ctx, fl.key+ThreadFile); err == nil {
		return stored, nil, nil
	} else if !errors.Is(err, ErrNotExist) {
		return nil, nil, err
	}
	if t == nil {
		return nil, nil, errors.New("no snapshot to file")
	}
	if err := t.Validate(); err != nil {
		return nil, nil, err
	}
	snap := *t
	snap.SchemaVersion = capture.SchemaVersion
	snap.Messages = make([]capture.Message, len(t.Messages))
	copy(snap.Messages, t.Messages)
	var files []*capture.File
	for i := range snap.Messages {
		m := &snap.Messages[i]
		m.Files = append([]capture.File(nil), m.Files...)
		for j := range m.Files {
			files = append(files, &m.Files[j])
		}
	}
	// Files that share their content (the same ContentID) are stored
	// once: the first of them is numbered, and the others give its path.
	n := 0
	counted := make(map[string]bool)
	for _, file := range files {
		if file.Open != nil && file.Error == "" {
			if file.ContentID != "" {
				if counted[file.ContentID] {
					continue
				}
				counted[file.ContentID] = true
			}
			n++
		}
	}
	k := 0
	shared := make(map[string]string)
	for _, file := range files {
		file.SHA256, file.Path = "", ""
		if file.Open == nil && file.Error == "" {
			file.Error = "content not available from the platform"
		}
		if file.Error != "" {
			continue
		}
		if p, ok := shared[file.ContentID]; ok && file.ContentID != "" {
			file.Path = p
			continue
		}
		k++
		file.Path = DataPath(k, n, file.Name)
		if file.ContentID != "" {
			shared[file.ContentID] = file.Path
		}
	}
	if t.Provenance != nil {
		// A supplied export is kept byte for byte beside the snapshot.
		p := *t.Provenance
		p.Assumptions = append([]capture.Assumption(nil), p.Assumptions...)
		p.Notes = append([]string(nil), p.Notes...)
		if p.Original != nil {
			o := *p.Original
			o.SHA256, o.Path = "", ""
			if o.Open == nil && o.Error == "" {
				o.Error = "the supplied file could not be read"
			}
			if o.Error == "" {
				o.Path = OriginalPath(o.Name)
			}
			p.Original = &o
		}
		snap.Provenance = &p
	}
	e, err := f.createTemp(ctx, fl.key+ThreadFile, fl.with("application/json"), func(w io.Writer) error {
		return writeThreadJSON(w, &snap)
	})
	if errors.Is(err, ErrExist) {
		// Another worker got there first: its snapshot is the record's.
		stored, err := f.readThread(ctx, fl.key+ThreadFile)
		return stored, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	return &snap, &e, nil
}

// writeThreadJSON writes t as json.MarshalIndent(t, "", "  ") would, byte
// for byte, but a message at a time, so that the JSON of a long chat is
// never held whole in memory.
func writeThreadJSON(w io.Writer, t *capture.Thread) error {
	if len(t.Messages) == 0 {
		data, err := json.MarshalIndent(t, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	head := *t
	head.Messages = []capture.Message{}
	data, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return err
	}
	// A top-level key is the only place a newline and two spaces can
	// come before it: newlines inside strings are escaped.
	const slot = "\n  \"messages\": ["
	i := bytes.Index(data, []byte(slot))
	if i < 0 || !bytes.HasPrefix(data[i+len(slot):], []byte("]")) {
		return errors.New("thread JSON: no messages field")
	}
	before, after := data[:i+len(slot)], data[i+len(slot)+1:]
	if _, err := w.Write(before); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("    ", "  ")
	for j := range t.Messages {
		buf.Reset()
		if j == 0 {
			buf.WriteString("\n    ")
		} else {
			buf.WriteString(",\n    ")
		}
		if err := enc.Encode(&t.Messages[j]); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // the Encoder's newline
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(w, "\n  ]"); err != nil {
		return err
	}
	_, err = w.Write(after)
	return err
}

func (f *filer) readThread(ctx context.Context, key string) (*capture.Thread, error) {
	rc, _, err := f.store.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var t capture.Thread
	if err := json.NewDecoder(rc).Decode(&t); err != nil {
		return nil, fmt.Errorf("read stored snapshot %s: %w", key, err)
	}
	return &t, nil
}

// record builds the record's metadata (without payload fixity).
func (f *filer) record(fl *filing, t *capture.Thread) *Record {
	req, c := fl.req, fl.class
	first, last := t.Span()
	var path []ClassStep
	for _, x := range c.Path() {
		path = append(path, ClassStep{x.Code, x.Title})
	}
	from := "filing"
	if c.Retention.FromYearEnd {
		from = "end_of_year"
	}
	ret := RetentionInfo{Rule: c.Retention.String(), Period: c.Retention.Period(), From: from, Action: c.Retention.Action}
	if !fl.disposal.IsZero() {
		ret.DisposalDate = fl.disposal.Format(time.DateOnly)
	}
	return &Record{
		Schema: RecordSchema, ID: req.ID, Title: req.Title, Description: req.Description,
		Class: ClassRef{Code: c.Code, Title: c.Title, Path: path}, Key: fl.key,
		FiledBy: req.RequestedBy, FiledAt: fl.filed, CapturedAt: t.CapturedAt.UTC(), Via: req.Via,
		ThreadStart: first.UTC(), ThreadEnd: last.UTC(), Participants: t.Participants(),
		Source:    Source{Platform: t.Platform, Workspace: t.Workspace, Channel: t.Channel, ThreadID: t.ThreadID, Permalink: t.Permalink, ReadAs: t.ReadAs},
		Retention: ret, Marking: req.Marking, Messages: len(t.Messages), Provenance: t.Provenance.Counts(),
		Events: []Event{{ID: req.ID, Type: "filed", At: fl.filed, By: req.RequestedBy, RecordID: req.ID, Key: fl.key,
			ClassCode: c.Code, RequestID: req.ID, Source: req.Via, Agent: Agent}},
		Related: req.Related,
	}
}

func (e FileEntry) withType(ct string) FileEntry { e.MIMEType = ct; return e }

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

// createTemp is putTemp without the fallback: an error matching ErrExist
// when an object exists at key already.
func (f *filer) createTemp(ctx context.Context, key string, opts WriteOptions, write func(io.Writer) error) (FileEntry, error) {
	tmp, err := os.CreateTemp("", "recordbot-file-*")
	if err != nil {
		return FileEntry{}, fmt.Errorf("write %s: %w", key, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(tmp, h), 64<<10)
	if err := write(bw); err != nil {
		return FileEntry{}, fmt.Errorf("write %s: %w", key, err)
	}
	if err := bw.Flush(); err != nil {
		return FileEntry{}, fmt.Errorf("write %s: %w", key, err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return FileEntry{}, fmt.Errorf("write %s: %w", key, err)
	}
	if _, err := f.store.Create(ctx, key, io.NewSectionReader(tmp, 0, size), size, opts); err != nil {
		return FileEntry{}, err
	}
	return FileEntry{Path: key, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
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

// manifest writes a BagIt manifest: "<sha256>  <path>" per line, sorted.
func manifest(entries []FileEntry) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		fmt.Fprintf(&b, "%s  %s\n", e.SHA256, EncodeBagPath(e.Path))
	}
	return b.Bytes()
}

// EncodeBagPath percent-encodes the characters RFC 8493 requires in
// manifest paths: CR, LF and %.
func EncodeBagPath(p string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(p)
}

// bagInfo writes bag-info.txt: the reserved fields of RFC 8493 and the
// record's main metadata, one "Label: value" per line.
func bagInfo(rec *Record, org string) []byte {
	var b bytes.Buffer
	var octets int64
	for _, p := range rec.Payload {
		octets += p.Size
	}
	field := func(k, v string) {
		v = oneLine(v)
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	field("Source-Organization", org)
	field("Bagging-Date", rec.FiledAt.Format(time.DateOnly))
	field("Bag-Software-Agent", Agent)
	field("Payload-Oxum", fmt.Sprintf("%d.%d", octets, len(rec.Payload)))
	field("Bag-Size", humanSize(octets))
	field("External-Identifier", rec.ID)
	field("External-Description", rec.Title)
	field("Internal-Sender-Identifier", rec.Key)
	field("Record-Title", rec.Title)
	field("Record-Description", rec.Description)
	field("Record-Class-Code", rec.Class.Code)
	field("Record-Class-Path", rec.Class.String())
	field("Security-Marking", rec.Marking)
	field("Filed-By", fmt.Sprintf("%s (%s)", rec.FiledBy.Name(), rec.FiledBy.ID))
	field("Filed-At", rec.FiledAt.Format(time.RFC3339))
	field("Captured-At", rec.CapturedAt.Format(time.RFC3339))
	field("Retention-Rule", rec.Retention.Rule)
	field("Disposal-Action", string(rec.Retention.Action))
	field("Disposal-Date", rec.Retention.DisposalDate)
	field("Source-Platform", string(rec.Source.Platform))
	field("Source-Workspace", firstNonEmpty(rec.Source.Workspace.Name, rec.Source.Workspace.ID))
	field("Source-Channel", firstNonEmpty(rec.Source.Channel.Name, rec.Source.Channel.ID))
	field("Source-Thread", rec.Source.ThreadID)
	field("Source-Permalink", rec.Source.Permalink)
	field("Source-Read-As", rec.Source.ReadAs)
	if p := rec.Provenance; p != nil {
		field("Source-Kind", p.Description)
		field("Supplied-By", fmt.Sprintf("%s (%s)", p.SuppliedBy.Name(), p.SuppliedBy.ID))
		field("Supplied-At", p.SuppliedAt.UTC().Format(time.RFC3339))
		field("Supplied-File", p.FileName)
		field("Supplied-File-SHA256", p.FileSHA256)
		for _, a := range p.Assumptions {
			field("Assumption", fmt.Sprintf("%s: %s (%s)", a.Subject, a.Value, a.Basis))
		}
	}
	field("Thread-Start", rec.ThreadStart.Format(time.RFC3339))
	field("Thread-End", rec.ThreadEnd.Format(time.RFC3339))
	field("Message-Count", fmt.Sprint(rec.Messages))
	return b.Bytes()
}

// oneLine makes a tag value a single line without control characters.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
