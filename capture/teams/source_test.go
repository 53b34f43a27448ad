package teams_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/teams"
	"github.com/recordbot/recordbot/capture/teams/teamstest"
)

const (
	team    = "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b"
	channel = "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"
	private = "19:00aa11bb22cc33dd44ee55ff66778899@thread.tacv2"
	chatID  = "19:2da4c29f6d7041eca70b638b43d45437@thread.v2"
	alice   = "8ea0e38b-efb3-4757-924a-5f94061cf8c2"
	bob     = "1fb8890f-423e-4154-8fbf-db6809bc8756"
	carol   = "5f7c0a3e-1d2b-4c3d-9e8f-a0b1c2d3e4f5"
	dave    = "d4d4d4d4-0000-4000-8000-00000000dave"
	outside = "99999999-0000-4000-8000-000000000000"
)

type fixture struct {
	srv   *teamstest.Server
	src   *teams.Source
	clock *clockwork.FakeClock
	t0    time.Time
}

func newFixture(t testing.TB, tweak func(*teams.Config)) *fixture {
	t.Helper()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(t0.Add(48 * time.Hour))
	srv := teamstest.New(teamstest.Options{Clock: clock})
	t.Cleanup(srv.Close)
	srv.AddUser(alice, "Alice Archer")
	srv.AddUser(bob, "Bob Baker")
	srv.AddUser(carol, "Carol Clark")
	cfg := teams.Config{Tenant: srv.Tenant, AppID: srv.ClientID, AppSecret: srv.ClientSecret,
		LoginURL: srv.URL, GraphURL: srv.URL, HTTPClient: srv.Client(), Clock: clock,
		Delegated: teams.DelegatedFunc(srv.FileToken(teams.ErrNoConsent)), Limits: teams.Limits{ChannelMessages: -1, ChatMessages: -1, PerTeam: -1}}
	if tweak != nil {
		tweak(&cfg)
	}
	src, err := teams.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, src: src, clock: clock, t0: t0}
}

func person(id string) capture.Person { return capture.Person{ID: id} }

func readAll(t *testing.T, f capture.File) []byte {
	t.Helper()
	if f.Open == nil {
		t.Fatalf("file %s has no opener (error %q)", f.Name, f.Error)
	}
	rc, err := f.Open(context.Background())
	if err != nil {
		t.Fatalf("open %s: %v", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seedThread posts a root and 120 replies: 3 carry inline images, the root
// has 2 reactions, reply 10 is edited and reply 20 deleted.
func seedThread(f *fixture) (root string, images map[string][]byte, replies []string) {
	s := f.srv
	s.AddTeam(team, "Planning", true, alice, bob)
	s.AddChannel(team, channel, "General", "standard")
	r := s.PostChannel(team, channel, teamstest.Message{From: alice, Created: f.t0,
		HTML:     `<p>Budget <b>2026</b>: <at id="0">Bob</at> please review</p>`,
		Mentions: []teamstest.Mention{{User: bob, Text: "Bob"}},
		Reactions: []teamstest.Reaction{{Type: "like", User: bob, At: f.t0.Add(time.Minute)},
			{Type: "heart", User: alice, At: f.t0.Add(2 * time.Minute)}}})
	images = map[string][]byte{}
	for i := 1; i <= 120; i++ {
		m := teamstest.Message{ReplyTo: r.ID, From: []string{alice, bob}[i%2], Created: f.t0.Add(time.Duration(i) * time.Minute),
			HTML: fmt.Sprintf("<div>reply %d</div>", i)}
		if i == 5 || i == 60 || i == 119 {
			img := bytes.Repeat([]byte{byte(i), 0x89, 'P', 'N', 'G', 0}, 1000+i)
			m.Images = [][]byte{img}
		}
		if i == 10 {
			m.Edited = m.Created.Add(time.Hour)
		}
		if i == 20 {
			m.Deleted = m.Created.Add(time.Hour)
		}
		p := s.PostChannel(team, channel, m)
		replies = append(replies, p.ID)
		if len(m.Images) > 0 {
			images[p.ID] = m.Images[0]
		}
	}
	return r.ID, images, replies
}

func TestChannelThreadFromReply(t *testing.T) {
	f := newFixture(t, nil)
	root, images, replies := seedThread(f)
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: channel, Scope: teams.Thread, From: root, Acted: replies[69]}.Ref()
	th, err := f.src.Capture(context.Background(), ref, person(bob))
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Messages) != 121 {
		t.Fatalf("%d messages, want 121", len(th.Messages))
	}
	if th.ThreadID != root || th.Messages[0].ID != root || th.Platform != capture.Teams || th.Channel.Name != "General" {
		t.Errorf("thread %s root %s channel %+v", th.ThreadID, th.Messages[0].ID, th.Channel)
	}
	for i, m := range th.Messages[1:] {
		if m.ID != replies[i] || m.Position != i+1 {
			t.Fatalf("message %d is %s at %d, want %s", i+1, m.ID, m.Position, replies[i])
		}
		if i > 0 && !th.Messages[i].Time.Before(m.Time) {
			t.Fatalf("message %d not after the one before", i+1)
		}
	}
	r0 := th.Messages[0]
	if r0.Author.ID != alice || r0.Author.DisplayName != "Alice Archer" {
		t.Errorf("root author %+v", r0.Author)
	}
	if r0.ReadableText != "Budget 2026: @Bob Baker please review" {
		t.Errorf("root text %q", r0.ReadableText)
	}
	if !strings.Contains(r0.Text, "<b>2026</b>") {
		t.Errorf("root HTML not kept: %q", r0.Text)
	}
	if len(r0.Reactions) != 2 || r0.Reactions[0].Emoji != "like" || r0.Reactions[0].Users[0].DisplayName != "Bob Baker" ||
		r0.Reactions[1].Emoji != "heart" || r0.Reactions[1].Count != 1 {
		t.Errorf("reactions %+v", r0.Reactions)
	}
	if e := th.Messages[10].Edited; e == nil || !e.At.Equal(f.t0.Add(10*time.Minute+time.Hour)) {
		t.Errorf("reply 10 edit %+v", e)
	}
	if d := th.Messages[20]; d.Subtype != "deleted" || !strings.Contains(d.ReadableText, "deleted") {
		t.Errorf("reply 20 %+v", d)
	}
	got := 0
	for _, m := range th.Messages {
		for _, fl := range m.Files {
			want, ok := images[m.ID]
			if !ok {
				t.Fatalf("unexpected file on %s", m.ID)
			}
			if b := readAll(t, fl); !bytes.Equal(b, want) {
				t.Errorf("image of %s: %d bytes differ from the %d posted", m.ID, len(b), len(want))
			}
			if !strings.Contains(m.ReadableText, "[image 1]") {
				t.Errorf("text of %s does not show the image: %q", m.ID, m.ReadableText)
			}
			got++
		}
	}
	if got != 3 {
		t.Errorf("%d images, want 3", got)
	}
	if err := th.Validate(); err != nil {
		t.Error(err)
	}
	// Replies came 50 a page.
	pages := 0
	for _, c := range f.srv.Calls() {
		if c.Route == "replies" {
			pages++
			if c.Query.Get("$top") != "50" {
				t.Errorf("replies asked with $top=%q", c.Query.Get("$top"))
			}
		}
	}
	if pages != 3 {
		t.Errorf("%d pages of replies, want 3", pages)
	}
}
