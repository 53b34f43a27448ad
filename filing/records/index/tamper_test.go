package index_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/filing/records/index"
	"github.com/recordbot/recordbot/internal/miniotest"
	"github.com/recordbot/recordbot/internal/storetest"
)

// On S3 a writer cannot backdate LastModified, but whoever holds the bot's
// keys can write a new version of any object. Two ways to make a planted
// transcript look filed, neither of which needs the signing key, and
// neither of which find may show (verify refuses the record):
//   - write the planted transcript, then the record's index entry again,
//     byte for byte (its signature still holds): the entry's current
//     version is then younger than the planted transcript;
//   - copy the index entry, byte for byte, to a key below index/ (a new
//     object, so its first version is the copy).
//
// The records were requested an hour before they were filed (queued), so
// that the rewrite, seconds after filing, is long after the request: the
// index takes an entry written within minutes of its request as filed.
func TestIndexRefusesTranscriptPlantedBehindARewrittenEntry(t *testing.T) {
	eachEngine(t, testPlantedBehindEntry)
}

// fileQueued files a one-message thread whose request was made at at.
func fileQueued(t *testing.T, svc *filing.Service, at time.Time, title, text string) *filing.Summary {
	t.Helper()
	ms := uint64(at.UnixMilli())
	id := fmt.Sprintf("%08x-%04x-7abc-8def-%012x", ms>>16, ms&0xffff, uint64(time.Now().UnixNano())&0xffffffffffff)
	th := &capture.Thread{
		Platform: capture.Slack, Workspace: capture.Workspace{ID: "T1", Name: "Example Council"},
		Channel: capture.Channel{ID: "C1", Name: "committee", Kind: "channel"}, ThreadID: "1",
		Permalink: "https://example.slack.com/archives/C1/p1", CapturedAt: at,
		Messages: []capture.Message{{ID: "1.000001", Author: capture.Person{ID: "U-alice", DisplayName: "alice"}, Time: at, Text: text, ReadableText: text}},
	}
	r := filing.Request{ID: id, RequestedAt: at, RequestedBy: capture.Person{ID: "U-carol", DisplayName: "carol"},
		Thread: capture.Ref{Platform: capture.Slack, WorkspaceID: "T1", ChannelID: "C1", ThreadID: "1"},
		Title:  title, ClassCode: "100-20", Marking: "OFFICIAL", Via: "test"}
	sum, err := svc.FileThread(context.Background(), r, th)
	if err != nil {
		t.Fatalf("FileThread(%q): %v", title, err)
	}
	return sum
}

