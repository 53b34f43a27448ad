package mattermost_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/mattermost"
	"github.com/recordbot/recordbot/capture/mattermost/mattermosttest"
)

// world is a small Mattermost team with a thread worth filing.
type world struct {
	mm                *mattermosttest.Server
	team              *model.Team
	ch, private       *model.Channel
	alice, bob, carol *model.User
	bot               *model.User
	botToken          string
	root              *model.Post
	replies           []*model.Post
	files             []*model.FileInfo
}

func newWorld(t testing.TB) *world {
	w := &world{mm: mattermosttest.New(t)}
	mm := w.mm
	w.team = mm.AddTeam("ops", "Operations")
	w.alice, _ = mm.AddUser("alice")
	w.bob, _ = mm.AddUser("bob")
	w.carol, _ = mm.AddUser("carol")
	w.bot, w.botToken = mm.AddUser("recordbot")
	mm.Lock()
	w.bot.IsBot = true
	mm.Unlock()
	w.ch = mm.AddChannel(w.team, "procurement", model.ChannelTypeOpen, w.alice, w.bob, w.bot)
	w.private = mm.AddChannel(w.team, "secret", model.ChannelTypePrivate, w.alice, w.carol)
	w.root = mm.AddPost(w.ch, w.alice, nil, "Decision: award the contract to @bob's pick")
	r1 := mm.AddPost(w.ch, w.bob, w.root, "Agreed, minutes attached")
	w.files = append(w.files, mm.AddFileBytes(r1, "minutes.pdf", "application/pdf", []byte("%PDF-1.7 minutes")))
	r2 := mm.AddPost(w.ch, w.alice, w.root, "typo")
	mm.Edit(r2, "Fixed the typo")
	r3 := mm.AddPost(w.ch, w.bob, w.root, "")
	r3.AddProp(model.PostPropsAttachments, []*model.MessageAttachment{{
		Pretext: "CI says", Title: "Build 42", Text: "all green",
		Fields: []*model.MessageAttachmentField{{Title: "Duration", Value: "3m"}},
	}})
	w.replies = []*model.Post{r1, r2, r3}
	mm.React(w.root, w.bob, "+1")
	mm.React(w.root, w.alice, "+1")
	mm.React(r1, w.alice, "white_check_mark")
	return w
}

func (w *world) source(t testing.TB, o mattermost.Options) *mattermost.Source {
	t.Helper()
	o.URL, o.Token = w.mm.URL, w.botToken
	o.Now = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	s, err := mattermost.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (w *world) ref(postID string) capture.Ref {
	return capture.Ref{Platform: capture.Mattermost, WorkspaceID: w.team.Id, ChannelID: w.ch.Id, ThreadID: postID, Server: w.mm.URL}
}

func TestCaptureThread(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  mattermosttest.Config
		from func(w *world) string
		page int
	}{
		{"from root", mattermosttest.Config{}, func(w *world) string { return w.root.Id }, 0},
		{"from a reply", mattermosttest.Config{}, func(w *world) string { return w.replies[1].Id }, 0},
		{"page of one", mattermosttest.Config{}, func(w *world) string { return w.root.Id }, 1},
		{"no metadata", mattermosttest.Config{OmitMetadata: true}, func(w *world) string { return w.root.Id }, 2},
		{"server without paging", mattermosttest.Config{NoThreadPaging: true}, func(w *world) string { return w.root.Id }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.mm.Lock()
			w.mm.Config = tc.cfg
			w.mm.Unlock()
			src := w.source(t, mattermost.Options{PageSize: tc.page})
			th, err := src.Capture(context.Background(), w.ref(tc.from(w)), personOf(w.alice))
			if err != nil {
				t.Fatalf("Capture: %v", err)
			}
			checkThread(t, w, th)
		})
	}
}

