package filing_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// BenchmarkFileSnapshot files a 1,000-message thread with 20 files (100 MiB
// in all) into MinIO, and in the same run puts the same file bytes with
// plain minio-go PutObject, reporting both rates and their ratio.
//
//	bash .ci/test -run XXX -bench FileSnapshot -benchtime 5x ./filing/
func BenchmarkFileSnapshot(b *testing.B) {
	ctx := context.Background()
	st := miniotest.NewStore(b)
	sizes := make([]int64, 20)
	var total int64
	for i := range sizes {
		sizes[i] = 5 << 20
		total += sizes[i]
	}
	th := testThread(1000, sizes...)
	svc := newService(b, st, nil, nil)
	client := st.Client()

	var filing, plain time.Duration
	b.SetBytes(total)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if _, err := svc.FileThread(ctx, request(fmt.Sprintf("bench %d", i)), th); err != nil {
			b.Fatal(err)
		}
		filing += time.Since(start)

		start = time.Now()
		for j, size := range sizes {
			key := fmt.Sprintf("plain/%d/%d", i, j)
			if _, err := client.PutObject(ctx, st.Bucket(), key, content(byte(j), size), size, minio.PutObjectOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		plain += time.Since(start)
	}
	mb := float64(total) / 1e6 * float64(b.N)
	b.ReportMetric(mb/filing.Seconds(), "filing-MB/s")
	b.ReportMetric(mb/plain.Seconds(), "putobject-MB/s")
	b.ReportMetric(filing.Seconds()/plain.Seconds(), "ratio")
}

// BenchmarkFileHugeFile files one 1 GiB file into MinIO and reports the
// peak heap in use while it does: memory must not grow with file size.
//
//	bash .ci/test -run XXX -bench FileHugeFile -benchtime 1x ./filing/
func BenchmarkFileHugeFile(b *testing.B) {
	ctx := context.Background()
	st := miniotest.NewStore(b)
	const size = 1 << 30
	th := testThread(3, size)
	svc := newService(b, st, nil, nil)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}()
	b.SetBytes(size)
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.FileThread(ctx, request(fmt.Sprintf("huge %d", i)), th); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peak-min(peak, base))/(1<<20), "peak-heap-growth-MiB")
}
