package index

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/miniotest"
)

var (
	benchRecords = flag.Int("index.records", 1_000_000, "records in BenchmarkFind's index")
	benchScan    = flag.Int("index.scan", 10_000, "records in BenchmarkScanFind's store")
	benchCatchUp = flag.Int("index.catchup", 10_000, "new records BenchmarkCatchUp reads from MinIO")
	benchPG      = flag.String("index.postgres", os.Getenv("RECORDBOT_TEST_POSTGRES"), "PostgreSQL for BenchmarkFind (empty: SQLite only)")
)

// synth makes synthetic record i: an index entry and a transcript of
// about 20 lines drawn from a vocabulary of 5,000 words, in which word
// "zephyr<i%1000>" is rare (one record in a thousand has each) and a
// phone number is in one record in 500.
func synth(i int, rng *rand.Rand, base time.Time) (filing.IndexEntry, string) {
	at := base.Add(time.Duration(i) * 5 * time.Minute)
	ms := uint64(at.UnixMilli())
	id := fmt.Sprintf("%08x-%04x-7%03x-8%03x-%012x", ms>>16, ms&0xffff, i&0xfff, (i>>12)&0xfff, i)
	classes := []string{"100-20", "200-20-01", "300-10", "400", "500-30"}
	people := []string{fmt.Sprintf("Person %d", rng.IntN(500)), fmt.Sprintf("Person %d", rng.IntN(500)), "Alice Smith"}
	e := filing.IndexEntry{ID: id, Key: fmt.Sprintf("records/100_Synthetic/2026/2026-01-01_x_%s/", filing.ShortID(id)), Title: fmt.Sprintf("Committee thread %d on word%d", i, rng.IntN(5000)),
		ClassCode: classes[i%len(classes)], ClassPath: classes[i%len(classes)] + " Class", FiledAt: at, Platform: capture.Slack,
		Channel: "committee", Participants: people, FiledBy: capture.Person{ID: "U1", DisplayName: "carol"}}
	var b strings.Builder
	for l := range 20 {
		fmt.Fprintf(&b, "%s %02d:%02d: ", people[l%3], l, l)
		for range 10 {
			fmt.Fprintf(&b, "word%d ", rng.IntN(5000))
		}
		if l == 7 {
			fmt.Fprintf(&b, "zephyr%d", i%1000)
		}
		if l == 9 && i%500 == 0 {
			b.WriteString(" call +44 7700 900123")
		}
		b.WriteString("\n")
	}
	return e, b.String()
}

