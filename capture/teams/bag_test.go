package teams_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/teams"
	"github.com/recordbot/recordbot/capture/teams/teamstest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/internal/bagcheck"
)

// TestThreadFiledAsValidBag files the 121-message thread, captured from a
// reply, into a local store: the independent bag checker accepts it, the
// snapshot keeps every message in order, the three images are in the
// payload byte for byte, and a shared file the filer has not consented to
// is kept as missing with its link.
func TestThreadFiledAsValidBag(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	root, images, replies := seedThread(f)
	link := "https://contoso.sharepoint.com/sites/Planning/Shared%20Documents/plan.xlsx"
	last := f.srv.PostChannel(team, channel, teamstest.Message{ReplyTo: root, From: alice, Created: f.t0.Add(200 * 60e9), HTML: "<p>the plan</p>",
		Files: []*teamstest.SharedFile{{Name: "plan.xlsx", URL: link, Content: []byte("xlsx")}}})
	replies = append(replies, last.ID)
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: channel, Scope: teams.Thread, From: root, Acted: replies[40]}.Ref()
	th, err := f.src.Capture(ctx, ref, person(bob))
	if err != nil {
		t.Fatal(err)
	}
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan(), Organisation: "Example Council"})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := svc.FileThread(ctx, filing.Request{RequestedBy: capture.Person{ID: bob, DisplayName: "Bob Baker"}, Thread: ref,
		Title: "Budget 2026", ClassCode: "100-20", Marking: "OFFICIAL", Via: "test"}, th)
	if err != nil {
		t.Fatal(err)
	}
	bag, err := bagcheck.Check(ctx, st, sum.Key)
	if err != nil {
		t.Fatalf("bag check: %v", err)
	}
	sums := map[string]bool{}
	for _, s := range bag.Payload {
		sums[s] = true
	}
	for id, img := range images {
		h := sha256.Sum256(img)
		if !sums[hex.EncodeToString(h[:])] {
			t.Errorf("the image of %s is not in the payload byte for byte", id)
		}
	}
	if sum.Messages != 122 || sum.Files != 3 {
		t.Errorf("summary: %d messages, %d files", sum.Messages, sum.Files)
	}
	rc, _, err := st.Open(ctx, sum.Key+"data/thread.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	var snap capture.Thread
	if err := json.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	if snap.ThreadID != root || len(snap.Messages) != 122 {
		t.Fatalf("snapshot: thread %s, %d messages", snap.ThreadID, len(snap.Messages))
	}
	for i, m := range snap.Messages[1:] {
		if m.ID != replies[i] {
			t.Fatalf("snapshot message %d is %s, want %s", i+1, m.ID, replies[i])
		}
	}
	shared := snap.Messages[121].Files
	if len(shared) != 1 || shared[0].Source != link || !strings.Contains(shared[0].Error, "not let recordbot read their files") {
		t.Errorf("shared file in the snapshot: %+v", shared)
	}
}
