package filing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/recordbot/recordbot/capture"
)

// Run carries out pending requests until ctx is cancelled: those submitted
// to this service at once, and every pending request in the store (left by
// a process that died, or due for a retry) on a regular scan.
func (s *Service) Run(ctx context.Context) error {
	if s.o.Source == nil {
		return errors.New("filing service has no capture source to carry out requests")
	}
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range s.o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range jobs {
				s.carryOut(ctx, id)
			}
		}()
	}
	defer wg.Wait()
	defer close(jobs)
	send := func(id string) bool {
		s.mu.Lock()
		busy := s.active[id]
		if !busy {
			s.active[id] = true
		}
		s.mu.Unlock()
		if busy {
			return true
		}
		select {
		case jobs <- id:
			return true
		case <-ctx.Done():
			return false
		}
	}
	tick := s.o.Clock.NewTicker(s.o.ScanEvery)
	defer tick.Stop()
	for {
		for _, id := range s.scan(ctx) {
			if !send(id) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case id := <-s.wake:
			if !send(id) {
				return nil
			}
		case <-tick.Chan():
		}
	}
}

// Scan lists the pending requests due now (not claimed by a live worker,
// not waiting for a retry).
func (s *Service) scan(ctx context.Context) []string {
	var due []string
	prefix := RequestsPrefix + "pending/"
	for info, err := range s.o.Store.List(ctx, prefix) {
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("scan pending requests", "err", err)
			}
			return due
		}
		id := strings.TrimSuffix(strings.TrimPrefix(info.Key, prefix), ".json")
		if info.Size == 0 {
			// A done keyed request's marker (see Service.finish): nothing
			// to do, and once its window has passed, nothing to keep.
			if s.now().Sub(info.LastModified) > s.o.RepeatWindow {
				if err := s.o.Store.Delete(ctx, info.Key); err != nil && ctx.Err() == nil {
					s.log.Warn("remove the marker of a done request", "request", id, "err", err)
				}
			}
			continue
		}
		p, _, err := s.readPending(ctx, id)
		if err != nil {
			continue
		}
		now := s.now()
		if now.Before(p.ClaimedUntil) || now.Before(p.NotBefore) {
			continue
		}
		due = append(due, id)
	}
	return due
}

func (s *Service) readPending(ctx context.Context, id string) (pending, string, error) {
	key := pendingKey(id)
	rc, info, err := s.o.Store.Open(ctx, key)
	if err != nil {
		return pending{}, "", err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return pending{}, "", err
	}
	if len(data) == 0 {
		// The marker a done keyed request leaves: nothing is pending.
		return pending{}, "", fmt.Errorf("pending request %s: %w", id, ErrNotExist)
	}
	var p pending
	if err := json.Unmarshal(data, &p); err != nil {
		return pending{}, "", fmt.Errorf("pending request %s: %w", id, err)
	}
	return p, info.ETag, nil
}

// writePending rewrites a pending request if it has not changed since it
// was read with etag; ErrConflict says another worker changed it.
func (s *Service) writePending(ctx context.Context, p pending, etag string) (string, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	info, err := s.o.Store.Put(ctx, pendingKey(p.Request.handle()), bytes.NewReader(data), int64(len(data)),
		WriteOptions{ContentType: "application/json", IfMatch: etag})
	return info.ETag, err
}

