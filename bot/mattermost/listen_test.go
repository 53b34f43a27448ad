package mattermost_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	mmbot "github.com/recordbot/recordbot/bot/mattermost"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/storetest"
)

// The listener waits for an installation on its clock: with none, it
// waits out its backoff (and the store is not read again within missTTL);
// once one is stored and the clock has moved past both, it connects. A
// fake clock drives the waits, which would take six real seconds.
func TestListenWaitsForInstallationOnClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true})
	clock := clockwork.NewFakeClock()
	st := storetest.Local(t) // no installation yet
	app, err := mmbot.New(mmbot.Options{
		Server: e.mm.URL, PublicURL: e.public.URL, Store: st, Vault: e.vault, Filer: e.svc,
		InstallTTL: time.Millisecond, Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); app.Listen(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	wctx, wcancel := context.WithTimeout(ctx, patience)
	defer wcancel()
	if err := clock.BlockUntilContext(wctx, 1); err != nil {
		t.Fatalf("the listener never waited on its clock: %v", err)
	}
	if n := e.mm.WebSocketClients(); n != 0 {
		t.Fatalf("%d WebSocket clients before any installation, want 0", n)
	}
	// The installation appears (as another process's install would).
	key := mmbot.InstallKey(e.mm.URL)
	b := storetest.Read(t, e.store, key)
	if _, err := st.Put(ctx, key, bytes.NewReader(b), int64(len(b)), filing.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Second) // past the backoff (at most 1s) and missTTL (5s)
	e.waitFor("the listener to connect once installed", func() bool { return e.mm.WebSocketClients() >= 1 })
}
