package teams

import (
	"context"
	"encoding/base64"
	"testing"
	"time"
)

// TestReadIDToken: an ID token is read whatever its algorithm, as
// Microsoft's documented answers show one unsigned (alg "none"); anything
// that is not a JWT is refused.
func TestReadIDToken(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	unsigned := enc([]byte(`{"typ":"JWT","alg":"none"}`)) + "." +
		enc([]byte(`{"aud":"app-1","tid":"tenant-1","oid":"user-1","nonce":"n-1","name":"Bob"}`)) + "."
	c, err := readIDToken(unsigned)
	if err != nil || c != (idClaims{Audience: "app-1", Tenant: "tenant-1", Object: "user-1", Nonce: "n-1"}) {
		t.Errorf("unsigned ID token: %+v %v", c, err)
	}
	for _, bad := range []string{"", "not-a-jwt", "a.b", "a.!!!.c", enc([]byte("{}")) + "." + enc([]byte("[1,2]")) + ".x"} {
		if _, err := readIDToken(bad); err == nil {
			t.Errorf("%q was read as an ID token", bad)
		}
	}
}

// TestOutcomeWaitsForFiling: a request's outcome waits until the person
// has been told it is being filed ("Filing…" goes out after the dialog's
// answer, and the worker may be done first); an outcome of a request this
// process is not telling anyone about does not wait.
func TestOutcomeWaitsForFiling(t *testing.T) {
	a := &App{telling: map[string]chan struct{}{}}
	release, sent := make(chan struct{}), make(chan struct{})
	after := a.tell("r1", func(context.Context) { <-release; close(sent) })
	go after(context.Background())
	waited := make(chan struct{})
	go func() { a.toldFirst(context.Background(), "r1"); close(waited) }()
	select {
	case <-waited:
		t.Fatal("the outcome did not wait for Filing…")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-waited
	select {
	case <-sent:
	default:
		t.Fatal("the outcome went before Filing… was sent")
	}
	done := make(chan struct{})
	go func() { a.toldFirst(context.Background(), "other"); close(done) }()
	<-done // returns at once: nothing to wait for
}
