package records_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/filing/s3"
	"github.com/recordbot/recordbot/internal/bagcheck"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// overwrite puts a new version over key on S3, as any writer to the
// bucket can, whatever the Object Lock: a plain PUT, no bypass.
func overwrite(t *testing.T, st *s3.Store, key string, data []byte) {
	t.Helper()
	_, err := miniotest.Client(t).PutObject(context.Background(), st.Bucket(), key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("overwrite %s: %v", key, err)
	}
}

// hide puts a delete marker on key: a DELETE without a version id, which
// Object Lock allows.
func hide(t *testing.T, st *s3.Store, key string) {
	t.Helper()
	if err := miniotest.Client(t).RemoveObject(context.Background(), st.Bucket(), key, minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("delete %s: %v", key, err)
	}
}

// erase removes every version of every object under prefix, as only an
// administrator can (governance bypass) on S3; on the local store it
// removes the files.
func erase(t *testing.T, st filing.Store, prefix string) {
	t.Helper()
	ctx := context.Background()
	switch s := st.(type) {
	case *local.Store:
		p := s.Where(prefix)
		filepath.WalkDir(p, func(p string, d os.DirEntry, err error) error { os.Chmod(p, 0o755); return nil })
		if strings.HasSuffix(prefix, "/") {
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
		} else if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	case *s3.Store:
		cl := miniotest.Client(t)
		for oi := range cl.ListObjects(ctx, s.Bucket(), minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}) {
			if oi.Err != nil {
				t.Fatal(oi.Err)
			}
			err := cl.RemoveObject(ctx, s.Bucket(), oi.Key, minio.RemoveObjectOptions{VersionID: oi.VersionID, GovernanceBypass: true})
			if err != nil {
				t.Fatalf("remove %s version %s: %v", oi.Key, oi.VersionID, err)
			}
		}
	}
}

// problems returns r's problems as "kind path".
func problems(r records.Result) []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, p.Kind+" "+p.Path)
	}
	return out
}

// resultOf returns the result for id in res, failing t if there is none.
func resultOf(t *testing.T, res []records.Result, id string) records.Result {
	t.Helper()
	for _, r := range res {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no result for record %s in %+v", id, res)
	return records.Result{}
}

// replaceLine replaces the manifest line ending in "  path" with one for sum.
func replaceLine(manifest []byte, path, sum string) []byte {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(manifest)), "\n") {
		if strings.HasSuffix(l, " "+path) {
			l = sum + "  " + path
		}
		lines = append(lines, l)
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// A forgery that rewrites the transcript, both manifests and the filing
// event, each as a new version on top (all an ordinary writer can do under
// Object Lock), is consistent as it now reads; verify must still report it,
// because it reads the versions filed and reports every later one.
func TestVerifyForgedRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := miniotest.NewStore(t)
	svc := service(t, st, nil)
	s := file(t, svc, spec{title: "Roads budget", texts: []string{"Option B was agreed."}})
	other := file(t, svc, spec{title: "Other business"})

	forged := bytes.Replace(read(t, st, s.Key+filing.TextFile), []byte("Option B"), []byte("Option A"), 1)
	overwrite(t, st, s.Key+filing.TextFile, forged)
	man := replaceLine(read(t, st, s.Key+filing.ManifestFile), filing.TextFile, sum(forged))
	overwrite(t, st, s.Key+filing.ManifestFile, man)
	tag := replaceLine(read(t, st, s.Key+filing.TagManifestFile), filing.ManifestFile, sum(man))
	overwrite(t, st, s.Key+filing.TagManifestFile, tag)
	evKey := filing.EventKey(filing.Event{ID: s.ID, Type: "filed"}, s.FiledAt)
	var ev filing.Event
	if err := json.Unmarshal(read(t, st, evKey), &ev); err != nil {
		t.Fatal(err)
	}
	ev.TagManifestSHA256 = sum(tag)
	evJSON, _ := json.Marshal(ev)
	overwrite(t, st, evKey, evJSON)

	// The forgery is a valid bag as it now reads.
	if _, err := bagcheck.Check(ctx, st, s.Key); err != nil {
		t.Fatalf("bagcheck.Check(forged bag) = %v, want a valid bag (the forgery is self-consistent)", err)
	}

	want := []string{"tampered " + evKey, "tampered " + filing.TextFile, "tampered " + filing.ManifestFile, "tampered " + filing.TagManifestFile}
	slices.Sort(want)
	v := &records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}
	for _, all := range []bool{false, true} {
		var res []records.Result
		var err error
		if all {
			res, err = v.VerifyAll(ctx)
		} else {
			res, err = v.Verify(ctx, []string{s.ID, other.ID})
		}
		if err != nil {
			t.Fatalf("Verify(all=%v): %v", all, err)
		}
		r := resultOf(t, res, s.ID)
		got := problems(r)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("Verify(all=%v) of the forged record: problems = %q, want %q", all, got, want)
		}
		for _, p := range r.Problems {
			if len(p.Later) != 1 || p.Later[0].ID == "" || p.Later[0].DeleteMarker || !p.Later[0].Latest ||
				!strings.Contains(p.Detail, p.Later[0].ID) {
				t.Errorf("problem %s: later versions %+v, detail %q; want the one new version, by id", p.Path, p.Later, p.Detail)
			}
		}
		if o := resultOf(t, res, other.ID); !o.OK() {
			t.Errorf("Verify(all=%v) of the untouched record: problems %q, want none", all, problems(o))
		}
	}
	if evs := events(t, st, s.ID, "fixity-check"); len(evs) != 2 || evs[0].Outcome != "fail" || evs[1].Outcome != "fail" {
		t.Errorf("fixity-check events = %+v, want two failed", evs)
	}
	// find searches the transcript as filed, not the forgery.
	for text, want := range map[string]int{"option b was agreed": 1, "option a was agreed": 0} {
		hits, _, err := records.Find(ctx, st, text, records.Filter{})
		if err != nil || len(hits) != want {
			t.Errorf("Find(%q) after the forgery = %d hits, %v; want %d", text, len(hits), err, want)
		}
	}
	// show reads the record as filed, and says what was written over it.
	d, err := records.Show(ctx, st, s.ID)
	if err != nil {
		t.Fatalf("Show: %v", err)
	}
	later := 0
	for _, o := range d.Objects {
		later += len(o.Later)
	}
	if later != 3 {
		t.Errorf("Show: %d later versions over the record's objects, want 3 (transcript and both manifests)", later)
	}
}

