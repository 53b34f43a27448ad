package slack_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	slackbot "github.com/recordbot/recordbot/bot/slack"
	slackcap "github.com/recordbot/recordbot/capture/slack"
	"github.com/recordbot/recordbot/capture/slack/slacktest"
	"github.com/recordbot/recordbot/filing"
)

// install goes through /slack/install and Slack's callback in one
// browser, and returns the callback page's status and text.
func (e *env) install(t *testing.T) (int, string) {
	t.Helper()
	e.slack.ClientID, e.slack.ClientSecret, e.slack.Code = "cid", "csecret", "code-1"
	client := &http.Client{Jar: &cookieJar{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(e.bot.URL + "/slack/install")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	resp, err = client.Get(e.bot.URL + "/slack/oauth/callback?code=code-1&state=" + url.QueryEscape(loc.Query().Get("state")))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// revokedAt reports whether auth.revoke was called with tok.
func (e *env) revokedAt(tok string) bool {
	for _, c := range e.slack.Calls("auth.revoke") {
		if c.Token == tok {
			return true
		}
	}
	return false
}

func reversed(list []string) []string {
	out := slices.Clone(list)
	slices.Reverse(out)
	return out
}

func without(list []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return slices.Contains(drop, s) })
}

// An install is stored only when Slack granted exactly the bot scopes
// recordbot asks for. Broader (an extra bot scope, or a user token no one
// asked for) is refused and its tokens given back; narrower is refused
// naming what is missing. Nothing is stored for a refused install.
func TestInstallScopesChecked(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name      string
		scopes    []string
		userToken string
		status    int
		want      []string
		revoked   bool
	}{
		{"exactly as asked", slackbot.BotScopes, "", http.StatusOK, []string{"recordbot is installed"}, false},
		{"in another order", reversed(slackbot.BotScopes), "", http.StatusOK, []string{"recordbot is installed"}, false},
		{"an extra bot scope", append(slices.Clone(slackbot.BotScopes), "chat:write.customize", "admin"), "", http.StatusForbidden,
			[]string{"more than it asked for", "admin, chat:write.customize", "given back to Slack", "manifest.yml"}, true},
		{"a user token no one asked for", slackbot.BotScopes, "xoxp-admin", http.StatusForbidden,
			[]string{"more than it asked for", "a user token for UADMIN", "given back to Slack"}, true},
		{"scopes missing", without(slackbot.BotScopes, "users:read", "files:read"), "", http.StatusForbidden,
			[]string{"less than it needs", "missing files:read, users:read", "Nothing was stored", "manifest.yml"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOpts{installs: true})
			e.slack.InstallToken, e.slack.InstallTeam = "xoxb-installed", "T2"
			e.slack.Scopes, e.slack.InstallUserToken = c.scopes, c.userToken
			code, page := e.install(t)
			if code != c.status {
				t.Errorf("callback = %d %q, want %d", code, page, c.status)
			}
			for _, w := range c.want {
				if !strings.Contains(page, w) {
					t.Errorf("callback page %q, want %q in it", page, w)
				}
			}
			_, err := e.store.Stat(context.Background(), filing.InstallationsPrefix+"slack/T2.json")
			if stored := err == nil; stored != (c.status == http.StatusOK) {
				t.Errorf("installation stored: %v (Stat %v), want %v", stored, err, c.status == http.StatusOK)
			}
			if got := e.revokedAt("xoxb-installed"); got != c.revoked {
				t.Errorf("bot token given back: %v, want %v", got, c.revoked)
			}
			if c.userToken != "" && (!e.revokedAt(c.userToken) || e.slack.UserToken("UADMIN") != "") {
				t.Error("the user token that came with the install was not given back")
			}
			if log := e.log.String(); strings.Contains(log, "xoxb-installed") || strings.Contains(log, "xoxp-") {
				t.Error("the log holds a token")
			}
		})
	}
}

// A person's permission is stored only when Slack granted exactly the
// user scopes recordbot asks for: a broader grant is refused and given
// back, a narrower one refused naming what is missing (and given back,
// as recordbot keeps no token it cannot use). When Slack does not
// confirm the give-back, the page says so and what to do.
func TestUserGrantScopesChecked(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		scopes     []string
		revokeDown bool
		want       []string
	}{
		{"an extra scope", append(slices.Clone(slackcap.UserScopes), "search:read"), false,
			[]string{"more than it asked for", "also search:read", "given back to Slack", "manifest.yml"}},
		{"extra scopes, and Slack will not take them back", append(slices.Clone(slackcap.UserScopes), "chat:write", "search:read"), true,
			[]string{"also chat:write, search:read", "did not confirm", "may still work", "Manage apps"}},
		{"a scope missing", without(slackcap.UserScopes, "files:read"), false,
			[]string{"less than it needs", "missing files:read", "given back to Slack", "File the conversation again"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOpts{grants: true})
			addDM(e)
			e.slack.UserScopes = c.scopes
			if c.revokeDown {
				e.slack.FailAlways("auth.revoke", slacktest.Failure{Status: http.StatusServiceUnavailable})
			}
			n := len(e.slack.Calls(""))
			dmShortcut(t, e, "U1")
			code, page := e.consent(t, e.allowLink(t, e.told(t, "U1", "Allow recordbot", n)), "U1")
			if code != http.StatusForbidden {
				t.Errorf("user callback = %d %q, want 403", code, page)
			}
			for _, w := range c.want {
				if !strings.Contains(page, w) {
					t.Errorf("user callback page %q, want %q in it", page, w)
				}
			}
			if _, err := e.grants.Get(context.Background(), "T1", "U1"); !errors.Is(err, slackbot.ErrNoGrant) {
				t.Errorf("grant after a refused authorisation: %v, want ErrNoGrant", err)
			}
			if got := countKeys(t, e.store, filing.InstallationsPrefix+"slack/users/"); got != 0 {
				t.Errorf("%d grants stored, want 0", got)
			}
			if tok := e.slack.UserToken("U1"); (tok == "") == c.revokeDown {
				t.Errorf("U1's token at Slack = %q; want it revoked unless auth.revoke is down", tok)
			}
			if len(e.slack.Calls("auth.revoke")) == 0 {
				t.Error("the refused token was not given back (no auth.revoke)")
			}
			if strings.Contains(e.log.String(), "xoxp-") {
				t.Error("the log holds a user token")
			}
		})
	}
}
