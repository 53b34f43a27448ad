package filing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
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
	tick := time.NewTicker(scanEvery)
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
		case <-tick.C:
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
	info, err := s.o.Store.Stat(ctx, key)
	if err != nil {
		return pending{}, "", err
	}
	rc, err := s.o.Store.Open(ctx, key)
	if err != nil {
		return pending{}, "", err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return pending{}, "", err
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
	info, err := s.o.Store.Put(ctx, pendingKey(p.Request.ID), bytes.NewReader(data), int64(len(data)),
		WriteOptions{ContentType: "application/json", IfMatch: etag})
	return info.ETag, err
}

// carryOut claims request id and files it, reporting the outcome.
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
	if _, err := s.o.Store.Stat(ctx, doneKey(id)); err == nil {
		s.o.Store.Delete(ctx, pendingKey(id)) // done by another worker
		return
	}
	p.ClaimedBy, p.ClaimedUntil = s.owner, now.Add(leaseTime)
	p.Request.Attempts++
	if etag, err = s.writePending(ctx, p, etag); err != nil {
		if !errors.Is(err, ErrConflict) {
			s.log.Warn("claim request", "request", id, "err", err)
		}
		return // another worker has it
	}

	// Renew the lease while the filing runs.
	fctx, stop := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(leaseTime / 3)
		defer t.Stop()
		for {
			select {
			case <-fctx.Done():
				return
			case <-t.C:
				q := p
				q.ClaimedUntil = s.now().Add(leaseTime)
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
	sum, err := s.captureAndFile(fctx, p.Request)
	stop()
	<-renewed
	if ctx.Err() != nil && err != nil {
		return // shutting down: the request stays pending for the next start
	}
	r := p.Request
	if err == nil {
		s.finish(ctx, r, doneKey(id), sum)
		s.notify(ctx, Outcome{Request: r, Record: sum, Final: true})
		return
	}
	r.LastError = err.Error()
	final := isPermanent(err) || r.Attempts >= maxAttempts
	s.log.Warn("filing failed", "request", id, "attempt", r.Attempts, "final", final, "err", err)
	if final {
		s.finish(ctx, r, failedKey(id), nil)
	} else {
		p.Request = r
		p.ClaimedBy, p.ClaimedUntil = "", time.Time{}
		p.NotBefore = s.now().Add(backoff(r.Attempts))
		if _, werr := s.writePending(ctx, p, etag); werr != nil {
			s.log.Warn("reschedule request", "request", id, "err", werr)
		}
	}
	// Tell the person at the first failure and the last, not every retry.
	if final || r.Attempts == 1 {
		s.notify(ctx, Outcome{Request: r, Err: err, Final: final})
	}
}

func backoff(attempt int) time.Duration {
	d := 30 * time.Second << min(attempt-1, 5)
	return min(d, 15*time.Minute)
}

func (s *Service) captureAndFile(ctx context.Context, r Request) (*Summary, error) {
	t, err := s.o.Source.Capture(ctx, r.Thread, r.RequestedBy)
	if err != nil {
		return nil, fmt.Errorf("capture thread: %w", err)
	}
	return s.file(ctx, r, t)
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
	if err := s.o.Store.Delete(ctx, pendingKey(r.ID)); err != nil {
		s.log.Warn("remove pending request", "request", r.ID, "err", err)
	}
}

func (s *Service) notify(ctx context.Context, o Outcome) {
	if s.o.Notifier != nil {
		s.o.Notifier.Notify(ctx, o)
	}
}