// A delete marker on the index entry (a plain DELETE, which Object Lock
// allows) must not hide a record: verify --all reports it, and ls, show,
// due and find still see the record as filed.
func TestVerifyHiddenIndexEntry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := miniotest.NewStore(t)
	svc := service(t, st, nil)
	s := file(t, svc, spec{title: "Tender scores", texts: []string{"Supplier C scored highest."}})
	file(t, svc, spec{title: "Other business"})
	idxKey := filing.IndexPrefix + s.ID + ".json"
	hide(t, st, idxKey)
	// A rewritten entry must not move the record either.
	other := file(t, svc, spec{title: "Roads budget"})
	e := read(t, st, filing.IndexPrefix+other.ID+".json")
	overwrite(t, st, filing.IndexPrefix+other.ID+".json", bytes.Replace(e, []byte("Roads budget"), []byte("Nothing here"), 1))

	res, err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}).VerifyAll(ctx)
	if err != nil {
		t.Fatalf("VerifyAll: %v", err)
	}
	if len(res) != 3 {
		t.Errorf("VerifyAll checked %d records, want 3", len(res))
	}
	r := resultOf(t, res, s.ID)
	if got := problems(r); !slices.Equal(got, []string{"tampered " + idxKey}) || !strings.Contains(r.Problems[0].Detail, "deleted") ||
		!r.Problems[0].Later[0].DeleteMarker {
		t.Errorf("VerifyAll of the record with a hidden index entry: %+v, want one tampered problem on %s saying it was deleted", r.Problems, idxKey)
	}
	if got := problems(resultOf(t, res, other.ID)); !slices.Equal(got, []string{"tampered " + filing.IndexPrefix + other.ID + ".json"}) {
		t.Errorf("VerifyAll of the record with a rewritten index entry: problems %q", got)
	}

	es, err := records.List(ctx, st, records.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, e := range es {
		titles = append(titles, e.Title)
	}
	if !slices.Contains(titles, "Tender scores") || !slices.Contains(titles, "Roads budget") || slices.Contains(titles, "Nothing here") {
		t.Errorf("List titles = %q, want the hidden and the rewritten record as filed", titles)
	}
	if d, err := records.Show(ctx, st, s.ID); err != nil || d.Record.ID != s.ID {
		t.Errorf("Show(hidden) = %v, %v; want the record", d, err)
	}
	hits, _, err := records.Find(ctx, st, "supplier c", records.Filter{})
	if err != nil || len(hits) != 1 || hits[0].ID != s.ID {
		t.Errorf("Find(supplier c) = %+v, %v; want the hidden record", hits, err)
	}
}

// A record whose index entry is gone altogether (never written: a crash;
// or removed by an administrator) is found by walking records/.
func TestVerifyUnindexedRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := service(t, st, nil)
			s := file(t, svc, spec{title: "Recruitment panel"})
			file(t, svc, spec{title: "Other business"})
			idxKey := filing.IndexPrefix + s.ID + ".json"
			erase(t, st, idxKey)
			want := []string{"missing " + idxKey}
			v := &records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}
			res, err := v.VerifyAll(ctx)
			if err != nil {
				t.Fatalf("VerifyAll: %v", err)
			}
			if len(res) != 2 {
				t.Errorf("VerifyAll checked %d records, want 2", len(res))
			}
			if got := problems(resultOf(t, res, s.ID)); !slices.Equal(got, want) {
				t.Errorf("VerifyAll of the unindexed record: problems %q, want %q", got, want)
			}
			res, err = v.Verify(ctx, []string{s.ID})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got := problems(resultOf(t, res, s.ID)); !slices.Equal(got, want) {
				t.Errorf("Verify(unindexed id): problems %q, want %q", got, want)
			}
			d, err := records.Show(ctx, st, s.ID)
			if err != nil || !d.Unindexed || d.Record.Title != "Recruitment panel" {
				t.Errorf("Show(unindexed) = %+v, %v; want the record, marked unindexed", d, err)
			}
		})
	}
}

