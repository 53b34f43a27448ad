package filing_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/internal/bagcheck"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// testThread builds a thread of n messages, with files of the given sizes
// attached to the first messages; file contents are deterministic.
func testThread(n int, fileSizes ...int64) *capture.Thread {
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	t := &capture.Thread{
		Platform:  capture.Slack,
		Workspace: capture.Workspace{ID: "T1", Name: "Example Council"},
		Channel:   capture.Channel{ID: "C1", Name: "roads-budget", Kind: "channel"},
		ThreadID:  "1762074000.000100", Permalink: "https://example.slack.com/archives/C1/p1762074000000100",
		CapturedAt: base.Add(24 * time.Hour),
	}
	people := []capture.Person{{ID: "U1", DisplayName: "alice", RealName: "Alice Smith"}, {ID: "U2", DisplayName: "bob", RealName: "Bob Jones"}}
	for i := range n {
		m := capture.Message{
			ID: fmt.Sprintf("m%05d", i), Position: i, Author: people[i%2], Time: base.Add(time.Duration(i) * time.Minute),
			Text: fmt.Sprintf("message %d <@U2> <script>alert(1)</script>", i), ReadableText: fmt.Sprintf("message %d @bob <script>alert(1)</script>", i),
		}
		if i == 1 {
			m.Edited = &capture.Edit{At: m.Time.Add(time.Minute)}
			m.Reactions = []capture.Reaction{{Emoji: "thumbsup", Count: 1, Users: []capture.Person{{ID: "U3", DisplayName: "carol"}}}}
		}
		t.Messages = append(t.Messages, m)
	}
	for i, size := range fileSizes {
		m := &t.Messages[i%n]
		size := size
		seed := byte(i)
		m.Files = append(m.Files, capture.File{
			ID: fmt.Sprintf("F%03d", i), Name: fmt.Sprintf("attachment %d.bin", i), MIMEType: "application/octet-stream", Size: size,
			Open: func(ctx context.Context) (io.ReadCloser, error) { return io.NopCloser(content(seed, size)), nil },
		})
	}
	return t
}

// content is a deterministic stream of size bytes.
func content(seed byte, size int64) io.Reader {
	block := make([]byte, 64<<10)
	for i := range block {
		block[i] = byte(i*7) ^ seed
	}
	return io.LimitReader(&repeatReader{block: block}, size)
}

type repeatReader struct {
	block []byte
	off   int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.block[r.off:])
	r.off = (r.off + n) % len(r.block)
	return n, nil
}

func newService(t testing.TB, st filing.Store, src capture.Source, n filing.Notifier) *filing.Service {
	t.Helper()
	return newServiceWith(t, filing.Options{Store: st, Source: src, Notifier: n})
}

// newServiceWith returns a service with o, filling in the sample plan and
// organisation.
func newServiceWith(t testing.TB, o filing.Options) *filing.Service {
	t.Helper()
	if o.Plan == nil {
		o.Plan = filing.SamplePlan()
	}
	o.Organisation = "Example Council"
	svc, err := filing.NewService(o)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// fast shortens a service's worker timings for a test.
func fast(o filing.Options) filing.Options {
	o.LeaseTime, o.ScanEvery, o.RetryWait = 500*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond
	return o
}

func request(title string) filing.Request {
	return filing.Request{
		RequestedBy: capture.Person{ID: "U1", DisplayName: "alice"},
		Thread:      capture.Ref{Platform: capture.Slack, WorkspaceID: "T1", ChannelID: "C1", ThreadID: "1762074000.000100"},
		Title:       title, ClassCode: "100-20", Marking: "OFFICIAL", Via: "test",
	}
}

func readJSON(t *testing.T, st filing.Store, key string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(readAll(t, st, key)), v); err != nil {
		t.Fatalf("decode %s: %v", key, err)
	}
}

