package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// readiness answers /readyz: 200 when every check passes (the store
// answers, each configured platform is reachable), 503 with the failing
// checks otherwise. Results are kept for a few seconds so a busy probe does
// not hammer the store or the platforms.
//
// Whoever can reach /readyz learns which part fails and a short reason
// (notReady), never an endpoint, bucket, directory, host name or
// credential: the whole error goes to the log.
type readiness struct {
	now    func() time.Time
	log    *slog.Logger
	mu     sync.Mutex
	checks map[string]func(ctx context.Context) error
	notes  []string
	at     time.Time
	last   map[string]error
}

func newReadiness(now func() time.Time, log *slog.Logger) *readiness {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &readiness{now: now, log: log, checks: make(map[string]func(context.Context) error)}
}

// notReady is a failed readiness check: reason is what /readyz shows
// (the kind of failure, in a few words, naming no address, bucket,
// directory or credential); err, the detail, goes to the log only.
type notReady struct {
	reason string
	err    error
}

func (e *notReady) Error() string { return e.reason + ": " + e.err.Error() }
func (e *notReady) Unwrap() error { return e.err }

// readyReason is what /readyz shows of a failed check.
func readyReason(err error) string {
	if nr, ok := errors.AsType[*notReady](err); ok {
		return nr.reason
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "did not answer in time"
	}
	return "failing (the bot's log says why)"
}

// add adds a named check; on a nil readiness (a front end wired alone in
// a test) it does nothing.
func (r *readiness) add(name string, check func(ctx context.Context) error) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks[name] = check
}

// note adds a warning /readyz always shows about a part, such as that
// records are not protected (part "object lock").
func (r *readiness) note(part, line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, part+": "+line)
}

const readyCacheFor = 5 * time.Second

func (r *readiness) results(ctx context.Context) (map[string]error, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last != nil && r.now().Sub(r.at) < readyCacheFor {
		return r.last, r.notes
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res := make(map[string]error, len(r.checks))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for name, check := range r.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := check(ctx)
			mu.Lock()
			res[name] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	for name, err := range res {
		if err != nil {
			r.log.Warn("readiness check failed", "check", name, "err", err)
		}
	}
	r.last, r.at = res, r.now()
	return res, r.notes
}

// ServeHTTP answers /readyz.
func (r *readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	res, notes := r.results(req.Context())
	names := make([]string, 0, len(res))
	for n := range res {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	status := http.StatusOK
	for _, n := range names {
		if err := res[n]; err != nil {
			status = http.StatusServiceUnavailable
			fmt.Fprintf(&b, "FAIL %s: %s\n", n, readyReason(err))
		} else {
			fmt.Fprintf(&b, "ok   %s\n", n)
		}
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "warn %s\n", n)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprint(w, b.String())
}