// An index entry whose record folder is gone, and an object under records/
// that belongs to no record, are reported too.
func TestVerifyOrphans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := service(t, st, nil)
			s := file(t, svc, spec{title: "Committee terms"})
			other := file(t, svc, spec{title: "Other business"})
			erase(t, st, s.Key)
			stray := filing.RecordsPrefix + "100_Administration/notes.txt"
			// 0-early.txt is listed before any object that names the
			// package (bag-info.txt, bagit.txt, data/...).
			for _, k := range []string{stray, other.Key + "notes.txt", other.Key + "0-early.txt"} {
				if _, err := st.Create(ctx, k, strings.NewReader("x"), 1, filing.WriteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			res, err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}).VerifyAll(ctx)
			if err != nil {
				t.Fatalf("VerifyAll: %v", err)
			}
			if len(res) != 3 {
				t.Errorf("VerifyAll gave %d results, want 3", len(res))
			}
			if got := problems(resultOf(t, res, s.ID)); !slices.Equal(got, []string{"missing " + s.Key}) {
				t.Errorf("VerifyAll of an index entry without its folder: problems %q, want %q", got, "missing "+s.Key)
			}
			if got, want := problems(resultOf(t, res, other.ID)), []string{"extra 0-early.txt", "extra notes.txt"}; !slices.Equal(got, want) {
				t.Errorf("VerifyAll of a record with objects beside its tag files: problems %q, want %q", got, want)
			}
			if got := problems(resultOf(t, res, "")); !slices.Equal(got, []string{"extra " + stray}) {
				t.Errorf("VerifyAll of a stray object: problems %q, want %q", got, "extra "+stray)
			}
		})
	}
}

// The index entry and the audit events are written once and locked, like
// the record: what verify anchors on cannot be removed by a writer.
func TestIndexAndAuditLocked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := miniotest.NewStore(t)
	s := file(t, service(t, st, nil), spec{title: "Budget"})
	res, err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}).Verify(ctx, []string{s.ID})
	if err != nil || !res[0].OK() || len(res[0].Notes) != 0 {
		t.Fatalf("Verify = %+v, %v; want a pass without notes", res, err)
	}
	tagInfo, err := st.Stat(ctx, s.Key+filing.TagManifestFile)
	if err != nil {
		t.Fatal(err)
	}
	cl := miniotest.Client(t)
	for _, key := range []string{
		filing.IndexPrefix + s.ID + ".json",
		filing.EventKey(filing.Event{ID: s.ID, Type: "filed"}, s.FiledAt),
		res[0].Event,
	} {
		info, err := st.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if info.RetainUntil.Before(tagInfo.RetainUntil) {
			t.Errorf("Stat(%s).RetainUntil = %v, want the record's %v", key, info.RetainUntil, tagInfo.RetainUntil)
		}
		h, err := filing.HistoryOf(ctx, st, key)
		if err != nil {
			t.Fatal(err)
		}
		err = cl.RemoveObject(ctx, st.Bucket(), key, minio.RemoveObjectOptions{VersionID: h.First.ID})
		if err == nil {
			t.Errorf("removing the first version of %s without bypass succeeded, want it refused", key)
		}
	}
}

func TestLimitation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		got, err := records.Limitation(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if want := name == "local"; (got != "") != want {
			t.Errorf("Limitation(%s) = %q, want a limitation: %v", name, got, want)
		}
	}
}

// A record whose filing event or tag manifest has no Object Lock (filed by
// an older recordbot) passes, with a note that this anchor is not locked.
// verify learns the lock from the GET that reads the object, so this also
// shows that the GET's answer carries it.
func TestVerifyNotesUnlockedAnchor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := miniotest.NewStore(t)
	svc := service(t, st, nil)
	for _, c := range []struct {
		anchor string
		key    func(*filing.Summary) string
	}{
		{"the filing event", func(s *filing.Summary) string {
			return filing.EventKey(filing.Event{ID: s.ID, Type: "filed"}, s.FiledAt)
		}},
		{"the tag manifest", func(s *filing.Summary) string { return s.Key + filing.TagManifestFile }},
	} {
		s := file(t, svc, spec{title: "Budget"})
		key := c.key(s)
		data := read(t, st, key)
		erase(t, st, key)
		overwrite(t, st, key, data) // the first version again, without retention
		res, err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}).Verify(ctx, []string{s.ID})
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].OK() || len(res[0].Notes) != 1 || !strings.HasPrefix(res[0].Notes[0], c.anchor) ||
			!strings.Contains(res[0].Notes[0], "no Object Lock retention") {
			t.Errorf("Verify with %s unlocked = problems %q, notes %q; want a pass with one note on it",
				c.anchor, problems(res[0]), res[0].Notes)
		}
	}
}
