package filing_test

// Regression tests for the filing holes of issue 9: a record left
// unfinished when the source went away, non-exclusive large creates, a
// record split by a file plan edit, world-readable local records, poison
// requests retried for ever and rate limits that failed filings.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/filing/s3"
	"github.com/recordbot/recordbot/internal/bagcheck"
)

// killStore stops the "process" (cancels its context) when a create of a
// key that kill matches is attempted, as if it were killed right there.
type killStore struct {
	filing.Store
	kill   func(key string) bool
	cancel context.CancelFunc
	killed atomic.Bool
}

func (k *killStore) Create(ctx context.Context, key string, r io.Reader, size int64, o filing.WriteOptions) (filing.ObjectInfo, error) {
	if k.killed.Load() || k.kill(key) {
		k.killed.Store(true)
		k.cancel()
		return filing.ObjectInfo{}, context.Canceled
	}
	return k.Store.Create(ctx, key, r, size, o)
}

// fileFirstAttempt submits r and runs a service on st that is killed at
// the first create kill matches. It returns the stored request.
func fileFirstAttempt(t *testing.T, st filing.Store, src capture.Source, r filing.Request, kill func(string) bool) filing.Request {
	t.Helper()
	ctx := context.Background()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	ks := &killStore{Store: st, kill: kill, cancel: cancel}
	first := newServiceWith(t, fast(filing.Options{Store: ks, Source: src}))
	req, err := first.Submit(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Run(runCtx); err != nil { // returns once "killed"
		t.Fatalf("Run: %v", err)
	}
	if !ks.killed.Load() {
		t.Fatal("the first attempt was never killed")
	}
	return req
}

// goneSource answers every capture with err, counting the calls: the
// thread, its channel or the person's access is gone.
type goneSource struct {
	err   error
	calls atomic.Int32
}

func (g *goneSource) Capture(ctx context.Context, ref capture.Ref, by capture.Person) (*capture.Thread, error) {
	g.calls.Add(1)
	return nil, g.err
}

func exists(t *testing.T, st filing.Store, key string) bool {
	t.Helper()
	_, err := st.Stat(context.Background(), key)
	if err != nil && !errors.Is(err, filing.ErrNotExist) {
		t.Fatalf("Stat(%q): %v", key, err)
	}
	return err == nil
}

// filedEvents counts the "filed" audit events of record id.
func filedEvents(t *testing.T, st filing.Store, id string) int {
	t.Helper()
	n := 0
	for info, err := range st.List(context.Background(), filing.AuditPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		var ev filing.Event
		readJSON(t, st, info.Key, &ev)
		if ev.RecordID == id && ev.Type == "filed" {
			n++
		}
	}
	return n
}

// A crash after the tag manifest and before the index, then the channel
// becoming unreadable: the retry finishes from what is stored, without
// capturing again, and the person is told "filed".
func TestRetryFinishesStoredRecordWhenSourceGone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			th := testThread(4, 3000, 20<<10)
			req := fileFirstAttempt(t, st, &source{thread: th}, request("Complete but unindexed"),
				func(key string) bool { return strings.HasPrefix(key, filing.IndexPrefix) })
			if c, all := countRecords(t, st); c != 1 || all != 1 {
				t.Fatalf("after the kill: %d complete, %d started; want 1 and 1", c, all)
			}
			if exists(t, st, filing.IndexPrefix+req.ID+".json") {
				t.Fatal("index entry written before the kill")
			}
			src := &goneSource{err: fmt.Errorf("channel C1: %w", capture.ErrNotFound)}
			outs := newOutcomes()
			second := newServiceWith(t, fast(filing.Options{Store: st, Source: src, Notifier: outs}))
			stop := run(t, second)
			out := outs.wait(t)
			stop()
			if out.Err != nil || out.Record == nil || !out.Final || out.Record.ID != req.ID {
				t.Fatalf("Outcome(source gone) = record %v err %v final %v, want record %s filed", out.Record, out.Err, out.Final, req.ID)
			}
			if got := src.calls.Load(); got != 0 {
				t.Errorf("Captures(complete stored record) = %d, want 0", got)
			}
			var idx filing.IndexEntry
			readJSON(t, st, filing.IndexPrefix+req.ID+".json", &idx)
			if idx.Key != out.Record.Key {
				t.Errorf("IndexEntry.Key = %q, want %q", idx.Key, out.Record.Key)
			}
			if got := filedEvents(t, st, req.ID); got != 1 {
				t.Errorf("FiledEvents(%s) = %d, want 1", req.ID, got)
			}
			if !exists(t, st, filing.RequestsPrefix+"done/"+req.ID+".json") {
				t.Errorf("request %s not marked done", req.ID)
			}
			if _, err := bagcheck.Check(ctx, st, out.Record.Key); err != nil {
				t.Errorf("bag invalid: %v", err)
			}
		})
	}
}