func TestFileThreadMakesValidBag(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			th := testThread(5, 1000, 0, 20<<20) // an empty file and one larger than a part
			svc := newService(t, st, nil, nil)
			sum, err := svc.FileThread(ctx, request("Roads budget: option B agreed"), th)
			if err != nil {
				t.Fatalf("FileThread: %v", err)
			}
			bag, err := bagcheck.Check(ctx, st, sum.Key)
			if err != nil {
				t.Fatalf("bag %s is not valid: %v", sum.Key, err)
			}
			if got := len(bag.Payload); got != 7 { // 3 files, thread.json, 3 transcripts (HTML, text, PDF)
				t.Errorf("payload files = %d, want 7: %v", got, bag.Payload)
			}
			if got := bag.Info["Security-Marking"]; len(got) != 1 || got[0] != "OFFICIAL" {
				t.Errorf("bag-info Security-Marking = %q, want OFFICIAL", got)
			}
			if got := bag.Info["External-Identifier"]; len(got) != 1 || got[0] != sum.ID {
				t.Errorf("bag-info External-Identifier = %q, want %q", got, sum.ID)
			}
			// Every file's bytes are what the platform served.
			for i, f := range th.Files() {
				want, _ := io.ReadAll(content(byte(i), f.Size))
				got := readAll(t, st, sum.Key+filing.DataPath(i+1, 3, f.Name))
				if !bytes.Equal([]byte(got), want) {
					t.Errorf("file %d: stored %d bytes differ from the %d served", i, len(got), len(want))
				}
			}
			var rec filing.Record
			readJSON(t, st, sum.Key+"record.json", &rec)
			if rec.ID != sum.ID || rec.Class.Code != "100-20" || rec.Marking != "OFFICIAL" || rec.FiledBy.ID != "U1" {
				t.Errorf("record.json identity = %s %s %s %s", rec.ID, rec.Class.Code, rec.Marking, rec.FiledBy.ID)
			}
			if rec.Retention.DisposalDate == "" || rec.Retention.Action != filing.Review {
				t.Errorf("record.json retention = %+v, want a review date", rec.Retention)
			}
			if len(rec.Participants) != 3 || rec.Participants[2].ID != "U3" {
				t.Errorf("participants = %+v, want alice, bob and reactor carol", rec.Participants)
			}
			if rec.Source.Permalink != th.Permalink || rec.Source.Channel.Name != "roads-budget" {
				t.Errorf("source = %+v", rec.Source)
			}
			var snap capture.Thread
			readJSON(t, st, sum.Key+"data/thread.json", &snap)
			if len(snap.Messages) != 5 || snap.Messages[1].Edited == nil || snap.Messages[1].Reactions[0].Users[0].ID != "U3" {
				t.Errorf("thread.json lost messages, edits or reactions: %+v", snap.Messages[1])
			}
			html := readAll(t, st, sum.Key+"data/transcript.html")
			for _, bad := range []string{"<script>", "<link", "src=\"http", "@import", "url("} {
				if strings.Contains(html, bad) {
					t.Errorf("transcript.html contains %q: not self-contained or not escaped", bad)
				}
			}
			for _, want := range []string{"message 4 @bob", "edited", "👍 <span class=\"rw\">thumbs up</span> × 1", "OFFICIAL", "</span> · Alice Smith", "@page{size:A4", "@top-center{content:\"OFFICIAL\"", "counter(pages)", "href=\"files/001_attachment-0.bin\""} {
				if !strings.Contains(html, want) {
					t.Errorf("transcript.html lacks %q", want)
				}
			}
			if txt := readAll(t, st, sum.Key+"data/transcript.txt"); !strings.Contains(txt, "[4] alice (Alice Smith)") || !strings.Contains(txt, "thumbs up (:thumbsup:) × 1 carol") {
				t.Errorf("transcript.txt lacks message 4 with the real name, or the reaction in words:\n%s", txt)
			}
			if pdf := readAll(t, st, sum.Key+filing.PDFFile); !strings.HasPrefix(pdf, "%PDF-") || !strings.Contains(pdf, "/MediaBox [0 0 595.28 841.89]") {
				t.Errorf("transcript.pdf is not an A4 PDF")
			}
			var idx filing.IndexEntry
			readJSON(t, st, filing.IndexPrefix+sum.ID+".json", &idx)
			if idx.Key != sum.Key || idx.ClassCode != "100-20" {
				t.Errorf("index entry = %+v", idx)
			}
			events := 0
			for info, err := range st.List(ctx, filing.AuditPrefix) {
				if err != nil {
					t.Fatal(err)
				}
				var ev filing.Event
				readJSON(t, st, info.Key, &ev)
				if ev.RecordID == sum.ID && ev.Type == "filed" {
					events++
					tm := sha256.Sum256([]byte(readAll(t, st, sum.Key+"tagmanifest-sha256.txt")))
					if want := hex.EncodeToString(tm[:]); ev.TagManifestSHA256 != want {
						t.Errorf("filed event's tag manifest SHA-256 = %q, want %q", ev.TagManifestSHA256, want)
					}
				}
			}
			if events != 1 {
				t.Errorf("filed events = %d, want 1", events)
			}
		})
	}
}

func TestFileThreadRejectsBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := local.New(t.TempDir())
	svc := newService(t, st, nil, nil)
	tests := []struct {
		name  string
		edit  func(*filing.Request)
		field string
	}{
		{"no title", func(r *filing.Request) { r.Title = "  " }, "title"},
		{"unknown class", func(r *filing.Request) { r.ClassCode = "999" }, "class"},
		{"class with children", func(r *filing.Request) { r.ClassCode = "200-20" }, "class"},
		{"marking not allowed", func(r *filing.Request) { r.ClassCode = "200-20-01"; r.Marking = "SECRET" }, "marking"},
		{"control characters", func(r *filing.Request) { r.Title = "a\x1bb" }, "title"},
	}
	for _, tt := range tests {
		r := request("ok")
		tt.edit(&r)
		_, err := svc.Submit(ctx, r)
		var fe filing.FieldErrors
		if !errors.As(err, &fe) || fe[tt.field] == "" {
			t.Errorf("%s: Submit error = %v, want a FieldErrors for %q", tt.name, err, tt.field)
		}
	}
	for _, err := range st.List(ctx, "") {
		t.Fatalf("bad requests stored something: %v", err)
	}
	for info := range st.List(ctx, "") {
		t.Errorf("bad request left %s", info.Key)
	}
}

// source serves one thread to every capture and counts the captures.
type source struct {
	thread *capture.Thread
	calls  atomic.Int32
	err    error
}

func (s *source) Capture(ctx context.Context, ref capture.Ref, by capture.Person) (*capture.Thread, error) {
	s.calls.Add(1)
	if s.err != nil {
		return nil, s.err
	}
	return s.thread, nil
}

type outcomes struct {
	mu  sync.Mutex
	got []filing.Outcome
	ch  chan filing.Outcome
}

func newOutcomes() *outcomes { return &outcomes{ch: make(chan filing.Outcome, 16)} }

func (o *outcomes) Notify(ctx context.Context, out filing.Outcome) {
	o.mu.Lock()
	o.got = append(o.got, out)
	o.mu.Unlock()
	o.ch <- out
}

func (o *outcomes) wait(t *testing.T) filing.Outcome {
	t.Helper()
	select {
	case out := <-o.ch:
		return out
	case <-time.After(60 * time.Second):
		t.Fatal("no filing outcome within 60s")
	}
	return filing.Outcome{}
}

// countRecords counts complete and incomplete record packages.
func countRecords(t *testing.T, st filing.Store) (complete, all int) {
	t.Helper()
	for info, err := range st.List(context.Background(), filing.RecordsPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(info.Key, "/data/thread.json") {
			all++
		}
		if strings.HasSuffix(info.Key, "/tagmanifest-sha256.txt") {
			complete++
		}
	}
	return complete, all
}

