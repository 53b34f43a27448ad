package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/storetest"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// scrape GETs /metrics and returns the pending gauges.
func scrape(t *testing.T, m *metrics) (pending, age float64) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "recordbot_pending_requests "); ok {
			pending, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(line, "recordbot_oldest_pending_request_age_seconds "); ok {
			age, _ = strconv.ParseFloat(v, 64)
		}
	}
	return pending, age
}

// TestMetricsReadStoreOncePerInterval: issue 21. Scrapes of /metrics
// read the store at most once per interval whatever the number of pending
// requests: not every pending request at every scrape.
func TestMetricsReadStoreOncePerInterval(t *testing.T) {
	t.Parallel()
	st := &storetest.Counting{Store: storetest.Local(t)}
	clock := &testClock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	start := clock.Now()
	for i := range 100 { // keyed requests: their names hold no time
		at := start.Add(-time.Duration(100-i) * time.Minute)
		svc, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan(), Clock: clockwork.NewFakeClockAt(at)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.Submit(context.Background(), filing.Request{RequestedBy: capture.Person{ID: "U1"},
			Thread: capture.Ref{Platform: capture.Slack, WorkspaceID: "T1", ChannelID: "C1", ThreadID: fmt.Sprintf("1.%d", i)},
			Title:  "Pending", ClassCode: "100-20", Marking: "OFFICIAL", Key: fmt.Sprintf("slack:T1:V%d:h", i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	m := newMetrics(st, clock.Now)

	before := st.Reads()
	for range 20 {
		if n, age := scrape(t, m); n != 100 || age != 100*60 {
			t.Fatalf("scrape = %v pending, oldest %v s; want 100, 6000", n, age)
		}
	}
	// The first scrape may read each request once (when it was
	// accepted); the 19 after it read nothing.
	n := st.Reads() - before
	t.Logf("20 scrapes with 100 pending requests: %d store reads", n)
	if n > 101 {
		t.Errorf("Got(store reads for 20 scrapes with 100 pending) = %d, want at most 101", n)
	}

	// A minute on: one listing for 20 more scrapes, and the age moves on.
	clock.Add(time.Minute)
	before = st.Reads()
	for range 20 {
		if n, age := scrape(t, m); n != 100 || age != 101*60 {
			t.Fatalf("scrape a minute on = %v pending, oldest %v s; want 100, 6060", n, age)
		}
	}
	n = st.Reads() - before
	t.Logf("20 more scrapes a minute later: %d store reads", n)
	if n > 1 {
		t.Errorf("Got(store reads for 20 scrapes a minute on) = %d, want at most 1", n)
	}

	// A request this process accepted or ended shows at the next scrape,
	// for one listing.
	m.pending.changed()
	before = st.Reads()
	scrape(t, m)
	scrape(t, m)
	if n := st.Reads() - before; n != 1 {
		t.Errorf("Got(store reads for 2 scrapes after a change) = %d, want 1", n)
	}

	// The oldest request ends (it leaves an empty marker): the next
	// interval's scrape says so.
	sum := sha256.Sum256([]byte("slack:T1:V0:h"))
	marker := filing.RequestsPrefix + "pending/k-" + hex.EncodeToString(sum[:]) + ".json"
	if _, err := st.Stat(context.Background(), marker); err != nil {
		t.Fatalf("the oldest request is not at %s: %v", marker, err)
	}
	if _, err := st.Put(context.Background(), marker, strings.NewReader(""), 0, filing.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	if n, age := scrape(t, m); n != 99 || age != 101*60 {
		t.Errorf("scrape after the oldest ended = %v pending, oldest %v s; want 99, 6060", n, age)
	}
}
