package whatsapp_test

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/internal/heappeak"

	"github.com/minio/minio-go/v7"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
	"github.com/recordbot/recordbot/capture/whatsapp/whatsapptest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/internal/miniotest"
)

var (
	benchMessages = flag.Int("whatsapp.messages", 40_000, "messages in the benchmark's export")
	benchMedia    = flag.Int64("whatsapp.media", 64<<20, "bytes of media in the benchmark's export (the issue's figure: 2147483648)")
)

// mediaSizes cycle through the benchmark's media: photos, voice notes,
// a video now and then, about 22 MiB every ten files.
var mediaSizes = []int64{200 << 10, 200 << 10, 1536 << 10, 200 << 10, 200 << 10, 1536 << 10, 200 << 10, 200 << 10, 1536 << 10, 16 << 20}

// writeExport writes an iOS export zip of n messages and about media
// bytes of media (stored, as photos and videos do not compress) to path,
// streaming: nothing of it is held whole in memory.
func writeExport(b *testing.B, path string, n int, media int64) (files int, mediaBytes int64) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw := zip.NewWriter(bw)
	var sizes []int64
	for mediaBytes < media {
		s := min(mediaSizes[len(sizes)%len(mediaSizes)], media-mediaBytes)
		sizes = append(sizes, s)
		mediaBytes += s
	}
	every := max(n/max(len(sizes), 1), 1)
	w, err := zw.Create("_chat.txt")
	if err != nil {
		b.Fatal(err)
	}
	cw := bufio.NewWriter(w)
	start := time.Date(2023, 1, 1, 8, 0, 0, 0, time.UTC)
	names := []string{"Alice Smith", "Bob Jones", "+44 7700 900123", "Carol"}
	k := 0
	for i := range n {
		at := start.Add(time.Duration(i) * 37 * time.Second)
		fmt.Fprintf(cw, "[%s] %s: ", at.Format("02/01/2006, 15:04:05"), names[i%len(names)])
		if i%every == 0 && k < len(sizes) {
			fmt.Fprintf(cw, "\u200e<attached: %08d-PHOTO-%s.jpg>\r\n", k, at.Format("2006-01-02-15-04-05"))
			k++
			continue
		}
		fmt.Fprintf(cw, "Message %d about the roads budget, option %c, with enough words to look like a real one.\r\n", i, 'A'+rune(i%3))
		if i%50 == 0 {
			fmt.Fprintf(cw, "A second line of message %d.\r\n", i)
		}
	}
	cw.Flush()
	block := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range block {
		block[i] = byte(rng.Uint32())
	}
	for i, s := range sizes[:k] {
		at := start.Add(time.Duration(i*every) * 37 * time.Second)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("%08d-PHOTO-%s.jpg", i, at.Format("2006-01-02-15-04-05")), Method: zip.Store})
		if err != nil {
			b.Fatal(err)
		}
		block[0], block[1] = byte(i), byte(i>>8) // every file differs
		for left := s; left > 0; {
			c := min(left, int64(len(block)))
			w.Write(block[:c])
			left -= c
		}
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, s := range sizes[:k] {
		total += s
	}
	return k, total
}