func run(t *testing.T, svc *filing.Service) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func TestSubmitFilesDurably(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := miniotest.NewStore(t)
	src := &source{thread: testThread(3, 500)}
	outs := newOutcomes()
	svc := newService(t, st, src, outs)
	req, err := svc.Submit(ctx, request("Durable"))
	if err != nil {
		t.Fatal(err)
	}
	// Accepted means stored, before any worker runs.
	if _, err := st.Stat(ctx, filing.RequestsPrefix+"pending/"+req.ID+".json"); err != nil {
		t.Fatalf("request not stored on acceptance: %v", err)
	}
	stop := run(t, svc)
	defer stop()
	out := outs.wait(t)
	if out.Err != nil || out.Record == nil || !out.Final {
		t.Fatalf("outcome = %+v, want a filed record", out)
	}
	if out.Record.ID != req.ID {
		t.Errorf("record id = %s, want the request id %s", out.Record.ID, req.ID)
	}
	if _, err := bagcheck.Check(ctx, st, out.Record.Key); err != nil {
		t.Errorf("bag invalid: %v", err)
	}
	if _, err := st.Stat(ctx, filing.RequestsPrefix+"done/"+req.ID+".json"); err != nil {
		t.Errorf("done marker: %v", err)
	}
	if _, err := st.Stat(ctx, filing.RequestsPrefix+"pending/"+req.ID+".json"); !errors.Is(err, filing.ErrNotExist) {
		t.Errorf("pending request left behind: %v", err)
	}
}

func TestPermanentFailureIsReported(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := miniotest.NewStore(t)
	outs := newOutcomes()
	svc := newService(t, st, &source{err: fmt.Errorf("channel C1: %w", capture.ErrBotNotInChannel)}, outs)
	req, err := svc.Submit(ctx, request("Not in channel"))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, svc)
	defer stop()
	out := outs.wait(t)
	if !errors.Is(out.Err, capture.ErrBotNotInChannel) || !out.Final {
		t.Fatalf("outcome = %+v, want a final ErrBotNotInChannel", out)
	}
	if _, err := st.Stat(ctx, filing.RequestsPrefix+"failed/"+req.ID+".json"); err != nil {
		t.Errorf("failed request not recorded: %v", err)
	}
	if c, all := countRecords(t, st); c != 0 || all != 0 {
		t.Errorf("records = %d complete, %d started; want none", c, all)
	}
}

