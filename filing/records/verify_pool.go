package records

import (
	"context"
	"fmt"
	"sync"

	"github.com/recordbot/recordbot/filing"
)

// runner checks packages as they are added, Verifier.Parallel at once, and
// hands each result to emit.
type runner struct {
	v       *Verifier
	ctx     context.Context
	cancel  context.CancelCauseFunc
	locking bool
	events  eventSource
	sem     chan struct{}
	jobs    chan job
	wg      sync.WaitGroup

	mu      sync.Mutex
	prog    Progress
	added   int
	pending int // packages expected but not yet added, for Progress.Total
	// emit receives each result and the number it was added with; it is
	// called under mu, so never concurrently.
	emit func(int, Result) error
}

type job struct {
	p *pkg
	i int
}

// start starts checking; expect is how many packages are expected (it
// only makes Progress.Total right sooner).
func (v *Verifier) start(ctx context.Context, expect int, events eventSource, emit func(int, Result) error) (*runner, error) {
	par := v.Parallel
	if par <= 0 {
		par = parallel
	}
	locking := false
	if lk, ok := v.Store.(filing.Locker); ok {
		var err error
		if locking, err = lk.Locking(ctx); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	rn := &runner{v: v, ctx: ctx, cancel: cancel, locking: locking, events: events,
		sem: make(chan struct{}, par), jobs: make(chan job), pending: expect, emit: emit}
	for range par {
		rn.wg.Go(func() {
			for j := range rn.jobs {
				if ctx.Err() != nil {
					continue
				}
				r, err := v.check(ctx, j.p, locking, rn.sem, events)
				if err != nil {
					cancel(fmt.Errorf("verify %s: %w", firstOf(j.p.id, j.p.folder), err))
					continue
				}
				rn.finish(j.i, r)
			}
		})
	}
	return rn, nil
}

// add queues p, numbered i, for checking. found says p was not among the
// packages expected.
func (rn *runner) add(i int, p *pkg, found bool) {
	rn.count(found)
	select {
	case rn.jobs <- job{p, i}:
	case <-rn.ctx.Done():
	}
}

// done hands on a result found without checking.
func (rn *runner) done(i int, r Result) {
	rn.count(false)
	rn.finish(i, r)
}

func (rn *runner) count(found bool) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.added++
	if !found {
		rn.pending = max(rn.pending-1, 0)
	}
}

func (rn *runner) finish(i int, r Result) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.ctx.Err() != nil {
		return
	}
	if err := rn.emit(i, r); err != nil {
		rn.cancel(err)
		return
	}
	rn.prog.Done++
	rn.prog.Total = rn.added + rn.pending
	rn.prog.Bytes += r.Bytes
	if !r.OK() {
		rn.prog.Failed++
	}
	if rn.v.Progress != nil {
		rn.v.Progress(rn.prog)
	}
}

// wait waits for every package added to be checked, then runs after (if
// set) unless a check failed.
func (rn *runner) wait(after func()) error {
	close(rn.jobs)
	rn.wg.Wait()
	defer rn.cancel(nil)
	if after != nil && rn.ctx.Err() == nil {
		after()
	}
	return context.Cause(rn.ctx)
}