// BenchmarkImportExport reads and files an export of 40,000 messages and
// -whatsapp.media bytes of media into MinIO, as `bot import whatsapp`
// does, and in the same run puts the same bytes (each media file and the
// export itself) with plain minio-go PutObject. It reports both rates,
// their ratio, and the peak memory of the first import: peak-heap-MiB
// (heap in use, sampled every millisecond from runtime/metrics all
// through it) and peak-rss-MiB (the process's peak resident set, reset as
// it starts). -whatsapp.messages changes the number of messages: with
// few, the figures are those of the media path alone, without the
// transcripts of 40,000 messages.
//
//	bash .ci/test -run XXX -bench ImportExport -benchtime 1x ./capture/whatsapp/ -args -whatsapp.media 2147483648
func BenchmarkImportExport(b *testing.B) {
	ctx := context.Background()
	st := miniotest.NewStore(b)
	client := st.Client()
	dir := b.TempDir()
	path := filepath.Join(dir, "WhatsApp Chat - Roads Board.zip")
	nfiles, mediaBytes := writeExport(b, path, *benchMessages, *benchMedia)
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	total := mediaBytes + info.Size() // what the record holds besides its small files
	svc, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan()})
	if err != nil {
		b.Fatal(err)
	}

	// The peak is sampled all through the first import, from the
	// runtime's own counters (cheaply: no stop of the world), as heap in
	// use (MemStats.HeapInuse: live and unswept objects and the free
	// space of their spans) and as the process's peak resident set, which
	// counts everything, reset before the import starts.
	resetPeakRSS(b)
	heap := heappeak.Start()
	var peakHeap float64
	var peakRSS float64

	var importing, reading, plain time.Duration
	b.SetBytes(total)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		th, closer, err := whatsapp.Open(ctx, path, whatsapp.Options{Location: time.UTC, DateOrder: whatsapp.DMY, SuppliedBy: capture.Person{ID: "bench"}})
		if err != nil {
			b.Fatal(err)
		}
		reading += time.Since(start)
		if th.Len() != *benchMessages {
			b.Fatalf("read %d messages, want %d", th.Len(), *benchMessages)
		}
		req := filing.Request{
			RequestedBy: capture.Person{ID: "bench"}, Title: fmt.Sprintf("Roads board export %d", i), ClassCode: "100-20", Marking: "OFFICIAL",
			Thread: capture.Ref{Platform: th.Platform, ChannelID: th.Channel.ID, ThreadID: th.ThreadID}, Via: "bench",
		}
		sum, err := svc.FileThread(ctx, req, th)
		closer.Close()
		if err != nil {
			b.Fatal(err)
		}
		if sum.Files != nfiles {
			b.Fatalf("filed %d media files, want %d", sum.Files, nfiles)
		}
		importing += time.Since(start)
		if i == 0 {
			b.StopTimer()
			peakHeap = heap.Stop()
			peakRSS = peakRSSMiB(b)
			b.StartTimer()
		}

		// The same bytes with plain PutObject, read from the same file.
		start = time.Now()
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		zr, err := zip.NewReader(f, info.Size())
		if err != nil {
			b.Fatal(err)
		}
		for j, zf := range zr.File {
			if zf.Name == "_chat.txt" {
				continue
			}
			off, _ := zf.DataOffset()
			body := io.NewSectionReader(f, off, int64(zf.CompressedSize64))
			if _, err := client.PutObject(ctx, st.Bucket(), fmt.Sprintf("plain/%d/%d", i, j), body, body.Size(), minio.PutObjectOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := client.PutObject(ctx, st.Bucket(), fmt.Sprintf("plain/%d/export.zip", i), io.NewSectionReader(f, 0, info.Size()), info.Size(), minio.PutObjectOptions{}); err != nil {
			b.Fatal(err)
		}
		f.Close()
		plain += time.Since(start)
	}
	b.StopTimer()
	mb := float64(total) / 1e6 * float64(b.N)
	b.ReportMetric(mb/importing.Seconds(), "import-MB/s")
	b.ReportMetric(mb/plain.Seconds(), "putobject-MB/s")
	b.ReportMetric(importing.Seconds()/plain.Seconds(), "ratio")
	b.ReportMetric(peakHeap, "peak-heap-MiB")
	b.ReportMetric(peakRSS, "peak-rss-MiB")
	b.ReportMetric(float64(nfiles), "media-files")
	b.ReportMetric(reading.Seconds()/float64(b.N), "read-s")
	b.ReportMetric((importing-reading).Seconds()/float64(b.N), "file-s")
	b.ReportMetric(plain.Seconds()/float64(b.N), "putobject-s")
}

// resetPeakRSS resets the process's peak resident set size (Linux: "5" to
// /proc/self/clear_refs), so that peakRSSMiB reports the peak from now.
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("peak RSS not reset (%v): peak-rss-MiB counts from the start of the process", err)
	}
}

// peakRSSMiB returns the process's peak resident set size (VmHWM).
func peakRSSMiB(b *testing.B) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Logf("no peak RSS: %v", err)
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(v), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkReadTinyMessages reads, as `bot import whatsapp` does
// (whatsapp.Open), an export whose chat text is the 64 MiB the limits
// allow, of about 2.5 million tiny messages, and reports the peak heap
// all through it (issue 22: below 200 MiB). BenchmarkImportTinyMessages
// files it too.
//
//	go test -run XXX -bench TinyMessages -benchtime 1x ./capture/whatsapp/
func BenchmarkReadTinyMessages(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "WhatsApp Chat with Roads Board.zip")
	n := whatsapptest.TinyMessagesExport(b, path, 64<<20)
	var peak float64
	b.ResetTimer()
	for i := range b.N {
		heap := heappeak.Start()
		th, closer, err := whatsapp.Open(ctx, path, whatsapp.Options{Location: time.UTC, SuppliedBy: capture.Person{ID: "bench"}})
		if err != nil {
			b.Fatal(err)
		}
		if th.Len() != n {
			b.Fatalf("read %d messages, want %d", th.Len(), n)
		}
		p := heap.Stop()
		closer.Close()
		if i == 0 {
			peak = p
		}
	}
	b.StopTimer()
	b.ReportMetric(peak, "peak-heap-MiB")
	b.ReportMetric(float64(n), "messages")
}

