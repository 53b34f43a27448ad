package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

// metrics are what /metrics shows (Prometheus). Labels hold platforms,
// outcomes and reasons only: never names, titles or text.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec   // platform, result
	filings  *prometheus.CounterVec   // platform, outcome, reason
	duration *prometheus.HistogramVec // platform
	bytes    *prometheus.CounterVec   // platform
	apiCalls *prometheus.CounterVec   // platform, status
	pending  *pendingCollector
}

// newMetrics registers recordbot's metrics and the Go runtime's. pending
// lists the pending requests when /metrics is scraped.
func newMetrics(st filing.Store, now func() time.Time) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recordbot_requests_total",
			Help: "Filing requests by platform and result: accepted, repeat (a replay or double click of one already stored), refused (bad input) or error (the store failed).",
		}, []string{"platform", "result"}),
		filings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recordbot_filings_total",
			Help: "Filing attempts ended, by platform, outcome (filed, failed, retrying) and reason of failure.",
		}, []string{"platform", "outcome", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "recordbot_filing_duration_seconds",
			Help:    "Time from a request's acceptance to its record being filed.",
			Buckets: []float64{1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
		}, []string{"platform"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recordbot_filed_bytes_total",
			Help: "Bytes of record packages filed (payload and tag files).",
		}, []string{"platform"}),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recordbot_platform_api_calls_total",
			Help: "HTTP calls to chat platform APIs (capture and replies to people), by platform and status (ok, rate_limited, error).",
		}, []string{"platform", "status"}),
	}
	m.reg.MustRegister(m.requests, m.filings, m.duration, m.bytes, m.apiCalls,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.pending = &pendingCollector{st: st, now: now,
		count: prometheus.NewDesc("recordbot_pending_requests", "Filing requests stored and not yet done or failed.", nil, nil),
		oldest: prometheus.NewDesc("recordbot_oldest_pending_request_age_seconds",
			"Age of the oldest pending filing request; 0 when none is pending.", nil, nil),
		failed: prometheus.NewDesc("recordbot_pending_scan_failed", "1 when the store could not be listed for pending requests.", nil, nil),
	}
	m.reg.MustRegister(m.pending)
	return m
}

// handler serves /metrics.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// submitted counts one Submit by its result.
func (m *metrics) submitted(r filing.Request, err error) {
	result := "accepted"
	var fe filing.FieldErrors
	switch {
	case errors.As(err, &fe):
		result = "refused"
	case err != nil:
		result = "error"
	case r.Repeat:
		result = "repeat"
	}
	m.requests.WithLabelValues(platformLabel(r.Thread.Platform), result).Inc()
	if result == "accepted" {
		m.pending.changed()
	}
}

// outcome counts one filing outcome.
func (m *metrics) outcome(o filing.Outcome) {
	p := platformLabel(o.Request.Thread.Platform)
	m.pending.changed()
	switch {
	case o.Err == nil && o.Record != nil:
		m.filings.WithLabelValues(p, "filed", "").Inc()
		if !o.Request.RequestedAt.IsZero() && !o.Record.FiledAt.IsZero() {
			m.duration.WithLabelValues(p).Observe(o.Record.FiledAt.Sub(o.Request.RequestedAt).Seconds())
		}
		m.bytes.WithLabelValues(p).Add(float64(o.Record.Bytes))
	case o.Final:
		m.filings.WithLabelValues(p, "failed", reason(o.Err)).Inc()
	default:
		m.filings.WithLabelValues(p, "retrying", reason(o.Err)).Inc()
	}
}

// reason names the kind of a filing failure, for a label.
func reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, capture.ErrAccess):
		return "access"
	case errors.Is(err, capture.ErrNotFound):
		return "not_found"
	case errors.Is(err, capture.ErrBotNotInChannel):
		return "bot_not_in_channel"
	case errors.Is(err, capture.ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "other"
}

func platformLabel(p capture.Platform) string {
	switch p {
	case capture.Slack, capture.Mattermost:
		return string(p)
	}
	return "other"
}

// countingFiler counts what Submit does, for the front ends.
type countingFiler struct {
	*filing.Service
	m *metrics
}

// Submit implements the front ends' Filer.
func (f countingFiler) Submit(ctx context.Context, r filing.Request) (filing.Request, error) {
	out, err := f.Service.Submit(ctx, r)
	if f.m != nil {
		f.m.submitted(out, err)
	}
	return out, err
}

// countingNotifier counts outcomes on their way to the front ends.
type countingNotifier struct {
	next filing.Notifier
	m    *metrics
}

