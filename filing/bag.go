package filing

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/recordbot/recordbot/capture"
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
// attempt left unfinished. The thread's messages are gone through a few
// times (see snapshot.go), never held.
func (f *filer) file(ctx context.Context, fl *filing, src fetch) (*Record, string, error) {
	// 1. The snapshot: the stored one if an earlier attempt wrote it.
	snap, err := f.snapshot(ctx, fl, src.thread)
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
	if snap.entry != nil {
		e = *snap.entry
	} else if e, err = f.hashStored(ctx, fl.key+ThreadFile); err != nil {
		return nil, "", err
	}
	payload = append(payload, e.withType("application/json"))
	// The transcripts are written to temporary files and sent from
	// there, never built whole in memory: a chat of 40,000 messages
	// makes transcripts of tens of megabytes each. The HTML and the text
	// are rendered in one pass over the messages; the PDF shows the
	// first of them (pdfHead).
	view := withMissing(snap.thread, missing)
	es, err := f.putTemps(ctx, []string{fl.key + HTMLFile, fl.key + TextFile},
		[]WriteOptions{fl.with("text/html; charset=utf-8"), fl.with("text/plain; charset=utf-8")},
		func(ws []io.Writer) error {
			return renderTranscripts(ctx, view, &htmlTranscript{ws[0], rec, f.tz}, newTextTranscript(ws[1], rec, f.tz))
		})
	if err != nil {
		return nil, "", err
	}
	payload = append(payload, es[0].withType("text/html"), es[1].withType("text/plain"))
	head, err := pdfHead(ctx, view)
	if err != nil {
		return nil, "", err
	}
	if e, err = f.putTemp(ctx, fl.key+PDFFile, fl.with("application/pdf"), func(w io.Writer) error {
		return renderPDF(ctx, w, rec, head, f.tz, f.loadImage(fl))
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

// record builds the record's metadata (without payload fixity).
func (f *filer) record(fl *filing, s *snap) *Record {
	req, c, t := fl.req, fl.class, s.thread
	first, last := s.survey.Span()
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
		ThreadStart: first.UTC(), ThreadEnd: last.UTC(), Participants: s.survey.Participants(),
		Source:    Source{Platform: t.Platform, Workspace: t.Workspace, Channel: t.Channel, ThreadID: t.ThreadID, Permalink: t.Permalink, ReadAs: t.ReadAs},
		Retention: ret, Marking: req.Marking, Messages: t.Len(), Provenance: t.Provenance.Counts(),
		Events: []Event{{ID: req.ID, Type: "filed", At: fl.filed, By: req.RequestedBy, RecordID: req.ID, Key: fl.key,
			ClassCode: c.Code, RequestID: req.ID, Source: req.Via, Agent: Agent}},
		Related:     req.Related,
		unavailable: s.survey.Unavailable(),
	}
}

func (e FileEntry) withType(ct string) FileEntry { e.MIMEType = ct; return e }

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
