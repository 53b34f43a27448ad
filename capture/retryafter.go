package capture

import (
	"net/http"
	"strconv"
	"time"
)

// RetryAfter reads how long an HTTP 429 answer asks the client to wait,
// for every source that calls a platform over HTTP: the Retry-After
// header, in seconds or as an HTTP date (RFC 9110 section 10.2.3,
// https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3; Slack sends
// seconds, https://api.slack.com/docs/rate-limits), else
// X-RateLimit-Reset in seconds (Mattermost's limiter,
// https://developers.mattermost.com/api-documentation/#/#rate-limiting),
// else one second. A date already past is no wait at all.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	if v := h.Get("X-RateLimit-Reset"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	return time.Second
}