// vanishing serves th, but the files named in gone answer 404 (deleted on
// the platform after the snapshot was stored).
type vanishing struct {
	th   *capture.Thread
	gone map[string]bool
}

func (v *vanishing) Capture(ctx context.Context, ref capture.Ref, by capture.Person) (*capture.Thread, error) {
	c := *v.th
	c.Messages = append([]capture.Message(nil), v.th.Messages...)
	for i := range c.Messages {
		m := &c.Messages[i]
		m.Files = append([]capture.File(nil), m.Files...)
		for j := range m.Files {
			if v.gone[m.Files[j].ID] {
				m.Files[j].Open = func(ctx context.Context) (io.ReadCloser, error) {
					return nil, fmt.Errorf("download slack file: Slack says it is gone (HTTP 404): %w", capture.ErrNotFound)
				}
			}
		}
	}
	return &c, nil
}

// A file that vanishes after the snapshot was stored is recorded as
// missing, with the reason, and the record completes; so does a record
// whose whole thread became unreadable before its files were downloaded.
func TestFileGoneAfterSnapshotIsRecordedMissing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name    string
		src     func(th *capture.Thread) capture.Source
		missing int
		reason  string
	}{
		{"file 404", func(th *capture.Thread) capture.Source {
			return &vanishing{th: th, gone: map[string]bool{"F001": true}}
		}, 1, "deleted from Slack after the thread was captured"},
		{"thread unreadable", func(*capture.Thread) capture.Source {
			return &goneSource{err: fmt.Errorf("thread: %w", capture.ErrAccess)}
		}, 2, "lost access"},
	}
	for _, tc := range cases {
		for name, st := range stores(t) {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				th := testThread(4, 3000, 5000)
				req := fileFirstAttempt(t, st, &source{thread: th}, request("Files vanish"),
					func(key string) bool { return strings.Contains(key, "/data/files/") })
				if _, all := countRecords(t, st); all != 1 {
					t.Fatalf("after the kill: %d snapshots stored, want 1", all)
				}
				outs := newOutcomes()
				second := newServiceWith(t, fast(filing.Options{Store: st, Source: tc.src(th), Notifier: outs}))
				stop := run(t, second)
				out := outs.wait(t)
				stop()
				if out.Err != nil || out.Record == nil || !out.Final {
					t.Fatalf("Outcome(%s) = record %v err %v final %v, want filed", tc.name, out.Record, out.Err, out.Final)
				}
				if out.Record.MissingFiles != tc.missing || out.Record.Files != 2-tc.missing {
					t.Errorf("Summary files = %d stored, %d missing; want %d and %d", out.Record.Files, out.Record.MissingFiles, 2-tc.missing, tc.missing)
				}
				if _, err := bagcheck.Check(ctx, st, out.Record.Key); err != nil {
					t.Errorf("bag invalid: %v", err)
				}
				var rec filing.Record
				readJSON(t, st, out.Record.Key+filing.RecordFile, &rec)
				if len(rec.Missing) != tc.missing {
					t.Fatalf("Record.Missing = %+v, want %d files", rec.Missing, tc.missing)
				}
				last := rec.Missing[len(rec.Missing)-1]
				if last.SourceID != "F001" || last.Path == "" || !strings.Contains(last.Reason, tc.reason) {
					t.Errorf("Record.Missing[last] = %+v, want F001 with a reason saying %q", last, tc.reason)
				}
				if exists(t, st, out.Record.Key+last.Path) {
					t.Errorf("missing file %s stored after all", last.Path)
				}
				txt := readAll(t, st, out.Record.Key+filing.TextFile)
				if want := "[file not captured] attachment 1.bin"; !strings.Contains(txt, want) {
					t.Errorf("transcript.txt lacks %q", want)
				}
				if !exists(t, st, filing.IndexPrefix+req.ID+".json") || filedEvents(t, st, req.ID) != 1 {
					t.Errorf("record %s not indexed with one filed event", req.ID)
				}
			})
		}
	}
}

