package mattermost_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/filing"
)

// marker stands for what an error's text may carry that a person must
// never see: a token, a server's address, a private channel's name.
const marker = "SECRET-c0ffee-4f1a"

// markedFiler fails every submission with an error carrying the marker.
type markedFiler struct{ *filing.Service }

func (*markedFiler) Submit(context.Context, filing.Request) (filing.Request, error) {
	return filing.Request{}, fmt.Errorf("put https://minio.internal/records?X-Amz-Signature=%s: %w", marker, context.DeadlineExceeded)
}

// refuseDialogs answers the dialog-opening call as a server in trouble
// would, with the marker in its error's message.
type refuseDialogs struct{}

func (refuseDialogs) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/api/v4/actions/dialogs/open" {
		body := `{"id":"api.dialog.open.app_error","message":"` + marker + ` at https://chat.internal","status_code":500}`
		return &http.Response{StatusCode: http.StatusInternalServerError, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

// Errors whose text carries a secret reach the person as Voice's words
// only: a store that fails a submission, and the server refusing to open
// the dialog (its SDK error was shown raw).
func TestNoErrorTextReachesPeople(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true, transport: refuseDialogs{},
		filer: func(s *filing.Service) bot.Filer { return &markedFiler{s} }})
	code, cr, err := e.mm.SlashCommand(e.team.Id, e.ch.Id, e.alice.Id, "/record", e.root.Id)
	if err != nil || code != 200 {
		t.Fatalf("/record = HTTP %d, %v", code, err)
	}
	if strings.Contains(cr.Text, marker) || strings.Contains(cr.Text, "chat.internal") || !strings.Contains(cr.Text, "could not be opened") {
		t.Errorf("/record answered %q, want that the form could not be opened, without the error's text", cr.Text)
	}

	e2 := newEnv(t, envOpts{noWorker: true, filer: func(s *filing.Service) bot.Filer { return &markedFiler{s} }})
	if _, _, err := e2.mm.SlashCommand(e2.team.Id, e2.ch.Id, e2.alice.Id, "/record", e2.root.Id); err != nil {
		t.Fatal(err)
	}
	resp := e2.submit(e2.lastDialog(), e2.alice, fileValues)
	if got := fmt.Sprint(resp); strings.Contains(got, marker) || strings.Contains(got, "minio.internal") || resp.Error != bot.StoreLate {
		t.Errorf("a failing store answered %+v, want StoreLate without the error's text", resp)
	}
}
