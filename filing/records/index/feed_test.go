package index_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/recordbot/recordbot/filing/records/index"
	"github.com/recordbot/recordbot/internal/storetest"
)

// The bot's feeder indexes a record soon after it is filed, and picks up
// what others did at each tick.
func TestFeederCatchesUpWhenPoked(t *testing.T) { eachEngine(t, testFeeder) }

func testFeeder(t *testing.T, dsn func(t *testing.T) string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := storetest.Local(t)
	svc := newService(t, st)
	clock := clockwork.NewFakeClock()
	ix, err := index.Open(ctx, dsn(t), st, index.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	f := index.NewFeeder(ix, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	done := make(chan error)
	go func() { done <- f.Run(ctx) }()
	found := func(word string) bool {
		a, err := ix.Find(ctx, index.Search{Text: word})
		return err == nil && len(a.Hits) == 1
	}
	fileThread(t, svc, "Poked", "100-20", []string{"alice"}, []string{"kappa"})
	f.Poke()
	deadline := time.Now().Add(20 * time.Second)
	for !found("kappa") {
		if time.Now().After(deadline) {
			t.Fatal("the record filed and poked was not indexed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	fileThread(t, svc, "Ticked", "100-20", []string{"alice"}, []string{"lambda"})
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	for !found("lambda") {
		if time.Now().After(deadline) {
			t.Fatal("the record filed was not indexed at the tick")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