// A class renamed in the file plan between two attempts does not split
// the record between two folders.
func TestPlanEditDoesNotSplitRecord(t *testing.T) {
	t.Parallel()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			th := testThread(3, 4000)
			req := fileFirstAttempt(t, st, &source{thread: th}, request("Plan edited meanwhile"),
				func(key string) bool { return strings.Contains(key, "/data/files/") })
			plan := filing.SamplePlan()
			c := plan.Class("100-20")
			if c == nil {
				t.Fatal("sample plan has no class 100-20")
			}
			c.Title = "Boards and panels"
			outs := newOutcomes()
			second := newServiceWith(t, fast(filing.Options{Store: st, Plan: plan, Source: &source{thread: th}, Notifier: outs}))
			stop := run(t, second)
			out := outs.wait(t)
			stop()
			if out.Err != nil || out.Record == nil {
				t.Fatalf("Outcome = %+v, want a filed record", out)
			}
			if c, all := countRecords(t, st); c != 1 || all != 1 {
				t.Errorf("records of request %s = %d complete, %d started; want 1 and 1", req.ID, c, all)
			}
			folders := map[string]bool{}
			for info, err := range st.List(context.Background(), filing.RecordsPrefix) {
				if err != nil {
					t.Fatal(err)
				}
				i := strings.Index(info.Key, "/data/")
				if i < 0 {
					i = strings.LastIndexByte(info.Key, '/')
				}
				folders[info.Key[:i+1]] = true
			}
			if len(folders) != 1 || !folders[out.Record.Key] {
				t.Errorf("record folders = %v, want only %s", folders, out.Record.Key)
			}
		})
	}
}

