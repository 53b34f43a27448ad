package teams_test

import (
	"context"
	"testing"

	"github.com/recordbot/recordbot/capture/teams"
)

// BenchmarkCaptureThread captures the 121-message thread (3 pages of
// replies) from the double, unpaced: the cost of the source itself and of
// the HTTP round trips on loopback. It reports the Graph requests a
// capture makes.
func BenchmarkCaptureThread(b *testing.B) {
	f := newFixture(b, nil)
	root, _, replies := seedThread(f)
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: channel, Scope: teams.Thread, From: root, Acted: replies[60]}.Ref()
	ctx := context.Background()
	if _, err := f.src.Capture(ctx, ref, person(bob)); err != nil {
		b.Fatal(err)
	}
	before := len(f.srv.Calls())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		th, err := f.src.Capture(ctx, ref, person(bob))
		if err != nil || len(th.Messages) != 121 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(f.srv.Calls())-before)/float64(b.N), "requests/op")
}
