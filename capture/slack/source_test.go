package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/recordbot/recordbot/capture"
	slackcap "github.com/recordbot/recordbot/capture/slack"
	"github.com/recordbot/recordbot/capture/slack/slacktest"
)

const root = "1700000000.000100"

// fixture starts a fake Slack holding testdata/thread.json in #decisions
// (C1), with #general (C2) mentioned in it.
func fixture(t *testing.T) *slacktest.Server {
	t.Helper()
	srv := slacktest.New(t)
	srv.AddUser(slacktest.User{ID: "U1", Name: "ada", RealName: "Ada Lovelace", DisplayName: "Ada"})
	srv.AddUser(slacktest.User{ID: "U2", Name: "bob", RealName: "Bob Bobson"})
	srv.AddUser(slacktest.User{ID: "U3", Name: "cy", RealName: "Cy Young", DisplayName: "cy"})
	srv.AddChannel(slacktest.Channel{ID: "C1", Name: "decisions", Kind: "private", Members: []string{"U1", "U2", "U3", "UBOT"}, BotIn: true})
	srv.AddChannel(slacktest.Channel{ID: "C2", Name: "general", Kind: "channel", Members: []string{"U1"}, BotIn: true})
	srv.AddChannel(slacktest.Channel{ID: "C3", Name: "random", Kind: "channel", Members: []string{"U1"}, BotIn: false})
	srv.AddChannel(slacktest.Channel{ID: "G4", Name: "hr", Kind: "private", Members: []string{"U1"}, BotIn: false})
	raw, err := os.ReadFile("testdata/thread.json")
	if err != nil {
		t.Fatal(err)
	}
	raw = []byte(strings.ReplaceAll(string(raw), "FILEURL", srv.URL))
	var msgs []map[string]any
	if err := json.Unmarshal(raw, &msgs); err != nil {
		t.Fatal(err)
	}
	srv.AddMessages("C1", msgs...)
	srv.AddMessages("C3", slacktest.Msg("1700000000.000900", "", "U1", "hello", nil))
	srv.AddFile("T1-F1/download/minutes.pdf", "application/pdf", []byte("%PDF-1.4 hello"))
	// Slack's answer for a file when the token lacks files:read.
	srv.AddFile("T1-F3/signed.pdf", "text/html; charset=utf-8", []byte("<!DOCTYPE html><html>Sign in</html>"))
	return srv
}

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func newSource(t testing.TB, srv *slacktest.Server, sl *sleeps, pageSize int) *slackcap.Source {
	t.Helper()
	o := slackcap.Options{
		Token: func(ctx context.Context, team string) (string, error) {
			if team != "T1" {
				return "", errors.New("not installed")
			}
			return "xoxb-test", nil
		},
		APIURL:      srv.APIURL(),
		FileOrigins: []string{srv.URL}, // the double serves files over plain HTTP
		Limits:      slackcap.Limits{Tier2: rate.Inf, Tier3: rate.Inf, Tier4: rate.Inf, Burst: 1},
		PageSize:    pageSize,
		Now:         func() time.Time { return time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC) },
	}
	if sl != nil {
		o.Sleep = sl.sleep
	}
	s, err := slackcap.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ref(channel, ts string) capture.Ref {
	return capture.Ref{Platform: capture.Slack, WorkspaceID: "T1", ChannelID: channel, ThreadID: ts}
}

