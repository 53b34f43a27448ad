package index_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/filing/records/index"
	"github.com/recordbot/recordbot/internal/miniotest"
	"github.com/recordbot/recordbot/internal/storetest"
)

var signer = func() *filing.Signer {
	s, err := filing.DeriveSigner([]byte("index test deployment secret!!!!"))
	if err != nil {
		panic(err)
	}
	return s
}()

// fileThread files a Slack thread of texts, by the people in turn, into st.
func fileThread(t testing.TB, svc *filing.Service, title, class string, people, texts []string) *filing.Summary {
	t.Helper()
	t0 := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	th := &capture.Thread{
		Platform: capture.Slack, Workspace: capture.Workspace{ID: "T1", Name: "Example Council"},
		Channel: capture.Channel{ID: "C1", Name: "committee", Kind: "channel"}, ThreadID: "1",
		Permalink: "https://example.slack.com/archives/C1/p1", CapturedAt: t0.Add(time.Hour),
	}
	for i, text := range texts {
		who := people[i%len(people)]
		th.Messages = append(th.Messages, capture.Message{ID: fmt.Sprintf("%d.%06d", t0.Unix(), i), Position: i,
			Author: capture.Person{ID: "U-" + who, DisplayName: who}, Time: t0.Add(time.Duration(i) * time.Minute), Text: text, ReadableText: text})
	}
	r := filing.Request{RequestedBy: capture.Person{ID: "U-carol", DisplayName: "carol"},
		Thread: capture.Ref{Platform: capture.Slack, WorkspaceID: "T1", ChannelID: "C1", ThreadID: "1"},
		Title:  title, ClassCode: class, Marking: "OFFICIAL", Via: "test"}
	sum, err := svc.FileThread(context.Background(), r, th)
	if err != nil {
		t.Fatalf("FileThread(%q): %v", title, err)
	}
	return sum
}

