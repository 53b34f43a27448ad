package bot_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/storetest"
)

// countingFiler is the filing service with every call counted. It keeps
// filing.Service's Check reachable, so a submit step that checked on its
// own (a second check) would be counted.
type countingFiler struct {
	*filing.Service
	checks, submits atomic.Int32
	// late, while set, stores the request but answers as a store that did
	// not confirm in time.
	late atomic.Bool
}

func (f *countingFiler) Check(r filing.Request) filing.FieldErrors {
	f.checks.Add(1)
	return f.Service.Check(r)
}

func (f *countingFiler) Submit(ctx context.Context, r filing.Request) (filing.Request, error) {
	f.submits.Add(1)
	got, err := f.Service.Submit(ctx, r)
	if err == nil && f.late.Load() {
		return filing.Request{}, context.DeadlineExceeded
	}
	return got, err
}

func newFiler(t *testing.T) (*countingFiler, filing.Store) {
	t.Helper()
	st := storetest.Local(t)
	svc, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan()})
	if err != nil {
		t.Fatal(err)
	}
	return &countingFiler{Service: svc}, st
}

// pendingRequests counts the requests stored for the worker.
func pendingRequests(t *testing.T, st filing.Store) int {
	t.Helper()
	n := 0
	for info, err := range st.List(context.Background(), filing.RequestsPrefix+"pending/") {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(info.Key, ".json") {
			n++
		}
	}
	return n
}

func goodSubmission(key string) bot.Submission {
	return bot.Submission{
		Form: bot.Form{Title: " Ferry tender ", Class: "100-20", Marking: bot.ClassDefault},
		Origin: bot.Origin{By: capture.Person{ID: "U1"}, Via: "test form", Key: key,
			Thread: capture.Ref{Platform: capture.Slack, WorkspaceID: "T1", ChannelID: "C1", ThreadID: "1.2"}},
	}
}

func TestSubmitAccepted(t *testing.T) {
	t.Parallel()
	f, st := newFiler(t)
	s := &bot.Submitter{Filer: f}
	ans := s.Submit(context.Background(), voice(), goodSubmission("test:form-1"))
	if !ans.Accepted() || ans.Request.ID == "" {
		t.Fatalf("answer = %+v, want the request accepted", ans)
	}
	if want := "Filing <b>Ferry tender</b> under "; !strings.HasPrefix(ans.Tell, want) {
		t.Errorf("tell = %q, want it to start %q", ans.Tell, want)
	}
	if ans.Request.Marking == "" || ans.Request.Marking == bot.ClassDefault {
		t.Errorf("marking = %q, want the class's default", ans.Request.Marking)
	}
	// The check runs once: inside Submit, the step's one call to the
	// filer; the step checks nothing of its own.
	if c, s := f.checks.Load(), f.submits.Load(); c != 0 || s != 1 {
		t.Errorf("the step called Check %d and Submit %d times, want 0 and 1 (Submit checks)", c, s)
	}
	if n := pendingRequests(t, st); n != 1 {
		t.Errorf("%d requests stored, want 1", n)
	}
}

func TestSubmitFieldErrors(t *testing.T) {
	t.Parallel()
	f, st := newFiler(t)
	s := &bot.Submitter{Filer: f}
	sub := goodSubmission("test:form-2")
	sub.Form = bot.Form{Title: "  ", Class: "100", Marking: "SECRET"}
	ans := s.Submit(context.Background(), voice(), sub)
	if ans.Accepted() || ans.Error != "" || ans.Tell != "" {
		t.Fatalf("answer = %+v, want field errors only", ans)
	}
	for _, field := range []string{"title", "class"} {
		if ans.Fields[field] == "" {
			t.Errorf("no error for %s in %v", field, ans.Fields)
		}
	}
	if c, s := f.checks.Load(), f.submits.Load(); c != 0 || s != 1 {
		t.Errorf("the step called Check %d and Submit %d times, want 0 and 1", c, s)
	}
	if n := pendingRequests(t, st); n != 0 {
		t.Errorf("%d requests stored for a refused form, want 0", n)
	}
}

