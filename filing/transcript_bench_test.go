package filing

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/recordbot/recordbot/internal/heappeak"

	"github.com/recordbot/recordbot/capture"
)

var benchChat = flag.Int("transcripts.messages", 40_000, "messages in BenchmarkTranscripts' chat")

// chatThread is a WhatsApp-like chat of n messages, one in 42 with a
// photo attached (as BenchmarkImportExport's export).
func chatThread(n int) *capture.Thread {
	base := time.Date(2023, 1, 1, 8, 0, 0, 0, time.UTC)
	t := &capture.Thread{Platform: capture.WhatsApp, Workspace: capture.Workspace{ID: "user-export", Name: "user-made export"},
		Channel: capture.Channel{ID: "wa-chat", Name: "Roads Board", Kind: "group"}, ThreadID: "x", CapturedAt: base.AddDate(1, 0, 0)}
	people := []capture.Person{{ID: "wa:alice", DisplayName: "Alice Smith"}, {ID: "wa:bob", DisplayName: "Bob Jones"},
		{ID: "wa:+447700900123", DisplayName: "+44 7700 900123"}, {ID: "wa:carol", DisplayName: "Carol"}}
	k := 0
	for i := range n {
		m := capture.Message{ID: fmt.Sprint(i), Position: i, Author: people[i%4], Time: base.Add(time.Duration(i) * 37 * time.Second)}
		if i%42 == 0 {
			k++
			name := fmt.Sprintf("%08d-PHOTO.jpg", k)
			m.Files = []capture.File{{ID: name, Name: name, MIMEType: "image/jpeg", Size: 200 << 10, Path: DataPath(k, n/42+1, name)}}
		} else {
			m.Text = fmt.Sprintf("Message %d about the roads budget, option %c, with enough words to look like a real one.", i, 'A'+rune(i%3))
		}
		m.ReadableText = m.Text
		t.Messages = append(t.Messages, m)
	}
	return t
}

// noisyJPEG is a JPEG of w×h pixels of noise, which compresses badly, as
// photos do.
func noisyJPEG(b *testing.B, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.Uint32())
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 60}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// peakHeap runs f and returns the peak heap in use while it ran, in MiB.
func peakHeap(f func()) float64 {
	h := heappeak.Start()
	f()
	return h.Stop()
}

// BenchmarkTranscripts renders the transcripts and the snapshot of a
// 40,000-message chat (-transcripts.messages) with a photo every 42
// messages to io.Discard, and reports the peak heap of each, the chat
// itself included (about 14 MiB of it).
func BenchmarkTranscripts(b *testing.B) {
	ctx := context.Background()
	th := chatThread(*benchChat)
	rec := testRecord(th)
	photo := noisyJPEG(b, 1200, 900) // about 400 KB, as a phone's photo
	load := func(context.Context, string) ([]byte, error) { return photo, nil }
	var pJSON, pHTML, pText, pPDF float64
	for b.Loop() {
		pJSON = max(pJSON, peakHeap(func() {
			if err := writeThreadJSON(ctx, io.Discard, th, nil); err != nil {
				b.Fatal(err)
			}
		}))
		pHTML = max(pHTML, peakHeap(func() {
			if err := renderHTML(io.Discard, rec, th, nil); err != nil {
				b.Fatal(err)
			}
		}))
		pText = max(pText, peakHeap(func() {
			if err := renderText(io.Discard, rec, th, nil); err != nil {
				b.Fatal(err)
			}
		}))
		pPDF = max(pPDF, peakHeap(func() {
			if err := renderPDF(ctx, io.Discard, rec, th, nil, load); err != nil {
				b.Fatal(err)
			}
		}))
	}
	runtime.KeepAlive(th)
	b.ReportMetric(pJSON, "json-peak-MiB")
	b.ReportMetric(pHTML, "html-peak-MiB")
	b.ReportMetric(pText, "text-peak-MiB")
	b.ReportMetric(pPDF, "pdf-peak-MiB")
}
