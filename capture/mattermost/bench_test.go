package mattermost_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/capture/mattermost"
	"github.com/recordbot/recordbot/capture/mattermost/mattermosttest"
)

// pattern is an endless deterministic reader: file content without
// holding it in memory.
type pattern struct{ n int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	p.n -= int64(len(b))
	return len(b), nil
}

// peakHeap samples the heap in use until stop is called and returns the
// highest value seen.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// BenchmarkCaptureLargeThread captures a 10,000-reply thread with 50 files
// of 1 MiB and streams every file, as filing does. It reports API calls
// per capture, peak heap in use (the fake server shares the process, so
// this is an upper bound) and bytes streamed.
func BenchmarkCaptureLargeThread(b *testing.B) {
	const replies, files, fileSize = 10_000, 50, 1 << 20
	mm := mattermosttest.New(b)
	team := mm.AddTeam("ops", "Operations")
	var users []*model.User
	for i := range 40 {
		u, _ := mm.AddUser(fmt.Sprintf("user%02d", i))
		users = append(users, u)
	}
	bot, tok := mm.AddUser("recordbot")
	ch := mm.AddChannel(team, "big", model.ChannelTypeOpen, append(users, bot)...)
	root := mm.AddPost(ch, users[0], nil, "root")
	for i := range replies {
		p := mm.AddPost(ch, users[i%len(users)], root, fmt.Sprintf("reply %d with some words in it", i))
		if i%(replies/files) == 0 {
			mm.AddFile(p, fmt.Sprintf("file%02d.bin", i/(replies/files)), "application/octet-stream", fileSize,
				func() io.Reader { return &pattern{n: fileSize} })
		}
		if i%10 == 0 {
			mm.React(p, users[(i+1)%len(users)], "+1")
		}
	}
	src, err := mattermost.New(mattermost.Options{URL: mm.URL, Token: tok})
	if err != nil {
		b.Fatal(err)
	}
	ref := mattermostRef(mm, team, ch, root)
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	calls0, _ := mm.Calls()
	stop := peakHeap()
	var streamed int64
	b.ResetTimer()
	for range b.N {
		th, err := src.Capture(context.Background(), ref, personOf(users[0]))
		if err != nil {
			b.Fatal(err)
		}
		if len(th.Messages) != replies+1 || len(th.Files()) != files {
			b.Fatalf("captured %d messages and %d files, want %d and %d", len(th.Messages), len(th.Files()), replies+1, files)
		}
		for _, f := range th.Files() {
			rc, err := f.Open(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			h := sha256.New()
			n, err := io.Copy(h, rc)
			rc.Close()
			if err != nil || n != fileSize {
				b.Fatalf("streamed %d bytes of %s (%v), want %d", n, f.Name, err, fileSize)
			}
			streamed += n
		}
	}
	b.StopTimer()
	peak := stop()
	calls, _ := mm.Calls()
	b.ReportMetric(float64(calls-calls0)/float64(b.N), "api-calls/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peak-min(peak, base.HeapInuse))/(1<<20), "peak-heap-growth-MiB")
	b.ReportMetric(float64(streamed)/float64(b.N)/(1<<20), "streamed-MiB/op")
}