// Records in the local store, SECRET ones too, are not readable by other
// users, whatever the umask.
func TestLocalRecordsNotWorldReadable(t *testing.T) {
	t.Parallel()
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	st, err := local.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(t, st, nil, nil)
	r := request("Incident 42")
	r.ClassCode, r.Marking = "400-20", "SECRET"
	sum, err := svc.FileThread(context.Background(), r, testThread(3, 2000))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	err = filepath.WalkDir(st.Root(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		seen++
		if perm := fi.Mode().Perm(); perm&0o007 != 0 {
			t.Errorf("Mode(%s) = %v, want no access for other users", strings.TrimPrefix(p, dir), fi.Mode())
		}
		if rel, _ := filepath.Rel(st.Root(), p); !d.IsDir() && strings.HasPrefix(filepath.ToSlash(rel), sum.Key) && fi.Mode().Perm()&0o222 != 0 {
			t.Errorf("Mode(%s) = %v, want a record's object read-only", rel, fi.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 10 {
		t.Errorf("walked %d entries, want a whole record", seen)
	}
}

// deadStore fails every write once its process is dead.
type deadStore struct {
	filing.Store
	dead atomic.Bool
}

var errDead = errors.New("the process is dead")

func (d *deadStore) Create(ctx context.Context, key string, r io.Reader, size int64, o filing.WriteOptions) (filing.ObjectInfo, error) {
	if d.dead.Load() {
		return filing.ObjectInfo{}, errDead
	}
	return d.Store.Create(ctx, key, r, size, o)
}

func (d *deadStore) Put(ctx context.Context, key string, r io.Reader, size int64, o filing.WriteOptions) (filing.ObjectInfo, error) {
	if d.dead.Load() {
		return filing.ObjectInfo{}, errDead
	}
	return d.Store.Put(ctx, key, r, size, o)
}

func (d *deadStore) Delete(ctx context.Context, key string) error {
	if d.dead.Load() {
		return errDead
	}
	return d.Store.Delete(ctx, key)
}

// killingSource kills the "process" in the middle of every capture, as a
// request that crashes the bot would: its store takes no more writes and
// its context ends.
type killingSource struct {
	store  *deadStore
	cancel context.CancelFunc
	calls  *atomic.Int32
}

func (k killingSource) Capture(ctx context.Context, ref capture.Ref, by capture.Person) (*capture.Thread, error) {
	k.calls.Add(1)
	k.store.dead.Store(true)
	k.cancel()
	<-ctx.Done()
	return nil, ctx.Err()
}

// A request that stops the process every time it is tried ends as failed
// after the maximum attempts, and the person is told.
func TestPoisonRequestEndsAndIsReported(t *testing.T) {
	t.Parallel()
	const maxAttempts = 3
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var calls atomic.Int32
			var req filing.Request
			for i := range maxAttempts {
				runCtx, cancel := context.WithCancel(ctx)
				ds := &deadStore{Store: st}
				svc := newServiceWith(t, fast(filing.Options{Store: ds, Source: killingSource{ds, cancel, &calls}, MaxAttempts: maxAttempts}))
				if i == 0 {
					var err error
					if req, err = svc.Submit(ctx, request("Crashes the bot")); err != nil {
						t.Fatal(err)
					}
				}
				if err := svc.Run(runCtx); err != nil {
					t.Fatalf("Run: %v", err)
				}
				cancel()
			}
			if got := calls.Load(); got != maxAttempts {
				t.Fatalf("Captures(before the last claim) = %d, want %d", got, maxAttempts)
			}
			outs := newOutcomes()
			src := &source{thread: testThread(2)}
			last := newServiceWith(t, fast(filing.Options{Store: st, Source: src, Notifier: outs, MaxAttempts: maxAttempts}))
			stop := run(t, last)
			var out filing.Outcome
			select {
			case out = <-outs.ch:
			case <-time.After(10 * time.Second):
				stop()
				t.Fatal("Outcome(poison request) = none within 10s, want a final failure")
			}
			stop()
			if out.Err == nil || !out.Final || out.Record != nil {
				t.Fatalf("Outcome(poison request) = record %v err %v final %v, want a final failure", out.Record, out.Err, out.Final)
			}
			if !strings.Contains(out.Err.Error(), "interrupted 3 times") {
				t.Errorf("Outcome.Err = %q, want it to say the filing was interrupted 3 times", out.Err)
			}
			if got := src.calls.Load(); got != 0 {
				t.Errorf("Captures(after %d interrupted attempts) = %d, want 0", maxAttempts, got)
			}
			if !exists(t, st, filing.RequestsPrefix+"failed/"+req.ID+".json") || exists(t, st, filing.RequestsPrefix+"pending/"+req.ID+".json") {
				t.Errorf("request %s not moved from pending to failed", req.ID)
			}
		})
	}
}

// rateLimited answers 429 (a capture.RateLimitError) n times, then th.
type rateLimited struct {
	th    *capture.Thread
	n     int32
	calls atomic.Int32
}

func (r *rateLimited) Capture(ctx context.Context, ref capture.Ref, by capture.Person) (*capture.Thread, error) {
	if r.calls.Add(1) <= r.n {
		return nil, fmt.Errorf("slack conversations.replies: %w", &capture.RateLimitError{Platform: capture.Slack, RetryAfter: 30 * time.Millisecond})
	}
	return r.th, nil
}

// Rate limits never fail a filing: eight 429s, more than the attempts
// allowed, and the thread is filed; the person hears once that it waits.
func TestRateLimitsNeverFailFiling(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			src := &rateLimited{th: testThread(3, 1000), n: 8}
			outs := newOutcomes()
			svc := newServiceWith(t, fast(filing.Options{Store: st, Source: src, Notifier: outs}))
			req, err := svc.Submit(ctx, request("Busy workspace"))
			if err != nil {
				t.Fatal(err)
			}
			stop := run(t, svc)
			var got []filing.Outcome
			for {
				out := outs.wait(t)
				got = append(got, out)
				if out.Final {
					break
				}
			}
			stop()
			final := got[len(got)-1]
			if final.Err != nil || final.Record == nil || final.Record.ID != req.ID {
				t.Fatalf("Outcome(after 8 rate limits) = record %v err %v, want record %s filed", final.Record, final.Err, req.ID)
			}
			if len(got) != 2 || !errors.Is(got[0].Err, capture.ErrRateLimited) || got[0].Final {
				t.Errorf("Outcomes = %d (first err %v), want one non-final rate-limit notice then the record", len(got), got[0].Err)
			}
			if n := src.calls.Load(); n != 9 {
				t.Errorf("Captures = %d, want 9", n)
			}
			var done struct {
				Request filing.Request `json:"request"`
			}
			readJSON(t, st, filing.RequestsPrefix+"done/"+req.ID+".json", &done)
			if done.Request.Attempts != 1 {
				t.Errorf("Attempts(after 8 rate limits and a success) = %d, want 1", done.Request.Attempts)
			}
		})
	}
}

