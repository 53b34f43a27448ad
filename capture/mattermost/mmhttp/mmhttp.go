// Package mmhttp is the HTTP client recordbot talks to the Mattermost API
// with, from the capture source (capture/mattermost) and from the front
// end (bot/mattermost) alike: it waits out HTTP 429 answers as the server
// asks, and gives up with a *capture.RateLimitError when the wait is too
// long, so a filing is rescheduled rather than a worker parked.
package mmhttp

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/recordbot/recordbot/capture"
)

// NewClient returns an HTTP client for the Mattermost API over base
// (http.DefaultTransport when nil) that retries a request answered with
// HTTP 429 up to maxRetries times (default 8), after the wait the server
// asks for, when that is at most maxWait (default 1 minute). sleep waits
// between retries (default capture.Sleep); tests replace it.
func NewClient(base http.RoundTripper, maxRetries int, maxWait time.Duration, sleep func(context.Context, time.Duration) error) *http.Client {
	if base == nil {
		base = http.DefaultTransport
	}
	if sleep == nil {
		sleep = capture.Sleep
	}
	return &http.Client{Transport: &retryTransport{
		base:    base,
		max:     cmp.Or(maxRetries, 8),
		maxWait: cmp.Or(maxWait, time.Minute),
		sleep:   sleep,
	}}
}

// retryTransport retries requests that Mattermost answered with HTTP 429,
// waiting as long as its Retry-After header says (Mattermost's rate limiter
// sets it in seconds), or X-RateLimit-Reset when that is all there is.
type retryTransport struct {
	base http.RoundTripper
	// max is how many times one request is retried before the 429 is
	// returned to the caller.
	max int
	// maxWait is the longest single wait: a longer Retry-After is not
	// waited out here but returned as a *capture.RateLimitError, so the
	// filing is rescheduled for then instead of parking a worker.
	maxWait time.Duration
	sleep   func(ctx context.Context, d time.Duration) error
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := t.base.RoundTrip(req)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests {
			return resp, err
		}
		wait := capture.RetryAfter(resp.Header, time.Now())
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
		if attempt >= t.max || wait > t.maxWait || !replayable {
			return nil, &capture.RateLimitError{Platform: capture.Mattermost, RetryAfter: max(wait, time.Second)}
		}
		if err := t.sleep(req.Context(), wait); err != nil {
			return nil, fmt.Errorf("mattermost rate limit: %w", err)
		}
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
	}
}
