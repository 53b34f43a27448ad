package teams_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/teams"
)

// run captures ref in the background, advancing the fake clock by step
// whenever the capture waits on it, and returns its outcome and the
// clock's advance.
func (f *fixture) run(t *testing.T, ref capture.Ref, who string, step time.Duration) (*capture.Thread, error, time.Duration) {
	t.Helper()
	type result struct {
		th  *capture.Thread
		err error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		th, err := f.src.Capture(ctx, ref, person(who))
		done <- result{th, err}
	}()
	start := f.clock.Now()
	for {
		waitCtx, stop := context.WithTimeout(ctx, 200*time.Millisecond)
		err := f.clock.BlockUntilContext(waitCtx, 1)
		stop()
		select {
		case r := <-done:
			return r.th, r.err, f.clock.Since(start)
		default:
		}
		if err == nil {
			f.clock.Advance(step)
		} else if ctx.Err() != nil {
			t.Fatal("capture did not finish")
		}
	}
}

func TestThrottlingWaitedOutAndCounted(t *testing.T) {
	f := newFixture(t, nil)
	root, _, replies := seedThread(f)
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: channel, Scope: teams.Thread, From: root, Acted: replies[0]}.Ref()
	f.srv.Throttle(2, http.StatusTooManyRequests, "7")
	f.srv.Throttle(1, http.StatusServiceUnavailable, "3")
	th, err, waited := f.run(t, ref, alice, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Messages) != 121 {
		t.Errorf("%d messages", len(th.Messages))
	}
	if got := f.src.RateLimited(); got != 3 {
		t.Errorf("RateLimited() = %d, want 3", got)
	}
	if waited < 17*time.Second {
		t.Errorf("waited %s, want at least the 7+7+3 s asked", waited)
	}
}

// Graph may give Retry-After as an HTTP date rather than seconds
// (RFC 9110 section 10.2.3): the capture waits until then on its clock.
func TestThrottleUntilHTTPDate(t *testing.T) {
	f := newFixture(t, nil)
	root, _, replies := seedThread(f)
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: channel, Scope: teams.Thread, From: root, Acted: replies[0]}.Ref()
	f.srv.Throttle(1, http.StatusTooManyRequests, f.clock.Now().Add(45*time.Second).UTC().Format(http.TimeFormat))
	th, err, waited := f.run(t, ref, alice, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Messages) != 121 {
		t.Errorf("%d messages", len(th.Messages))
	}
	if waited < 44*time.Second {
		t.Errorf("waited %s, want the 45 s until the date given", waited)
	}
}

func TestLongThrottleEndsTheAttempt(t *testing.T) {
	f := newFixture(t, func(c *teams.Config) { c.MaxWait = 30 * time.Second })
	root, _, replies := seedThread(f)
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: channel, Scope: teams.Thread, From: root, Acted: replies[0]}.Ref()
	f.srv.Throttle(1, http.StatusTooManyRequests, "120")
	_, err := f.src.Capture(context.Background(), ref, person(alice))
	rl, ok := errors.AsType[*capture.RateLimitError](err)
	if !ok || !errors.Is(err, capture.ErrRateLimited) || rl.RetryAfter != 120*time.Second || rl.Platform != capture.Teams {
		t.Fatalf("err = %v", err)
	}
}

func TestThrottleWaitStopsWithContext(t *testing.T) {
	f := newFixture(t, nil)
	root, _, replies := seedThread(f)
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: channel, Scope: teams.Thread, From: root, Acted: replies[0]}.Ref()
	f.srv.Throttle(1, http.StatusTooManyRequests, "30")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := f.src.Capture(ctx, ref, person(alice))
		done <- err
	}()
	if err := f.clock.BlockUntilContext(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// TestPacedToMicrosoftsLimits: with the documented limits, no second
// holds more than 4 channel reads of one team (4 a second per team) or 3
// chat reads (3 a second per app). The fake clock moves in 50 ms steps,
// so a request is seen up to 50 ms after its turn: windows are 950 ms.
func TestPacedToMicrosoftsLimits(t *testing.T) {
	f := newFixture(t, func(c *teams.Config) { c.Limits = teams.Limits{} })
	root, _, replies := seedThread(f)
	ids := seedChat(f)
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: channel, Scope: teams.Thread, From: root, Acted: replies[0]}.Ref()
	if _, err, _ := f.run(t, ref, alice, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	chat := teams.Target{Tenant: f.srv.Tenant, Channel: chatID, Scope: teams.Since, From: ids[0][0], Acted: ids[3][59]}.Ref()
	if _, err, _ := f.run(t, chat, alice, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	times := map[string][]time.Time{}
	for _, c := range f.srv.Calls() {
		if c.Route == "token" {
			continue
		}
		kind := "channel"
		if strings.HasPrefix(c.Path, "/v1.0/chats") {
			kind = "chat"
		}
		times[kind] = append(times[kind], c.At)
	}
	for kind, limit := range map[string]int{"channel": 4, "chat": 3} {
		ts := times[kind]
		if len(ts) < 6 {
			t.Fatalf("only %d %s requests", len(ts), kind)
		}
		for i := range ts {
			n := 0
			for _, u := range ts[i:] {
				if u.Sub(ts[i]) < 950*time.Millisecond {
					n++
				}
			}
			if n > limit {
				t.Errorf("%d %s requests within a second from %s", n, kind, ts[i])
			}
		}
		if span := ts[len(ts)-1].Sub(ts[0]); span > time.Duration(len(ts))*time.Second/time.Duration(limit) {
			t.Errorf("%d %s requests took %s: paced slower than the limit", len(ts), kind, span)
		}
	}
}

func TestAppTokenCachedAndRenewed(t *testing.T) {
	f := newFixture(t, nil)
	root, _, replies := seedThread(f)
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: channel, Scope: teams.Thread, From: root, Acted: replies[0]}.Ref()
	tokens := func() int {
		n := 0
		for _, c := range f.srv.Calls() {
			if c.Route == "token" {
				n++
			}
		}
		return n
	}
	for range 2 {
		if _, err := f.src.Capture(context.Background(), ref, person(alice)); err != nil {
			t.Fatal(err)
		}
	}
	if n := tokens(); n != 1 {
		t.Errorf("%d token requests for two captures, want 1", n)
	}
	// The double's tokens last an hour; the source renews 5 minutes early.
	f.clock.Advance(56 * time.Minute)
	if _, err := f.src.Capture(context.Background(), ref, person(alice)); err != nil {
		t.Fatal(err)
	}
	if n := tokens(); n != 2 {
		t.Errorf("%d token requests after 56 minutes, want 2", n)
	}
	// A token Graph no longer takes is replaced once.
	f.srv.RevokeTokens()
	if _, err := f.src.Capture(context.Background(), ref, person(alice)); err != nil {
		t.Fatal(err)
	}
	if n := tokens(); n != 3 {
		t.Errorf("%d token requests after revocation, want 3", n)
	}
}

func TestBadCredentialsNeedAdmin(t *testing.T) {
	f := newFixture(t, func(c *teams.Config) { c.AppSecret = "wrong" })
	root, _, replies := seedThread(f)
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: channel, Scope: teams.Thread, From: root, Acted: replies[0]}.Ref()
	_, err := f.src.Capture(context.Background(), ref, person(alice))
	p, ok := capture.ProblemOf(err)
	if !ok || p.Kind != capture.AppNeedsAdmin || !errors.Is(err, capture.ErrAppNeedsAdmin) {
		t.Fatalf("err = %v", err)
	}
}
