package teams_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/teams"
	"github.com/recordbot/recordbot/capture/teams/teamstest"
)

// seedChat posts 4 days of a group chat, 60 messages a day every 20
// minutes from 04:00 UTC, with a system message on day 2.
func seedChat(f *fixture) (ids [][]string) {
	s := f.srv
	s.AddChat(chatID, "Budget group", "group", true, alice, bob, carol)
	start := time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC)
	for d := range 4 {
		var day []string
		for i := range 60 {
			m := teamstest.Message{From: []string{alice, bob, carol}[i%3], Created: start.AddDate(0, 0, d).Add(time.Duration(i) * 20 * time.Minute),
				HTML: "<p>day " + string(rune('A'+d)) + " message</p>"}
			if d == 1 && i == 7 {
				m.System = "#microsoft.graph.membersAddedEventMessageDetail"
				m.From = alice
			}
			day = append(day, s.PostChat(chatID, m).ID)
		}
		ids = append(ids, day)
	}
	return ids
}

func TestGroupChatDay(t *testing.T) {
	f := newFixture(t, nil)
	ids := seedChat(f)
	// In Auckland (UTC+13 in March) day 2's messages from 04:00 UTC run
	// to 23:40 UTC, which is the next local day after 11:00 UTC: a local
	// day takes the UTC messages from 11:00 one day to 10:59 the next.
	zone, err := time.LoadLocation("Pacific/Auckland")
	if err != nil {
		t.Fatal(err)
	}
	acted := ids[1][40] // 2026-03-02 17:20 UTC = 2026-03-03 06:20 NZDT
	ref := teams.Target{Tenant: f.srv.Tenant, Channel: chatID, Scope: teams.Day, From: acted, Zone: zone, Acted: acted}.Ref()
	th, err := f.src.Capture(context.Background(), ref, person(carol))
	if err != nil {
		t.Fatal(err)
	}
	localDay := time.Date(2026, 3, 3, 0, 0, 0, 0, zone)
	var want []string
	for _, day := range ids {
		for _, id := range day {
			ms := idTime(id)
			if !ms.Before(localDay) && ms.Before(localDay.AddDate(0, 0, 1)) {
				want = append(want, id)
			}
		}
	}
	if len(th.Messages) != len(want) || len(want) == 0 {
		t.Fatalf("%d messages, want %d", len(th.Messages), len(want))
	}
	for i, m := range th.Messages {
		if m.ID != want[i] {
			t.Fatalf("message %d is %s, want %s", i, m.ID, want[i])
		}
	}
	if th.Channel.Kind != "group" || th.Channel.Name != "Budget group" || !th.Channel.Private {
		t.Errorf("channel %+v", th.Channel)
	}
	// Newest first, filtered to before the day's end, 50 a page: the
	// listing stops at the page that reaches back past the day's start.
	var pages int
	for _, c := range f.srv.Calls() {
		if c.Route == "messages" {
			pages++
			if c.Query.Get("$orderby") != "createdDateTime desc" || !strings.HasPrefix(c.Query.Get("$filter"), "createdDateTime lt ") {
				t.Errorf("listing asked %v", c.Query)
			}
		}
	}
	// The first message before the day is number len(want) of the
	// listing: its page is the last one read.
	if need := len(want)/50 + 1; pages != need {
		t.Errorf("%d pages read for %d messages, want %d", pages, len(want), need)
	}
}

func idTime(id string) time.Time {
	var ms int64
	for _, c := range id {
		ms = ms*10 + int64(c-'0')
	}
	return time.UnixMilli(ms).UTC()
}