func newService(t testing.TB, st filing.Store) *filing.Service {
	svc, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan(), Organisation: "Example Council", Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func ids(a index.Answer) []string {
	var out []string
	for _, h := range a.Hits {
		out = append(out, h.Title)
	}
	slices.Sort(out)
	return out
}

func TestFindThroughTheIndex(t *testing.T) { eachEngine(t, testFind) }

func testFind(t *testing.T, dsn func(t *testing.T) string) {
	ctx := context.Background()
	st := storetest.Local(t)
	svc := newService(t, st)
	fileThread(t, svc, "Roads budget 2027", "100-20", []string{"alice", "Chloé Dupont"}, []string{
		"We should pick option B for the budget options.", "Call me on +44 7700 900123 about it.", "Agreed."})
	fileThread(t, svc, "会议记录", "200-20-01", []string{"李雷"}, []string{"明天的会议取消了", "Options later"})
	fileThread(t, svc, "Bridge repairs", "100-20", []string{"bob"}, []string{"Options for the bridge", "Budget is fine"})

	ix, err := index.Open(ctx, dsn(t), st, index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if s, err := ix.Status(ctx); err != nil || s.Behind != 3 || !s.SyncedAt.IsZero() {
		t.Fatalf("Status before sync = %+v, %v; want 3 behind, never synced", s, err)
	}
	res, err := ix.Sync(ctx, nil)
	if err != nil || res.Added != 3 {
		t.Fatalf("Sync = %+v, %v; want 3 added", res, err)
	}
	for _, c := range []struct {
		s    index.Search
		want []string
	}{
		{index.Search{Text: "budget"}, []string{"Bridge repairs", "Roads budget 2027"}},
		{index.Search{Text: "BUDG"}, []string{"Bridge repairs", "Roads budget 2027"}},
		{index.Search{Text: `"budget options"`}, []string{"Roads budget 2027"}},
		{index.Search{Text: `"options budget"`}, nil},
		{index.Search{Text: "chloe"}, []string{"Roads budget 2027"}},
		{index.Search{Text: "ＣＨＬＯＥ"}, []string{"Roads budget 2027"}},
		{index.Search{Text: "会议"}, []string{"会议记录"}},
		{index.Search{Text: "07700 900123"}, []string{"Roads budget 2027"}},
		{index.Search{Text: "+447700900123"}, []string{"Roads budget 2027"}},
		{index.Search{Text: "07700 900124"}, nil},
		{index.Search{Text: "options", Class: "200"}, []string{"会议记录"}},
		{index.Search{Text: "options", Person: "bob"}, []string{"Bridge repairs"}},
		{index.Search{Text: "options", Platform: "mattermost"}, nil},
		{index.Search{Text: "options", To: time.Now().AddDate(0, 0, -1)}, nil},
		{index.Search{Text: "options", From: time.Now()}, []string{"Bridge repairs", "Roads budget 2027", "会议记录"}},
		{index.Search{Text: `roads* ^ ( - : {meta} NEAR`}, nil},
		{index.Search{Text: `roads* ^ ( - : {`}, []string{"Roads budget 2027"}},
	} {
		a, err := ix.Find(ctx, c.s)
		if err != nil {
			t.Errorf("Find(%+v) = %v", c.s, err)
			continue
		}
		if got := ids(a); !slices.Equal(got, c.want) {
			t.Errorf("Find(%+v) = %q, want %q", c.s, got, c.want)
		}
	}
	a, err := ix.Find(ctx, index.Search{Text: "budget"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Hits[0].Title != "Roads budget 2027" || !slices.Contains(a.Hits[0].Matched, "title") {
		t.Errorf("Find(budget) first = %q %v, want the record titled so, first", a.Hits[0].Title, a.Hits[0].Matched)
	}
	if a.Hits[1].Snippet != "bob: Budget is fine" && !strings.Contains(a.Hits[1].Snippet, "Budget is fine") {
		t.Errorf("Find(budget) snippet = %q, want the line", a.Hits[1].Snippet)
	}
	if _, err := ix.Find(ctx, index.Search{Text: `" - "`}); err == nil {
		t.Errorf("Find of nothing = nil error, want one")
	}
}

func TestIndexCatchesUp(t *testing.T) { eachEngine(t, testCatchUp) }

func testCatchUp(t *testing.T, dsn func(t *testing.T) string) {
	ctx := context.Background()
	st := miniotest.NewStore(t) // legal holds need Object Lock
	svc := newService(t, st)
	fileThread(t, svc, "First", "100-20", []string{"alice"}, []string{"alpha"})
	path := dsn(t)
	ix, err := index.Open(ctx, path, st, index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	ix.Close()

	// Filed, and held, while the index was not running.
	second := fileThread(t, svc, "Second", "100-20", []string{"alice"}, []string{"beta"})
	if _, err := records.Hold(ctx, st, signer, second.ID, true, "FOI 2026/17", capture.Person{ID: "officer"}); err != nil {
		t.Fatal(err)
	}
	// An entry written late: its id is older than any the index has seen.
	late := plantLateEntry(t, st, time.Now().Add(-48*time.Hour))

	ix, err = index.Open(ctx, path, st, index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	a, err := ix.Find(ctx, index.Search{Text: "beta"})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Hits) != 0 || a.Status.Behind != 1 || !strings.Contains(a.Status.String(), "behind") {
		t.Errorf("Find before catching up = %d hits, status %+v (%s); want none, 1 behind (the late entry sorts before), said", len(a.Hits), a.Status, a.Status)
	}
	res, err := ix.Sync(ctx, nil)
	if err != nil || res.Added != 2 {
		t.Fatalf("Sync = %+v, %v; want the second and the late one added", res, err)
	}
	a, err = ix.Find(ctx, index.Search{Text: "beta"})
	if err != nil || len(a.Hits) != 1 || a.Hits[0].State != index.Held || a.Status.Behind != 0 {
		t.Fatalf("Find after catching up = %+v, %v; want the second, held, current", a, err)
	}
	a, err = ix.Find(ctx, index.Search{Text: "planted"})
	if err != nil || len(a.Hits) != 1 || a.Hits[0].ID != late {
		t.Errorf("Find(late entry) = %+v, %v; want it found", a, err)
	}
	if _, err := records.Hold(ctx, st, signer, second.ID, false, "done", capture.Person{ID: "officer"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if a, err = ix.Find(ctx, index.Search{Text: "beta"}); err != nil || len(a.Hits) != 1 || a.Hits[0].State != "" {
		t.Errorf("Find after the hold was lifted = %+v, %v; want not held", a, err)
	}

	// A version written over a filed transcript is not what the record
	// says: the index reads the transcript as filed.
	third := fileThread(t, svc, "Third", "100-20", []string{"alice"}, []string{"gamma as filed"})
	time.Sleep(1100 * time.Millisecond) // S3 times are in seconds
	planted := "alice: delta planted later\n"
	if _, err := st.Put(ctx, third.Key+filing.TextFile, strings.NewReader(planted), int64(len(planted)), filing.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if a, err := ix.Find(ctx, index.Search{Text: "delta"}); err != nil || len(a.Hits) != 0 {
		t.Errorf("Find(planted text) = %+v, %v; want nothing", a.Hits, err)
	}
	if a, err := ix.Find(ctx, index.Search{Text: "gamma"}); err != nil || len(a.Hits) != 1 {
		t.Errorf("Find(text as filed) = %+v, %v; want the third record", a.Hits, err)
	}

	// An index is of one store.
	other := miniotest.NewStore(t)
	if _, err := index.Open(ctx, path, other, index.Options{}); err == nil || !strings.Contains(err.Error(), "not") {
		t.Errorf("Open(index of another store) = %v, want refused", err)
	}
}

// plantLateEntry writes an index entry whose id was made at t, as a record
// filed long after it was requested has, with no record behind it.
func plantLateEntry(t *testing.T, st filing.Store, at time.Time) string {
	t.Helper()
	ms := uint64(at.UnixMilli())
	id := fmt.Sprintf("%08x-%04x-7abc-8def-0123456789ab", ms>>16, ms&0xffff)
	e := filing.IndexEntry{ID: id, Key: "records/100_Administration/2026/2026-12-04_late_" + filing.ShortID(id) + "/", Title: "Late planted entry", FiledAt: at, ClassCode: "100-20"}
	data, _ := json.Marshal(e)
	if _, err := st.Create(context.Background(), filing.IndexPrefix+id+".json", bytes.NewReader(data), int64(len(data)), filing.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return id
}

// A record destroyed while the index was not running is shown destroyed
// after the next catch-up, its transcript's words gone; a record removed
// from the store outside recordbot (no destruction in the audit trail) is
// one Compare reports.
func TestIndexSeesDestruction(t *testing.T) { eachEngine(t, testDestruction) }

func testDestruction(t *testing.T, dsn func(t *testing.T) string) {
	ctx := context.Background()
	st := storetest.Local(t)
	svc := newService(t, st)
	old := fileThread(t, svc, "Old correspondence", "100-01", []string{"alice"}, []string{"epsilon minutes"})
	gone := fileThread(t, svc, "Vanished thread", "100-20", []string{"alice"}, []string{"zeta minutes"})
	kept := fileThread(t, svc, "Kept thread", "100-20", []string{"alice"}, []string{"eta minutes"})
	ix, err := index.Open(ctx, dsn(t), st, index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if _, err := ix.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	later := time.Now().AddDate(8, 0, 0)
	rep, err := records.Destroy(ctx, st, records.Disposal{Authority: "DA 2027/03", ApprovedBy: "Head of IG",
		By: capture.Person{ID: "officer"}, Clock: clockwork.NewFakeClockAt(later), Signer: signer, Keys: filing.KeyringOf(signer)}, []string{old.ID})
	if err != nil || len(rep.Records) != 1 || rep.Records[0].Outcome != records.Destroyed {
		t.Fatalf("Destroy = %+v, %v", rep, err)
	}
	// A planted destruction event of a record that stands hides nothing.
	planted := filing.AuditPrefix + time.Now().UTC().Format("2006/01/02") + "/01a24c69-0000-7000-8000-00000000abcd_destroyed_" + kept.ID + ".json"
	if _, err := st.Create(ctx, planted, strings.NewReader("{}"), 2, filing.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Removed by hand: its index entry and package, no event.
	root := st.Root()
	if err := os.Remove(filepath.Join(root, filing.IndexPrefix+gone.ID+".json")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, filepath.FromSlash(gone.Key))); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	a, err := ix.Find(ctx, index.Search{Text: "correspondence"})
	if err != nil || len(a.Hits) != 1 || a.Hits[0].State != index.Destroyed {
		t.Fatalf("Find(destroyed record's title) = %+v, %v; want it, destroyed", a.Hits, err)
	}
	if a, err := ix.Find(ctx, index.Search{Text: "epsilon"}); err != nil || len(a.Hits) != 0 {
		t.Errorf("Find(destroyed record's transcript) = %+v, %v; want nothing: the transcript is gone", a.Hits, err)
	}
	if a, err := ix.Find(ctx, index.Search{Text: "eta"}); err != nil || len(a.Hits) != 1 || a.Hits[0].State != "" {
		t.Errorf("Find(kept record, planted destruction) = %+v, %v; want it found, not destroyed", a.Hits, err)
	}
	missing, orphans, err := ix.Compare(ctx, []string{kept.ID})
	if err != nil || len(missing) != 0 || !slices.Equal(orphans, []string{gone.ID}) {
		t.Errorf("Compare = missing %v, orphans %v, %v; want only the vanished record", missing, orphans, err)
	}
	missing, _, err = ix.Compare(ctx, []string{kept.ID, "01a24c69-0000-7000-8000-000000000000"})
	if err != nil || !slices.Equal(missing, []string{"01a24c69-0000-7000-8000-000000000000"}) {
		t.Errorf("Compare(unindexed record) = %v, %v; want it missing", missing, err)
	}
}

// Entries the filing service did not write are not indexed, and the
// catch-up names them: one naming another record's folder, one signed by
// another key, and an unsigned one of a record made after signing began.
func TestIndexRefusesPlantedEntries(t *testing.T) { eachEngine(t, testPlanted) }

func testPlanted(t *testing.T, dsn func(t *testing.T) string) {
	ctx := context.Background()
	st := storetest.Local(t)
	svc := newService(t, st)
	real := fileThread(t, svc, "Real record", "100-20", []string{"alice"}, []string{"omicron"})
	other, err := filing.DeriveSigner([]byte("another deployment's secret key!"))
	if err != nil {
		t.Fatal(err)
	}
	plant := func(e filing.IndexEntry, s *filing.Signer) {
		if s != nil {
			if err := s.Sign(filing.KindIndex, &e, &e.Signature); err != nil {
				t.Fatal(err)
			}
		}
		data, _ := json.Marshal(e)
		if _, err := st.Create(ctx, filing.IndexPrefix+e.ID+".json", bytes.NewReader(data), int64(len(data)), filing.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	newID := func() string {
		ms := uint64(time.Now().UnixMilli())
		return fmt.Sprintf("%08x-%04x-7abc-8def-%012x", ms>>16, ms&0xffff, time.Now().UnixNano()&0xffffffffffff)
	}
	folder := func(id string) string {
		return "records/100_Administration/2026/2026-12-06_x_" + filing.ShortID(id) + "/"
	}
	a := newID()
	plant(filing.IndexEntry{ID: a, Key: real.Key, Title: "Planted over the real one", ClassCode: "100-20"}, signer)
	b := newID()
	plant(filing.IndexEntry{ID: b, Key: folder(b), Title: "Signed by another key", ClassCode: "100-20"}, other)
	c := newID()
	plant(filing.IndexEntry{ID: c, Key: folder(c), Title: "Not signed", ClassCode: "100-20"}, nil)

	ix, err := index.Open(ctx, dsn(t), st, index.Options{Keys: filing.KeyringOf(signer), SignedSince: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	res, err := ix.Sync(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 1 || len(res.Unreadable) != 3 {
		t.Fatalf("Sync = %+v; want the real record added and the three planted entries reported", res)
	}
	for _, word := range []string{"planted", "another", "signed"} {
		if got, err := ix.Find(ctx, index.Search{Text: word}); err != nil || len(got.Hits) != 0 {
			t.Errorf("Find(%q) = %+v, %v; want nothing of the planted entries", word, got.Hits, err)
		}
	}
	if got, err := ix.Find(ctx, index.Search{Text: "omicron"}); err != nil || len(got.Hits) != 1 || got.Hits[0].Title != "Real record" {
		t.Errorf("Find(omicron) = %+v, %v; want the real record as filed", got.Hits, err)
	}
}
