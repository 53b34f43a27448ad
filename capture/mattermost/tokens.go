package mattermost

import (
	"context"
	"sync"

	"github.com/recordbot/recordbot/capture"
)

// TokenFunc returns the bot's access token. It is asked at each capture,
// so a token issued while the bot serves (an install run again) is used.
type TokenFunc func(ctx context.Context) (string, error)

// Tokened is a capture.Source whose bot token is looked up at each
// capture; it keeps one Source per token.
type Tokened struct {
	o      Options
	tokens TokenFunc

	mu  sync.Mutex
	tok string
	src *Source
}

var _ capture.Source = (*Tokened)(nil)

// NewTokened returns a Source for the server in o (o.Token is not used)
// with the token tokens gives at each capture.
func NewTokened(o Options, tokens TokenFunc) (*Tokened, error) {
	if _, err := NormalizeURL(o.URL); err != nil {
		return nil, err
	}
	o.Token = ""
	return &Tokened{o: o, tokens: tokens}, nil
}

// Capture implements capture.Source.
func (t *Tokened) Capture(ctx context.Context, ref capture.Ref, requester capture.Person) (*capture.Thread, error) {
	tok, err := t.tokens(ctx)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	if t.src == nil || t.tok != tok {
		o := t.o
		o.Token = tok
		src, err := New(o)
		if err != nil {
			t.mu.Unlock()
			return nil, err
		}
		t.src, t.tok = src, tok
	}
	src := t.src
	t.mu.Unlock()
	return src.Capture(ctx, ref, requester)
}
