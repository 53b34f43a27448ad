package index

import (
	"context"
	"log/slog"
	"time"
)

// Feeder keeps an index current from inside the bot: a catch-up after each
// record is filed (Poke), coalesced so that a burst of filings costs one,
// and every Interval for holds and disposals, which officers' commands
// record rather than the bot. A catch-up that fails is logged and retried
// at the next poke or tick: the index is derived, and find catches up
// itself too.
type Feeder struct {
	Index    *Index
	Interval time.Duration
	Logger   *slog.Logger

	poke chan struct{}
}

// NewFeeder returns a feeder of ix, catching up every interval.
func NewFeeder(ix *Index, interval time.Duration, log *slog.Logger) *Feeder {
	return &Feeder{Index: ix, Interval: interval, Logger: log, poke: make(chan struct{}, 1)}
}

// Poke asks for a catch-up soon; it never blocks.
func (f *Feeder) Poke() {
	select {
	case f.poke <- struct{}{}:
	default:
	}
}

// Run catches up at each poke and tick until ctx ends.
func (f *Feeder) Run(ctx context.Context) error {
	tick := f.Index.clock.NewTicker(f.Interval)
	defer tick.Stop()
	for {
		f.sync(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-f.poke:
		case <-tick.Chan():
		}
	}
}

func (f *Feeder) sync(ctx context.Context) {
	res, err := f.Index.Sync(ctx, nil)
	switch {
	case err != nil && ctx.Err() == nil:
		f.Logger.Warn("search index: catching up failed; retrying later", "err", err)
	case len(res.Unreadable) > 0:
		f.Logger.Warn("search index: some records could not be indexed", "records", len(res.Unreadable))
	}
}
