package slack_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture/slack/slacktest"
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

// Errors whose text carries a secret reach the person as Voice's words
// only: a store that fails a submission, and Slack refusing to open the
// form with an answer that is no error code of Slack's.
func TestNoErrorTextReachesPeople(t *testing.T) {
	t.Parallel()
	mf := &markedFiler{}
	e := newEnv(t, envOpts{filer: mf})
	mf.Service = e.service
	msg := map[string]any{"type": "message", "user": "U1", "ts": root, "text": "Budget"}
	e.interact(t, messageAction("U1", "C1", msg))
	view := e.lastView(t)
	code, body := e.interact(t, viewSubmission("U1", view, "Venue contract approved", "100-20", "_class_default", ""))
	if code != http.StatusOK || strings.Contains(body, marker) || strings.Contains(body, "minio.internal") || !strings.Contains(body, "did not confirm") {
		t.Errorf("a failing store answered %d %s, want the store-late words without the error's text", code, body)
	}

	e.slack.Fail("views.open", slacktest.Failure{Error: marker})
	e.interact(t, messageAction("U1", "C1", msg))
	told := e.waitFor(t, "chat.postEphemeral", "did not open", 5*time.Second)
	if text := told.Get("text"); strings.Contains(text, marker) {
		t.Errorf("told %q, want no error text", text)
	}
}