func TestChatSystemMessageKept(t *testing.T) {
	f := newFixture(t, nil)
	ids := seedChat(f)
	ref := teams.Target{Tenant: f.srv.Tenant, Channel: chatID, Scope: teams.Since, From: ids[1][5], Acted: ids[1][9]}.Ref()
	th, err := f.src.Capture(context.Background(), ref, person(alice))
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Messages) != 5 {
		t.Fatalf("%d messages, want 5", len(th.Messages))
	}
	sys := th.Messages[2]
	if sys.ID != ids[1][7] || sys.Subtype != "system" || sys.ReadableText != "[system] members were added by Alice Archer" || sys.Author.ID != "" {
		t.Errorf("system message %+v", sys)
	}
}

func TestChatSince(t *testing.T) {
	f := newFixture(t, nil)
	ids := seedChat(f)
	// From day 1's 50th message to day 3's 10th: 11 + 60 + 10 messages.
	ref := teams.Target{Tenant: f.srv.Tenant, Channel: chatID, Scope: teams.Since, From: ids[0][49], Acted: ids[2][9]}.Ref()
	th, err := f.src.Capture(context.Background(), ref, person(bob))
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]string(nil), ids[0][49:]...), ids[1]...), ids[2][:10]...)
	if len(th.Messages) != len(want) {
		t.Fatalf("%d messages, want %d", len(th.Messages), len(want))
	}
	for i, m := range th.Messages {
		if m.ID != want[i] {
			t.Fatalf("message %d is %s, want %s", i, m.ID, want[i])
		}
	}
	// The listing starts at the acted-on message (the filter) and stops
	// at the page that holds the first message before the range.
	pages := 0
	for _, c := range f.srv.Calls() {
		if c.Route == "messages" {
			pages++
			if c.Query.Get("$top") != "50" {
				t.Errorf("$top %q", c.Query.Get("$top"))
			}
		}
	}
	if need := len(want)/50 + 1; pages != need {
		t.Errorf("%d pages read for %d messages, want %d", pages, len(want), need)
	}
}

func TestChatOneMessage(t *testing.T) {
	f := newFixture(t, nil)
	ids := seedChat(f)
	ref := teams.Target{Tenant: f.srv.Tenant, Channel: chatID, Scope: teams.Message, From: ids[3][3], Acted: ids[3][3]}.Ref()
	th, err := f.src.Capture(context.Background(), ref, person(bob))
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Messages) != 1 || th.Messages[0].ID != ids[3][3] || th.ThreadID != "message:"+ids[3][3] {
		t.Fatalf("got %d messages, thread %s", len(th.Messages), th.ThreadID)
	}
	for _, c := range f.srv.Calls() {
		if c.Route == "messages" {
			t.Errorf("one message listed the chat")
		}
	}
}

func TestOneOnOneRefused(t *testing.T) {
	f := newFixture(t, nil)
	oneOnOne := "19:" + alice + "_" + bob + "@unq.gbl.spaces"
	f.srv.AddChat(oneOnOne, "", "oneOnOne", true, alice, bob)
	// A one-to-one chat whose id does not show it: Graph's chatType does.
	odd := "19:abcdef@thread.v2"
	f.srv.AddChat(odd, "", "oneOnOne", true, alice, bob)
	f.srv.SetConsent(odd, true)
	for _, id := range []string{oneOnOne} {
		ref := teams.Target{Tenant: f.srv.Tenant, Channel: id, Scope: teams.Message, From: "1", Acted: "1"}.Ref()
		_, err := f.src.Capture(context.Background(), ref, person(alice))
		if !errors.Is(err, teams.ErrOneOnOne) {
			t.Fatalf("%s: err = %v, want ErrOneOnOne", id, err)
		}
		p, ok := capture.ProblemOf(err)
		if !ok || !strings.Contains(p.Advice, "one-to-one") {
			t.Errorf("problem %+v", p)
		}
		if _, err := f.src.Resolve(context.Background(), ref, person(alice)); !errors.Is(err, teams.ErrOneOnOne) {
			t.Errorf("Resolve: %v", err)
		}
	}
	if n := len(f.srv.Calls()); n != 0 {
		t.Errorf("%d requests for a chat refused by its id", n)
	}
	// The double refuses any app for a oneOnOne chat with 403, as Graph
	// does (resource-specific consent cannot cover it): the source says
	// the app is not added, not that the person may not see it.
	ref := teams.Target{Tenant: f.srv.Tenant, Channel: odd, Scope: teams.Message, From: "1", Acted: "1"}.Ref()
	_, err := f.src.Capture(context.Background(), ref, person(alice))
	if !errors.Is(err, teams.ErrNotInstalled) || errors.Is(err, capture.ErrAccess) {
		t.Errorf("oneOnOne behind a group id: %v", err)
	}
}

