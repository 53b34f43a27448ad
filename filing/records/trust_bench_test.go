package records_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// BenchmarkListChecked is the cost of checking the index entries ls
// lists, on a real MinIO, as requests a record and time: plain (the
// entries as they claim, as ls listed them before), signatures (what ls
// does by default: no request more) and full (ls --check: each entry
// checked against its record as filed, as dispose does). The remote cases
// put every request behind the simulated link of BenchmarkVerifyAll.
//
//	go test -count=1 -run XXX -bench 'ListChecked' -benchtime 4x ./filing/records/
func BenchmarkListChecked(b *testing.B) {
	const n = 64
	ctx := context.Background()
	st := miniotest.NewStore(b)
	svc := service(b, st, nil)
	for i := range n {
		file(b, svc, spec{title: fmt.Sprintf("Letter %02d", i)})
	}
	trust := records.Trust{Keys: testKeys}
	modes := []struct {
		name string
		list func(ctx context.Context, cs *countingStore) (int, error)
	}{
		{"plain", func(ctx context.Context, cs *countingStore) (int, error) {
			es, err := records.List(ctx, cs, records.Filter{})
			return len(es), err
		}},
		{"signatures", func(ctx context.Context, cs *countingStore) (int, error) {
			es, err := trust.ListChecked(ctx, cs, records.Filter{}, false)
			return untrusted(es), err
		}},
		{"full", func(ctx context.Context, cs *countingStore) (int, error) {
			es, err := trust.ListChecked(ctx, cs, records.Filter{}, true)
			return untrusted(es), err
		}},
	}
	for _, l := range []*link{nil, remoteLink()} {
		for _, m := range modes {
			name := m.name
			if l != nil {
				name = "remote/" + name
			}
			b.Run(name, func(b *testing.B) {
				cs := &countingStore{Store: st, link: l}
				for b.Loop() {
					got, err := m.list(ctx, cs)
					if err != nil {
						b.Fatal(err)
					}
					if m.name == "plain" && got != n || m.name != "plain" && got != 0 {
						b.Fatalf("%s: %d, want %d records listed, none not trusted", m.name, got, n)
					}
				}
				c := cs.snapshot()
				b.ReportMetric(float64(c.total())/float64(b.N)/n, "requests/rec")
			})
		}
	}
}

func untrusted(es []records.Listed) int {
	bad := 0
	for _, e := range es {
		if e.NotTrusted != "" {
			bad++
		}
	}
	return bad
}
