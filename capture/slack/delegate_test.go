package slack_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/recordbot/recordbot/capture"
	slackcap "github.com/recordbot/recordbot/capture/slack"
	"github.com/recordbot/recordbot/capture/slack/slacktest"
)

// grants is a person -> user token store for tests, recording what the
// source asks it to forget.
type grants struct {
	mu        sync.Mutex
	tok       map[string]string
	forgotten []string
}

func (g *grants) token(ctx context.Context, team, user string) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if tok, ok := g.tok[team+"/"+user]; ok {
		return tok, nil
	}
	return "", slackcap.ErrNoUserToken
}

func (g *grants) failed(ctx context.Context, team, user string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.tok, team+"/"+user)
	g.forgotten = append(g.forgotten, team+"/"+user)
}

// dmFixture adds to the fixture a 1:1 direct message D1 between U1 and
// U2 and a group message G5 of U1, U2 and U3, neither with the bot, each
// with a thread, the DM's with a file.
func dmFixture(t *testing.T) *slacktest.Server {
	srv := fixture(t)
	srv.AddChannel(slacktest.Channel{ID: "D1", Kind: "dm", Members: []string{"U1", "U2"}})
	srv.AddChannel(slacktest.Channel{ID: "G5", Name: "mpdm-ada--bob--cy-1", Kind: "group", Members: []string{"U1", "U2", "U3"}})
	url := srv.AddFile("T1-F7/offer.pdf", "application/pdf", []byte("%PDF-1.4 offer"))
	srv.AddMessages("D1",
		slacktest.Msg(root, root, "U1", "Shall we accept the offer?", nil),
		slacktest.Msg("1700000100.000200", root, "U2", "Yes, signed copy attached.", map[string]any{"files": []any{
			map[string]any{"id": "F7", "name": "offer.pdf", "mimetype": "application/pdf", "size": 14, "mode": "hosted", "url_private": url},
		}}),
	)
	srv.AddMessages("G5", slacktest.Msg(root, root, "U3", "Decision: go ahead.", nil))
	return srv
}

