package records_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// BenchmarkVerifyAll compares `verify --all` with plain reads of the same
// objects, on a real MinIO: both read with the same parallelism, so the
// ratio is the cost of hashing, manifests, audit reads and fixity events.
func BenchmarkVerifyAll(b *testing.B) {
	for _, c := range []struct{ records, fileSize int }{{64, 64 << 10}, {16, 4 << 20}, {8, 32 << 20}} {
		b.Run(fmt.Sprintf("%dx%dKiB", c.records, c.fileSize>>10), func(b *testing.B) { benchVerifyAll(b, c.records, c.fileSize) })
	}
}

func benchVerifyAll(b *testing.B, nRecords, fileSize int) {
	ctx := context.Background()
	st := miniotest.NewStore(b)
	svc := service(b, st, nil)
	for i := range nRecords {
		data := make([]byte, fileSize)
		rand.Read(data)
		file(b, svc, spec{title: fmt.Sprintf("Board pack %02d", i), files: map[string][]byte{"pack.pdf": data}})
	}
	var keys []string
	var total int64
	for oi, err := range st.List(ctx, filing.RecordsPrefix) {
		if err != nil {
			b.Fatal(err)
		}
		keys = append(keys, oi.Key)
		total += oi.Size
	}
	v := &records.Verifier{Store: st}
	var plain, verify time.Duration
	b.SetBytes(total)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if n := plainRead(b, st, keys, 16); n != total {
			b.Fatalf("plain read %d bytes, want %d", n, total)
		}
		t1 := time.Now()
		res, err := v.VerifyAll(ctx)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		var n int64
		for _, r := range res {
			if !r.OK() {
				b.Fatalf("record %s failed: %v", r.ID, r.Problems)
			}
			n += r.Bytes
		}
		if n != total {
			b.Fatalf("verify read %d bytes, want %d", n, total)
		}
		plain += t1.Sub(t0)
		verify += t2.Sub(t1)
	}
	mb := float64(total) * float64(b.N) / 1e6
	b.ReportMetric(mb/plain.Seconds(), "plain-MB/s")
	b.ReportMetric(mb/verify.Seconds(), "verify-MB/s")
	b.ReportMetric(verify.Seconds()/plain.Seconds(), "verify/plain")
}

// plainRead reads every key with par readers and returns the bytes read.
func plainRead(b *testing.B, st filing.Store, keys []string, par int) int64 {
	ctx := context.Background()
	var mu sync.Mutex
	var total int64
	next := make(chan string)
	var wg sync.WaitGroup
	for range par {
		wg.Go(func() {
			buf := make([]byte, 256<<10)
			for k := range next {
				rc, err := st.Open(ctx, k)
				if err != nil {
					b.Error(err)
					continue
				}
				n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, rc, buf)
				rc.Close()
				if err != nil {
					b.Error(err)
				}
				mu.Lock()
				total += n
				mu.Unlock()
			}
		})
	}
	for _, k := range keys {
		next <- k
	}
	close(next)
	wg.Wait()
	return total
}
