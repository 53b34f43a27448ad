package teams_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/teams"
	"github.com/recordbot/recordbot/capture/teams/teamstest"
)

// messageRoutes are the double's routes that give message content.
var messageRoutes = []string{"messages", "message", "replies", "hostedContent", "share"}

func TestNonMemberGetsNothing(t *testing.T) {
	f := newFixture(t, nil)
	root, _, replies := seedThread(f)
	seedChat(f)
	f.srv.AddChannel(team, private, "Board", "private", alice)
	secret := f.srv.PostChannel(team, private, teamstest.Message{From: alice, Created: f.t0, HTML: "secret"})
	cases := []struct {
		name string
		ref  capture.Ref
		who  string
	}{
		{"team", teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: channel, Scope: teams.Thread, From: root, Acted: replies[3]}.Ref(), outside},
		{"private channel", teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: private, Scope: teams.Thread, From: secret.ID, Acted: secret.ID}.Ref(), bob},
		{"chat", teams.Target{Tenant: f.srv.Tenant, Channel: chatID, Scope: teams.Message, From: "1", Acted: "1"}.Ref(), outside},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(f.srv.Calls())
			_, err := f.src.Capture(context.Background(), c.ref, person(c.who))
			if !errors.Is(err, capture.ErrAccess) {
				t.Fatalf("Capture: %v, want ErrAccess", err)
			}
			if _, err := f.src.Resolve(context.Background(), c.ref, person(c.who)); !errors.Is(err, capture.ErrAccess) {
				t.Fatalf("Resolve: %v, want ErrAccess", err)
			}
			if p, _ := capture.ProblemOf(err); p == nil || strings.Contains(p.Advice, "Board") {
				t.Errorf("advice names the private channel: %+v", p)
			}
			calls := f.srv.Calls()[before:]
			sawMembers := false
			for _, call := range calls {
				if call.Route == "members" {
					sawMembers = true
				}
				if slices.Contains(messageRoutes, call.Route) {
					t.Errorf("%s was read for a non-member: %s", call.Route, call.Path)
				}
			}
			if !sawMembers {
				t.Errorf("no member check among %v", calls)
			}
		})
	}
	// A member of the private channel may file it; a team member not in
	// it (bob) may not, above.
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: private, Scope: teams.Thread, From: secret.ID, Acted: secret.ID}.Ref()
	th, err := f.src.Capture(context.Background(), ref, person(alice))
	if err != nil || th.Messages[0].ReadableText != "secret" || th.Channel.Kind != "private" {
		t.Fatalf("alice in the private channel: %v", err)
	}
}

func TestMemberCheckComesFirst(t *testing.T) {
	f := newFixture(t, nil)
	root, _, replies := seedThread(f)
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: channel, Scope: teams.Thread, From: root, Acted: replies[0]}.Ref()
	if _, err := f.src.Capture(context.Background(), ref, person(alice)); err != nil {
		t.Fatal(err)
	}
	routes := f.srv.Routes()
	members := slices.Index(routes, "members")
	firstMsg := slices.IndexFunc(routes, func(r string) bool { return slices.Contains(messageRoutes, r) })
	if members < 0 || firstMsg < members {
		t.Errorf("routes %v: members must come before any message", routes)
	}
}

func TestSharedChannelMembersAreTheChannels(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.AddTeam(team, "Planning", true, alice)
	// Carol is in the shared channel but not in its team; Dave is in a
	// team the channel is shared with.
	f.srv.AddTeam("other-team", "Partners Inc", true, dave)
	ch := f.srv.AddChannel(team, private, "Partners", "shared", alice, carol)
	ch.SharedWith = []string{"other-team"}
	r := f.srv.PostChannel(team, private, teamstest.Message{From: carol, Created: f.t0, HTML: "hello"})
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: private, Scope: teams.Thread, From: r.ID, Acted: r.ID}.Ref()
	th, err := f.src.Capture(context.Background(), ref, person(carol))
	if err != nil {
		t.Fatal(err)
	}
	if !th.Channel.Private || th.Messages[0].ReadableText != "hello" {
		t.Errorf("thread %+v", th.Channel)
	}
	if _, err := f.src.Capture(context.Background(), ref, person(bob)); !errors.Is(err, capture.ErrAccess) {
		t.Errorf("bob: %v", err)
	}
	if _, err := f.src.Capture(context.Background(), ref, person(dave)); err != nil {
		t.Errorf("dave, of a team the channel is shared with: %v", err)
	}
}

func TestNoConsentIsNotAccess(t *testing.T) {
	f := newFixture(t, nil)
	root, _, replies := seedThread(f)
	f.srv.SetConsent(team, false)
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: channel, Scope: teams.Thread, From: root, Acted: replies[0]}.Ref()
	_, err := f.src.Capture(context.Background(), ref, person(alice))
	if !errors.Is(err, teams.ErrNotInstalled) || errors.Is(err, capture.ErrAccess) {
		t.Fatalf("err = %v, want ErrNotInstalled and not ErrAccess", err)
	}
	p, ok := capture.ProblemOf(err)
	if !ok || p.Kind != capture.BotNotInChannel || !strings.Contains(p.Advice, "add the app to the team") {
		t.Errorf("problem %+v", p)
	}
	if strings.Contains(p.Advice, "Missing role") {
		t.Errorf("Graph's text reached the advice: %q", p.Advice)
	}
}

