package filing_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/internal/pdfacheck"
)

// Every golden record's PDF transcript, filed as TestGoldenRecord files
// it, passes the PDF/A-2b conformance check; with its output intent
// taken out, it fails it.
func TestGoldenPDFIsPDFA(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		thread *capture.Thread
	}{{"slack-thread", goldenThread()}, {"whatsapp-export", goldenExport()}} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := local.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 11, 3, 14, 30, 0, 0, time.UTC)
			svc := newServiceWith(t, filing.Options{Store: st, Plan: filing.SamplePlan(), Clock: clockwork.NewFakeClockAt(now)})
			req := request("Ferry: " + tc.name)
			req.Thread = capture.Ref{Platform: tc.thread.Platform, ChannelID: tc.thread.Channel.ID, ThreadID: tc.thread.ThreadID}
			sum, err := svc.FileThread(ctx, req, tc.thread)
			if err != nil {
				t.Fatalf("FileThread: %v", err)
			}
			pdf := []byte(readAll(t, st, sum.Key+filing.PDFFile))
			if p := pdfacheck.Check(pdf); len(p) > 0 {
				t.Fatalf("the PDF transcript is not PDF/A-2b:\n%s", strings.Join(p, "\n"))
			}
			if p := pdfacheck.Check(withoutOutputIntent(t, pdf)); !mentions(p, "output intent") {
				t.Errorf("a PDF without its output intent passed the check: %q", p)
			}
		})
	}
}

// withoutOutputIntent blanks the catalog's /OutputIntents entry (with
// spaces, so every offset stays right).
func withoutOutputIntent(t *testing.T, pdf []byte) []byte {
	t.Helper()
	loc := regexp.MustCompile(`/OutputIntents \[[^\]]*\]`).FindIndex(pdf)
	if loc == nil {
		t.Fatal("the PDF has no /OutputIntents to take out")
	}
	out := bytes.Clone(pdf)
	for i := loc[0]; i < loc[1]; i++ {
		if out[i] != '\n' {
			out[i] = ' '
		}
	}
	return out
}

func mentions(problems []string, s string) bool {
	for _, p := range problems {
		if strings.Contains(p, s) {
			return true
		}
	}
	return false
}