// Two bot processes on one bucket, both seeing the same pending request,
// make exactly one record.
func TestTwoWorkersOneRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := miniotest.NewStore(t)
	th := testThread(50, 3<<20, 2<<20)
	outsA, outsB := newOutcomes(), newOutcomes()
	a := newServiceWith(t, filing.Options{Store: st, Source: &source{thread: th}, Notifier: outsA, LeaseTime: time.Second, ScanEvery: 50 * time.Millisecond})
	b := newServiceWith(t, filing.Options{Store: st, Source: &source{thread: th}, Notifier: outsB, LeaseTime: time.Second, ScanEvery: 50 * time.Millisecond})
	for i := range 3 {
		if _, err := a.Submit(ctx, request(fmt.Sprintf("Shared %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	stopA, stopB := run(t, a), run(t, b)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c, _ := countRecords(t, st); c == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // let a straggler finish, if there were one
	stopA()
	stopB()
	complete, all := countRecords(t, st)
	if complete != 3 || all != 3 {
		t.Errorf("records = %d complete, %d started; want 3 and 3", complete, all)
	}
	idx := 0
	for _, err := range st.List(ctx, filing.IndexPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		idx++
	}
	if idx != 3 {
		t.Errorf("index entries = %d, want 3", idx)
	}
}

// crashStore stops the "process" (cancels its context) after n creates,
// as if it were killed between objects.
type crashStore struct {
	filing.Store
	left   atomic.Int32
	cancel context.CancelFunc
}

func (c *crashStore) Create(ctx context.Context, key string, r io.Reader, size int64, o filing.WriteOptions) (filing.ObjectInfo, error) {
	if strings.HasPrefix(key, filing.RecordsPrefix) && c.left.Add(-1) < 0 {
		c.cancel()
		return filing.ObjectInfo{}, context.Canceled
	}
	return c.Store.Create(ctx, key, r, size, o)
}

func TestKilledFilingCompletesAfterRestart(t *testing.T) {
	t.Parallel()
	for _, killAfter := range []int32{1, 2, 5, 9} {
		t.Run(fmt.Sprint("after ", killAfter, " objects"), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := miniotest.NewStore(t)
			th := testThread(20, 4000, 5000, 6000)
			runCtx, cancel := context.WithCancel(ctx)
			crash := &crashStore{Store: st, cancel: cancel}
			crash.left.Store(killAfter)
			first := newServiceWith(t, fast(filing.Options{Store: crash, Source: &source{thread: th}}))
			req, err := first.Submit(ctx, request("Interrupted"))
			if err != nil {
				t.Fatal(err)
			}
			first.Run(runCtx) // returns once "killed"
			if c, all := countRecords(t, st); c != 0 || all != 1 {
				t.Fatalf("after the kill: %d complete, %d started; want 0 and 1", c, all)
			}
			// The restarted bot comes up after the killed one's lease has
			// lapsed: its clock starts a minute on, instead of the test
			// waiting the lease out.
			outs := newOutcomes()
			later := clockwork.NewFakeClockAt(time.Now().Add(time.Minute))
			second := newServiceWith(t, fast(filing.Options{Store: st, Source: &source{thread: th}, Notifier: outs, Clock: later}))
			stop := run(t, second)
			out := outs.wait(t)
			stop()
			if out.Err != nil || out.Record.ID != req.ID {
				t.Fatalf("after restart: outcome %+v, want record %s", out, req.ID)
			}
			if _, err := bagcheck.Check(ctx, st, out.Record.Key); err != nil {
				t.Errorf("completed bag invalid: %v", err)
			}
			if c, all := countRecords(t, st); c != 1 || all != 1 {
				t.Errorf("records = %d complete, %d started; want 1 and 1", c, all)
			}
		})
	}
}

// A replayed or double-clicked submission (same Key) makes one request, even
// when the copies arrive at once, and a later copy finds the request done.
func TestSubmitWithKeyIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := newService(t, st, nil, nil)
			r := request("Replayed")
			r.Key = "slack:T1:V123:hash1"
			const copies = 10
			ids := make(chan filing.Request, copies)
			var wg sync.WaitGroup
			for range copies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got, err := svc.Submit(ctx, r)
					if err != nil {
						t.Errorf("Submit: %v", err)
						return
					}
					ids <- got
				}()
			}
			wg.Wait()
			close(ids)
			seen := map[string]bool{}
			repeats := 0
			for got := range ids {
				seen[got.ID] = true
				if got.Repeat {
					repeats++
				}
			}
			if len(seen) != 1 || repeats != copies-1 {
				t.Fatalf("%d submissions with one key made requests %v with %d repeats, want 1 request and %d repeats", copies, seen, repeats, copies-1)
			}
			n := 0
			for info, err := range st.List(ctx, filing.RequestsPrefix+"pending/") {
				if err != nil {
					t.Fatal(err)
				}
				_ = info
				n++
			}
			if n != 1 {
				t.Errorf("pending requests = %d, want 1", n)
			}
			// Another key is another request.
			r2 := r
			r2.Key = "slack:T1:V124:hash1"
			other, err := svc.Submit(ctx, r2)
			if err != nil || other.Repeat || seen[other.ID] {
				t.Errorf("Submit with another key = %+v, %v; want a new request", other, err)
			}
		})
	}
}