func testPlantedBehindEntry(t *testing.T, dsn func(t *testing.T) string) {
	ctx := context.Background()
	st := miniotest.NewStore(t)
	svc := newService(t, st)
	hourAgo := time.Now().Add(-time.Hour)
	rewritten := fileQueued(t, svc, hourAgo, "Rewritten entry", "upsilon as filed")
	copied := fileQueued(t, svc, hourAgo, "Copied entry", "phi as filed")
	kept := fileQueued(t, svc, hourAgo, "Untouched", "omega as filed")
	time.Sleep(1100 * time.Millisecond) // S3 times are in seconds

	put := func(key string, data []byte) {
		t.Helper()
		if _, err := st.Put(ctx, key, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	entry := func(id string) []byte {
		t.Helper()
		rc, _, err := st.Open(ctx, filing.IndexPrefix+id+".json")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	put(rewritten.Key+filing.TextFile, []byte("alice: chi planted later\n"))
	put(filing.IndexPrefix+rewritten.ID+".json", entry(rewritten.ID))
	put(copied.Key+filing.TextFile, []byte("alice: psi planted later\n"))
	put(filing.IndexPrefix+"copy/"+copied.ID+".json", entry(copied.ID))

	// verify refuses both records.
	v := &records.Verifier{Store: st, Keys: filing.KeyringOf(signer), By: capture.Person{ID: "officer"}}
	results, err := v.Verify(ctx, []string{rewritten.ID, copied.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.OK() {
			t.Fatalf("verify passed record %s with a planted transcript: the test plants nothing", r.ID)
		}
	}

	ix, err := index.Open(ctx, dsn(t), st, index.Options{Keys: filing.KeyringOf(signer), SignedSince: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	res, err := ix.Sync(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 3 || len(res.Unreadable) != 1 || !strings.Contains(res.Unreadable[0], "copy/") {
		t.Errorf("Sync = %+v; want the 3 records added and the copied entry reported", res)
	}
	for _, word := range []string{"chi", "psi", "planted"} {
		if a, err := ix.Find(ctx, index.Search{Text: word}); err != nil || len(a.Hits) != 0 {
			t.Errorf("Find(%q) = %v, %v; want nothing: the transcript was planted after filing", word, ids(a), err)
		}
	}
	for word, title := range map[string]string{"upsilon": "Rewritten entry", "phi": "Copied entry", "omega": kept.Title} {
		a, err := ix.Find(ctx, index.Search{Text: word})
		if err != nil || len(a.Hits) != 1 || a.Hits[0].Title != title || !strings.Contains(a.Hits[0].Snippet, word) {
			t.Errorf("Find(%q) = %v, %v; want %q, its transcript as filed", word, ids(a), err, title)
		}
	}
}

// An object under index/ whose key sorts after every record id is
// reported, and does not stop the index from seeing records filed later
// (as the newest entry seen, every later catch-up would start after it),
// nor does status count it as a record to catch up with.
func TestIndexNotStoppedByAKeyAfterEveryID(t *testing.T) { eachEngine(t, testKeyAfterEveryID) }

func testKeyAfterEveryID(t *testing.T, dsn func(t *testing.T) string) {
	ctx := context.Background()
	st := storetest.Local(t)
	svc := newService(t, st)
	fileThread(t, svc, "Before", "100-20", []string{"alice"}, []string{"rho"})
	if _, err := st.Create(ctx, filing.IndexPrefix+"zzzz.json", strings.NewReader("{}"), 2, filing.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ix, err := index.Open(ctx, dsn(t), st, index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	res, err := ix.Sync(ctx, nil)
	if err != nil || res.Added != 1 || len(res.Unreadable) != 1 || !strings.Contains(res.Unreadable[0], "zzzz.json") {
		t.Fatalf("Sync = %+v, %v; want the record added and index/zzzz.json reported", res, err)
	}
	fileThread(t, svc, "After", "100-20", []string{"alice"}, []string{"sigma"})
	if s, err := ix.Status(ctx); err != nil || s.Behind != 1 {
		t.Errorf("Status = %+v, %v; want 1 behind: the record filed since", s, err)
	}
	if _, err := ix.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if a, err := ix.Find(ctx, index.Search{Text: "sigma"}); err != nil || len(a.Hits) != 1 || a.Status.Behind != 0 {
		t.Errorf("Find(record filed after) = %v (status %+v), %v; want it, current", ids(a), a.Status, err)
	}
}

// A local store keeps no versions, and a file's time is whatever its
// writer set: a transcript written over, its time set back to the one
// filed, is caught by the record's manifest, as verify catches it, and the
// record is reported rather than indexed with the planted words.
func TestIndexChecksTranscriptsOnAStoreWithoutVersions(t *testing.T) {
	eachEngine(t, testLocalPlanted)
}

func testLocalPlanted(t *testing.T, dsn func(t *testing.T) string) {
	ctx := context.Background()
	st := storetest.Local(t)
	svc := newService(t, st)
	altered := fileThread(t, svc, "Altered", "100-20", []string{"alice"}, []string{"kappa as filed"})
	fileThread(t, svc, "Untouched", "100-20", []string{"alice"}, []string{"lambda as filed"})
	p := filepath.Join(st.Root(), filepath.FromSlash(altered.Key+filing.TextFile))
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("alice: mu planted later\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	v := &records.Verifier{Store: st, Keys: filing.KeyringOf(signer), By: capture.Person{ID: "officer"}}
	if results, err := v.Verify(ctx, []string{altered.ID}); err != nil || len(results) != 1 || results[0].OK() {
		t.Fatalf("Verify = %+v, %v; want the altered record refused: the test plants nothing", results, err)
	}

	ix, err := index.Open(ctx, dsn(t), st, index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	res, err := ix.Sync(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 1 || len(res.Unreadable) != 1 || !strings.Contains(res.Unreadable[0], "manifest") {
		t.Errorf("Sync = %+v; want the untouched record added and the altered one reported", res)
	}
	if a, err := ix.Find(ctx, index.Search{Text: "mu"}); err != nil || len(a.Hits) != 0 {
		t.Errorf("Find(planted word) = %v, %v; want nothing", ids(a), err)
	}
	if a, err := ix.Find(ctx, index.Search{Text: "lambda"}); err != nil || len(a.Hits) != 1 {
		t.Errorf("Find(untouched record) = %v, %v; want it", ids(a), err)
	}
}

// A transcript longer than the index keeps is checked whole: it is read to
// its end for the sum, and indexed in part.
func TestIndexChecksALongTranscriptWhole(t *testing.T) {
	ctx := context.Background()
	st := storetest.Local(t)
	svc := newService(t, st)
	line := strings.Repeat("nu ", 40) + "\n"
	var texts []string
	for i := 0; i < 40; i++ {
		texts = append(texts, strings.Repeat(line, 1000)) // ~120 KiB a message, ~4.8 MiB in all
	}
	texts = append(texts, "xi at the end")
	fileThread(t, svc, "Long", "100-20", []string{"alice"}, texts)
	ix, err := index.Open(ctx, filepath.Join(t.TempDir(), "ix.sqlite"), st, index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	res, err := ix.Sync(ctx, nil)
	if err != nil || res.Added != 1 || len(res.Unreadable) != 0 {
		t.Fatalf("Sync = %+v, %v; want the long record added", res, err)
	}
	a, err := ix.Find(ctx, index.Search{Text: "nu"})
	if err != nil || len(a.Hits) != 1 || !a.Hits[0].Partial {
		t.Errorf("Find(nu) = %+v, %v; want the long record, searched in part", a.Hits, err)
	}
}
