package records_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
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
	"golang.org/x/time/rate"
)

// BenchmarkVerifyAll compares `verify --all` with its floor on a real MinIO,
// in the same run: plain reads, with the same parallelism, of the objects
// verify must read (every record object, index entry and filing event),
// and a plain create of one small object per record (as verify writes one
// fixity-check event per record). verify/plain is then the cost of hashing,
// version listings and checking, not of the reads and writes that a check
// of the record cannot do without.
//
// A second floor reads the same objects the same way and also hashes every
// byte with SHA-256, which verify cannot do without either:
// verify/hashed-read is what verify adds beyond reading and hashing. On a
// machine where MinIO and the hashing share few cores the hashing is most
// of verify/plain.
//
// The remote cases put every call to the store behind a simulated link
// (remoteRTT per request, remoteBandwidth for all reads together), for
// verify and its floors alike: what the ratios would be against storage
// across a network rather than on the same machine.
//
//	go test -count=1 -run XXX -bench 'VerifyAll$' -benchtime 4x ./filing/records/
func BenchmarkVerifyAll(b *testing.B) {
	for _, link := range []*link{nil, remoteLink()} {
		for _, c := range []struct{ records, fileSize int }{{64, 64 << 10}, {16, 4 << 20}, {8, 32 << 20}} {
			name := fmt.Sprintf("%dx%dKiB", c.records, c.fileSize>>10)
			if link != nil {
				name = "remote/" + name
			}
			b.Run(name, func(b *testing.B) { benchVerifyAll(b, c.records, c.fileSize, link) })
		}
	}
}

// The simulated link of the remote cases: a round trip per request, and
// one shared bandwidth for every byte read.
const (
	remoteRTT       = 10 * time.Millisecond
	remoteBandwidth = 100 << 20 // bytes per second
)

// link delays every call by its round trip and reads by its bandwidth.
type link struct {
	rtt time.Duration
	bw  *rate.Limiter
}

func remoteLink() *link {
	return &link{rtt: remoteRTT, bw: rate.NewLimiter(rate.Limit(remoteBandwidth), linkChunk)}
}

// linkChunk is the most one Read takes from the link at once.
const linkChunk = 64 << 10

func (l *link) call() {
	if l != nil {
		time.Sleep(l.rtt)
	}
}

func (l *link) reader(rc io.ReadCloser) io.ReadCloser {
	if l == nil || rc == nil {
		return rc
	}
	return &linkReader{rc, l}
}

type linkReader struct {
	io.ReadCloser
	l *link
}

func (r *linkReader) Read(p []byte) (int, error) {
	if len(p) > linkChunk {
		p = p[:linkChunk]
	}
	n, err := r.ReadCloser.Read(p)
	if n > 0 {
		r.l.bw.WaitN(context.Background(), n)
	}
	return n, err
}

