package records_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// BenchmarkVerifyAllHeap reports the peak heap of `verify --all`
// (VerifyEach) over 1,000 and 10,000 small records, in a local directory and in MinIO: heap-peak-MB
// (heap objects, garbage not yet collected included, above the heap before
// the check) and live-peak-MB (the most any garbage collection found live);
// the two counts together show what the heap grows by per record. The
// records are one filed record cloned, each a valid record of its own (its
// own id, folder, index entry and filing event), written directly to keep
// the set-up short.
//
//	go test -run XXX -bench VerifyAllHeap -benchtime 1x ./filing/records/
func BenchmarkVerifyAllHeap(b *testing.B) {
	for _, c := range []struct {
		store string
		n     int
	}{{"local", 1000}, {"local", 10000}, {"s3", 1000}, {"s3", 10000}} {
		b.Run(fmt.Sprintf("%s/%d", c.store, c.n), func(b *testing.B) {
			n := c.n
			var st filing.Store
			if c.store == "s3" {
				st = miniotest.NewStore(b)
			} else {
				local, err := local.New(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				st = local
			}
			cloneRecords(b, st, n)
			v := &records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}
			var peak, livePeak, base, liveBase uint64
			for b.Loop() {
				runtime.GC()
				base, liveBase = heapBytes(), liveBytes()
				var high, liveHigh atomic.Uint64
				done := make(chan struct{})
				var wg sync.WaitGroup
				wg.Go(func() {
					t := time.NewTicker(5 * time.Millisecond)
					defer t.Stop()
					for {
						if h := heapBytes(); h > high.Load() {
							high.Store(h)
						}
						if h := liveBytes(); h > liveHigh.Load() {
							liveHigh.Store(h)
						}
						select {
						case <-done:
							return
						case <-t.C:
						}
					}
				})
				// As `bot records verify --all` does: each result is
				// looked at and let go.
				checked := 0
				err := v.VerifyEach(context.Background(), func(r records.Result) error {
					checked++
					if !r.OK() {
						return fmt.Errorf("record %s failed: %v", r.ID, r.Problems)
					}
					return nil
				})
				close(done)
				wg.Wait()
				if err != nil {
					b.Fatal(err)
				}
				if checked != n {
					b.Fatalf("%d results, want %d", checked, n)
				}
				if h := high.Load(); h > base && h-base > peak {
					peak = h - base
				}
				if h := liveHigh.Load(); h > liveBase && h-liveBase > livePeak {
					livePeak = h - liveBase
				}
			}
			b.ReportMetric(float64(peak)/1e6, "heap-peak-MB")
			b.ReportMetric(float64(peak)/float64(n), "heap-B/rec")
			b.ReportMetric(float64(livePeak)/1e6, "live-peak-MB")
		})
	}
}

// liveBytes is the heap marked live by the last garbage collection.
func liveBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heapBytes is the memory held by heap objects, live or not yet swept.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// cloneRecords files one small record into st and writes n-1 copies of it,
// each a record of its own: its id in record.json, bag-info.txt, the tag
// manifest, the index entry and the filing event (the last two signed with
// testSigner).
func cloneRecords(b *testing.B, st filing.Store, n int) {
	ctx := context.Background()
	sum := file(b, service(b, st, nil), spec{title: "Budget", texts: []string{"Agreed.", "Thanks."}})
	read := func(key string) []byte {
		rc, _, err := st.Open(ctx, key)
		if err != nil {
			b.Fatal(err)
		}
		defer rc.Close()
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(rc); err != nil {
			b.Fatal(err)
		}
		return buf.Bytes()
	}
	objects := map[string][]byte{}
	for oi, err := range st.List(ctx, sum.Key) {
		if err != nil {
			b.Fatal(err)
		}
		objects[strings.TrimPrefix(oi.Key, sum.Key)] = read(oi.Key)
	}
	entry := read(filing.IndexPrefix + sum.ID + ".json")
	evKey := records.FiledEventKey(filing.IndexEntry{ID: sum.ID, FiledAt: sum.FiledAt})
	var ev filing.Event
	if err := json.Unmarshal(read(evKey), &ev); err != nil {
		b.Fatal(err)
	}
	tagFiles := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(objects[filing.TagManifestFile]))
	for sc.Scan() {
		if _, p, ok := strings.Cut(sc.Text(), " "); ok {
			tagFiles[strings.TrimSpace(p)] = true
		}
	}
	parent := path.Dir(strings.TrimSuffix(sum.Key, "/")) + "/"
	put := func(key string, data []byte) {
		if _, err := st.Create(ctx, key, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	hexSum := func(data []byte) string { s := sha256.Sum256(data); return hex.EncodeToString(s[:]) }
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				id := uuid.Must(uuid.NewV7()).String()
				folder := fmt.Sprintf("%sclone-%05d_%s/", parent, i, filing.ShortID(id))
				swap := func(data []byte) []byte {
					data = bytes.ReplaceAll(data, []byte(sum.ID), []byte(id))
					return bytes.ReplaceAll(data, []byte(sum.Key), []byte(folder))
				}
				var tag strings.Builder
				for p, data := range objects {
					if p == filing.TagManifestFile {
						continue
					}
					if tagFiles[p] && p != filing.ManifestFile {
						data = swap(data)
					}
					put(folder+p, data)
					if tagFiles[p] {
						fmt.Fprintf(&tag, "%s  %s\n", hexSum(data), p)
					}
				}
				tm := []byte(tag.String())
				put(folder+filing.TagManifestFile, tm)
				// Signed as the deployment signs, so each clone passes.
				var ie filing.IndexEntry
				if err := json.Unmarshal(swap(entry), &ie); err != nil {
					b.Fatal(err)
				}
				testSigner.Sign(filing.KindIndex, &ie, &ie.Signature)
				data, _ := json.Marshal(ie)
				put(filing.IndexPrefix+id+".json", data)
				e := ev
				e.ID, e.RecordID, e.Key, e.TagManifestSHA256 = id, id, folder, hexSum(tm)
				testSigner.Sign(filing.KindEvent, &e, &e.Signature)
				data, _ = json.Marshal(e)
				put(records.FiledEventKey(filing.IndexEntry{ID: id, FiledAt: sum.FiledAt}), data)
			}
		})
	}
	for i := 1; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