// BenchmarkImportTinyMessages is the whole of `bot import whatsapp` on
// the export of BenchmarkReadTinyMessages: read (whatsapp.Open) and filed
// into a local directory (Service.FileThread). It reports the peak heap
// all through it (issue 22: below 200 MiB) and the seconds it takes.
//
//	go test -run XXX -bench ImportTinyMessages -benchtime 1x ./capture/whatsapp/
func BenchmarkImportTinyMessages(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "WhatsApp Chat with Roads Board.zip")
	n := whatsapptest.TinyMessagesExport(b, path, 64<<20)
	var peak float64
	var took time.Duration
	b.ResetTimer()
	for i := range b.N {
		st, err := local.New(filepath.Join(b.TempDir(), "store"))
		if err != nil {
			b.Fatal(err)
		}
		svc, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan()})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		heap := heappeak.Start()
		th, closer, err := whatsapp.Open(ctx, path, whatsapp.Options{Location: time.UTC, SuppliedBy: capture.Person{ID: "bench"}})
		if err != nil {
			b.Fatal(err)
		}
		req := filing.Request{
			RequestedBy: capture.Person{ID: "bench"}, Title: "Roads board export", ClassCode: "100-20", Marking: "OFFICIAL",
			Thread: capture.Ref{Platform: th.Platform, ChannelID: th.Channel.ID, ThreadID: th.ThreadID}, Via: "bench",
		}
		sum, err := svc.FileThread(ctx, req, th)
		if err != nil {
			b.Fatal(err)
		}
		p := heap.Stop()
		took += time.Since(start)
		closer.Close()
		if sum.Messages != n {
			b.Fatalf("filed %d messages, want %d", sum.Messages, n)
		}
		if i == 0 {
			peak = p
		}
	}
	b.StopTimer()
	b.ReportMetric(peak, "peak-heap-MiB")
	b.ReportMetric(float64(n), "messages")
	b.ReportMetric(took.Seconds()/float64(b.N), "import-s")
}

// BenchmarkIntakeTinyMessages is the filing path of an export sent to
// the bot in a direct message, on the export of BenchmarkReadTinyMessages:
// the upload kept in the store (MinIO), a filing request submitted, and
// the worker (Service.Run) capturing it through whatsapp.Source, which
// reads a copy of the kept upload as a front end's Open gives it, and
// filing the record into the store. It reports the peak heap from the
// submission to the outcome (issue 22: below 200 MiB) and the seconds it
// takes.
//
//	bash .ci/test -run XXX -bench IntakeTinyMessages -benchtime 1x ./capture/whatsapp/
func BenchmarkIntakeTinyMessages(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := miniotest.NewStore(b)
	path := filepath.Join(b.TempDir(), "WhatsApp Chat with Roads Board.zip")
	n := whatsapptest.TinyMessagesExport(b, path, 64<<20)
	data, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	info, err := data.Stat()
	if err != nil {
		b.Fatal(err)
	}
	// The front end kept the upload in the store, with its checksum.
	h := sha256.New()
	if _, err := io.Copy(h, data); err != nil {
		b.Fatal(err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	const kept = "uploads/bench.zip"
	if _, err := st.Create(ctx, kept, io.NewSectionReader(data, 0, info.Size()), info.Size(), filing.WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	data.Close()
	bench := capture.Person{ID: "bench"}
	opts := whatsapp.Options{Location: time.UTC, SuppliedBy: bench, SuppliedAt: time.Date(2024, 2, 1, 9, 0, 0, 0, time.UTC), Via: "bench dm"}
	src := whatsapp.Source{Open: func(ctx context.Context, ref capture.Ref) (whatsapp.Export, error) {
		// As a front end's Open does with an export kept in S3: a
		// copy in a temporary file, read at any offset.
		rc, _, err := st.Open(ctx, kept)
		if err != nil {
			return whatsapp.Export{}, err
		}
		defer rc.Close()
		f, err := os.CreateTemp(b.TempDir(), "export-*")
		if err != nil {
			return whatsapp.Export{}, err
		}
		b.Cleanup(func() { f.Close() })
		size, err := io.Copy(f, rc)
		if err != nil {
			return whatsapp.Export{}, err
		}
		return whatsapp.Export{R: f, Size: size, Name: filepath.Base(path), SHA256: sum, Options: opts}, nil
	}}
	outcomes := make(chan filing.Outcome, 1)
	svc, err := filing.NewService(filing.Options{
		Store: st, Plan: filing.SamplePlan(), Source: capture.Sources{capture.WhatsApp: src}, Workers: 1,
		Notifier: filing.NotifierFunc(func(_ context.Context, o filing.Outcome) {
			if o.Final || o.Err == nil {
				outcomes <- o
			}
		}),
	})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	var peak float64
	var took time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		heap := heappeak.Start()
		req := filing.Request{
			RequestedBy: bench, Title: fmt.Sprintf("Roads board export %d", i), ClassCode: "100-20", Marking: "OFFICIAL",
			Thread: capture.Ref{Platform: capture.WhatsApp, ThreadID: sum}, Via: "bench dm",
		}
		if _, err := svc.Submit(ctx, req); err != nil {
			b.Fatal(err)
		}
		o := <-outcomes
		p := heap.Stop()
		took += time.Since(start)
		if o.Err != nil {
			b.Fatalf("filing failed: %v", o.Err)
		}
		if o.Record.Messages != n {
			b.Fatalf("filed %d messages, want %d", o.Record.Messages, n)
		}
		if i == 0 {
			peak = p
		}
	}
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(peak, "peak-heap-MiB")
	b.ReportMetric(float64(n), "messages")
	b.ReportMetric(took.Seconds()/float64(b.N), "intake-s")
}
