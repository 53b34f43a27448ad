package mattermost

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// retryTransport retries requests that Mattermost answered with HTTP 429,
// waiting as long as its Retry-After header says (Mattermost's rate limiter
// sets it in seconds), or X-RateLimit-Reset when that is all there is.
type retryTransport struct {
	base http.RoundTripper
	// max is how many times one request is retried before the 429 is
	// returned to the caller.
	max int
	// maxWait caps a single wait, so a silly header cannot park a capture
	// for an hour.
	maxWait time.Duration
	sleep   func(ctx context.Context, d time.Duration) error
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := t.base.RoundTrip(req)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests || attempt >= t.max {
			return resp, err
		}
		if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
			return resp, nil // cannot replay the body
		}
		wait := retryAfter(resp.Header, time.Now())
		if wait > t.maxWait {
			wait = t.maxWait
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
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

// retryAfter reads how long to wait from a 429 answer: Retry-After in
// seconds or as an HTTP date, else X-RateLimit-Reset (seconds), else 1s.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := t.Sub(now); d > 0 {
				return d
			}
			return 0
		}
	}
	if v := h.Get("X-RateLimit-Reset"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	return time.Second
}