func checkThread(t *testing.T, w *world, th *capture.Thread) {
	t.Helper()
	if err := th.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ what, got, want string }{
		{"Platform", string(th.Platform), "mattermost"},
		{"ThreadID", th.ThreadID, w.root.Id},
		{"Workspace.Name", th.Workspace.Name, "Operations"},
		{"Workspace.Domain", th.Workspace.Domain, w.mm.URL},
		{"Channel.Name", th.Channel.Name, "Procurement"},
		{"Channel.Kind", th.Channel.Kind, "channel"},
		{"Permalink", th.Permalink, w.mm.URL + "/ops/pl/" + w.root.Id},
	} {
		if c.got != c.want {
			t.Errorf("Thread.%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	wantIDs := []string{w.root.Id, w.replies[0].Id, w.replies[1].Id, w.replies[2].Id}
	if len(th.Messages) != len(wantIDs) {
		t.Fatalf("got %d messages, want %d", len(th.Messages), len(wantIDs))
	}
	for i, m := range th.Messages {
		if m.ID != wantIDs[i] || m.Position != i {
			t.Errorf("Messages[%d] = %q at %d, want %q at %d", i, m.ID, m.Position, wantIDs[i], i)
		}
		if m.Permalink != w.mm.URL+"/ops/pl/"+m.ID {
			t.Errorf("Messages[%d].Permalink = %q", i, m.Permalink)
		}
	}
	root := th.Messages[0]
	if root.Author.ID != w.alice.Id || root.Author.DisplayName != "alice" || root.Author.RealName != "Alice Tester" {
		t.Errorf("root author = %+v, want alice / Alice Tester", root.Author)
	}
	if root.Text != "Decision: award the contract to @bob's pick" {
		t.Errorf("root text = %q", root.Text)
	}
	if len(root.Reactions) != 1 || root.Reactions[0].Emoji != "+1" || root.Reactions[0].Count != 2 ||
		root.Reactions[0].Users[0].DisplayName != "bob" || root.Reactions[0].Users[1].DisplayName != "alice" {
		t.Errorf("root reactions = %+v, want +1 by bob, alice", root.Reactions)
	}
	if root.Edited != nil {
		t.Errorf("root Edited = %+v, want nil", root.Edited)
	}
	edited := th.Messages[2]
	if edited.Edited == nil || edited.Edited.At.IsZero() || edited.Text != "Fixed the typo" {
		t.Errorf("edited message = %q, Edited %+v; want the new text with an edit time", edited.Text, edited.Edited)
	}
	att := th.Messages[3].ReadableText
	for _, want := range []string{"CI says", "Build 42", "all green", "Duration: 3m"} {
		if !strings.Contains(att, want) {
			t.Errorf("attachment message ReadableText = %q, want it to contain %q", att, want)
		}
	}
	files := th.Files()
	if len(files) != 1 {
		t.Fatalf("got %d files, want 1", len(files))
	}
	f := files[0]
	if f.Name != "minutes.pdf" || f.MIMEType != "application/pdf" || f.Size != 16 || f.Open == nil {
		t.Fatalf("file = %+v", f)
	}
	rc, err := f.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "%PDF-1.7 minutes" {
		t.Errorf("file content = %q, want %q", b, "%PDF-1.7 minutes")
	}
	if r := th.Messages[1].Reactions; len(r) != 1 || r[0].Emoji != "white_check_mark" {
		t.Errorf("reply reactions = %+v", r)
	}
}

// Each refusal is a capture.Problem of its kind, whose advice a person
// can act on and carries none of the chain the logs keep (the ref, the
// server, the API call).
func TestCaptureRefusals(t *testing.T) {
	t.Parallel()
	alice := func(w *world) *model.User { return w.alice }
	for _, tc := range []struct {
		name      string
		ref       func(w *world) capture.Ref
		requester func(w *world) *model.User
		token     string
		kind      capture.Kind
		advice    string
	}{
		{"requester not in channel", func(w *world) capture.Ref { return w.ref(w.root.Id) }, func(w *world) *model.User { return w.carol }, "",
			capture.NoAccess, "only members of the channel can file its threads"},
		{"bot not in channel", func(w *world) capture.Ref {
			p := w.mm.AddPost(w.private, w.alice, nil, "secret")
			r := w.ref(p.Id)
			r.ChannelID = w.private.Id
			return r
		}, alice, "", capture.BotNotInChannel, "recordbot is not in that channel: add it to the channel, then file the thread again"},
		{"no such post", func(w *world) capture.Ref { return w.ref(mattermosttest.NewID()) }, alice, "",
			capture.NotFound, "the thread no longer exists, or recordbot cannot see it"},
		{"not a post id", func(w *world) capture.Ref { return w.ref("../../users") }, alice, "",
			capture.NotFound, "the thread no longer exists, or recordbot cannot see it"},
		{"post in another channel", func(w *world) capture.Ref {
			r := w.ref(w.root.Id)
			r.ChannelID = w.private.Id
			return r
		}, alice, "", capture.NotFound, "the thread no longer exists, or recordbot cannot see it"},
		{"token refused", func(w *world) capture.Ref { return w.ref(w.root.Id) }, alice, "revoked-token",
			capture.AppNeedsAdmin, "the Mattermost server no longer accepts recordbot's access token: a system admin must run `bot mattermost install` again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			if tc.token != "" {
				w.botToken = tc.token
			}
			ref := tc.ref(w)
			_, err := w.source(t, mattermost.Options{}).Capture(context.Background(), ref, personOf(tc.requester(w)))
			p, ok := capture.ProblemOf(err)
			if !ok || p.Kind != tc.kind || p.Advice != tc.advice {
				t.Fatalf("Capture = %v, want a %s problem advising %q", err, tc.kind, tc.advice)
			}
			if !errors.Is(err, map[capture.Kind]error{capture.NoAccess: capture.ErrAccess, capture.BotNotInChannel: capture.ErrBotNotInChannel,
				capture.NotFound: capture.ErrNotFound, capture.AppNeedsAdmin: capture.ErrAppNeedsAdmin}[tc.kind]) {
				t.Errorf("Capture = %v, which does not match its kind's error", err)
			}
			if !strings.Contains(err.Error(), "mattermost capture of") {
				t.Errorf("Capture = %q, want the chain kept for the logs", err)
			}
		})
	}
}