// A copy of a keyed submission that arrives after the first was filed (a
// replay inside Slack's five minutes, a late second press) files nothing
// more: its create-only write meets the marker the filed request left, and
// Submit answers it as a repeat of the filed request. A copy that comes
// after the marker is gone (the repeat window passed) is stored, and the
// worker drops it and tells its sender the record that was filed; later
// copies are repeats again.
func TestSubmitAfterFilingFilesNothingMore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			src := &source{thread: testThread(3)}
			outs := newOutcomes()
			svc := newServiceWith(t, filing.Options{Store: st, Source: src, Notifier: outs, ScanEvery: 100 * time.Millisecond})
			stop := run(t, svc)
			defer stop()
			r := request("Replayed late")
			r.Key = "mattermost:team1:nonce-abc"
			first, err := svc.Submit(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if filed := outs.wait(t); filed.Record == nil || filed.Record.ID != first.ID {
				t.Fatalf("first outcome = %+v, want record %s filed", filed, first.ID)
			}
			marker := onlyPending(t, st)
			if marker.Size != 0 {
				t.Fatalf("after filing, pending holds %+v; want the empty marker of the done request", marker)
			}

			again, err := svc.Submit(ctx, r)
			if err != nil || !again.Repeat || again.ID != first.ID {
				t.Errorf("late copy = id %s repeat %v, %v; want a repeat of %s", again.ID, again.Repeat, err, first.ID)
			}

			// The marker removed, as the scan does after the window.
			if err := st.Delete(ctx, marker.Key); err != nil {
				t.Fatal(err)
			}
			late := r
			late.Reply = json.RawMessage(`{"who":"the late copy"}`)
			stored, err := svc.Submit(ctx, late)
			if err != nil || stored.Repeat {
				t.Fatalf("copy after the window = repeat %v, %v; want it stored", stored.Repeat, err)
			}
			out := outs.wait(t)
			if out.Record == nil || out.Record.ID != first.ID || out.Err != nil || string(out.Request.Reply) != `{"who":"the late copy"}` {
				t.Errorf("the copy's sender was told %+v, want record %s through the copy's own reply", out, first.ID)
			}
			if n := src.calls.Load(); n != 1 {
				t.Errorf("thread captured %d times, want 1", n)
			}
			records := 0
			for _, err := range st.List(ctx, filing.IndexPrefix) {
				if err != nil {
					t.Fatal(err)
				}
				records++
			}
			if records != 1 {
				t.Errorf("index entries = %d, want 1", records)
			}
			if m := onlyPending(t, st); m.Size != 0 {
				t.Errorf("after the late copy, pending holds %+v; want the marker again", m)
			}
			if again, err := svc.Submit(ctx, r); err != nil || !again.Repeat || again.ID != first.ID {
				t.Errorf("copy after the late one = id %s repeat %v, %v; want a repeat of %s", again.ID, again.Repeat, err, first.ID)
			}
		})
	}
}

// onlyPending returns the one object under requests/pending/.
func onlyPending(t *testing.T, st filing.Store) filing.ObjectInfo {
	t.Helper()
	var found []filing.ObjectInfo
	for info, err := range st.List(context.Background(), filing.RequestsPrefix+"pending/") {
		if err != nil {
			t.Fatal(err)
		}
		found = append(found, info)
	}
	if len(found) != 1 {
		t.Fatalf("pending objects = %+v, want one", found)
	}
	return found[0]
}