// carryOut claims request id and files it, reporting the outcome.
//
// An attempt is counted when it is claimed, before any work: a request
// that stops the process every time it is tried (a crash, an out-of-memory
// kill) still uses up its attempts, and the claim after the last one ends
// it as failed and tells the person, instead of trying it for ever.
func (s *Service) carryOut(ctx context.Context, id string) {
	defer func() {
		s.mu.Lock()
		delete(s.active, id)
		s.mu.Unlock()
	}()
	p, etag, err := s.readPending(ctx, id)
	if err != nil {
		if !errors.Is(err, ErrNotExist) {
			s.log.Warn("read pending request", "request", id, "err", err)
		}
		return
	}
	now := s.now()
	if now.Before(p.ClaimedUntil) && p.ClaimedBy != s.owner || now.Before(p.NotBefore) {
		return
	}
	if s.ended(ctx, id, p.Request) {
		return
	}
	p.ClaimedBy, p.ClaimedUntil = s.owner, now.Add(s.o.LeaseTime)
	exhausted := p.Request.Attempts >= s.o.MaxAttempts
	if !exhausted {
		p.Request.Attempts++
	}
	if p.Request.RecordKey == "" {
		// Fix the record's folder now, once: a class renamed in the file
		// plan before a retry must not move the record's later objects.
		if key, err := s.recordKey(p.Request); err == nil {
			p.Request.RecordKey = key
		}
	}
	if etag, err = s.writePending(ctx, p, etag); err != nil {
		if !errors.Is(err, ErrConflict) {
			s.log.Warn("claim request", "request", id, "err", err)
		}
		return // another worker has it
	}
	if exhausted {
		// Every attempt was claimed and none came back: each stopped the
		// process that made it.
		r := p.Request
		err := fmt.Errorf("filing was interrupted %d times without finishing (the bot stopped while filing it); it will not be tried again", r.Attempts)
		r.LastError = err.Error()
		s.log.Error("filing abandoned: every attempt was interrupted", "request", id, "attempts", r.Attempts)
		s.finish(ctx, r, failedKey(id), nil)
		s.notify(ctx, Outcome{Request: r, Err: err, Final: true})
		return
	}

	// Renew the lease while the filing runs.
	fctx, stop := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := s.o.Clock.NewTicker(s.o.LeaseTime / 3)
		defer t.Stop()
		for {
			select {
			case <-fctx.Done():
				return
			case <-t.Chan():
				q := p
				q.ClaimedUntil = s.now().Add(s.o.LeaseTime)
				e, err := s.writePending(fctx, q, etag)
				if err != nil {
					if fctx.Err() == nil {
						s.log.Warn("renew claim", "request", id, "err", err)
					}
					continue
				}
				p, etag = q, e
			}
		}
	}()
	sum, err := s.attempt(fctx, p.Request, p.Request.Attempts >= s.o.MaxAttempts)
	stop()
	<-renewed
	if ctx.Err() != nil && err != nil {
		// Shutting down: hand the request back, the attempt uncounted,
		// so the next start takes it up at once. (A process that is
		// killed never gets here: its claim lapses and counts.)
		p.Request.Attempts = max(p.Request.Attempts-1, 0)
		p.ClaimedBy, p.ClaimedUntil = "", time.Time{}
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := s.writePending(wctx, p, etag); err != nil {
			s.log.Warn("release request at shutdown", "request", id, "err", err)
		}
		return
	}
	r := p.Request
	if err == nil {
		s.finish(ctx, r, doneKey(id), sum)
		s.notify(ctx, Outcome{Request: r, Record: sum, Final: true})
		return
	}
	r.LastError = err.Error()
	if errors.Is(err, capture.ErrRateLimited) && !isPermanent(err) {
		s.delay(ctx, p, etag, err)
		return
	}
	final := isPermanent(err) || r.Attempts >= s.o.MaxAttempts
	s.log.Warn("filing failed", "request", id, "attempt", r.Attempts, "final", final, "err", err)
	if final {
		s.finish(ctx, r, failedKey(id), nil)
	} else {
		p.Request = r
		p.ClaimedBy, p.ClaimedUntil = "", time.Time{}
		p.NotBefore = s.now().Add(s.backoff(r.Attempts))
		if _, werr := s.writePending(ctx, p, etag); werr != nil {
			s.log.Warn("reschedule request", "request", id, "err", werr)
		}
	}
	// Tell the person at the first failure and the last, not every retry.
	if final || r.Attempts == 1 {
		s.notify(ctx, Outcome{Request: r, Err: err, Final: final})
	}
}

// rateLimitWait is the wait when a platform's rate limit says none.
const rateLimitWait = time.Minute

// delay puts a rate-limited request back to wait as long as the platform
// asked, without counting the attempt: a rate limit never fails a filing.
// The person is told once that their filing is held up.
func (s *Service) delay(ctx context.Context, p pending, etag string, err error) {
	wait := rateLimitWait
	var rl *capture.RateLimitError
	if errors.As(err, &rl) && rl.RetryAfter > 0 {
		wait = rl.RetryAfter
	}
	r := p.Request
	r.Attempts = max(r.Attempts-1, 0)
	r.LastError = err.Error()
	tell := !r.Delayed
	r.Delayed = true
	p.Request = r
	p.ClaimedBy, p.ClaimedUntil = "", time.Time{}
	p.NotBefore = s.now().Add(wait)
	s.log.Info("filing waits for a rate limit", "request", r.ID, "wait", wait)
	if _, werr := s.writePending(ctx, p, etag); werr != nil {
		s.log.Warn("reschedule rate-limited request", "request", r.ID, "err", werr)
		return // told next time, when the flag is stored
	}
	if tell {
		s.notify(ctx, Outcome{Request: r, Err: err, Final: false})
	}
}

func (s *Service) backoff(attempt int) time.Duration {
	d := s.o.RetryWait << min(attempt-1, 5)
	return min(d, 15*time.Minute)
}

// recordKey returns the folder of r's record: the one fixed at its first
// claim, or derived from the request and the file plan now.
func (s *Service) recordKey(r Request) (string, error) {
	if r.RecordKey != "" {
		return r.RecordKey, nil
	}
	c := s.o.Plan.Class(r.ClassCode)
	if c == nil || !c.Leaf() {
		return "", permanent(fmt.Errorf("class %q is no longer in the file plan", r.ClassCode))
	}
	return RecordKey(c, r.RequestedAt, r.Title, r.ID), nil
}

// attempt runs one attempt at r, turning a panic into an error so that a
// request that trips a bug fails like any other rather than taking the
// process down with it.
func (s *Service) attempt(ctx context.Context, r Request, last bool) (sum *Summary, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("filing panicked", "request", r.ID, "panic", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
			sum, err = nil, errors.New("internal error while filing (the bot's log has the details)")
		}
	}()
	return s.captureAndFile(ctx, r, last)
}