func TestCaptureOtherServer(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.ref(w.root.Id)
	r.Server = "https://chat.elsewhere.example"
	_, err := w.source(t, mattermost.Options{}).Capture(context.Background(), r, personOf(w.alice))
	if err == nil || !strings.Contains(err.Error(), "chat.elsewhere.example") {
		t.Errorf("Capture on another server = %v, want an error naming it", err)
	}
}

func TestCaptureDeletedFile(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.mm.DeleteFile(w.files[0])
	th, err := w.source(t, mattermost.Options{}).Capture(context.Background(), w.ref(w.root.Id), personOf(w.alice))
	if err != nil {
		t.Fatal(err)
	}
	fs := th.Files()
	if len(fs) != 1 || fs[0].Error == "" || fs[0].Open != nil || fs[0].ID != w.files[0].Id {
		t.Errorf("deleted file captured as %+v, want it kept with an error and no content", fs)
	}
}

func TestCaptureHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.mm.RateLimit(3, 2)
	var mu sync.Mutex
	var waits []time.Duration
	src := w.source(t, mattermost.Options{PageSize: 1, Sleep: func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return nil
	}})
	th, err := src.Capture(context.Background(), w.ref(w.root.Id), personOf(w.alice))
	if err != nil {
		t.Fatalf("Capture with rate limiting: %v", err)
	}
	checkThread(t, w, th)
	_, throttled := w.mm.Calls()
	if throttled == 0 || int64(len(waits)) != throttled {
		t.Fatalf("throttled %d times, waited %d times; want one wait per 429", throttled, len(waits))
	}
	for _, d := range waits {
		if d != 2*time.Second {
			t.Errorf("waited %v after a 429 with Retry-After: 2, want 2s", d)
		}
	}
}

func TestCaptureManyRepliesSameMillisecond(t *testing.T) {
	t.Parallel()
	// Replies sharing a create_at must neither be lost nor repeated at a
	// page boundary: the cursor is (create_at, id).
	w := newWorld(t)
	at := w.root.CreateAt + 500
	want := map[string]bool{}
	for i := range 25 {
		p := w.mm.AddPostAt(w.ch, w.bob, w.root, fmt.Sprint("same ms ", i), at)
		want[p.Id] = true
	}
	th, err := w.source(t, mattermost.Options{PageSize: 4}).Capture(context.Background(), w.ref(w.root.Id), personOf(w.alice))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(th.Messages); got != 1+3+25 {
		t.Fatalf("got %d messages, want %d", got, 1+3+25)
	}
	seen := map[string]bool{}
	for _, m := range th.Messages {
		if seen[m.ID] {
			t.Errorf("message %s captured twice", m.ID)
		}
		seen[m.ID] = true
		delete(want, m.ID)
	}
	if len(want) > 0 {
		t.Errorf("%d replies missing", len(want))
	}
}

