package slack_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkInteractivityAck sends 200 signed view_submissions at once to
// /slack/interactivity while the filing worker files the earlier ones into
// MinIO, and reports the acknowledgement latency Slack would see (p50, p99,
// max; Slack allows 3 s). Each acknowledgement includes checking the input
// and storing the request durably. Each submission is of its own view (its
// own view id), as 200 people filing at once would send.
func BenchmarkInteractivityAck(b *testing.B) {
	e := newEnv(b, envOpts{})
	e.run(b)
	msg := map[string]any{"type": "message", "user": "U1", "ts": root, "thread_ts": root, "text": "Budget"}
	e.interact(b, messageAction("U1", "C1", msg))
	view := e.lastView(b)
	sub := viewSubmission("U1", view, "Venue contract", "100-20", "OFFICIAL", "")
	n := 0
	nextBody := func() string {
		n++
		sub["view"].(map[string]any)["id"] = "V" + strconv.Itoa(n)
		raw, _ := json.Marshal(sub)
		return url.Values{"payload": {string(raw)}}.Encode()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

	const concurrent = 200
	var lat []time.Duration
	var mu sync.Mutex
	b.ResetTimer()
	for b.Loop() {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range concurrent {
			wg.Add(1)
			body := nextBody()
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, e.bot.URL+"/slack/interactivity", strings.NewReader(body))
				req.Header = sign(time.Now().Unix(), body)
				<-start
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				d := time.Since(t0)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50_ms")
	b.ReportMetric(q(0.99), "p99_ms")
	b.ReportMetric(q(1), "max_ms")
	b.ReportMetric(float64(len(e.slack.Calls("chat.postEphemeral"))), "ephemerals")
}
