package mattermost_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	mmbot "github.com/recordbot/recordbot/bot/mattermost"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/storetest"
)

// clockedApp serves a second App over e's store and server, on its own
// address, with the test's clock and an installation cached for an hour
// (so that only the App's own lookups of teams it does not know read the
// store).
func clockedApp(t *testing.T, e *env, server string, clock *clockwork.FakeClock) string {
	t.Helper()
	app, err := mmbot.New(mmbot.Options{
		Server: server, PublicURL: e.public.URL, Store: e.store, Vault: e.vault, Filer: e.svc,
		InstallTTL: time.Hour, Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	app.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func postCommandTo(t *testing.T, base string, form url.Values) int {
	t.Helper()
	resp, err := http.PostForm(base+mmbot.CommandPath, form)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestForgedCommandsForUnknownTeamsReadNoStore: issue 21. Commands
// naming teams recordbot is not installed on (forged: random team ids and
// tokens) cost no store read each, whether the server is installed or not;
// a team installed after such a miss is still found within seconds.
func TestForgedCommandsForUnknownTeamsReadNoStore(t *testing.T) {
	t.Parallel()
	counter := &storetest.Counting{}
	e := newEnv(t, envOpts{noWorker: true, store: func(s filing.Store) filing.Store { counter.Store = s; return counter }})
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	base := clockedApp(t, e, e.mm.URL, clock)
	good := e.mm.Commands(e.team.Id)[0].Token
	command := func(team, token string) url.Values {
		return url.Values{"token": {token}, "team_id": {team}, "channel_id": {e.ch.Id}, "user_id": {e.alice.Id},
			"user_name": {"mallory"}, "command": {"/record"}, "text": {""}, "trigger_id": {e.mm.NewTrigger(e.alice.Id)}}
	}
	// The installed team's command works, and caches the installation.
	if code := postCommandTo(t, base, command(e.team.Id, good)); code != http.StatusOK {
		t.Fatalf("/record on the installed team = HTTP %d, want 200", code)
	}

	before := counter.Reads()
	for i := range 200 {
		token := good
		if i%2 == 0 {
			token = mattermosttestID()
		}
		if code := postCommandTo(t, base, command(mattermosttestID(), token)); code == http.StatusOK {
			t.Fatalf("a forged command for an unknown team = HTTP %d, want it refused", code)
		}
		if i%50 == 0 { // the installed team is served meanwhile
			if code := postCommandTo(t, base, command(e.team.Id, good)); code != http.StatusOK {
				t.Fatalf("/record on the installed team during the flood = HTTP %d, want 200", code)
			}
		}
	}
	n := counter.Reads() - before
	t.Logf("200 forged commands for unknown teams: %d store reads", n)
	if n > 1 {
		t.Errorf("Got(store reads for 200 forged commands for unknown teams) = %d, want at most 1", n)
	}

	// A team installed after the misses is found once a few seconds have
	// passed (the installation itself stays cached for an hour).
	eng := e.mm.AddTeam("eng", "Engineering")
	e.install("ops", "eng")
	var engToken string
	for _, c := range e.mm.Commands(eng.Id) {
		engToken = c.Token
	}
	if engToken == "" {
		t.Fatal("install registered no command on the new team")
	}
	clock.Advance(10 * time.Second)
	if code := postCommandTo(t, base, command(eng.Id, engToken)); code != http.StatusOK {
		t.Errorf("/record on a team installed 10s after a miss = HTTP %d, want 200", code)
	}

	// A server recordbot is not installed on: every command for it is
	// refused, and a flood of them costs no read each.
	other := clockedApp(t, e, "http://127.0.0.1:1/other", clock)
	before = counter.Reads()
	for range 50 {
		if code := postCommandTo(t, other, command(mattermosttestID(), good)); code != http.StatusServiceUnavailable {
			t.Fatalf("a command to a server not installed = HTTP %d, want 503", code)
		}
	}
	n = counter.Reads() - before
	t.Logf("50 commands to a server not installed: %d store reads", n)
	if n > 1 {
		t.Errorf("Got(store reads for 50 commands while not installed) = %d, want at most 1", n)
	}
}