// The scan leaves a done request's marker alone (it is no work) until the
// repeat window has passed, then removes it; a copy then is stored and
// answered by the worker, and files nothing. The service runs on a fake
// clock: each scan is one tick the test makes, and waits for.
func TestRepeatMarkerRemovedAfterWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(time.Now())
			scans := &scanSignal{Store: st, done: make(chan struct{}, 16)}
			src := &source{thread: testThread(2)}
			outs := newOutcomes()
			o := fast(filing.Options{Store: scans, Source: src, Notifier: outs, Clock: clock, RepeatWindow: time.Hour})
			svc := newServiceWith(t, o)
			stop := run(t, svc)
			defer stop()
			scans.wait(t) // the scan Run starts with
			// scan makes the service's next scan happen, and waits for it.
			scan := func() {
				t.Helper()
				clock.Advance(o.ScanEvery)
				scans.wait(t)
			}
			r := request("Marker")
			r.Key = "slack:T1:V9:h9"
			first, err := svc.Submit(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			outs.wait(t)
			for range 3 {
				scan()
			}
			if m := onlyPending(t, st); m.Size != 0 {
				t.Fatalf("pending holds %+v inside the window; want the marker", m)
			}
			select {
			case o := <-outs.ch:
				t.Fatalf("the marker was taken for work: outcome %+v", o)
			default:
			}
			// Past the window, the next scan removes it. (A scan the
			// Submit woke may still be signalled: a few ticks are given.)
			clock.Advance(2 * time.Hour)
			for try := 0; ; try++ {
				scans.wait(t)
				n := 0
				for _, err := range st.List(ctx, filing.RequestsPrefix+"pending/") {
					if err != nil {
						t.Fatal(err)
					}
					n++
				}
				if n == 0 {
					break
				}
				if try == 3 {
					t.Fatal("the marker outlived the repeat window")
				}
				clock.Advance(o.ScanEvery)
			}
			again, err := svc.Submit(ctx, r)
			if err != nil || again.Repeat {
				t.Fatalf("copy after the window = %+v, %v; want it stored", again, err)
			}
			if out := outs.wait(t); out.Record == nil || out.Record.ID != first.ID {
				t.Errorf("copy after the window told %+v, want record %s", out, first.ID)
			}
			if n := src.calls.Load(); n != 1 {
				t.Errorf("thread captured %d times, want 1", n)
			}
		})
	}
}

// scanSignal is a store that signals each time a listing of the pending
// requests (the worker's scan) has ended.
type scanSignal struct {
	filing.Store
	done chan struct{}
}

func (s *scanSignal) List(ctx context.Context, prefix string) iter.Seq2[filing.ObjectInfo, error] {
	inner := s.Store.List(ctx, prefix)
	if prefix != filing.RequestsPrefix+"pending/" {
		return inner
	}
	return func(yield func(filing.ObjectInfo, error) bool) {
		defer func() { s.done <- struct{}{} }()
		for info, err := range inner {
			if !yield(info, err) {
				return
			}
		}
	}
}

// wait waits for a scan to end.
func (s *scanSignal) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatal("no scan of the pending requests")
	}
}

// A new keyed submission costs one store call before Submit returns: the
// create-only write, nothing alongside it.
func TestKeyedSubmitIsOneWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			cs := &countingStore{Store: st}
			svc := newService(t, cs, nil, nil)
			r := request("One write")
			r.Key = "slack:T1:V1:h1"
			if _, err := svc.Submit(ctx, r); err != nil {
				t.Fatal(err)
			}
			if got := cs.calls(); !slices.Equal(got, []string{"create"}) {
				t.Errorf("a keyed Submit made store calls %v, want one create", got)
			}
		})
	}
}

// countingStore records the store calls made through it.
type countingStore struct {
	filing.Store
	mu  sync.Mutex
	log []string
}

func (c *countingStore) note(op string) {
	c.mu.Lock()
	c.log = append(c.log, op)
	c.mu.Unlock()
}

func (c *countingStore) calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.log)
}

func (c *countingStore) Create(ctx context.Context, key string, r io.Reader, size int64, o filing.WriteOptions) (filing.ObjectInfo, error) {
	c.note("create")
	return c.Store.Create(ctx, key, r, size, o)
}

func (c *countingStore) Put(ctx context.Context, key string, r io.Reader, size int64, o filing.WriteOptions) (filing.ObjectInfo, error) {
	c.note("put")
	return c.Store.Put(ctx, key, r, size, o)
}

func (c *countingStore) Open(ctx context.Context, key string) (io.ReadCloser, filing.ObjectInfo, error) {
	c.note("open")
	return c.Store.Open(ctx, key)
}

func (c *countingStore) Stat(ctx context.Context, key string) (filing.ObjectInfo, error) {
	c.note("stat")
	return c.Store.Stat(ctx, key)
}

func (c *countingStore) Delete(ctx context.Context, key string) error {
	c.note("delete")
	return c.Store.Delete(ctx, key)
}

func (c *countingStore) List(ctx context.Context, prefix string) iter.Seq2[filing.ObjectInfo, error] {
	c.note("list")
	return c.Store.List(ctx, prefix)
}