// A store that answers late keeps the form open with StoreLate; pressing
// File again stores nothing more, and the person is told the form was
// already received once, however often they press.
func TestSubmitStoreLate(t *testing.T) {
	t.Parallel()
	for _, quiet := range []bool{false, true} {
		f, st := newFiler(t)
		clock := clockwork.NewFakeClock()
		s := &bot.Submitter{Filer: f, QuietRepeats: quiet, Clock: clock}
		sub := goodSubmission("test:form-late")
		f.late.Store(true)
		ans := s.Submit(context.Background(), voice(), sub)
		if ans.Error != bot.StoreLate || ans.Accepted() || ans.Tell != "" {
			t.Fatalf("quiet=%v: late store answered %+v, want StoreLate", quiet, ans)
		}
		f.late.Store(false)
		ans = s.Submit(context.Background(), voice(), sub)
		if !ans.Accepted() || !ans.Request.Repeat || !strings.HasPrefix(ans.Tell, "This form was already received") {
			t.Errorf("quiet=%v: press after a late answer = %+v, want accepted and told it was already received", quiet, ans)
		}
		ans = s.Submit(context.Background(), voice(), sub)
		if told := ans.Tell != ""; told == quiet {
			t.Errorf("quiet=%v: third press told %q", quiet, ans.Tell)
		}
		if n := pendingRequests(t, st); n != 1 {
			t.Errorf("quiet=%v: %d requests stored, want 1", quiet, n)
		}
	}
}

// A replayed submission (Slack delivering one submission many times at
// once) files once and tells the person once.
func TestSubmitReplayedFilesOnce(t *testing.T) {
	t.Parallel()
	f, st := newFiler(t)
	s := &bot.Submitter{Filer: f, QuietRepeats: true}
	const copies = 8
	var wg sync.WaitGroup
	answers := make([]bot.Answer, copies)
	for i := range copies {
		wg.Go(func() { answers[i] = s.Submit(context.Background(), voice(), goodSubmission("test:replayed")) })
	}
	wg.Wait()
	told, id := 0, ""
	for i, a := range answers {
		if !a.Accepted() {
			t.Fatalf("copy %d answered %+v", i, a)
		}
		if id == "" {
			id = a.Request.ID
		}
		if a.Request.ID != id {
			t.Errorf("copy %d is request %s, want %s", i, a.Request.ID, id)
		}
		if a.Tell != "" {
			told++
		}
	}
	if told != 1 {
		t.Errorf("%d copies told the person, want 1", told)
	}
	if n := pendingRequests(t, st); n != 1 {
		t.Errorf("%d requests stored from %d copies, want 1", n, copies)
	}
	if c := f.checks.Load(); c != 0 {
		t.Errorf("the step called Check %d times, want 0 (Submit checks)", c)
	}
}

// A form is remembered for FormMemory: a late answer older than that is
// forgotten, so a copy after it is a quiet repeat, while one within it
// is told as received.
func TestSubmitFormsForgotten(t *testing.T) {
	t.Parallel()
	for _, wait := range []time.Duration{bot.FormMemory - time.Minute, bot.FormMemory + time.Minute} {
		f, _ := newFiler(t)
		clock := clockwork.NewFakeClock()
		s := &bot.Submitter{Filer: f, QuietRepeats: true, Clock: clock}
		sub := goodSubmission("test:forgotten")
		f.late.Store(true)
		if a := s.Submit(context.Background(), voice(), sub); a.Error != bot.StoreLate {
			t.Fatalf("late press answered %+v", a)
		}
		f.late.Store(false)
		clock.Advance(wait)
		a := s.Submit(context.Background(), voice(), sub)
		if remembered := wait < bot.FormMemory; (a.Tell != "") != remembered {
			t.Errorf("a copy %v after a late answer told %q, want told: %v", wait, a.Tell, remembered)
		}
	}
}