func TestParsePermalink(t *testing.T) {
	t.Parallel()
	id := "abcdefghijklmnopqrstuvwxyz"
	for _, tc := range []struct {
		server, link, team, post string
		ok                       bool
	}{
		{"https://chat.example.org", "https://chat.example.org/ops/pl/" + id, "ops", id, true},
		{"https://chat.example.org", "<https://chat.example.org/ops/pl/" + id + ">", "ops", id, true},
		{"https://chat.example.org/mm", "https://chat.example.org/mm/ops/pl/" + id, "ops", id, true},
		{"https://chat.example.org", "/ops/pl/" + id, "ops", id, true},
		{"https://chat.example.org", "https://evil.example/ops/pl/" + id, "", "", false},
		{"https://chat.example.org", "https://chat.example.org/ops/channels/town-square", "", "", false},
		{"https://chat.example.org", "https://chat.example.org/ops/pl/short", "", "", false},
		{"https://chat.example.org", "minutes please", "", "", false},
	} {
		team, post, err := mattermost.ParsePermalink(tc.server, tc.link)
		if (err == nil) != tc.ok || team != tc.team || post != tc.post {
			t.Errorf("ParsePermalink(%q, %q) = %q, %q, %v; want %q, %q, ok %v", tc.server, tc.link, team, post, err, tc.team, tc.post, tc.ok)
		}
	}
}

func mattermostRef(mm *mattermosttest.Server, team *model.Team, ch *model.Channel, root *model.Post) capture.Ref {
	return capture.Ref{Platform: capture.Mattermost, WorkspaceID: team.Id, ChannelID: ch.Id, ThreadID: root.Id, Server: mm.URL}
}

func TestCaptureTenThousandReplies(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for i := range 10_000 {
		w.mm.AddPost(w.ch, []*model.User{w.alice, w.bob}[i%2], w.root, fmt.Sprint("reply ", i))
	}
	th, err := w.source(t, mattermost.Options{}).Capture(context.Background(), w.ref(w.root.Id), personOf(w.alice))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(th.Messages), 1+3+10_000; got != want {
		t.Fatalf("captured %d messages, want %d", got, want)
	}
	for i := 1; i < len(th.Messages); i++ {
		if th.Messages[i].Time.Before(th.Messages[i-1].Time) {
			t.Fatalf("message %d is older than message %d", i, i-1)
		}
	}
	if n := w.mm.RouteCalls()["GET /api/v4/posts/{id}/thread"]; n != 51 {
		t.Errorf("thread read in %d pages, want 51 (200 posts a page, the server's maximum)", n)
	}
}

// TestCaptureLongRateLimit: a Retry-After longer than one attempt waits
// ends the capture with a *capture.RateLimitError carrying the wait, so
// the worker reschedules the filing rather than failing it.
func TestCaptureLongRateLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		every, ra  int
		maxRetries int
		want       time.Duration
	}{
		{"Retry-After beyond MaxWait", 1, 600, 8, 600 * time.Second},
		{"429 after 429 beyond MaxRetries", 1, 2, 3, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.mm.RateLimit(tc.every, tc.ra)
			waits := 0
			src := w.source(t, mattermost.Options{MaxRetries: tc.maxRetries, MaxWait: time.Minute, Sleep: func(ctx context.Context, d time.Duration) error {
				waits++
				return nil
			}})
			_, err := src.Capture(context.Background(), w.ref(w.root.Id), personOf(w.alice))
			var rl *capture.RateLimitError
			if !errors.As(err, &rl) || !errors.Is(err, capture.ErrRateLimited) {
				t.Fatalf("Capture = %v, want a *capture.RateLimitError", err)
			}
			if rl.RetryAfter != tc.want || rl.Platform != capture.Mattermost {
				t.Errorf("Got(RateLimitError) = %+v, want %s on mattermost", rl, tc.want)
			}
			if tc.ra > 60 && waits != 0 {
				t.Errorf("waited %d times for a %ds Retry-After, want 0 (the worker waits, not the capture)", waits, tc.ra)
			}
		})
	}
}

// TestCapturePageLimitNamed: a server whose page limit is below 200 makes
// the capture fail with an error that names the limit.
func TestCapturePageLimitNamed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.mm.Lock()
	w.mm.Config.MaxPerPage = 100
	w.mm.Unlock()
	_, err := w.source(t, mattermost.Options{}).Capture(context.Background(), w.ref(w.root.Id), personOf(w.alice))
	if err == nil || !strings.Contains(err.Error(), "200 posts per page") || !strings.Contains(err.Error(), "at most 200") {
		t.Errorf("Capture on a server allowing 100 a page = %v, want an error naming the limit of 200", err)
	}
}

// personOf is the requester a front end passes for Mattermost user u.
func personOf(u *model.User) capture.Person {
	return capture.Person{ID: u.Id, DisplayName: u.Username}
}
