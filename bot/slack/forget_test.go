package slack_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	slackbot "github.com/recordbot/recordbot/bot/slack"
	"github.com/recordbot/recordbot/capture/slack/slacktest"
)

// allow has user allow recordbot to read the conversations they file,
// through the link recordbot gives them when they file the DM D1.
func (e *env) allow(t *testing.T, user string) {
	t.Helper()
	n := len(e.slack.Calls(""))
	dmShortcut(t, e, user)
	link := e.allowLink(t, e.told(t, user, "Allow recordbot", n))
	if code, body := e.consent(t, link, user); code != http.StatusOK {
		t.Fatalf("user callback answered %d %q", code, body)
	}
}

// forgetMe types /record forget-me as user in the DM D1 and returns the
// command's answer and how many calls Slack had got before it.
func (e *env) forgetMe(t *testing.T, user string) (string, int) {
	t.Helper()
	n := len(e.slack.Calls(""))
	cmd := url.Values{"token": {"x"}, "team_id": {"T1"}, "team_domain": {"acme"}, "channel_id": {"D1"}, "user_id": {user},
		"command": {"/record"}, "text": {"forget-me"}, "response_url": {"https://hooks.slack.com/commands/T1/1/x"}, "trigger_id": {"1.2.3"}}
	code, body := e.post(t, "/slack/commands", cmd.Encode())
	if code != http.StatusOK {
		t.Fatalf("/record forget-me answered %d %q", code, body)
	}
	return body, n
}

// /record forget-me says the permission is taken back only once Slack
// confirmed it, and tries again when Slack fails for a while: an HTTP 5xx,
// 429 with Retry-After, one of Slack's own transient error codes, a
// dropped connection.
func TestForgetMeRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{grants: true})
	addDM(e)
	e.allow(t, "U1")
	tok := e.slack.UserToken("U1")
	e.slack.Fail("auth.revoke",
		slacktest.Failure{Status: http.StatusServiceUnavailable},
		slacktest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 3},
		slacktest.Failure{Error: "internal_error"},
	)

	body, n := e.forgetMe(t, "U1")
	if strings.Contains(body, "Done") || !strings.Contains(body, "Giving your permission") {
		t.Errorf("/record forget-me answered %q at once, want that it is being given back, not Done", body)
	}
	e.told(t, "U1", "Done: Slack confirmed that recordbot's permission", n)
	if e.slack.UserToken("U1") != "" {
		t.Error("the user token still works at Slack after forget-me said Done")
	}
	if _, err := e.grants.Get(context.Background(), "T1", "U1"); !errors.Is(err, slackbot.ErrNoGrant) {
		t.Errorf("grant after forget-me: %v, want ErrNoGrant", err)
	}
	if got := len(e.slack.Calls("auth.revoke")); got != 4 {
		t.Errorf("auth.revoke called %d times, want 4 (three failures, then the revocation)", got)
	}
	want := []time.Duration{time.Second, 3 * time.Second, 4 * time.Second}
	if got := e.sleeps.waits(); !slices.Equal(got, want) {
		t.Errorf("waits between attempts = %v, want %v (backoff, Slack's Retry-After, backoff)", got, want)
	}
	if strings.Contains(e.log.String(), tok) {
		t.Error("the log holds a user token")
	}
}

// When Slack does not revoke the token, forget-me says so, says what to
// do, keeps the grant (so that the token can still be given back) and
// never says Done; the next forget-me, with Slack well again, finishes.
func TestForgetMeWhenSlackDoesNotRevoke(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		fail     slacktest.Failure
		attempts int
	}{
		{"Slack keeps failing", slacktest.Failure{Error: "fatal_error"}, 4},
		{"Slack is down", slacktest.Failure{Status: http.StatusBadGateway}, 4},
		{"network", slacktest.Failure{Drop: true}, 4},
		{"an error that another try cannot mend", slacktest.Failure{Error: "ekm_access_denied"}, 1},
		{"Retry-After longer than forget-me waits", slacktest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 3600}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOpts{grants: true})
			addDM(e)
			e.allow(t, "U1")
			tok := e.slack.UserToken("U1")
			e.slack.FailAlways("auth.revoke", c.fail)

			body, n := e.forgetMe(t, "U1")
			if strings.Contains(body, "Done") {
				t.Errorf("/record forget-me answered %q, want no Done before Slack confirms", body)
			}
			text := e.told(t, "U1", "Slack did not confirm", n)
			for _, want := range []string{"may still work", "`/record forget-me` again", "*Manage apps*"} {
				if !strings.Contains(text, want) {
					t.Errorf("U1 was told %q, want %q in it", text, want)
				}
			}
			for _, c := range e.slack.Calls("") {
				if strings.Contains(c.Get("text"), "Done") {
					t.Errorf("U1 was told %q although the token still works", c.Get("text"))
				}
			}
			if got := len(e.slack.Calls("auth.revoke")); got != c.attempts {
				t.Errorf("auth.revoke called %d times, want %d", got, c.attempts)
			}
			var waited time.Duration
			for _, d := range e.sleeps.waits() {
				waited += d
			}
			if waited > 15*time.Second {
				t.Errorf("waited %v in all between attempts, want at most 15s", waited)
			}
			if e.slack.UserToken("U1") != tok {
				t.Fatal("the double revoked the token although it failed")
			}
			g, err := e.grants.Get(context.Background(), "T1", "U1")
			if err != nil || g.Token != tok {
				t.Fatalf("grant after a failed forget-me: %v, want it kept with its token", err)
			}

			if strings.Contains(e.log.String(), tok) {
				t.Error("the log holds the user token")
			}

			e.slack.Recover("auth.revoke")
			_, n = e.forgetMe(t, "U1")
			e.told(t, "U1", "Done: Slack confirmed", n)
			if e.slack.UserToken("U1") != "" {
				t.Error("the user token still works after the second forget-me")
			}
			if _, err := e.grants.Get(context.Background(), "T1", "U1"); !errors.Is(err, slackbot.ErrNoGrant) {
				t.Errorf("grant after the second forget-me: %v, want ErrNoGrant", err)
			}
		})
	}
}

