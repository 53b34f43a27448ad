package mattermost_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// holdTelling is a transport that holds up every way the bot tells a
// person something (a response_url answer, a direct message) until
// release is closed; held is closed when the first is held up.
type holdTelling struct {
	release, held chan struct{}
	once          chan struct{}
}

func (h *holdTelling) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/hooks/commands/") || r.URL.Path == "/api/v4/channels/direct" {
		select {
		case h.once <- struct{}{}:
			close(h.held)
		default:
		}
		select {
		case <-h.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// The dialog's answer goes out before the person is told anything: a
// direct message (or response_url answer) that does not go through does
// not hold up Mattermost's dialog, and is sent once it can be.
func TestDialogAnswersBeforeTelling(t *testing.T) {
	t.Parallel()
	h := &holdTelling{release: make(chan struct{}), held: make(chan struct{}), once: make(chan struct{}, 1)}
	e := newEnv(t, envOpts{noWorker: true, transport: h})
	if _, _, err := e.mm.SlashCommand(e.team.Id, e.ch.Id, e.alice.Id, "/record", e.root.Id); err != nil {
		t.Fatal(err)
	}
	d := e.lastDialog()
	answered := make(chan error, 1)
	go func() {
		code, resp, err := e.mm.SubmitDialog(d, e.alice.Id, e.ch.Id, e.team.Id, fileValues)
		if err == nil && (code != http.StatusOK || resp.Error != "" || len(resp.Errors) > 0) {
			t.Errorf("submission = HTTP %d %+v, want it accepted", code, resp)
		}
		answered <- err
	}()
	select {
	case err := <-answered:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		close(h.release)
		t.Fatal("the dialog's answer waited for the person to be told")
	}
	select {
	case <-h.held:
	case <-time.After(20 * time.Second):
		t.Fatal("the bot never tried to tell the person")
	}
	close(h.release)
	e.waitTold(e.alice, "Filing **Ferry tender decision**")
}