func TestOtherTenantRefused(t *testing.T) {
	f := newFixture(t, nil)
	seedThread(f)
	ref := teams.Target{Tenant: "another-tenant", Team: team, Channel: channel, Scope: teams.Thread, From: "1", Acted: "1"}.Ref()
	if _, err := f.src.Capture(context.Background(), ref, person(alice)); !errors.Is(err, teams.ErrOtherTenant) {
		t.Fatalf("err = %v", err)
	}
	if len(f.srv.Calls()) != 0 {
		t.Errorf("Graph asked for another tenant's conversation")
	}
}

func TestSharedFileNeedsDelegatedConsent(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.AddTeam(team, "Planning", true, alice, bob)
	f.srv.AddChannel(team, channel, "General", "standard")
	content := bytes.Repeat([]byte("minutes "), 5000)
	link := "https://contoso.sharepoint.com/sites/Planning/Shared%20Documents/General/minutes.docx"
	r := f.srv.PostChannel(team, channel, teamstest.Message{From: alice, Created: f.t0, HTML: "<p>minutes attached</p>",
		Files: []*teamstest.SharedFile{{Name: "minutes.docx", URL: link, Content: content}}})
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: channel, Scope: teams.Thread, From: r.ID, Acted: r.ID}.Ref()

	// Without bob's consent: kept as missing, with its link and why.
	th, err := f.src.Capture(context.Background(), ref, person(bob))
	if err != nil {
		t.Fatal(err)
	}
	files := th.Messages[0].Files
	if len(files) != 1 {
		t.Fatalf("%d files, want 1", len(files))
	}
	fl := files[0]
	if fl.Open != nil || fl.Source != link || fl.Name != "minutes.docx" || !strings.Contains(fl.Error, "not let recordbot read their files") {
		t.Errorf("file without consent: %+v", fl)
	}
	if !strings.Contains(th.Messages[0].ReadableText, "[file: minutes.docx]") {
		t.Errorf("text %q", th.Messages[0].ReadableText)
	}
	// The app's own token is refused by the shares route (401).
	for _, c := range f.srv.Calls() {
		if c.Route == "share" {
			t.Errorf("a share was asked without consent")
		}
	}

	// With it: fetched through /shares as bob.
	f.srv.GrantFiles(bob)
	th, err = f.src.Capture(context.Background(), ref, person(bob))
	if err != nil {
		t.Fatal(err)
	}
	fl = th.Messages[0].Files[0]
	if got := readAll(t, fl); !bytes.Equal(got, content) {
		t.Errorf("fetched %d bytes, want %d", len(got), len(content))
	}
	var share *teamstest.Call
	for _, c := range f.srv.Calls() {
		if c.Route == "share" {
			share = &c
		}
	}
	if share == nil || !strings.HasPrefix(share.Path, "/v1.0/shares/u!") {
		t.Fatalf("no share call: %+v", share)
	}
	if info, ok := f.srv.TokenInfo(share.Token); !ok || info.User != bob {
		t.Errorf("share read with %+v, want bob's delegated token", info)
	}

	// A file bob may not read: the opener fails as access refused, which
	// filing records as missing.
	f.srv.PostChannel(team, channel, teamstest.Message{ReplyTo: r.ID, From: alice, Created: f.t0.Add(time.Minute), HTML: "private",
		Files: []*teamstest.SharedFile{{Name: "hr.xlsx", URL: "https://contoso-my.sharepoint.com/personal/alice/hr.xlsx", Content: []byte("x"), Readers: []string{alice}}}})
	th, err = f.src.Capture(context.Background(), ref, person(bob))
	if err != nil {
		t.Fatal(err)
	}
	hr := th.Messages[1].Files[0]
	if hr.Open == nil {
		t.Fatal("no opener")
	}
	if _, err := hr.Open(context.Background()); !errors.Is(err, capture.ErrAccess) {
		t.Errorf("refused file: %v, want ErrAccess", err)
	}
}

func TestWithoutDelegatedSetUp(t *testing.T) {
	f := newFixture(t, func(c *teams.Config) { c.Delegated = nil })
	f.srv.AddTeam(team, "Planning", true, alice)
	f.srv.AddChannel(team, channel, "General", "standard")
	r := f.srv.PostChannel(team, channel, teamstest.Message{From: alice, Created: f.t0, HTML: "x",
		Files: []*teamstest.SharedFile{{Name: "a.pdf", URL: "https://contoso.sharepoint.com/a.pdf", Content: []byte("x")}}})
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: channel, Scope: teams.Thread, From: r.ID, Acted: r.ID}.Ref()
	th, err := f.src.Capture(context.Background(), ref, person(alice))
	if err != nil {
		t.Fatal(err)
	}
	if fl := th.Messages[0].Files[0]; fl.Error == "" || fl.Source == "" || fl.Open != nil {
		t.Errorf("file %+v", fl)
	}
}

func TestResolve(t *testing.T) {
	f := newFixture(t, nil)
	root, _, replies := seedThread(f)
	ref := teams.Target{Tenant: f.srv.Tenant, Team: team, Channel: channel, Scope: teams.Thread, From: root, Acted: replies[7]}.Ref()
	p, err := f.src.Resolve(context.Background(), ref, person(bob))
	if err != nil {
		t.Fatal(err)
	}
	tg, err := teams.TargetOf(p.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if tg.From != root || tg.Acted != replies[7] || p.Text != "Budget 2026: @Bob Baker please review" {
		t.Errorf("preview %+v %+v", tg, p)
	}
	for _, c := range f.srv.Calls() {
		if c.Route == "replies" {
			t.Errorf("Resolve listed the replies")
		}
	}
}