func TestAppAuthorTextBodyAndReactions(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.AddChat(chatID, "", "meeting", true, alice, bob)
	f.srv.AddUser("28:bot-app", "Polly")
	m := f.srv.PostChat(chatID, teamstest.Message{App: "28:bot-app", Created: f.t0, Text: "Poll closed: 3 votes",
		Reactions: []teamstest.Reaction{{Type: "👍", User: alice}, {Type: "👍", User: bob}, {Type: "like", User: bob}}})
	ref := teams.Target{Tenant: f.srv.Tenant, Channel: chatID, Scope: teams.Message, From: m.ID, Acted: m.ID}.Ref()
	th, err := f.src.Capture(context.Background(), ref, person(alice))
	if err != nil {
		t.Fatal(err)
	}
	got := th.Messages[0]
	if !got.Author.Bot || got.Author.DisplayName != "Polly" || got.ReadableText != "Poll closed: 3 votes" || got.Text != "Poll closed: 3 votes" {
		t.Errorf("message %+v", got)
	}
	if th.Channel.Kind != "meeting" {
		t.Errorf("kind %q", th.Channel.Kind)
	}
	r := got.Reactions
	if len(r) != 2 || r[0].Emoji != "👍" || r[0].Count != 2 || r[0].Users[1].DisplayName != "Bob Baker" || r[1].Emoji != "like" || r[1].Count != 1 {
		t.Errorf("reactions %+v", r)
	}
	ps := th.Participants()
	if len(ps) != 3 {
		t.Errorf("participants %+v", ps)
	}
}

func TestCardsKept(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.AddChat(chatID, "", "group", true, alice, bob)
	card := `{"type":"AdaptiveCard","version":"1.4","body":[{"type":"TextBlock","text":"Approve budget?"},{"type":"TextBlock","text":"Deadline Friday"}]}`
	quote := `{"messageId":"1700000000000","messagePreview":"earlier words","messageSender":{"user":{"id":"` + bob + `"}}}`
	m := f.srv.PostChat(chatID, teamstest.Message{From: alice, Created: f.t0, HTML: "<p>see</p>",
		Cards: []teamstest.Card{{ID: "c1", ContentType: "application/vnd.microsoft.card.adaptive", Content: card},
			{ID: "1700000000000", ContentType: "messageReference", Content: quote}}})
	ref := teams.Target{Tenant: f.srv.Tenant, Channel: chatID, Scope: teams.Message, From: m.ID, Acted: m.ID}.Ref()
	th, err := f.src.Capture(context.Background(), ref, person(bob))
	if err != nil {
		t.Fatal(err)
	}
	got := th.Messages[0]
	if strings.Contains(got.ReadableText, "[file:") {
		t.Errorf("a card shown as a file: %q", got.ReadableText)
	}
	for _, want := range []string{"see\n[", "Approve budget? | Deadline Friday", "[quotes message 1700000000000] earlier words"} {
		if !strings.Contains(got.ReadableText, want) {
			t.Errorf("text %q lacks %q", got.ReadableText, want)
		}
	}
	if len(got.Files) != 2 || string(readAll(t, got.Files[0])) != card || string(readAll(t, got.Files[1])) != quote {
		t.Errorf("cards not kept as they came: %+v", got.Files)
	}
}
