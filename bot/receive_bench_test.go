package bot_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp/whatsapptest"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/internal/heappeak"
)

// BenchmarkReceiveTinyMessages has the DM intake's receive step describe
// and keep an export whose chat text is the 64 MiB the limits allow, of
// about 2.5 million tiny messages, and reports the peak heap all through
// it (issue 22: below 200 MiB).
//
//	go test -run XXX -bench ReceiveTinyMessages -benchtime 1x ./bot/
func BenchmarkReceiveTinyMessages(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	path := filepath.Join(dir, "WhatsApp Chat with Roads Board.zip")
	n := whatsapptest.TinyMessagesExport(b, path, 64<<20)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	var peak float64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		store, err := local.New(filepath.Join(dir, "store", string(rune('a'+i%26))))
		if err != nil {
			b.Fatal(err)
		}
		k := &bot.Uploads{Store: store, TempDir: b.TempDir()}
		b.StartTimer()
		heap := heappeak.Start()
		rec, err := k.Receive(ctx, f, info.Size(), bot.Sent{Name: filepath.Base(path), Team: "T1", By: capture.Person{ID: "U1"}, At: time.Now(),
			Via: "bench", Location: time.UTC, LocationBasis: "bench zone"})
		p := heap.Stop()
		if err != nil {
			b.Fatal(err)
		}
		if rec.Messages != n {
			b.Fatalf("Receive() counted %d messages, want %d", rec.Messages, n)
		}
		if i == 0 {
			peak = p
		}
	}
	b.StopTimer()
	b.ReportMetric(peak, "peak-heap-MiB")
	b.ReportMetric(float64(n), "messages")
}