func TestCaptureThread(t *testing.T) {
	t.Parallel()
	srv := fixture(t)
	srv.MaxPage = 2 // Slack may return fewer than asked: three pages.
	srv.RateLimit("conversations.replies", 7)
	sl := &sleeps{}
	src := newSource(t, srv, sl, 200)
	ctx := context.Background()

	th, err := src.Capture(ctx, ref("C1", "1700000300.000400"), capture.Person{ID: "U2"})
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	if got := srv.CallCount()["conversations.replies"]; got != 4 {
		t.Errorf("conversations.replies calls = %d, want 4 (one 429, three pages)", got)
	}
	if len(sl.d) != 1 || sl.d[0] != 7*time.Second {
		t.Errorf("waits = %v, want [7s] as Retry-After said", sl.d)
	}
	if src.RateLimited() != 1 {
		t.Errorf("RateLimited() = %d, want 1", src.RateLimited())
	}
	if th.ThreadID != root || th.Platform != capture.Slack {
		t.Errorf("thread = %s/%s, want slack/%s", th.Platform, th.ThreadID, root)
	}
	wantWS := capture.Workspace{ID: "T1", Name: "Acme", Domain: "acme.slack.com"}
	if th.Workspace != wantWS {
		t.Errorf("Workspace = %+v, want %+v", th.Workspace, wantWS)
	}
	wantCh := capture.Channel{ID: "C1", Name: "decisions", Private: true, Kind: "private"}
	if th.Channel != wantCh {
		t.Errorf("Channel = %+v, want %+v", th.Channel, wantCh)
	}
	if want := "https://acme.slack.com/archives/C1/p1700000000000100"; th.Permalink != want {
		t.Errorf("Permalink = %q, want %q", th.Permalink, want)
	}
	if len(th.Messages) != 6 {
		t.Fatalf("got %d messages, want 6", len(th.Messages))
	}
	tests := []struct {
		i                int
		author, readable string
		bot              bool
		files, reactions int
		permalink        string
	}{
		{0, "Ada", "Decision needed on the budget (https://example.org/budget?a=1&b=2) & the venue, @here. cc @Bob Bobson, see #general", false, 0, 1,
			"https://acme.slack.com/archives/C1/p1700000000000100"},
		{1, "Bob Bobson", "Agreed. Minutes attached, mail clerk@example.org", false, 2, 0,
			"https://acme.slack.com/archives/C1/p1700000100000200?thread_ts=1700000000.000100&cid=C1"},
		{2, "Deploy Bot", "[attachment] Build 42\nAll checks passed\nBranch: main", true, 0, 0, ""},
		{3, "cy", "Vote: *yes* from @cy", false, 0, 0, ""},
		{4, "U4", "Scan of the signed page", false, 1, 0, ""},
		{5, "Ada", "Thanks @bob, filing this.", false, 0, 0, ""},
	}
	for _, tt := range tests {
		m := th.Messages[tt.i]
		if m.Position != tt.i {
			t.Errorf("message %d: Position = %d", tt.i, m.Position)
		}
		if got := m.Author.Name(); got != tt.author {
			t.Errorf("message %d: Author.Name() = %q, want %q", tt.i, got, tt.author)
		}
		if m.Author.Bot != tt.bot {
			t.Errorf("message %d: Author.Bot = %v, want %v", tt.i, m.Author.Bot, tt.bot)
		}
		if m.ReadableText != tt.readable {
			t.Errorf("message %d: ReadableText = %q, want %q", tt.i, m.ReadableText, tt.readable)
		}
		if len(m.Files) != tt.files || len(m.Reactions) != tt.reactions {
			t.Errorf("message %d: %d files, %d reactions, want %d, %d", tt.i, len(m.Files), len(m.Reactions), tt.files, tt.reactions)
		}
		if tt.permalink != "" && m.Permalink != tt.permalink {
			t.Errorf("message %d: Permalink = %q, want %q", tt.i, m.Permalink, tt.permalink)
		}
	}
	m0 := th.Messages[0]
	if m0.Text == m0.ReadableText {
		t.Errorf("Text was rendered; want Slack's markup kept: %q", m0.Text)
	}
	if want := time.Date(2023, 11, 14, 22, 13, 20, 100000, time.UTC); !m0.Time.Equal(want) {
		t.Errorf("Time = %v, want %v", m0.Time, want)
	}
	if m0.Edited == nil || m0.Edited.By != "U1" || !m0.Edited.At.Equal(time.Unix(1700000060, 0)) {
		t.Errorf("Edited = %+v, want by U1 at 1700000060", m0.Edited)
	}
	r := m0.Reactions[0]
	if r.Emoji != "thumbsup" || r.Count != 2 || len(r.Users) != 2 || r.Users[0].RealName != "Bob Bobson" || r.Users[1].DisplayName != "cy" {
		t.Errorf("Reaction = %+v, want thumbsup by Bob Bobson and cy", r)
	}
	if m := th.Messages[2]; m.Subtype != "bot_message" || m.Author.ID != "B9" {
		t.Errorf("bot message: subtype %q author %q, want bot_message B9", m.Subtype, m.Author.ID)
	}

	// Files: one streams, one was deleted, one answers Slack's sign-in page.
	f1 := th.Messages[1].Files[0]
	if f1.Name != "minutes.pdf" || f1.MIMEType != "application/pdf" || f1.Size != 14 || f1.Open == nil {
		t.Fatalf("file 1 = %+v", f1)
	}
	rc, err := f1.Open(ctx)
	if err != nil {
		t.Fatalf("open minutes.pdf: %v", err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if string(body) != "%PDF-1.4 hello" {
		t.Errorf("minutes.pdf content = %q, want %q", body, "%PDF-1.4 hello")
	}
	if got := srv.Calls("files"); len(got) != 1 || got[0].Token != "xoxb-test" {
		t.Errorf("file download calls = %+v, want one with the workspace token", got)
	}
	f2 := th.Messages[1].Files[1]
	if f2.Open != nil || !strings.Contains(f2.Error, "deleted") {
		t.Errorf("tombstone file = %+v, want an Error and no Open", f2)
	}
	f3 := th.Messages[4].Files[0]
	if _, err := f3.Open(ctx); err == nil || !strings.Contains(err.Error(), "sign-in page") {
		t.Errorf("open of a sign-in page = %v, want an error naming the sign-in page", err)
	}
	if err := th.Validate(); err != nil {
		t.Error(err)
	}
}

func TestCaptureRefusals(t *testing.T) {
	t.Parallel()
	srv := fixture(t)
	src := newSource(t, srv, nil, 200)
	tests := []struct {
		name      string
		ref       capture.Ref
		requester string
		want      capture.Kind
		advice    string
	}{
		{"not a member of a private channel", ref("C1", root), "U9", capture.NoAccess, "only members of the channel can file its threads"},
		{"not a member of a public channel", ref("C2", root), "U9", capture.NoAccess, "only members of #general can file its threads"},
		{"bot not in public channel", ref("C3", "1700000000.000900"), "U1", capture.BotNotInChannel, "recordbot is not in that channel: invite it with /invite @recordbot, then file the thread again"},
		{"bot not in private channel", ref("G4", "1700000000.000900"), "U1", capture.BotNotInChannel, "recordbot is not in that channel: invite it with /invite @recordbot, then file the thread again"},
		{"thread gone", ref("C1", "1600000000.000100"), "U1", capture.NotFound, "the thread no longer exists (was it deleted?)"},
		{"workspace not installed", capture.Ref{Platform: capture.Slack, WorkspaceID: "T9", ChannelID: "C1", ThreadID: root}, "U1", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := src.Capture(context.Background(), tt.ref, capture.Person{ID: tt.requester})
			if err == nil {
				t.Fatalf("Capture(%s) = nil error, want %v", tt.ref, tt.want)
			}
			p, ok := capture.ProblemOf(err)
			if tt.want == "" {
				if ok || !strings.Contains(err.Error(), "not installed") {
					t.Errorf("Capture(%s) = %v, want a plain \"not installed\" error", tt.ref, err)
				}
				return
			}
			if !ok || p.Kind != tt.want || p.Advice != tt.advice {
				t.Fatalf("Capture(%s) = %v, want a %s problem advising %q", tt.ref, err, tt.want, tt.advice)
			}
			// A non-member is never told a private channel's name, not
			// even in the logs' chain.
			if tt.requester == "U9" && strings.Contains(err.Error(), "decisions") {
				t.Errorf("Capture(%s) = %q names the private channel to a non-member", tt.ref, err)
			}
		})
	}
}

func TestNamesCachedPerWorkspace(t *testing.T) {
	t.Parallel()
	srv := fixture(t)
	src := newSource(t, srv, nil, 200)
	for i := 0; i < 3; i++ {
		if _, err := src.Capture(context.Background(), ref("C1", root), capture.Person{ID: "U1"}); err != nil {
			t.Fatal(err)
		}
	}
	// U1, U2, U3 and the unknown U4: each asked once over three captures.
	if got := srv.CallCount()["users.info"]; got != 4 {
		t.Errorf("users.info calls = %d, want 4", got)
	}
	if got := srv.CallCount()["auth.test"]; got != 1 {
		t.Errorf("auth.test calls = %d, want 1", got)
	}
}

// Issue 9: six 429s in a row failed the attempt, although rate limits never
// fail a filing. 429s that keep coming end the call with a
// capture.RateLimitError, which the worker reschedules.
func TestRateLimitKeepsComing(t *testing.T) {
	t.Parallel()
	srv := fixture(t)
	srv.RateLimit("conversations.info", 1, 1, 1, 1, 1, 1, 1)
	sl := &sleeps{}
	src := newSource(t, srv, sl, 200)
	_, err := src.Capture(context.Background(), ref("C1", root), capture.Person{ID: "U1"})
	rl, ok := errors.AsType[*capture.RateLimitError](err)
	if !ok || !errors.Is(err, capture.ErrRateLimited) || rl.Platform != capture.Slack || rl.RetryAfter != time.Second {
		t.Fatalf("Capture under endless 429 = %v, want a capture.RateLimitError of 1s from Slack", err)
	}
	if len(sl.d) != 5 {
		t.Errorf("waited %d times, want 5 (MaxRetries)", len(sl.d))
	}
}

// Issue 9: a long Retry-After was waited out within the attempt, leaving
// the person hearing nothing for minutes. One longer than MaxWait ends the
// call at once with the wait Slack asked for.
func TestLongRetryAfterResumesLater(t *testing.T) {
	t.Parallel()
	srv := fixture(t)
	srv.RateLimit("conversations.replies", 600)
	sl := &sleeps{}
	src := newSource(t, srv, sl, 200)
	_, err := src.Capture(context.Background(), ref("C1", root), capture.Person{ID: "U1"})
	rl, ok := errors.AsType[*capture.RateLimitError](err)
	if !ok || rl.RetryAfter != 10*time.Minute {
		t.Fatalf("Capture after Retry-After: 600 = %v, want a capture.RateLimitError of 10m", err)
	}
	if len(sl.d) != 0 {
		t.Errorf("waited %v within the attempt, want no wait", sl.d)
	}
	// A file download answered 429 with a long Retry-After likewise.
	srv2 := fixture(t)
	src2 := newSource(t, srv2, sl, 200)
	th, err := src2.Capture(context.Background(), ref("C1", root), capture.Person{ID: "U1"})
	if err != nil {
		t.Fatal(err)
	}
	srv2.RateLimit("files", 900)
	_, err = th.Messages[1].Files[0].Open(context.Background())
	if rl, ok := errors.AsType[*capture.RateLimitError](err); !ok || rl.RetryAfter != 15*time.Minute {
		t.Errorf("file download after Retry-After: 900 = %v, want a capture.RateLimitError of 15m", err)
	}
}

// Issue 9: the bot token was sent to whatever host a Slack file URL named.
// It goes only to Slack's file host (here the double's, given explicitly);
// a file elsewhere is recorded as not downloaded, with the reason.
func TestTokenSentOnlyToSlackFileHost(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var foreignRequests, foreignTokens int
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		foreignRequests++
		if r.Header.Get("Authorization") != "" {
			foreignTokens++
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/pdf")
		io.WriteString(w, "%PDF-1.4 not from Slack")
	}))
	defer foreign.Close()
	srv := fixture(t)
	srv.AddMessages("C1", slacktest.Msg("1700000500.000600", root, "U1", "Here is the file", map[string]any{"files": []any{
		map[string]any{"id": "F7", "name": "elsewhere.pdf", "mimetype": "application/pdf", "size": 23, "mode": "hosted",
			"url_private": foreign.URL + "/files-pri/T1-F7/elsewhere.pdf", "url_private_download": foreign.URL + "/files-pri/T1-F7/download/elsewhere.pdf"},
	}}))
	ctx := context.Background()
	th, err := newSource(t, srv, nil, 200).Capture(ctx, ref("C1", root), capture.Person{ID: "U1"})
	if err != nil {
		t.Fatal(err)
	}
	var f *capture.File
	for _, x := range th.Files() {
		if x.ID == "F7" {
			f = x
		}
	}
	if f == nil {
		t.Fatal("file F7 not in the snapshot")
	}
	// Read every file as filing does.
	opened := 0
	for _, x := range th.Files() {
		if x.Open == nil {
			continue
		}
		rc, err := x.Open(ctx)
		if err != nil {
			continue
		}
		io.Copy(io.Discard, rc)
		rc.Close()
		opened++
	}
	if f.Open != nil || !strings.Contains(f.Error, "not downloaded") || !strings.Contains(f.Error, "127.0.0.1") {
		t.Errorf("file on another host: Open set %v, Error %q; want no Open and an Error saying it was not downloaded and where it pointed", f.Open != nil, f.Error)
	}
	// The file on the double's own host still streams, with the token.
	if opened != 1 {
		t.Errorf("%d files read, want 1 (minutes.pdf, on Slack's file host)", opened)
	}
	// Without the test's explicit origin, even the double's host is not
	// Slack's: only https://files.slack.com gets the token.
	def, err := slackcap.New(slackcap.Options{Token: func(context.Context, string) (string, error) { return "xoxb-test", nil },
		APIURL: srv.APIURL(), Limits: slackcap.Limits{Tier2: rate.Inf, Tier3: rate.Inf, Tier4: rate.Inf, Burst: 1}})
	if err != nil {
		t.Fatal(err)
	}
	th2, err := def.Capture(ctx, ref("C1", root), capture.Person{ID: "U1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range th2.Files() {
		if x.Open != nil {
			t.Errorf("default origins: file %s at %s may be opened, want it refused", x.ID, x.Source)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("token sent to a foreign file host: %d times (%d requests in all)", foreignTokens, foreignRequests)
	if foreignTokens != 0 || foreignRequests != 0 {
		t.Errorf("foreign host got %d requests, %d with a token; want 0 and 0", foreignRequests, foreignTokens)
	}
}

// A token Slack no longer takes is a problem for the app's admin: the
// advice says what to do, without the error chain (Slack's answer, the
// method called) that the error's text keeps for the logs.
func TestAppNeedsAdmin(t *testing.T) {
	t.Parallel()
	srv := fixture(t)
	src, err := slackcap.New(slackcap.Options{
		Token:  func(context.Context, string) (string, error) { return "xoxb-revoked", nil },
		APIURL: srv.APIURL(),
		Limits: slackcap.Limits{Tier2: rate.Inf, Tier3: rate.Inf, Tier4: rate.Inf, Burst: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Capture(context.Background(), ref("C1", root), capture.Person{ID: "U1"})
	if !errors.Is(err, capture.ErrAppNeedsAdmin) {
		t.Fatalf("Capture with a revoked token = %v, want ErrAppNeedsAdmin", err)
	}
	p, _ := capture.ProblemOf(err)
	want := "Slack no longer accepts recordbot's token for this workspace (invalid_auth): a workspace admin must reinstall the app"
	if p.Kind != capture.AppNeedsAdmin || p.Advice != want {
		t.Errorf("ProblemOf(%q) = %s %q, want %s %q", err, p.Kind, p.Advice, capture.AppNeedsAdmin, want)
	}
	if !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("Capture with a revoked token = %q, want the chain to keep Slack's answer for the logs", err)
	}
}

// Resolve, given a reply, finds its thread's root and gives the root's
// text; a person who is not a member gets capture.ErrAccess and nothing
// of the thread is read.
func TestResolve(t *testing.T) {
	t.Parallel()
	srv := fixture(t)
	src := newSource(t, srv, nil, 200)
	const reply = "1700000100.000200"
	p, err := src.Resolve(context.Background(), ref("C1", reply), capture.Person{ID: "U1"})
	if err != nil {
		t.Fatal(err)
	}
	want := ref("C1", root)
	want.MessageID = reply
	if p.Ref != want || !strings.HasPrefix(p.Text, "Decision needed on") {
		t.Errorf("Got(Resolve(%s)) = %+v, want ref %+v and the root's text", reply, p, want)
	}

	before := len(srv.Calls("conversations.replies"))
	if _, err := src.Resolve(context.Background(), ref("C1", reply), capture.Person{ID: "U9"}); !errors.Is(err, capture.ErrAccess) {
		t.Errorf("Got(Resolve by a non-member) = %v, want ErrAccess", err)
	}
	if n := len(srv.Calls("conversations.replies")) - before; n != 0 {
		t.Errorf("Resolve by a non-member read the thread %d times, want 0", n)
	}
}
