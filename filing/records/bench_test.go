package records_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/filing/s3"
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
	cs := &countingStore{Store: st}
	v := &records.Verifier{Store: cs}
	var plain, verify time.Duration
	var plainCalls, verifyCalls calls
	b.SetBytes(total)
	b.ResetTimer()
	round := 0
	for b.Loop() {
		round++
		floor := func() {
			before := cs.snapshot()
			t0 := time.Now()
			if n := plainRead(b, cs, append(keys, anchors...), 16); n < total {
				b.Fatalf("plain read %d bytes, want at least %d", n, total)
			}
			plainCreates(b, cs, fmt.Sprintf("floor/%d/", round), nRecords, 16)
			plain += time.Since(t0)
			plainCalls.add(cs.snapshot().sub(before))
		}
		check := func() {
			before := cs.snapshot()
			t0 := time.Now()
			res, err := v.VerifyAll(ctx)
			if err != nil {
				b.Fatal(err)
			}
			verify += time.Since(t0)
			verifyCalls.add(cs.snapshot().sub(before))
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
		}
		// Alternate which goes first, so neither always finds the
		// objects just read by the other.
		if round%2 == 1 {
			floor()
			check()
		} else {
			check()
			floor()
		}
	}
	mb := float64(total) * float64(b.N) / 1e6
	b.ReportMetric(mb/plain.Seconds(), "plain-MB/s")
	b.ReportMetric(mb/verify.Seconds(), "verify-MB/s")
	b.ReportMetric(verify.Seconds()/plain.Seconds(), "verify/plain")
	// Requests to the store per record, which do not depend on the load
	// of the machine: verify's and its floor's.
	per := float64(b.N * nRecords)
	b.ReportMetric(float64(verifyCalls.total())/per, "verify-calls/rec")
	b.ReportMetric(float64(plainCalls.total())/per, "plain-calls/rec")
	b.ReportMetric(float64(verifyCalls[opHead])/per, "verify-heads/rec")
	b.ReportMetric(float64(verifyCalls[opList])/per, "verify-lists/rec")
}

// The kinds of store call a countingStore counts.
const (
	opGet = iota
	opHead
	opWrite
	opList
	opOther
	nOps
)

type calls [nOps]int64

func (c calls) sub(d calls) calls {
	for i := range c {
		c[i] -= d[i]
	}
	return c
}

func (c *calls) add(d calls) {
	for i := range c {
		c[i] += d[i]
	}
}

func (c calls) total() int64 {
	var n int64
	for _, x := range c {
		n += x
	}
	return n
}

// countingStore counts the calls made to an S3 store, keeping what it
// implements (versions, Object Lock) visible.
type countingStore struct {
	*s3.Store
	n [nOps]atomic.Int64
}

func (c *countingStore) snapshot() calls {
	var out calls
	for i := range c.n {
		out[i] = c.n[i].Load()
	}
	return out
}

func (c *countingStore) Open(ctx context.Context, key string) (io.ReadCloser, filing.ObjectInfo, error) {
	c.n[opGet].Add(1)
	return c.Store.Open(ctx, key)
}

func (c *countingStore) OpenVersion(ctx context.Context, key, id string) (io.ReadCloser, filing.ObjectInfo, error) {
	c.n[opGet].Add(1)
	return c.Store.OpenVersion(ctx, key, id)
}

func (c *countingStore) Stat(ctx context.Context, key string) (filing.ObjectInfo, error) {
	c.n[opHead].Add(1)
	return c.Store.Stat(ctx, key)
}

func (c *countingStore) StatVersion(ctx context.Context, key, id string) (filing.ObjectInfo, error) {
	c.n[opHead].Add(1)
	return c.Store.StatVersion(ctx, key, id)
}

func (c *countingStore) Create(ctx context.Context, key string, r io.Reader, size int64, o filing.WriteOptions) (filing.ObjectInfo, error) {
	c.n[opWrite].Add(1)
	return c.Store.Create(ctx, key, r, size, o)
}

func (c *countingStore) Put(ctx context.Context, key string, r io.Reader, size int64, o filing.WriteOptions) (filing.ObjectInfo, error) {
	c.n[opWrite].Add(1)
	return c.Store.Put(ctx, key, r, size, o)
}

func (c *countingStore) List(ctx context.Context, prefix string) iter.Seq2[filing.ObjectInfo, error] {
	c.n[opList].Add(1)
	return c.Store.List(ctx, prefix)
}

func (c *countingStore) Versions(ctx context.Context, prefix string) iter.Seq2[filing.Version, error] {
	c.n[opList].Add(1)
	return c.Store.Versions(ctx, prefix)
}

func (c *countingStore) Locking(ctx context.Context) (bool, error) {
	c.n[opOther].Add(1)
	return c.Store.Locking(ctx)
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
