package teams_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	teamscap "github.com/recordbot/recordbot/capture/teams"
	"github.com/recordbot/recordbot/capture/teams/teamstest"
	"github.com/recordbot/recordbot/internal/bagcheck"
)

// graphEnv is the front end over capture/teams' Source reading the Graph
// double (teamstest): the conversations as Microsoft Graph serves them.
func graphEnv(t *testing.T) (*env, *teamstest.Server) {
	t.Helper()
	gs := teamstest.New(teamstest.Options{Tenant: tenant, ClientID: appID, ClientSecret: password})
	t.Cleanup(gs.Close)
	for _, p := range []person{alice, bob, mallory} {
		gs.AddUser(p.AAD, p.Name)
	}
	src, err := teamscap.New(teamscap.Config{Tenant: tenant, AppID: appID, AppSecret: password, LoginURL: gs.URL, GraphURL: gs.URL,
		HTTPClient: gs.Client(), Limits: teamscap.Limits{ChannelMessages: -1, ChatMessages: -1, PerTeam: -1}})
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, envOpts{src: src}), gs
}

// TestGraphChannelThreadFiled: a channel thread of 120 replies with 3
// inline images, 2 reactions, an edit and a deleted reply, filed from a
// reply's "…" menu, gives a bag the independent checker accepts, with
// every message in order and the images byte for byte.
func TestGraphChannelThreadFiled(t *testing.T) {
	e, gs := graphEnv(t)
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	gs.AddTeam(group, "Ferries", true, alice.AAD, bob.AAD)
	gs.AddChannel(group, general.channel, "General", "standard")
	root := gs.PostChannel(group, general.channel, teamstest.Message{From: alice.AAD, Created: t0, HTML: "<p>Ferry <b>tender</b> decision</p>",
		Reactions: []teamstest.Reaction{{Type: "like", User: bob.AAD, At: t0.Add(time.Minute)}, {Type: "heart", User: alice.AAD, At: t0.Add(2 * time.Minute)}}})
	ids := []string{root.ID}
	var images [][]byte
	for i := 1; i <= 120; i++ {
		m := teamstest.Message{ReplyTo: root.ID, From: []person{alice, bob}[i%2].AAD, Created: t0.Add(time.Duration(i) * time.Minute), HTML: fmt.Sprintf("<p>reply %d</p>", i)}
		if i == 7 || i == 70 || i == 117 {
			img := bytes.Repeat([]byte{byte(i), 0x89, 'P', 'N', 'G'}, 500+i)
			m.Images = [][]byte{img}
			images = append(images, img)
		}
		if i == 10 {
			m.Edited = m.Created.Add(time.Hour)
		}
		if i == 20 {
			m.Deleted = m.Created.Add(time.Hour)
		}
		ids = append(ids, gs.PostChannel(group, general.channel, m).ID)
	}
	w := general
	w.root = root.ID
	f := e.task(e.post(e.activity("g:1", "composeExtension/fetchTask", bob, w, fetchValue(ids[57], root.ID, "<p>reply 57</p>")))).form(t)
	if got := f.inputs["title"]["value"]; got != "Ferry tender decision" {
		t.Errorf("suggested title = %q", got)
	}
	e.task(e.post(e.activity("g:2", "composeExtension/submitAction", bob, w, submitValue(f, map[string]string{"title": "Ferry tender", "class": "100-01"})))).message(t)
	said := e.filed(bob)
	if last := said[len(said)-1]; !strings.HasPrefix(last, "Filed as record **Ferry tender**") || !strings.Contains(last, "121 messages, 3 files") {
		t.Fatalf("bob is told %q", said)
	}
	recs := e.records()
	bag, err := bagcheck.Check(context.Background(), e.store, recs[0])
	if err != nil {
		t.Fatalf("the record's bag is not valid: %v", err)
	}
	th := e.readThread()
	if len(th.Messages) != 121 {
		t.Fatalf("record has %d messages, want 121", len(th.Messages))
	}
	for i, m := range th.Messages {
		if m.ID != ids[i] {
			t.Fatalf("record message %d = %s, want %s", i, m.ID, ids[i])
		}
	}
	if len(th.Messages[0].Reactions) != 2 || th.Messages[10].Edited == nil {
		t.Errorf("reactions %v, edit %v", th.Messages[0].Reactions, th.Messages[10].Edited)
	}
	var sums []string
	for _, f := range th.Files() {
		sums = append(sums, bag.Payload[f.Path])
	}
	for i, img := range images {
		sum := sha256.Sum256(img)
		if !slices.Contains(sums, hex.EncodeToString(sum[:])) {
			t.Errorf("image %d is not in the record byte for byte", i)
		}
	}
}

// TestGraphNonMemberReadsNothing: for a person who is not a member, the
// front end reads nothing of the conversation's messages from Graph.
func TestGraphNonMemberReadsNothing(t *testing.T) {
	e, gs := graphEnv(t)
	gs.AddTeam(group, "Ferries", true, alice.AAD, bob.AAD)
	gs.AddChannel(group, general.channel, "General", "standard")
	root := gs.PostChannel(group, general.channel, teamstest.Message{From: alice.AAD, HTML: "<p>Ferry tender decision</p>"})
	status, body := e.post(e.activity("n:1", "composeExtension/fetchTask", mallory, general, fetchValue(root.ID, "", "")))
	msg := e.task(status, body).message(t)
	if strings.Contains(string(body), "Ferry") || strings.Contains(string(body), "General") || !strings.Contains(strings.ToLower(msg), "only members") {
		t.Errorf("mallory is answered %s", body)
	}
	for _, r := range gs.Routes() {
		if r == "message" || r == "messages" || r == "replies" {
			t.Errorf("Graph was asked for %s before the person was known to be a member", r)
		}
	}
}

// TestGraphGroupChatDay: a group chat's day, read from Graph newest first,
// is filed in order.
func TestGraphGroupChatDay(t *testing.T) {
	e, gs := graphEnv(t)
	gs.AddChat(chatW.channel, "Budget", "group", true, alice.AAD, bob.AAD)
	var day []string
	for i, at := range []time.Time{
		time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 4, 9, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 4, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC),
	} {
		m := gs.PostChat(chatW.channel, teamstest.Message{From: []person{alice, bob}[i%2].AAD, Created: at, HTML: fmt.Sprintf("<p>message %d</p>", i)})
		if at.Day() == 4 {
			day = append(day, m.ID)
		}
	}
	f := e.task(e.post(e.activity("d:1", "composeExtension/fetchTask", alice, chatW, fetchValue(day[1], "", "")))).form(t)
	e.task(e.post(e.activity("d:2", "composeExtension/submitAction", alice, chatW, submitValue(f, map[string]string{"title": "Budget day", "class": "100-01", "scope": "day"})))).message(t)
	if said := e.filed(alice); !strings.HasPrefix(said[len(said)-1], "Filed as record") {
		t.Fatalf("alice is told %q", said)
	}
	var got []string
	for _, m := range e.readThread().Messages {
		got = append(got, m.ID)
	}
	if !slices.Equal(got, day) {
		t.Errorf("the day's record holds %v, want %v", got, day)
	}
}

var _ = capture.Teams
