package slack

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/recordbot/recordbot/capture"
)

// Limits are the call rates the source keeps to, per workspace and per Web
// API method, as Slack counts them. The zero value means DefaultLimits.
type Limits struct {
	// Tier2, Tier3 and Tier4 are the steady rates of Slack's rate-limit
	// tiers; Burst is how many calls may go at once before the rate bites.
	Tier2, Tier3, Tier4 rate.Limit
	Burst               int
}

// DefaultLimits are Slack's published tiers for internal (customer-built)
// apps: Tier 2 about 20, Tier 3 about 50 and Tier 4 about 100 calls a
// minute, per method and workspace.
func DefaultLimits() Limits {
	return Limits{
		Tier2: rate.Every(time.Minute / 20),
		Tier3: rate.Every(time.Minute / 50),
		Tier4: rate.Every(time.Minute / 100),
		Burst: 5,
	}
}

// methodTier is the rate-limit tier of each Web API method the source calls.
var methodTier = map[string]int{
	"auth.test":             4, // "special", far above Tier 4
	"conversations.info":    3,
	"conversations.members": 4,
	"conversations.replies": 3,
	"users.info":            4,
	"chat.getPermalink":     4, // "special"
}

// limiter paces one method of one workspace: a token bucket for the steady
// rate, and a pause until the Retry-After that a 429 asked for.
type limiter struct {
	bucket *rate.Limiter
	mu     sync.Mutex
	until  time.Time
}

func (l Limits) limiter(method string) *limiter {
	r := l.Tier3
	switch methodTier[method] {
	case 2:
		r = l.Tier2
	case 4:
		r = l.Tier4
	}
	burst := l.Burst
	if burst < 1 {
		burst = 1
	}
	return &limiter{bucket: rate.NewLimiter(r, burst)}
}

// call runs one Web API call for workspace w under its limiter, and runs it
// again after the wait Slack asks for when it answers 429 Too Many Requests
// (https://api.slack.com/docs/rate-limits: "a HTTP 429 Too Many Requests
// error, and a Retry-After HTTP header containing the number of seconds
// until you can retry"). A wait longer than MaxWait, or 429s that keep
// coming after MaxRetries waits, end the call with a
// *capture.RateLimitError: the filing is tried again after the wait
// rather than failing, and the person is told when it resumes.
func (s *Source) call(ctx context.Context, w *workspace, method string, f func(ctx context.Context) error) error {
	l := w.limiter(method, s.limits)
	for attempt := 0; ; attempt++ {
		if err := l.bucket.Wait(ctx); err != nil {
			return err
		}
		l.mu.Lock()
		until := l.until
		l.mu.Unlock()
		if pause := until.Sub(s.now()); pause > 0 {
			if pause > s.maxWait {
				return &apiError{method: method, err: rateLimited(pause)}
			}
			if err := s.sleep(ctx, pause); err != nil {
				return err
			}
			l.mu.Lock()
			if l.until.Equal(until) {
				l.until = time.Time{} // waited out
			}
			l.mu.Unlock()
		}
		err := f(ctx)
		rl, ok := errors.AsType[*slackapi.RateLimitedError](err)
		if !ok {
			if err != nil {
				return &apiError{method: method, err: err}
			}
			return nil
		}
		s.calls429.Add(1)
		wait := rl.RetryAfter
		if wait <= 0 {
			wait = time.Second
		}
		l.mu.Lock()
		if u := s.now().Add(wait); u.After(l.until) {
			l.until = u
		}
		l.mu.Unlock()
		if wait > s.maxWait || attempt >= s.maxRetries {
			s.log.LogAttrs(ctx, slog.LevelInfo, "slack rate limited; filing to resume later",
				slog.String("team", w.id), slog.String("method", method), slog.Duration("retry_after", wait), slog.Int("answers_429", attempt+1))
			return &apiError{method: method, err: rateLimited(wait)}
		}
		s.log.LogAttrs(ctx, slog.LevelInfo, "slack rate limited; waiting as asked",
			slog.String("team", w.id), slog.String("method", method), slog.Duration("retry_after", wait))
	}
}

// rateLimited is capture's rate-limit error for a wait of d.
func rateLimited(d time.Duration) *capture.RateLimitError {
	return &capture.RateLimitError{Platform: capture.Slack, RetryAfter: d}
}

// apiError is a failed Web API call: the method and Slack's error code.
type apiError struct {
	method string
	err    error
}

func (e *apiError) Error() string { return "slack " + e.method + ": " + e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

// slackCode returns Slack's error code ("channel_not_found") in err, or "".
func slackCode(err error) string {
	if r, ok := errors.AsType[slackapi.SlackErrorResponse](err); ok {
		return r.Err
	}
	return ""
}
