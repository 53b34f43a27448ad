package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

// An audit event that the deployment's key did not sign (made with the
// store's keys alone) makes `records verify` fail, exit 1 and say FORGED;
// what verify could not establish prints as notes.
func TestRecordsVerifyReportsForgery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := recordEnvs(t)["s3"]
	st := s3Of(t, env)
	sum := fileSnapshot(t, env, "testdata/thread.json", "Roads budget decision")
	if out, stderr, code := runBot(t, env, "records", "verify", sum.ID); code != 0 {
		t.Fatalf("bot records verify before the forgery: exit %d: %s%s", code, out, stderr)
	}
	links, err := records.Chain(ctx, st, sum.ID, sum.FiledAt)
	if err != nil {
		t.Fatal(err)
	}
	other, err := filing.DeriveSigner([]byte("a key that is not the deployment's"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := filing.WriteEvent(ctx, st, other, filing.Event{Type: "legal-hold-off", RecordID: sum.ID, Prev: records.Head(links),
		By: capture.Person{ID: "mallory"}}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	key := filing.EventKey(ev, ev.At)
	out, _, code := runBot(t, env, "records", "verify", sum.ID)
	for _, want := range []string{"FAILED", "forged   " + key, other.KeyID(), "FORGED: 1 object is not signed by this deployment's key"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("bot records verify (forged event): exit %d, output %q; want 1 and %q", code, out, want)
		}
	}
}

// Notes print under the record they concern.
func TestRecordsVerifyPrintsNotes(t *testing.T) {
	t.Parallel()
	env := localEnv(t)
	sum := fileSnapshot(t, env, "testdata/thread.json", "Roads budget decision")
	p := filepath.Join(env["RECORDS_DIR"], filepath.FromSlash(sum.Key), filing.RecordFile)
	then := time.Now().Add(-72 * time.Hour)
	if err := os.Chtimes(p, then, then); err != nil {
		t.Fatal(err)
	}
	out, _, code := runBot(t, env, "records", "verify", sum.ID)
	if code != 0 || !strings.Contains(out, "ok") || !strings.Contains(out, "note     record.json was stored "+then.UTC().Format("2006-01-02")) {
		t.Errorf("bot records verify (record.json's time moved): exit %d, output %q; want a pass with a note on the time", code, out)
	}
}
