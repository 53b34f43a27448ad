package slacktest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/recordbot/recordbot/capture/slack/slacktest"
)

// slackCode is the error code of an {"ok":false} answer, or "".
func slackCode(err error) string {
	if r, ok := errors.AsType[slackapi.SlackErrorResponse](err); ok {
		return r.Err
	}
	return ""
}

// auth.revoke as Slack documents it: the token stops working; test=1
// revokes nothing; a token Slack does not know answers invalid_auth.
func TestAuthRevoke(t *testing.T) {
	t.Parallel()
	s := slacktest.New(t)
	ctx := context.Background()
	s.GrantUserToken("xoxp-1", "U1")
	api := slackapi.New("xoxp-1", slackapi.OptionAPIURL(s.APIURL()))

	// Testing mode (test=1): {"ok":true,"revoked":false}, the token stays.
	resp, err := http.PostForm(s.APIURL()+"auth.revoke", url.Values{"token": {"xoxp-1"}, "test": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		OK      bool `json:"ok"`
		Revoked bool `json:"revoked"`
	}
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if !res.OK || res.Revoked || s.UserToken("U1") != "xoxp-1" {
		t.Errorf("auth.revoke test=1 = %+v, token %q; want ok, not revoked, the token kept", res, s.UserToken("U1"))
	}

	r, err := api.SendAuthRevokeContext(ctx, "xoxp-1")
	if err != nil || !r.Revoked {
		t.Fatalf("auth.revoke = %+v, %v; want revoked", r, err)
	}
	if s.UserToken("U1") != "" {
		t.Error("the user token still works after auth.revoke")
	}
	if _, err := api.SendAuthRevokeContext(ctx, "xoxp-1"); slackCode(err) != "invalid_auth" {
		t.Errorf("auth.revoke of a revoked token = %v, want invalid_auth", err)
	}
	bot := slackapi.New("xoxb-test", slackapi.OptionAPIURL(s.APIURL()))
	if _, err := bot.SendAuthRevokeContext(ctx, "xoxb-test"); err != nil {
		t.Fatalf("auth.revoke of the bot token: %v", err)
	}
	if _, err := bot.AuthTestContext(ctx); slackCode(err) != "invalid_auth" {
		t.Errorf("auth.test with a revoked bot token = %v, want invalid_auth", err)
	}
}

// A test makes a method fail as Slack can: once each (Fail), or until it
// recovers (FailAlways).
func TestFail(t *testing.T) {
	t.Parallel()
	s := slacktest.New(t)
	ctx := context.Background()
	s.GrantUserToken("xoxp-1", "U1")
	api := slackapi.New("xoxp-1", slackapi.OptionAPIURL(s.APIURL()),
		slackapi.OptionHTTPClient(&http.Client{Timeout: 10 * time.Second}))

	s.Fail("auth.revoke",
		slacktest.Failure{Status: http.StatusServiceUnavailable},
		slacktest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 7},
		slacktest.Failure{Error: "internal_error"},
		slacktest.Failure{Drop: true},
	)
	_, err := api.SendAuthRevokeContext(ctx, "xoxp-1")
	if sc, ok := errors.AsType[slackapi.StatusCodeError](err); !ok || sc.Code != http.StatusServiceUnavailable {
		t.Errorf("1st call = %v, want HTTP 503", err)
	}
	_, err = api.SendAuthRevokeContext(ctx, "xoxp-1")
	if rl, ok := errors.AsType[*slackapi.RateLimitedError](err); !ok || rl.RetryAfter != 7*time.Second {
		t.Errorf("2nd call = %v, want 429 with Retry-After 7", err)
	}
	if _, err = api.SendAuthRevokeContext(ctx, "xoxp-1"); slackCode(err) != "internal_error" {
		t.Errorf("3rd call = %v, want internal_error", err)
	}
	_, err = api.SendAuthRevokeContext(ctx, "xoxp-1")
	if err == nil || slackCode(err) != "" || !strings.Contains(err.Error(), "EOF") {
		t.Errorf("4th call = %v, want the connection closed", err)
	}
	if s.UserToken("U1") != "xoxp-1" {
		t.Fatal("a failed auth.revoke revoked the token")
	}
	if r, err := api.SendAuthRevokeContext(ctx, "xoxp-1"); err != nil || !r.Revoked {
		t.Fatalf("5th call = %+v, %v; want revoked", r, err)
	}

	s.GrantUserToken("xoxp-2", "U2")
	api = slackapi.New("xoxp-2", slackapi.OptionAPIURL(s.APIURL()))
	s.FailAlways("auth.revoke", slacktest.Failure{Error: "fatal_error"})
	for i := range 3 {
		if _, err := api.SendAuthRevokeContext(ctx, "xoxp-2"); slackCode(err) != "fatal_error" {
			t.Errorf("call %d while failing = %v, want fatal_error", i+1, err)
		}
	}
	s.Recover("auth.revoke")
	if r, err := api.SendAuthRevokeContext(ctx, "xoxp-2"); err != nil || !r.Revoked {
		t.Fatalf("after Recover = %+v, %v; want revoked", r, err)
	}
	if n := len(s.Calls("auth.revoke")); n != 9 {
		t.Errorf("%d auth.revoke calls recorded, want 9", n)
	}
}

