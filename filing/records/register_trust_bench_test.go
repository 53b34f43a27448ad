package records_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// BenchmarkWriteRegistersChecked is the cost of a register run (bot
// records register) on a real MinIO, as requests a record and time, with
// the index entries taken as they claim (none), their signatures checked,
// and each checked in full against its record as filed. The records fall
// in one class, so the register writes themselves weigh little; the
// remote cases put every request behind the simulated link of
// BenchmarkVerifyAll.
//
//	go test -count=1 -run XXX -bench 'WriteRegistersChecked' -benchtime 4x ./filing/records/
func BenchmarkWriteRegistersChecked(b *testing.B) {
	const n = 64
	ctx := context.Background()
	st := miniotest.NewStore(b)
	svc := service(b, st, nil)
	for i := range n {
		file(b, svc, spec{title: fmt.Sprintf("Letter %02d", i)})
	}
	modes := []struct {
		name  string
		trust records.Trust
		full  bool
	}{
		{"none", records.Trust{}, false},
		{"signatures", records.Trust{Keys: testKeys}, false},
		{"full", records.Trust{Keys: testKeys}, true},
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
					keys, left, err := m.trust.WriteRegisters(ctx, cs, m.full, nil)
					if err != nil {
						b.Fatal(err)
					}
					if len(keys) == 0 || len(left) != 0 {
						b.Fatalf("%s: %d registers written, %d entries left out; want some, none", m.name, len(keys)/2, len(left))
					}
				}
				c := cs.snapshot()
				b.ReportMetric(float64(c.total())/float64(b.N)/n, "requests/rec")
			})
		}
	}
}