// captureAndFile files r, resuming from what an earlier attempt stored.
// The stored snapshot is the record's: once it exists the thread is not
// captured again unless files are still to be downloaded, and then a
// thread no longer readable leaves those files missing (with the reason)
// rather than the record unfinished. On the last attempt a file that
// cannot be downloaded is recorded as missing, too.
func (s *Service) captureAndFile(ctx context.Context, r Request, last bool) (*Summary, error) {
	key, err := s.recordKey(r)
	if err != nil {
		return nil, err
	}
	r.RecordKey = key
	src := fetch{last: last}
	snap, err := s.filer.readThread(ctx, key+ThreadFile)
	switch {
	case err == nil:
		done, err := s.filer.downloaded(ctx, key, snap)
		if err != nil || done {
			if err != nil {
				return nil, err
			}
			break
		}
		t, err := s.o.Source.Capture(ctx, r.Thread, r.RequestedBy)
		switch {
		case err == nil:
			src.thread = t
		case errors.Is(err, capture.ErrRateLimited):
			return nil, fmt.Errorf("capture thread: %w", err)
		case isPermanent(err) || last:
			s.log.Warn("thread no longer readable; files not yet stored are recorded as missing", "request", r.ID, "err", err)
			src.gone = goneReason(err)
		default:
			return nil, fmt.Errorf("capture thread: %w", err)
		}
	case errors.Is(err, ErrNotExist):
		t, err := s.o.Source.Capture(ctx, r.Thread, r.RequestedBy)
		if err != nil {
			return nil, fmt.Errorf("capture thread: %w", err)
		}
		src.thread = t
	default:
		return nil, err
	}
	return s.file(ctx, r, src)
}

// goneReason says, for a record, why files could not be downloaded when
// capturing the thread again failed with err.
func goneReason(err error) string {
	switch {
	case errors.Is(err, capture.ErrNotFound):
		return "the thread or its channel was deleted after the thread was captured, before the file could be downloaded"
	case errors.Is(err, capture.ErrAccess):
		return "the person filing lost access to the thread after it was captured, before the file could be downloaded"
	case errors.Is(err, capture.ErrBotNotInChannel):
		return "the bot was removed from the channel after the thread was captured, before the file could be downloaded"
	}
	return "the thread could not be read again to download the file: " + err.Error()
}

// finish records the end of a request and removes it from pending.
func (s *Service) finish(ctx context.Context, r Request, key string, sum *Summary) {
	v := struct {
		Request Request   `json:"request"`
		Record  *Summary  `json:"record,omitempty"`
		At      time.Time `json:"at"`
	}{r, sum, s.now().UTC()}
	if err := createJSON(ctx, s.o.Store, key, v); err != nil && !errors.Is(err, ErrExist) {
		s.log.Warn("record request outcome", "request", r.ID, "err", err)
		return // stays pending; a later scan finishes it idempotently
	}
	s.endPending(ctx, r, key == doneKey(r.handle()))
}

// endPending takes a request out of pending once its outcome is stored. A
// keyed request that is done leaves an empty marker in its place instead,
// so a copy arriving later fails its create-only write and Submit answers
// it as a repeat without asking anything else (Service.submitKeyed); the
// scan removes the marker after Options.RepeatWindow.
func (s *Service) endPending(ctx context.Context, r Request, done bool) {
	key := pendingKey(r.handle())
	if done && r.Key != "" {
		_, err := s.o.Store.Put(ctx, key, bytes.NewReader(nil), 0, WriteOptions{ContentType: "application/json"})
		if err == nil {
			return
		}
		s.log.Warn("mark a done request", "request", r.ID, "err", err)
	}
	if err := s.o.Store.Delete(ctx, key); err != nil {
		s.log.Warn("remove pending request", "request", r.ID, "err", err)
	}
}

func (s *Service) notify(ctx context.Context, o Outcome) {
	if s.o.Notifier != nil {
		s.o.Notifier.Notify(ctx, o)
	}
}

// ended reports whether the request with handle h has already ended (done
// by another worker, or a copy of a keyed submission that arrived after
// the first one ended), and if so removes the pending copy. A copy that is
// not the request that ended is told that request's outcome: a replayed or
// late second press then hears "filed" (or why not), and nothing is filed
// twice.
func (s *Service) ended(ctx context.Context, h string, r Request) bool {
	for _, key := range []string{doneKey(h), failedKey(h)} {
		var v struct {
			Request Request  `json:"request"`
			Record  *Summary `json:"record"`
		}
		err := readJSON(ctx, s.o.Store, key, &v)
		if errors.Is(err, ErrNotExist) {
			continue
		}
		if err != nil {
			s.log.Warn("read ended request", "request", h, "err", err)
			return true // try again at the next scan
		}
		s.endPending(ctx, r, key == doneKey(h))
		if v.Request.ID != r.ID {
			o := Outcome{Request: r, Record: v.Record, Final: true}
			o.Request.ID = v.Request.ID
			if v.Record == nil {
				o.Err = permanent(errors.New(firstNonEmpty(v.Request.LastError, "filing this thread failed")))
			}
			s.notify(ctx, o)
		}
		return true
	}
	return false
}