// oauth.v2.access as Slack documents it: the client's id and secret are
// checked apart, a code works once, and the answer lists the scopes
// granted: the bot's in scope, the person's in authed_user.scope.
func TestOAuthV2Access(t *testing.T) {
	t.Parallel()
	s := slacktest.New(t)
	ctx := context.Background()
	s.ClientID, s.ClientSecret, s.Code = "cid", "csecret", "code-1"
	s.InstallToken, s.InstallTeam = "xoxb-installed", "T2"
	s.Scopes = []string{"channels:history", "chat:write", "admin"}
	s.UserScopes = []string{"im:history", "search:read"}
	opt := slackapi.OAuthOptionAPIURL(s.APIURL())

	for _, c := range []struct{ id, secret, code, want string }{
		{"other", "csecret", "code-1", "invalid_client_id"},
		{"cid", "wrong", "code-1", "bad_client_secret"},
		{"cid", "csecret", "code-2", "invalid_code"},
	} {
		_, err := slackapi.GetOAuthV2ResponseContext(ctx, http.DefaultClient, c.id, c.secret, c.code, "", opt)
		if slackCode(err) != c.want {
			t.Errorf("oauth.v2.access(%s, %s, %s) = %v, want %s", c.id, c.secret, c.code, err, c.want)
		}
	}
	res, err := slackapi.GetOAuthV2ResponseContext(ctx, http.DefaultClient, "cid", "csecret", "code-1", "", opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Scope != "channels:history,chat:write,admin" || res.AccessToken != "xoxb-installed" || res.AuthedUser.AccessToken != "" {
		t.Errorf("install answer: scope %q, token %q, user token %q; want the server's Scopes, its token and no user token",
			res.Scope, res.AccessToken, res.AuthedUser.AccessToken)
	}

	code := s.AuthorizeUser("U1")
	res, err = slackapi.GetOAuthV2ResponseContext(ctx, http.DefaultClient, "cid", "csecret", code, "", opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.AuthedUser.Scope != "im:history,search:read" || res.AuthedUser.ID != "U1" || s.UserToken("U1") != res.AuthedUser.AccessToken {
		t.Errorf("user answer: %+v; want U1's token with the server's UserScopes", res.AuthedUser)
	}
	if _, err := slackapi.GetOAuthV2ResponseContext(ctx, http.DefaultClient, "cid", "csecret", code, "", opt); slackCode(err) != "invalid_code" {
		t.Errorf("a code used twice = %v, want invalid_code", err)
	}
}

// auth.test answers any valid token, a user's too; uninstalling the app
// ends every token of it in the workspace.
func TestAuthTestAndUninstall(t *testing.T) {
	t.Parallel()
	s := slacktest.New(t)
	ctx := context.Background()
	s.GrantUserToken("xoxp-1", "U1")
	user := slackapi.New("xoxp-1", slackapi.OptionAPIURL(s.APIURL()))
	bot := slackapi.New("xoxb-test", slackapi.OptionAPIURL(s.APIURL()))
	if r, err := user.AuthTestContext(ctx); err != nil || r.UserID != "U1" || r.TeamID != "T1" {
		t.Fatalf("auth.test with U1's token = %+v, %v; want U1 of T1", r, err)
	}
	s.Uninstall("T1")
	for name, api := range map[string]*slackapi.Client{"user": user, "bot": bot} {
		if _, err := api.AuthTestContext(ctx); slackCode(err) != "invalid_auth" {
			t.Errorf("auth.test with the %s token after Uninstall = %v, want invalid_auth", name, err)
		}
	}
}
