package records_test

import (
	"bytes"
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

// BenchmarkVerifyAll compares `verify --all` with its floor on a real MinIO,
// in the same run: plain reads, with the same parallelism, of the objects
// verify must read (every record object, index entry and filing event),
// and a plain create of one small object per record (as verify writes one
// fixity-check event per record). The ratio is then the cost of hashing,
// version listings and checking, not of the reads and writes that a check
// of the record cannot do without.
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
	var keys, anchors []string
	var total int64
	for oi, err := range st.List(ctx, filing.RecordsPrefix) {
		if err != nil {
			b.Fatal(err)
		}
		keys = append(keys, oi.Key)
		total += oi.Size
	}
	for _, prefix := range []string{filing.IndexPrefix, filing.AuditPrefix} {
		for oi, err := range st.List(ctx, prefix) {
			if err != nil {
				b.Fatal(err)
			}
			anchors = append(anchors, oi.Key)
		}
	}
	v := &records.Verifier{Store: st}
	var plain, verify time.Duration
	b.SetBytes(total)
	b.ResetTimer()
	round := 0
	for b.Loop() {
		round++
		t0 := time.Now()
		if n := plainRead(b, st, append(keys, anchors...), 16); n < total {
			b.Fatalf("plain read %d bytes, want at least %d", n, total)
		}
		plainCreates(b, st, fmt.Sprintf("floor/%d/", round), nRecords, 16)
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
				rc, _, err := st.Open(ctx, k)
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

// plainCreates creates n small objects under prefix, par at a time: the
// floor of writing one fixity-check event per record.
func plainCreates(b *testing.B, st filing.Store, prefix string, n, par int) {
	ctx := context.Background()
	body := []byte(`{"type":"fixity-check","outcome":"intact","record_id":"01a20bd9-2581-7588-ac48-7b8706f4ccdf"}`)
	next := make(chan int)
	var wg sync.WaitGroup
	for range par {
		wg.Go(func() {
			for i := range next {
				if _, err := st.Create(ctx, fmt.Sprintf("%s%d.json", prefix, i), bytes.NewReader(body), int64(len(body)), filing.WriteOptions{ContentType: "application/json"}); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