func delegatedSource(t *testing.T, srv *slacktest.Server, g *grants) *slackcap.Source {
	t.Helper()
	s, err := slackcap.New(slackcap.Options{
		Token:           func(ctx context.Context, team string) (string, error) { return "xoxb-test", nil },
		UserToken:       g.token,
		UserTokenFailed: g.failed,
		APIURL:          srv.APIURL(),
		FileOrigins:     []string{srv.URL},
		Limits:          slackcap.Limits{Tier2: rate.Inf, Tier3: rate.Inf, Tier4: rate.Inf, Burst: 1},
		Now:             func() time.Time { return time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A direct message the bot cannot join is read with the token its
// requester granted, and only when the requester granted one and is in it.
func TestCaptureDirectMessageDelegated(t *testing.T) {
	t.Parallel()
	srv := dmFixture(t)
	g := &grants{tok: map[string]string{}}
	src := delegatedSource(t, srv, g)
	ctx := context.Background()

	// Before the person allows it: asked to, not told to invite the bot.
	_, err := src.Capture(ctx, ref("D1", root), capture.Person{ID: "U1"})
	var ce *slackcap.ConsentError
	if !errors.As(err, &ce) || ce.Maybe || !errors.Is(err, capture.ErrAccess) || strings.Contains(err.Error(), "/invite") {
		t.Fatalf("Capture(D1) without permission = %v, want a ConsentError (not Maybe) that says nothing of /invite", err)
	}
	// A group message (G… could be a private channel): both ways are said.
	_, err = src.Capture(ctx, ref("G5", root), capture.Person{ID: "U1"})
	if !errors.As(err, &ce) || !ce.Maybe {
		t.Fatalf("Capture(G5) without permission = %v, want a ConsentError with Maybe", err)
	}

	// After U1 allows it.
	g.tok["T1/U1"] = "xoxp-u1"
	srv.GrantUserToken("xoxp-u1", "U1")
	th, err := src.Capture(ctx, ref("D1", root), capture.Person{ID: "U1"})
	if err != nil {
		t.Fatalf("Capture(D1) with U1's permission = %v", err)
	}
	if th.ReadAs != "delegated:U1" || th.Channel.Kind != "dm" || len(th.Messages) != 2 {
		t.Errorf("Capture(D1) = read as %q, kind %q, %d messages; want delegated:U1, dm, 2", th.ReadAs, th.Channel.Kind, len(th.Messages))
	}
	if got := th.Messages[1].Author.Name(); got != "bob" && got != "Bob Bobson" {
		t.Errorf("Capture(D1) reply author = %q, want Bob's name (read with the bot token)", got)
	}
	f := th.Messages[1].Files[0]
	rc, err := f.Open(ctx)
	if err != nil {
		t.Fatalf("Open(offer.pdf) = %v", err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if string(body) != "%PDF-1.4 offer" {
		t.Errorf("offer.pdf = %q", body)
	}
	for _, c := range srv.Calls("") {
		switch c.Method {
		case "users.info", "auth.test":
			if c.Token != "xoxb-test" {
				t.Errorf("%s called with %q, want the bot token", c.Method, c.Token)
			}
		case "conversations.replies", "conversations.members", "files":
			if c.Token == "xoxb-test" {
				continue // the bot's own first try
			}
			if c.Token != "xoxp-u1" {
				t.Errorf("%s called with %q, want U1's token", c.Method, c.Token)
			}
		}
	}

	// A channel the bot reads is still read with the bot token.
	th, err = src.Capture(ctx, ref("C1", root), capture.Person{ID: "U1"})
	if err != nil || th.ReadAs != "bot" {
		t.Fatalf("Capture(C1) = %v, read as %q; want bot", err, th.ReadAs)
	}

	// A person not in the DM cannot file it, even with a token of their own.
	g.tok["T1/U3"] = "xoxp-u3"
	srv.GrantUserToken("xoxp-u3", "U3")
	_, err = src.Capture(ctx, ref("D1", root), capture.Person{ID: "U3"})
	if !errors.Is(err, capture.ErrAccess) || errors.As(err, &ce) {
		t.Errorf("Capture(D1) by U3 with U3's token = %v, want ErrAccess and no ConsentError", err)
	}
	// Member, which runs before the form opens, says the same.
	if err := src.Member(ctx, ref("D1", root), capture.Person{ID: "U3"}); !errors.Is(err, capture.ErrAccess) {
		t.Errorf("Member(D1, U3) = %v, want ErrAccess", err)
	}

	// A private channel the bot is not in: the user token does not read
	// it; the bot is to be invited.
	g.tok["T1/U1"] = "xoxp-u1"
	if _, err := src.Capture(ctx, ref("G4", "1700000000.000900"), capture.Person{ID: "U1"}); !errors.Is(err, capture.ErrBotNotInChannel) {
		t.Errorf("Capture(G4) with U1's token = %v, want ErrBotNotInChannel", err)
	}

	// A revoked token is forgotten, and the person asked again.
	srv.RevokeUserToken("xoxp-u1")
	_, err = src.Capture(ctx, ref("D1", root), capture.Person{ID: "U1"})
	if !errors.As(err, &ce) || !ce.Again {
		t.Fatalf("Capture(D1) with a revoked token = %v, want a ConsentError with Again", err)
	}
	if len(g.forgotten) != 1 || g.forgotten[0] != "T1/U1" {
		t.Errorf("forgotten = %v, want [T1/U1]", g.forgotten)
	}
	_, err = src.Capture(ctx, ref("D1", root), capture.Person{ID: "U1"})
	if !errors.As(err, &ce) || ce.Again || ce.Maybe {
		t.Errorf("Capture(D1) after the token was forgotten = %v, want a plain ConsentError", err)
	}
}

// Without delegated access configured, a DM is still not met with advice
// to invite the bot, which Slack does not allow.
func TestCaptureDirectMessageWithoutDelegation(t *testing.T) {
	t.Parallel()
	srv := dmFixture(t)
	src := newSource(t, srv, nil, 200)
	_, err := src.Capture(context.Background(), ref("D1", root), capture.Person{ID: "U1"})
	if !errors.Is(err, slackcap.ErrNeedsConsent) || strings.Contains(err.Error(), "/invite") {
		t.Errorf("Capture(D1) = %v, want ErrNeedsConsent without /invite", err)
	}
}
