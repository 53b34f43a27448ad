package capture_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{"Retry-After": {"7"}}, 7 * time.Second},
		{http.Header{"Retry-After": {"0"}}, 0},
		{http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second},
		{http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0},
		{http.Header{"Retry-After": {"soon"}}, time.Second},
		{http.Header{"Retry-After": {"-3"}}, time.Second},
		{http.Header{"X-Ratelimit-Reset": {"4"}}, 4 * time.Second},
		{http.Header{"Retry-After": {"2"}, "X-Ratelimit-Reset": {"4"}}, 2 * time.Second},
		{http.Header{}, time.Second},
	} {
		if got := capture.RetryAfter(tc.h, now); got != tc.want {
			t.Errorf("RetryAfter(%v) = %s, want %s", tc.h, got, tc.want)
		}
	}
}