// fill writes n synthetic records into ix's engine directly, as a sync
// would, in batches.
func fill(b *testing.B, be backend, n int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	for start := 0; start < n; start += 2000 {
		err := be.write(ctx, func(w writer) error {
			var rows []row
			for i := start; i < min(start+2000, n); i++ {
				e, text := synth(i, rng, time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC))
				raw, _ := json.Marshal(e)
				r := rowOf(e, raw)
				r.setText(text, false)
				rows = append(rows, r)
			}
			return putAll(w, rows)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFind searches an index of -index.records synthetic records
// (1,000,000 by default; built once and kept in the temp folder) for a
// rare word, a phrase and a phone number, on SQLite and, with
// -index.postgres or RECORDBOT_TEST_POSTGRES, PostgreSQL.
//
//	go test -run XXX -bench Find -benchtime 10x ./filing/records/index/
func BenchmarkFind(b *testing.B) {
	ctx := context.Background()
	engines := map[string]string{"sqlite": filepath.Join(os.TempDir(), fmt.Sprintf("recordbot-bench-index-%d.sqlite", *benchRecords))}
	if *benchPG != "" {
		engines["postgres"] = *benchPG
	}
	for name, dsn := range engines {
		b.Run(name, func(b *testing.B) {
			var be backend
			var err error
			if name == "postgres" {
				be, err = openPostgres(ctx, dsn)
			} else {
				be, err = openSQLite(ctx, dsn)
			}
			if err != nil {
				b.Fatal(err)
			}
			defer be.close()
			if n, _ := be.count(ctx); n != *benchRecords {
				be.reset(ctx)
				start := time.Now()
				fill(b, be, *benchRecords)
				b.Logf("%s: built an index of %d records in %s (%.0f records/s)", name, *benchRecords, time.Since(start).Round(time.Second),
					float64(*benchRecords)/time.Since(start).Seconds())
				if name == "sqlite" {
					if fi, err := os.Stat(dsn); err == nil {
						b.Logf("sqlite: %d bytes, %.0f bytes a record", fi.Size(), float64(fi.Size())/float64(*benchRecords))
					}
				}
			}
			st, err := local.New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			ix := &Index{b: be, st: st, clock: filing.SystemClock()}
			for _, q := range []Search{{Text: "zephyr417"}, {Text: `"zephyr417"`, Class: "300-10"}, {Text: "07700 900123", Limit: 20}, {Text: "zephyr417", Person: "alice"}} {
				b.Run(strings.ReplaceAll(q.Text, " ", "_"), func(b *testing.B) {
					var hits int
					for b.Loop() {
						a, err := ix.Find(ctx, q)
						if err != nil {
							b.Fatal(err)
						}
						hits = len(a.Hits)
					}
					if hits == 0 {
						b.Fatalf("Find(%+v) found nothing", q)
					}
					b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/find")
					b.ReportMetric(float64(hits), "hits")
				})
			}
		})
	}
}

// plant writes n synthetic records' index entries and transcripts into
// st, in parallel: what find and a catch-up read of a record.
func plant(b *testing.B, st filing.Store, from, n int) {
	ctx := context.Background()
	// Ids made now, as the bot makes them, a millisecond apart.
	base := time.Now().Add(-time.Duration(from+n) * time.Millisecond)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				e, text := synth(i, rand.New(rand.NewPCG(uint64(i), 9)), base.Add(time.Duration(i)*time.Millisecond-time.Duration(i)*5*time.Minute))
				raw, _ := json.Marshal(e)
				if _, err := st.Create(ctx, filing.IndexPrefix+e.ID+".json", bytes.NewReader(raw), int64(len(raw)), filing.WriteOptions{}); err != nil {
					errs <- err
					return
				}
				if _, err := st.Create(ctx, e.Key+filing.TextFile, strings.NewReader(text), int64(len(text)), filing.WriteOptions{}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := from; i < from+n; i++ {
		select {
		case next <- i:
		case err := <-errs:
			b.Fatal(err)
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// BenchmarkScanFind is find without an index, reading every record's
// entry and transcript, over -index.scan records in a local store: the
// figure to extrapolate to a million.
//
//	go test -run XXX -bench ScanFind -benchtime 3x ./filing/records/index/
func BenchmarkScanFind(b *testing.B) {
	st, err := local.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	plant(b, st, 0, *benchScan)
	ctx := context.Background()
	for b.Loop() {
		hits, _, err := records.Find(ctx, st, "zephyr417", records.Filter{})
		if err != nil || len(hits) == 0 {
			b.Fatalf("Find = %d hits, %v", len(hits), err)
		}
	}
	per := float64(b.Elapsed().Milliseconds()) / float64(b.N)
	b.ReportMetric(per, "ms/find")
	b.ReportMetric(per*1_000_000/float64(*benchScan)/1000, "s/find-at-1M")
}

// BenchmarkCatchUp catches an index up with -index.catchup new records in
// a MinIO on this machine (issue 27: under 30 s for 10,000), and reports
// the rate, which is also a rebuild's.
//
//	go test -run XXX -bench CatchUp -benchtime 1x ./filing/records/index/
func BenchmarkCatchUp(b *testing.B) {
	ctx := context.Background()
	st := miniotest.NewStore(b)
	plant(b, st, 0, 100)
	ix, err := Open(ctx, filepath.Join(b.TempDir(), "ix.sqlite"), st, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	if _, err := ix.Sync(ctx, nil); err != nil {
		b.Fatal(err)
	}
	plant(b, st, 100, *benchCatchUp)
	b.ResetTimer()
	var res SyncResult
	for i := 0; i < b.N; i++ {
		if i > 0 {
			b.StopTimer()
			ix.b.reset(ctx)
			ix.b.write(ctx, func(w writer) error { return w.setMeta(metaStore, ix.where) })
			b.StartTimer()
		}
		if res, err = ix.Sync(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
	secs := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(secs, "s/catch-up")
	b.ReportMetric(float64(res.Added)/secs, "records/s")
}
