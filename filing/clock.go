package filing

import (
	"time"

	"github.com/jonboulle/clockwork"
)

// Clock is where everything in filing, filing/records and bot that
// decides by time reads it: worker leases and retries, event times,
// registers, disposal dates, the listeners' tickers and the caches. It is
// the only place those packages call time.Now or make a ticker, so a test
// drives time with a fake (clockwork.NewFakeClock) instead of sleeping.
//
// clockwork is used rather than a hand-written interface because its fake
// clock already does what tests of tickers and timers need and get wrong
// when written again: waking every sleeper whose deadline a jump passes,
// and BlockUntilContext to wait until the code under test is waiting.
type Clock = clockwork.Clock

// SystemClock is the real clock.
func SystemClock() Clock { return clockwork.NewRealClock() }

// ClockOr is c, or the real clock when c is nil.
func ClockOr(c Clock) Clock {
	if c == nil {
		return SystemClock()
	}
	return c
}

// NowFunc adapts a Clock to the func() time.Time that some options take.
func NowFunc(c Clock) func() time.Time { return ClockOr(c).Now }
