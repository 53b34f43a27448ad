package teams_test

import (
	"archive/zip"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/recordbot/recordbot/internal/heappeak"
)

// BenchmarkFetchTask measures the answer to "File as record" on a channel
// reply, end to end over HTTP: the token checked (keys cached), the
// membership checked and the form built. Teams allows 5 seconds.
func BenchmarkFetchTask(b *testing.B) {
	e, _ := channelEnv(b)
	act := e.activity("", "composeExtension/fetchTask", alice, general, fetchValue("1700000000100", "1700000000000", ""))
	auth := "Bearer " + e.cx.Sign(b, e.cx.Claims(e.clock.Now()))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		act["id"] = "b:" + strconv.Itoa(i)
		if status, body := e.postToken(act, auth); status != http.StatusOK {
			b.Fatalf("answered %d %s", status, body)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/answer")
}

// BenchmarkPersonalChatExport sends a WhatsApp export of 1,000 messages
// and one 256 MiB photo of random bytes to the bot in its personal chat: the download
// from the file host (TLS on 127.0.0.1), the intake's reading and keeping
// it, and the offer. It reports the peak heap all through it (the
// download is streamed to a temporary file, never held in memory) and the
// rate.
//
//	go test -run XXX -bench PersonalChatExport -benchtime 1x ./bot/teams/
func BenchmarkPersonalChatExport(b *testing.B) {
	const photo = 256 << 20
	path := filepath.Join(b.TempDir(), "export.zip")
	size := photoExport(b, path, 1000, photo)
	e := newEnv(b, envOpts{exports: true, noWorker: true})
	var peak float64
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		act := e.activity("b"+strconv.Itoa(i), "", alice, where{kind: "personal", channel: "a:personal-" + alice.ID}, nil)
		act["type"] = "message"
		delete(act, "name")
		act["attachments"] = []any{e.cx.Files().PutFile("WhatsApp Chat - Photos.zip", path)}
		heap := heappeak.Start()
		if status, body := e.post(act); status != http.StatusOK {
			b.Fatalf("answered %d %s", status, body)
		}
		e.app.Wait()
		peak = max(peak, heap.Stop())
		if n := len(e.cx.CardsTo(alice.ID)); n != i+1 {
			b.Fatalf("Got(offers) = %d after %d exports; messages %q", n, i+1, e.cx.MessagesTo(alice.ID))
		}
	}
	b.ReportMetric(peak, "peak-heap-MiB")
	b.ReportMetric(float64(size)*float64(b.N)/(1<<20)/b.Elapsed().Seconds(), "MiB/s")
}

// photoExport writes to path an iPhone export zip of n messages, the first
// naming its one photo of size random bytes (stored, not deflated: a
// photo does not compress), streaming; it returns the zip's size.
func photoExport(b *testing.B, path string, n int, size int64) int64 {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	const name = "00000001-PHOTO-2024-01-13-09-00-00.jpg"
	zw := zip.NewWriter(f)
	w, err := zw.Create("_chat.txt")
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2024, 1, 13, 9, 0, 0, 0, time.UTC)
	for i := range n {
		text := fmt.Sprintf("message %d", i+1)
		if i == 0 {
			text = "<attached: " + name + ">"
		}
		fmt.Fprintf(w, "[%s] Alice: %s\n", start.Add(time.Duration(i)*time.Second).Format("02/01/2006, 15:04:05"), text)
	}
	if w, err = zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store}); err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(w, rand.NewChaCha8([32]byte{1}), size); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	info, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	return info.Size()
}
