package filing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// BenchmarkSubmitAck measures what a person waits for before "Filing…":
// keyed Submits (each durable before it returns), against its floor
// measured in the same bursts under the same load: create-only PutObjects
// of objects the size of a stored request. Each burst is 200 concurrent
// writes, every other one a Submit, so the store sees 200 at once either
// way. Filings run in the background throughout, as they do in production.
//
//	go test -count=1 -run XXX -bench SubmitAck -benchtime 12x ./filing/
func BenchmarkSubmitAck(b *testing.B) {
	ctx := context.Background()
	st := miniotest.NewStore(b)
	svc := newService(b, st, nil, nil)
	client := st.Client()
	const concurrent = 200

	// Background filings: one thread of 200 messages and a 4 MiB file
	// after another, until the benchmark ends.
	bg, stopBG := context.WithCancel(ctx)
	var bgWG sync.WaitGroup
	bgWG.Add(1)
	go func() {
		defer bgWG.Done()
		th := testThread(200, 4<<20)
		for i := 0; bg.Err() == nil; i++ {
			svc.FileThread(bg, request(fmt.Sprintf("background %d", i)), th)
		}
	}()
	defer func() { stopBG(); bgWG.Wait() }()

	sample := request("A typical title for a filing request, as a person types it")
	sample.Key = "slack:T0123456:V0123456789:1712345678.abcdef12"
	sample.Reply = json.RawMessage(`{"channel":"C0123456789","user":"U0123456789","response_url":"https://hooks.slack.com/app/T0123456/1234567890/abcdefghijklmnop"}`)
	body, _ := json.Marshal(map[string]any{"request": sample})

	var acks, floor []time.Duration
	var mu sync.Mutex
	submit := func(i, j int) {
		r := sample
		r.Key = fmt.Sprintf("%s:%d:%d", sample.Key, i, j)
		start := time.Now()
		if _, err := svc.Submit(ctx, r); err != nil {
			b.Error(err)
		}
		d := time.Since(start)
		mu.Lock()
		acks = append(acks, d)
		mu.Unlock()
	}
	put := func(i, j int) {
		po := minio.PutObjectOptions{ContentType: "application/json"}
		po.SetMatchETagExcept("*")
		start := time.Now()
		if _, err := client.PutObject(ctx, st.Bucket(), fmt.Sprintf("floor/%d/%d.json", i, j), bytes.NewReader(body), int64(len(body)), po); err != nil {
			b.Error(err)
		}
		d := time.Since(start)
		mu.Lock()
		floor = append(floor, d)
		mu.Unlock()
	}
	b.ResetTimer()
	for i := range b.N {
		// One burst of concurrent writes, half of them Submits and half
		// plain PutObjects, interleaved: both meet the store, the
		// background filings and the scheduler at the same moments, so
		// the ratio does not depend on what the machine did between two
		// bursts.
		var wg sync.WaitGroup
		for j := range concurrent {
			if (i+j)%2 == 0 {
				wg.Go(func() { submit(i, j) })
			} else {
				wg.Go(func() { put(i, j) })
			}
		}
		wg.Wait()
	}
	b.StopTimer()
	p := func(ds []time.Duration, q float64) float64 {
		slices.Sort(ds)
		return float64(ds[int(q*float64(len(ds)-1))].Milliseconds())
	}
	b.ReportMetric(p(acks, 0.5), "ack-p50-ms")
	b.ReportMetric(p(acks, 0.99), "ack-p99-ms")
	b.ReportMetric(p(floor, 0.5), "put-p50-ms")
	b.ReportMetric(p(floor, 0.99), "put-p99-ms")
	b.ReportMetric(p(acks, 0.99)/p(floor, 0.99), "p99-ratio")
	b.ReportMetric(p(acks, 0.5)/p(floor, 0.5), "p50-ratio")
}
