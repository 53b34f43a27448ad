package records_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// BenchmarkDestroy disposes of 1,000 small records (a two-message thread
// and one small file each: 11 objects with the index entry) in one run, on
// the local store and on MinIO with Object Lock (their GOVERNANCE
// retention bypassed: early disposal, the costliest path, since every
// version's lock is read first). It reports the time per record.
func BenchmarkDestroy(b *testing.B) {
	const n = 1000
	for _, name := range []string{"local", "s3"} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			var total time.Duration
			runs := 0
			for b.Loop() {
				b.StopTimer()
				var st filing.Store
				if name == "s3" {
					st = miniotest.NewStore(b)
				} else {
					l, err := local.New(b.TempDir())
					if err != nil {
						b.Fatal(err)
					}
					st = l
				}
				svc := service(b, st, nil)
				var wg sync.WaitGroup
				next := make(chan int)
				for range 8 {
					wg.Go(func() {
						for i := range next {
							file(b, svc, spec{title: fmt.Sprintf("Letter %04d", i), class: "100-01",
								texts: []string{"Please find the letter attached.", "Thanks."}, files: map[string][]byte{"letter.txt": []byte("Dear Sir,\n")}})
						}
					})
				}
				for i := range n {
					next <- i
				}
				close(next)
				wg.Wait()
				d := authority(8)
				d.BypassGovernance = true
				b.StartTimer()
				t0 := time.Now()
				rep, err := records.Destroy(ctx, st, d, nil)
				total += time.Since(t0)
				runs++
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Records) != n || rep.Problems() != 0 {
					b.Fatalf("Destroy: %d records, %d problems; want %d destroyed", len(rep.Records), rep.Problems(), n)
				}
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(runs*n), "ms/record")
		})
	}
}