// A token Slack says no longer works (invalid_auth, token_revoked) is as
// good as revoked: the grant is deleted and the person told so.
func TestForgetMeTokenAlreadyDead(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"invalid_auth", "token_revoked"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOpts{grants: true})
			addDM(e)
			e.allow(t, "U1")
			if name == "invalid_auth" {
				e.slack.RevokeUserToken(e.slack.UserToken("U1")) // Slack no longer knows it
			} else {
				e.slack.FailAlways("auth.revoke", slacktest.Failure{Error: name})
			}
			_, n := e.forgetMe(t, "U1")
			e.told(t, "U1", "no longer worked at Slack", n)
			if got := len(e.slack.Calls("auth.revoke")); got != 1 {
				t.Errorf("auth.revoke called %d times, want 1", got)
			}
			if _, err := e.grants.Get(context.Background(), "T1", "U1"); !errors.Is(err, slackbot.ErrNoGrant) {
				t.Errorf("grant after forget-me: %v, want ErrNoGrant", err)
			}
		})
	}
}

// tokens_revoked and app_uninstalled remove a grant or an installation
// only once Slack confirms its token no longer works. An event anyone
// with the signing secret can send, naming tokens that still work, leaves
// them: recordbot keeps the only copy it could give back.
func TestRevokedEventsCheckedWithSlack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{grants: true, installs: true})
	addDM(e)
	ctx := context.Background()
	if err := e.installs.Save(ctx, slackbot.Installation{TeamID: "T1", BotUserID: "UBOT", BotToken: "xoxb-test"}); err != nil {
		t.Fatal(err)
	}
	e.allow(t, "U1")
	e.allow(t, "U2")
	tok1 := e.slack.UserToken("U1")
	e.slack.RevokeUserToken(e.slack.UserToken("U2")) // only U2's was revoked

	events := []string{
		`{"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev1","event_time":1700000000,"event":{"type":"tokens_revoked","tokens":{"oauth":["U1","U2"]},"event_ts":"1700000000.000100"}}`,
		`{"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev2","event_time":1700000000,"event":{"type":"tokens_revoked","tokens":{"bot":["UBOT"]},"event_ts":"1700000000.000200"}}`,
		`{"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev3","event_time":1700000000,"event":{"type":"app_uninstalled","event_ts":"1700000000.000300"}}`,
	}
	for _, ev := range events {
		if code, body := e.post(t, "/slack/events", ev); code != http.StatusOK {
			t.Fatalf("event answered %d %q", code, body)
		}
	}
	// The work follows each acknowledgement: wait until it is done. Four
	// tokens still work: U1's (named by Ev1 and by Ev3, which names every
	// grant) and the bot's (Ev2 and Ev3).
	const unconfirmed = "Slack does not confirm it"
	e.settle(t)
	if got := strings.Count(e.log.String(), unconfirmed); got != 4 {
		t.Errorf("the log says %d times that Slack did not confirm an event, want 4", got)
	}
	if _, err := e.grants.Get(ctx, "T1", "U2"); !errors.Is(err, slackbot.ErrNoGrant) {
		t.Errorf("grant of U2, whose token Slack revoked: %v, want ErrNoGrant", err)
	}
	if g, err := e.grants.Get(ctx, "T1", "U1"); err != nil || g.Token != tok1 {
		t.Errorf("grant of U1, whose token still works: %v, want it kept", err)
	}
	if _, err := e.installs.Get(ctx, "T1"); err != nil {
		t.Errorf("installation of T1, whose bot token still works: %v, want it kept", err)
	}
}
