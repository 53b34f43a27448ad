package filing

import (
	"bytes"
	"context"
	"testing"
)

// BenchmarkPDFTranscript renders the PDF of a 5,000-message chat (one
// message in 42 with a photo, as BenchmarkTranscripts) and reports its
// size.
func BenchmarkPDFTranscript(b *testing.B) {
	ctx := context.Background()
	th := chatThread(5000)
	rec := testRecord(th)
	photo := noisyJPEG(b, 1200, 900)
	load := func(context.Context, string) ([]byte, error) { return photo, nil }
	var out bytes.Buffer
	for b.Loop() {
		out.Reset()
		if err := renderPDF(ctx, &out, rec, th, nil, load); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(out.Len())/(1<<20), "pdf-MiB")
}