// Files above the single-PUT size (multipart) are created exclusively:
// of 10 concurrent creates of one key exactly one succeeds, and the object
// holds the winner's bytes.
func TestConcurrentLargeCreatesMakeOneObject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const size, racers = 20 << 20, 10
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			key := "records/x/data/files/001_big.bin"
			retain := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
			errs := make([]error, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = st.Create(ctx, key, content(byte(i+1), size), -1, filing.WriteOptions{RetainUntil: retain})
				}()
			}
			wg.Wait()
			winner, lost := -1, 0
			for i, err := range errs {
				switch {
				case err == nil && winner < 0:
					winner = i
				case err == nil:
					t.Errorf("Create(racer %d) succeeded too, after racer %d", i, winner)
				case errors.Is(err, filing.ErrExist):
					lost++
				default:
					t.Errorf("Create(racer %d) = %v, want nil or ErrExist", i, err)
				}
			}
			if winner < 0 || lost != racers-1 {
				t.Fatalf("%d concurrent creates of a %d MiB key: winner %d, %d ErrExist; want 1 winner and %d ErrExist", racers, size>>20, winner, lost, racers-1)
			}
			want, _ := io.ReadAll(content(byte(winner+1), size))
			if got := readAll(t, st, key); !bytes.Equal([]byte(got), want) {
				t.Errorf("stored object (%d bytes) is not the winner's %d bytes", len(got), len(want))
			}
			if ss, ok := st.(*s3.Store); ok {
				versions := 0
				for v := range ss.Client().ListObjects(ctx, ss.Bucket(), minioListVersions(strings.TrimPrefix(ss.Where(key), "s3://"+ss.Bucket()+"/"))) {
					if v.Err != nil {
						t.Fatal(v.Err)
					}
					versions++
				}
				if versions != 1 {
					t.Errorf("Versions(%s) = %d, want 1", key, versions)
				}
				object := strings.TrimPrefix(ss.Where(key), "s3://"+ss.Bucket()+"/")
				ups, err := (minio.Core{Client: ss.Client()}).ListMultipartUploads(ctx, ss.Bucket(), object, "", "", "", 100)
				if err != nil {
					t.Fatal(err)
				}
				if len(ups.Uploads) != 0 {
					t.Errorf("MultipartUploads(%s) = %d left open, want 0 (the losers aborted)", key, len(ups.Uploads))
				}
				if info, err := st.Stat(ctx, key); err != nil {
					t.Fatal(err)
				} else if locked, _ := ss.Locking(ctx); locked && !info.RetainUntil.Equal(retain) {
					t.Errorf("RetainUntil(%s) = %v, want %v", key, info.RetainUntil, retain)
				}
			}
			// A later create of the key fails at once, whatever its size.
			if _, err := st.Create(ctx, key, strings.NewReader("late"), -1, filing.WriteOptions{}); !errors.Is(err, filing.ErrExist) {
				t.Errorf("Create(existing large key) = %v, want ErrExist", err)
			}
		})
	}
}

// panicking panics in every capture, or in every file download.
type panicking struct {
	inFile bool
	calls  atomic.Int32
}

func (p *panicking) Capture(ctx context.Context, ref capture.Ref, by capture.Person) (*capture.Thread, error) {
	p.calls.Add(1)
	if !p.inFile {
		panic("capture bug")
	}
	th := testThread(2, 100)
	th.Messages[0].Files[0].Open = func(context.Context) (io.ReadCloser, error) { panic("download bug") }
	return th, nil
}