// Notify implements filing.Notifier.
func (n countingNotifier) Notify(ctx context.Context, o filing.Outcome) {
	n.m.outcome(o)
	n.next.Notify(ctx, o)
}

// transport counts a platform's API calls; 429s as rate_limited.
// With no metrics (tests that wire a front end alone) it is base.
func (m *metrics) transport(p capture.Platform, base http.RoundTripper) http.RoundTripper {
	if m == nil {
		return base
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return countingTransport{base: base, calls: m.apiCalls, platform: platformLabel(p)}
}

type countingTransport struct {
	base     http.RoundTripper
	calls    *prometheus.CounterVec
	platform string
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	status := "ok"
	switch {
	case err != nil:
		status = "error"
	case resp.StatusCode == http.StatusTooManyRequests:
		status = "rate_limited"
	case resp.StatusCode >= 400:
		status = "error"
	}
	t.calls.WithLabelValues(t.platform, status).Inc()
	return resp, err
}

// pendingEvery is how often /metrics lists the pending requests at most:
// scrapes in between show what the last listing found (the age of the
// oldest moving on with the clock), unless this process accepted or ended
// a request since.
const pendingEvery = 15 * time.Second

// pendingCollector lists the pending requests when scraped, at most once
// per pendingEvery, and reads each keyed request once in its life (when
// it was accepted), whatever the number of scrapes.
type pendingCollector struct {
	st                    filing.Store
	now                   func() time.Time
	count, oldest, failed *prometheus.Desc

	// stale says this process accepted or ended a request since the last
	// listing: the next scrape lists again. It is apart from mu so that
	// the filing worker never waits for a listing.
	stale atomic.Bool

	mu sync.Mutex // held while listing, so scrapes at once list once
	// What the last listing found, at listed.
	listed   time.Time
	n        int
	oldestAt time.Time
	scanErr  bool
	// accepted holds when each keyed request still pending was accepted.
	accepted map[string]time.Time
}

// changed makes the next scrape list the store again.
func (c *pendingCollector) changed() { c.stale.Store(true) }

func (c *pendingCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.count
	ch <- c.oldest
	ch <- c.failed
}

func (c *pendingCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if since := now.Sub(c.listed); c.stale.Swap(false) || c.listed.IsZero() || since >= pendingEvery || since < 0 {
		c.list()
		c.listed = now
	}
	age, failed := 0.0, 0.0
	if !c.oldestAt.IsZero() {
		age = max(0, now.Sub(c.oldestAt).Seconds())
	}
	if c.scanErr {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(c.n))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, failed)
}

// list counts the pending requests and finds when the oldest was
// accepted. c.mu is held.
func (c *pendingCollector) list() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, failed := 0, false
	var oldest time.Time
	seen := make(map[string]time.Time, len(c.accepted))
	for info, err := range c.st.List(ctx, filing.RequestsPrefix+"pending/") {
		if err != nil {
			failed = true
			break
		}
		id, ok := strings.CutSuffix(path.Base(info.Key), ".json")
		if !ok || info.Size == 0 {
			continue // not a request, or the marker a done one leaves
		}
		n++
		// An unkeyed request is named by its id, a UUIDv7 holding the time
		// it was accepted; a keyed one (k-…) says when inside, read once.
		// Neither changes when a claim rewrites the object.
		at := info.LastModified
		if u, err := uuid.Parse(id); err == nil && u.Version() == 7 {
			sec, nsec := u.Time().UnixTime()
			at = time.Unix(sec, nsec)
		} else if t, ok := c.accepted[info.Key]; ok {
			at = t
			seen[info.Key] = t
		} else if t, err := requestedAt(ctx, c.st, info.Key); err == nil {
			at = t
			seen[info.Key] = t
		}
		if oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
	}
	if !failed {
		c.accepted = seen // only the requests still pending
	}
	c.n, c.oldestAt, c.scanErr = n, oldest, failed
}

// requestedAt reads when the stored request at key was accepted.
func requestedAt(ctx context.Context, st filing.Store, key string) (time.Time, error) {
	rc, _, err := st.Open(ctx, key)
	if err != nil {
		return time.Time{}, err
	}
	defer rc.Close()
	var v struct {
		Request struct {
			RequestedAt time.Time `json:"requested_at"`
		} `json:"request"`
	}
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&v); err != nil {
		return time.Time{}, err
	}
	if v.Request.RequestedAt.IsZero() {
		return time.Time{}, errors.New("no requested_at")
	}
	return v.Request.RequestedAt, nil
}