func benchVerifyAll(b *testing.B, nRecords, fileSize int, link *link) {
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
	cs := &countingStore{Store: st, link: link}
	v := &records.Verifier{Signer: testSigner, Keys: testKeys, Store: cs}
	var plain, hashed, verify time.Duration
	var plainCalls, verifyCalls calls
	b.SetBytes(total)
	b.ResetTimer()
	round := 0
	for b.Loop() {
		round++
		floor := func() {
			before := cs.snapshot()
			t0 := time.Now()
			if n := plainRead(b, cs, append(keys, anchors...), 16, false); n < total {
				b.Fatalf("plain read %d bytes, want at least %d", n, total)
			}
			plainCreates(b, cs, fmt.Sprintf("floor/%d/", round), nRecords, 16)
			plain += time.Since(t0)
			plainCalls.add(cs.snapshot().sub(before))
		}
		hashedFloor := func() {
			t0 := time.Now()
			if n := plainRead(b, cs, append(keys, anchors...), 16, true); n < total {
				b.Fatalf("hashed read %d bytes, want at least %d", n, total)
			}
			plainCreates(b, cs, fmt.Sprintf("hashed/%d/", round), nRecords, 16)
			hashed += time.Since(t0)
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
		// Rotate which goes first, so none always finds the objects just
		// read by another.
		steps := []func(){floor, hashedFloor, check}
		for i := range steps {
			steps[(round+i)%len(steps)]()
		}
	}
	mb := float64(total) * float64(b.N) / 1e6
	b.ReportMetric(mb/plain.Seconds(), "plain-MB/s")
	b.ReportMetric(mb/verify.Seconds(), "verify-MB/s")
	b.ReportMetric(verify.Seconds()/plain.Seconds(), "verify/plain")
	b.ReportMetric(verify.Seconds()/hashed.Seconds(), "verify/hashed-read")
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
// implements (versions, Object Lock) visible; with a link, every call
// crosses it.
type countingStore struct {
	*s3.Store
	link *link
	n    [nOps]atomic.Int64
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
	c.link.call()
	rc, info, err := c.Store.Open(ctx, key)
	return c.link.reader(rc), info, err
}

func (c *countingStore) OpenVersion(ctx context.Context, key, id string) (io.ReadCloser, filing.ObjectInfo, error) {
	c.n[opGet].Add(1)
	c.link.call()
	rc, info, err := c.Store.OpenVersion(ctx, key, id)
	return c.link.reader(rc), info, err
}

func (c *countingStore) Stat(ctx context.Context, key string) (filing.ObjectInfo, error) {
	c.n[opHead].Add(1)
	c.link.call()
	return c.Store.Stat(ctx, key)
}

func (c *countingStore) StatVersion(ctx context.Context, key, id string) (filing.ObjectInfo, error) {
	c.n[opHead].Add(1)
	c.link.call()
	return c.Store.StatVersion(ctx, key, id)
}

func (c *countingStore) Create(ctx context.Context, key string, r io.Reader, size int64, o filing.WriteOptions) (filing.ObjectInfo, error) {
	c.n[opWrite].Add(1)
	c.link.call()
	return c.Store.Create(ctx, key, r, size, o)
}

func (c *countingStore) Put(ctx context.Context, key string, r io.Reader, size int64, o filing.WriteOptions) (filing.ObjectInfo, error) {
	c.n[opWrite].Add(1)
	c.link.call()
	return c.Store.Put(ctx, key, r, size, o)
}

func (c *countingStore) List(ctx context.Context, prefix string) iter.Seq2[filing.ObjectInfo, error] {
	c.n[opList].Add(1)
	c.link.call()
	return c.Store.List(ctx, prefix)
}

func (c *countingStore) Versions(ctx context.Context, prefix string) iter.Seq2[filing.Version, error] {
	c.n[opList].Add(1)
	c.link.call()
	return c.Store.Versions(ctx, prefix)
}

func (c *countingStore) Locking(ctx context.Context) (bool, error) {
	c.n[opOther].Add(1)
	c.link.call()
	return c.Store.Locking(ctx)
}

// plainRead reads every key with par readers, hashing each with SHA-256
// if hash is set, and returns the bytes read.
func plainRead(b *testing.B, st filing.Store, keys []string, par int, hash bool) int64 {
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
				var w io.Writer = io.Discard
				if hash {
					w = sha256.New()
				}
				n, err := io.CopyBuffer(struct{ io.Writer }{w}, rc, buf)
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

// plainCreates creates n small locked objects under prefix, par at a time:
// the floor of writing one fixity-check event per record.
func plainCreates(b *testing.B, st filing.Store, prefix string, n, par int) {
	ctx := context.Background()
	body := []byte(`{"type":"fixity-check","outcome":"intact","record_id":"01a20bd9-2581-7588-ac48-7b8706f4ccdf"}`)
	next := make(chan int)
	var wg sync.WaitGroup
	for range par {
		wg.Go(func() {
			for i := range next {
				// Locked, as verify's fixity-check events are.
				o := filing.WriteOptions{ContentType: "application/json", RetainUntil: time.Now().Add(24 * time.Hour)}
				if _, err := st.Create(ctx, fmt.Sprintf("%s%d.json", prefix, i), bytes.NewReader(body), int64(len(body)), o); err != nil {
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