// A request that makes the capture or a download panic fails like any
// other, attempts counted and the person told, and the bot keeps running.
func TestPanickingRequestFailsAndIsReported(t *testing.T) {
	t.Parallel()
	for _, inFile := range []bool{false, true} {
		t.Run(fmt.Sprint("in file ", inFile), func(t *testing.T) {
			st, err := local.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			src := &panicking{inFile: inFile}
			outs := newOutcomes()
			svc := newServiceWith(t, fast(filing.Options{Store: st, Source: src, Notifier: outs, MaxAttempts: 2}))
			req, err := svc.Submit(context.Background(), request("Trips a bug"))
			if err != nil {
				t.Fatal(err)
			}
			stop := run(t, svc)
			first, last := outs.wait(t), outs.wait(t)
			stop()
			if first.Final || first.Err == nil || !last.Final || last.Err == nil || !strings.Contains(last.Err.Error(), "internal error") {
				t.Errorf("Outcomes = (%v, final %v), (%v, final %v); want a retry notice then a final internal error", first.Err, first.Final, last.Err, last.Final)
			}
			if got := src.calls.Load(); got != 2 {
				t.Errorf("Captures = %d, want 2", got)
			}
			if !exists(t, st, filing.RequestsPrefix+"failed/"+req.ID+".json") {
				t.Errorf("request %s not failed", req.ID)
			}
		})
	}
}

// blocking waits in every capture until its context ends.
type blocking struct{ started chan struct{} }

func (b blocking) Capture(ctx context.Context, ref capture.Ref, by capture.Person) (*capture.Thread, error) {
	b.started <- struct{}{}
	<-ctx.Done()
	return nil, ctx.Err()
}

// Stopping the bot while it files (a deploy) hands the request back for
// the next start, without using up an attempt.
func TestShutdownReleasesRequestUncounted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src := blocking{started: make(chan struct{}, 1)}
	svc := newServiceWith(t, fast(filing.Options{Store: st, Source: src}))
	req, err := svc.Submit(ctx, request("Deploy mid-filing"))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, svc)
	<-src.started
	stop()
	var p struct {
		Request      filing.Request `json:"request"`
		ClaimedUntil time.Time      `json:"claimed_until"`
	}
	readJSON(t, st, filing.RequestsPrefix+"pending/"+req.ID+".json", &p)
	if p.Request.Attempts != 0 || !p.ClaimedUntil.IsZero() {
		t.Errorf("Pending(after shutdown) = attempts %d, claimed until %v; want 0 and no claim", p.Request.Attempts, p.ClaimedUntil)
	}
	if p.Request.RecordKey == "" {
		t.Errorf("Pending(after a claim).RecordKey = %q, want the record's folder fixed", p.Request.RecordKey)
	}
}

// Once the transcripts show a file as missing, a later attempt keeps it
// missing even if the platform serves it again, so the transcripts, the
// record and the manifest agree.
func TestMissingFileStaysMissingOnceTranscribed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			th := testThread(3, 1000, 2000)
			fileFirstAttempt(t, st, &vanishing{th: th, gone: map[string]bool{"F001": true}}, request("Flaky file"),
				func(key string) bool { return strings.HasSuffix(key, "/"+filing.RecordFile) })
			outs := newOutcomes()
			second := newServiceWith(t, fast(filing.Options{Store: st, Source: &source{thread: th}, Notifier: outs}))
			stop := run(t, second)
			out := outs.wait(t)
			stop()
			if out.Err != nil || out.Record == nil {
				t.Fatalf("Outcome = %+v, want filed", out)
			}
			if _, err := bagcheck.Check(ctx, st, out.Record.Key); err != nil {
				t.Errorf("bag invalid: %v", err)
			}
			var rec filing.Record
			readJSON(t, st, out.Record.Key+filing.RecordFile, &rec)
			// The kill came before record.json, which would have held the
			// reason; the transcripts hold it.
			if len(rec.Missing) != 1 || rec.Missing[0].SourceID != "F001" || !strings.Contains(rec.Missing[0].Reason, "could not be downloaded") {
				t.Errorf("Record.Missing = %+v, want F001 not downloaded", rec.Missing)
			}
			if txt := readAll(t, st, out.Record.Key+filing.TextFile); !strings.Contains(txt, "deleted from Slack after the thread was captured") {
				t.Errorf("transcript.txt lacks the reason F001 is missing")
			}
			if exists(t, st, out.Record.Key+rec.Missing[0].Path) {
				t.Errorf("missing file %s stored by the later attempt", rec.Missing[0].Path)
			}
			if out.Record.Files != 1 {
				t.Errorf("Summary.Files = %d, want 1", out.Record.Files)
			}
		})
	}
}
