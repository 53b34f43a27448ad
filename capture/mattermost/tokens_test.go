package mattermost_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/recordbot/recordbot/capture/mattermost"
)

// A Tokened source asks for the token at each capture: a token that
// changes (install run again) is used from the next capture on, and a
// failed lookup fails the capture.
func TestTokenedAsksForTheTokenEachTime(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var mu sync.Mutex
	tok, lookupErr := "not-the-token", error(nil)
	src, err := mattermost.NewTokened(mattermost.Options{URL: w.mm.URL}, func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		return tok, lookupErr
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := src.Capture(ctx, w.ref(w.root.Id), personOf(w.alice)); err == nil {
		t.Fatalf("capture with a wrong token succeeded")
	}
	mu.Lock()
	tok = w.botToken
	mu.Unlock()
	th, err := src.Capture(ctx, w.ref(w.root.Id), personOf(w.alice))
	if err != nil || len(th.Messages) != 4 {
		t.Fatalf("capture with the new token = %v, %v", th, err)
	}
	gone := errors.New("not installed")
	mu.Lock()
	lookupErr = gone
	mu.Unlock()
	if _, err := src.Capture(ctx, w.ref(w.root.Id), personOf(w.alice)); !errors.Is(err, gone) {
		t.Errorf("capture when the lookup fails = %v, want its error", err)
	}
	if _, err := mattermost.NewTokened(mattermost.Options{URL: "chat.example.org"}, nil); err == nil {
		t.Errorf("NewTokened accepted a server address without a scheme")
	}
}
