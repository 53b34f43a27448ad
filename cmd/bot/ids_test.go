package main

import (
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/filing/records"
)

// Every records command takes the full id, the short id that ls prints
// and folder names end in, or at least 8 characters from the start or
// end of the id; an ambiguous or unknown id is answered clearly.
func TestRecordsOneIDRule(t *testing.T) {
	t.Parallel()
	env := localEnv(t)
	st, err := local.New(env["RECORDS_DIR"])
	if err != nil {
		t.Fatal(err)
	}
	// Two ids with 32 characters in common at the start.
	a := fileWithID(t, st, "01a24bec-1111-7000-8000-00000000aaa1", "100-20", "Committee minutes", time.Date(2010, 1, 1, 9, 0, 0, 0, time.UTC))
	b := fileWithID(t, st, "01a24bec-1111-7000-8000-00000000bbb2", "100-01", "Old letter", time.Date(2015, 3, 1, 9, 0, 0, 0, time.UTC))
	bare := strings.ReplaceAll(a.ID, "-", "")
	auth := []string{"--authority", "Disposal authority 2027/03", "--approved-by", "Head of IG", "--by", "officer", "--dry-run"}
	checks := []struct {
		args     []string
		wantCode int
		want     []string // in stdout, or stderr when the exit code is not 0
		notWant  []string
	}{
		{[]string{"records", "ls"}, 0, []string{"SHORT ID", filing.ShortID(a.ID), filing.ShortID(b.ID)}, nil},
		{[]string{"records", "show", filing.ShortID(a.ID)}, 0, []string{"Record:            " + a.ID}, nil},
		{[]string{"records", "show", bare[len(bare)-12:]}, 0, []string{"Record:            " + a.ID}, nil},
		{[]string{"records", "show", strings.ToUpper(a.ID[:20])}, 1, []string{"names 2 records", a.ID, b.ID, "give more of the id"}, nil},
		{[]string{"records", "show", a.ID[:6]}, 1, []string{"too short", "at least 8 characters"}, nil},
		{[]string{"records", "show", "deadbeef"}, 1, []string{"no such record", "the short id shown by `bot records ls`"}, nil},
		{[]string{"records", "verify", filing.ShortID(a.ID)}, 0, []string{a.ID, "1 intact"}, nil},
		{append([]string{"records", "dispose", "destroy", filing.ShortID(b.ID)}, auth...), 0, []string{"WOULD DESTROY", b.ID, "Dry run: nothing was changed. What would go (", "data/thread.json"}, []string{"REFUSED"}},
		{append([]string{"records", "dispose", "review", filing.ShortID(a.ID), "--keep-until", "2999-01-01"}, auth...), 0, []string{a.ID, "Dry run: nothing was changed, and no object would be deleted."}, []string{"REFUSED", "What would go"}},
		{append([]string{"records", "dispose", "destroy", a.ID[:8]}, auth...), 1, []string{"names 2 records"}, nil},
	}
	for _, c := range checks {
		stdout, stderr, code := runBot(t, env, c.args...)
		if code != c.wantCode {
			t.Errorf("bot %q: exit %d, want %d; stdout %q, stderr %q", c.args, code, c.wantCode, stdout, stderr)
		}
		got := stdout
		if code != 0 {
			got += stderr
		}
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("bot %q output = %q, want it to contain %q", c.args, got, w)
			}
		}
		for _, w := range c.notWant {
			if strings.Contains(got, w) {
				t.Errorf("bot %q output = %q, want it without %q", c.args, got, w)
			}
		}
	}
	if _, err := records.Entry(t.Context(), st, b.ID); err != nil {
		t.Errorf("after dry runs, record %s: %v", b.ID, err)
	}
}

// fileWithID files a small thread as record id in class at a past date
// straight through the filing service.
func fileWithID(t *testing.T, st filing.Store, id, class, title string, at time.Time) *filing.Summary {
	t.Helper()
	svc, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan(), Signer: testSigner(t)})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2009, 3, 4, 9, 0, 0, 0, time.UTC)
	th := &capture.Thread{Platform: capture.Slack, Workspace: capture.Workspace{ID: "T1"}, Channel: capture.Channel{ID: "C1", Name: "general"},
		ThreadID: id, CapturedAt: t0, Messages: []capture.Message{{ID: "1", Author: capture.Person{ID: "U1", DisplayName: "alice"}, Time: t0, Text: "Agreed.", ReadableText: "Agreed."}}}
	sum, err := svc.FileThread(t.Context(), filing.Request{ID: id, RequestedBy: capture.Person{ID: "U-carol", DisplayName: "carol"},
		Thread: capture.Ref{Platform: capture.Slack, WorkspaceID: "T1", ChannelID: "C1", ThreadID: id}, Title: title, ClassCode: class,
		Marking: "OFFICIAL", Via: "test", RequestedAt: at}, th)
	if err != nil {
		t.Fatalf("file %q: %v", title, err)
	}
	if sum.ID != id {
		t.Fatalf("filed as %s, want %s", sum.ID, id)
	}
	return sum
}

// dispose answers an id that names no record as every command does, not
// with a refusal row of "no such record".
func TestDisposeUnknownID(t *testing.T) {
	t.Parallel()
	env := localEnv(t)
	st, err := local.New(env["RECORDS_DIR"])
	if err != nil {
		t.Fatal(err)
	}
	fileWithID(t, st, "01a24bec-1111-7000-8000-00000000aaa1", "100-20", "Committee minutes", time.Date(2010, 1, 1, 9, 0, 0, 0, time.UTC))
	stdout, stderr, code := runBot(t, env, "records", "dispose", "destroy", "deadbeef", "--authority", "A", "--approved-by", "B", "--dry-run")
	if code != 1 || !strings.Contains(stderr, `record "deadbeef": no such record`) || !strings.Contains(stderr, records.IDRule) || strings.Contains(stdout, "REFUSED") {
		t.Errorf("bot records dispose destroy deadbeef: exit %d, stdout %q, stderr %q; want exit 1 and the id rule", code, stdout, stderr)
	}
}
