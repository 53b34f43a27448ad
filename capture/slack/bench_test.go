package slack_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/slack/slacktest"
)

// BenchmarkCaptureLongThread captures a 5,000-reply thread with 50 files
// (1 MiB each) and streams every file, reporting the Web API calls made,
// the time, and the peak heap above what the fake Slack holds. Calls are
// not paced here; at Slack's Tier 3 (50 a minute, burst 5) the replies
// calls alone would take tier3_s.
func BenchmarkCaptureLongThread(b *testing.B) {
	srv := slacktest.New(b)
	srv.AddUser(slacktest.User{ID: "U1", Name: "ada", RealName: "Ada Lovelace"})
	srv.AddChannel(slacktest.Channel{ID: "C1", Name: "big", Kind: "channel", Members: []string{"U1", "UBOT"}, BotIn: true})
	content := make([]byte, 1<<20)
	for i := range content {
		content[i] = byte(i)
	}
	const replies, files = 5000, 50
	msgs := []map[string]any{slacktest.Msg("1700000000.000000", "1700000000.000000", "U1", "root", nil)}
	for i := 1; i <= replies; i++ {
		ts := fmt.Sprintf("%d.%06d", 1700000000+i, i)
		extra := map[string]any{}
		if i%(replies/files) == 0 {
			n := i / (replies / files)
			url := srv.AddFile(fmt.Sprintf("T1-F%d/f%d.bin", n, n), "application/octet-stream", content)
			extra["files"] = []any{map[string]any{"id": fmt.Sprintf("F%d", n), "name": fmt.Sprintf("f%d.bin", n),
				"mimetype": "application/octet-stream", "size": len(content), "mode": "hosted", "url_private": url}}
		}
		msgs = append(msgs, slacktest.Msg(ts, "1700000000.000000", "U1", fmt.Sprintf("reply %d mentioning <@U1> and <https://example.org|a link>", i), extra))
	}
	srv.AddMessages("C1", msgs...)
	src := newSource(b, srv, nil, 200)
	ctx := context.Background()

	runtime.GC()
	base := heapBytes()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if h := heapBytes(); h > peak.Load() {
					peak.Store(h)
				}
			}
		}
	}()
	before := len(srv.Calls(""))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		th, err := src.Capture(ctx, capture.Ref{Platform: capture.Slack, WorkspaceID: "T1", ChannelID: "C1", ThreadID: "1700000000.000000"}, capture.Person{ID: "U1"})
		if err != nil {
			b.Fatal(err)
		}
		if len(th.Messages) != replies+1 || len(th.Files()) != files {
			b.Fatalf("captured %d messages, %d files; want %d, %d", len(th.Messages), len(th.Files()), replies+1, files)
		}
		for _, f := range th.Files() {
			rc, err := f.Open(ctx)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, rc)
			rc.Close()
			if err != nil || n != int64(len(content)) {
				b.Fatalf("file %s: %d bytes, %v", f.Name, n, err)
			}
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	calls := srv.Calls("")[before:]
	api, rep := 0, 0
	for _, c := range calls {
		switch c.Method {
		case "files":
		case "conversations.replies":
			rep++
			api++
		default:
			api++
		}
	}
	b.ReportMetric(float64(api)/float64(b.N), "api_calls/op")
	b.ReportMetric(float64(rep)/float64(b.N), "replies_calls/op")
	b.ReportMetric(max(float64(rep)/float64(b.N)-5, 0)*1.2, "tier3_s") // 50/min: 1.2 s a call after a burst of 5
	b.ReportMetric(float64(peak.Load()-min(base, peak.Load()))/(1<<20), "peak_heap_MiB")
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
