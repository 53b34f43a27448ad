package slack_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	slackbot "github.com/recordbot/recordbot/bot/slack"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/slack/slacktest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/bagcheck"
	"github.com/recordbot/recordbot/internal/storetest"
)

const dmRoot = "1700001000.000100"

// addDM adds a 1:1 direct message D1 between U1 and U2, which the bot is
// not in (a bot cannot join one), with a thread and a file, and U3, who
// is not in it.
func addDM(e *env) {
	s := e.slack
	s.AddUser(slacktest.User{ID: "U3", Name: "cy", RealName: "Cy Young"})
	s.AddChannel(slacktest.Channel{ID: "D1", Kind: "dm", Members: []string{"U1", "U2"}})
	f := s.AddFile("T1-F9/offer.pdf", "application/pdf", []byte("%PDF-1.4 signed offer"))
	s.AddMessages("D1",
		slacktest.Msg(dmRoot, dmRoot, "U1", "Shall we accept the venue's offer?", nil),
		slacktest.Msg("1700001100.000200", dmRoot, "U2", "Yes: signed copy attached.", map[string]any{"files": []any{
			map[string]any{"id": "F9", "name": "offer.pdf", "mimetype": "application/pdf", "size": 21, "mode": "hosted", "url_private": f},
		}}),
	)
}

// dmShortcut uses "File as record" on the DM's root as user.
func dmShortcut(t *testing.T, e *env, user string) {
	t.Helper()
	msg := map[string]any{"type": "message", "user": "U1", "ts": dmRoot, "thread_ts": dmRoot, "text": "Shall we accept the venue's offer?"}
	a := messageAction(user, "D1", msg)
	a["channel"] = map[string]any{"id": "D1", "name": "directmessage"}
	if code, body := e.interact(t, a); code != http.StatusOK || body != "" {
		t.Fatalf("message_action in D1 answered %d %q, want 200 and an empty body", code, body)
	}
}

// told waits for a message to user (ephemeral, or a DM from the bot when
// Slack will not post an ephemeral one there) containing want, newer than
// the first `after` calls, and returns its text.
func (e *env) told(t *testing.T, user, want string, after int) string {
	t.Helper()
	deadline := time.Now().Add(patience)
	for time.Now().Before(deadline) {
		calls := e.slack.Calls("")
		for _, c := range calls[min(after, len(calls)):] {
			if c.Method != "chat.postMessage" && c.Method != "chat.postEphemeral" {
				continue
			}
			if (c.Get("user") == user || c.Get("channel") == user) && strings.Contains(c.Get("text"), want) {
				return c.Get("text")
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	var texts []string
	for _, c := range e.slack.Calls("chat.postMessage") {
		texts = append(texts, c.Get("text"))
	}
	for _, c := range e.slack.Calls("chat.postEphemeral") {
		texts = append(texts, c.Get("text"))
	}
	t.Fatalf("%s was not told %q; messages: %q", user, want, texts)
	return ""
}

var allowLinkRE = regexp.MustCompile(`<([^|>]+)\|Allow recordbot to read conversations you file>`)

// allowLink returns the authorisation link of a message and checks it is
// Slack's OAuth v2 consent page for user scopes only, for this workspace,
// sending the person back to the bot.
func (e *env) allowLink(t *testing.T, text string) *url.URL {
	t.Helper()
	m := allowLinkRE.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("message %q has no “Allow recordbot to read conversations you file” link", text)
	}
	u, err := url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if got := u.Scheme + "://" + u.Host + u.Path; got != e.slack.URL+"/oauth/v2/authorize" {
		t.Errorf("link goes to %q, want Slack's OAuth v2 authorize page", got)
	}
	for _, sc := range []string{"im:history", "mpim:history", "im:read", "mpim:read", "files:read"} {
		if !strings.Contains(","+q.Get("user_scope")+",", ","+sc+",") {
			t.Errorf("link user_scope = %q, want %s in it", q.Get("user_scope"), sc)
		}
	}
	if q.Has("scope") || q.Get("client_id") != "cid" || q.Get("team") != "T1" || q.Get("state") == "" ||
		q.Get("redirect_uri") != e.bot.URL+"/slack/oauth/user-callback" {
		t.Errorf("link query = %v, want client_id, user_scope, team T1, a state and the bot's user callback, and no bot scope", q)
	}
	return u
}

// consent does what Slack's consent page does when person approves the
// link: it sends the person's browser back to redirect_uri with a code and
// the link's state. It returns the bot's answer.
func (e *env) consent(t *testing.T, link *url.URL, person string) (int, string) {
	t.Helper()
	q := link.Query()
	back := q.Get("redirect_uri") + "?" + url.Values{"code": {e.slack.AuthorizeUser(person)}, "state": {q.Get("state")}}.Encode()
	return get(t, back)
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Issue 13: a DM between two people is filed after the person filing it
// allows recordbot to read it; before that they get the link, not advice
// to invite the bot, which Slack does not allow in a DM. The record says
// whose access read it; the token is sealed at rest and never logged.
func TestDirectMessageFiledAfterAuthorising(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{grants: true})
	addDM(e)
	e.run(t)

	// The first time: no form, the link.
	dmShortcut(t, e, "U1")
	text := e.told(t, "U1", "Allow recordbot to read conversations you file", 0)
	if strings.Contains(text, "/invite") {
		t.Errorf("first-time message = %q, advises inviting the bot into a DM", text)
	}
	if len(e.slack.Calls("views.open")) != 0 {
		t.Fatal("the filing form opened for a DM recordbot cannot read")
	}
	link := e.allowLink(t, text)

	// U1 allows it.
	code, body := e.consent(t, link, "U1")
	if code != http.StatusOK || !strings.Contains(body, "may now read the conversations you file") {
		t.Fatalf("user callback answered %d %q, want 200 and a confirmation", code, body)
	}
	userTok := e.slack.UserToken("U1")
	if userTok == "" {
		t.Fatal("Slack issued no user token to U1")
	}
	// Sealed at rest.
	rc, _, err := e.store.Open(context.Background(), filing.InstallationsPrefix+"slack/users/T1/U1.json")
	if err != nil {
		t.Fatalf("stored grant: %v", err)
	}
	stored, _ := io.ReadAll(rc)
	rc.Close()
	if strings.Contains(string(stored), userTok) || !strings.Contains(string(stored), `"user_token_sealed": "v1:`) {
		t.Errorf("stored grant = %s, want the token sealed, not in clear", stored)
	}

	// Now the form opens, and the DM is filed with U1's access.
	dmShortcut(t, e, "U1")
	view := e.lastView(t)
	if title, _ := inputInitial(view, "title"); title != "Shall we accept the venue's offer?" {
		t.Errorf("modal title = %q, want the DM's first line", title)
	}
	if code, body := e.interact(t, viewSubmission("U1", view, "Venue offer accepted", "100-20", "OFFICIAL", "")); code != http.StatusOK || body != "" {
		t.Fatalf("view_submission answered %d %q", code, body)
	}
	e.told(t, "U1", "Filed as record", 0)
	prefix := recordPrefix(t, e.store)
	bag, err := bagcheck.Check(context.Background(), e.store, prefix)
	if err != nil {
		t.Fatalf("bagcheck.Check(%s): %v", prefix, err)
	}
	if _, ok := bag.Payload["data/files/001_offer.pdf"]; !ok {
		t.Errorf("bag payload = %v, want the DM's file", bag.Payload)
	}
	var th capture.Thread
	readJSON(t, e.store, prefix+filing.ThreadFile, &th)
	if th.ReadAs != "delegated:U1" || th.Channel.Kind != "dm" || len(th.Messages) != 2 {
		t.Errorf("thread.json: read as %q, kind %q, %d messages; want delegated:U1, dm, 2", th.ReadAs, th.Channel.Kind, len(th.Messages))
	}
	var rec struct {
		Source struct {
			ReadAs string `json:"read_as"`
		} `json:"source"`
	}
	readJSON(t, e.store, prefix+"record.json", &rec)
	if rec.Source.ReadAs != "delegated:U1" {
		t.Errorf("record.json source.read_as = %q, want delegated:U1", rec.Source.ReadAs)
	}
	info := readAll(t, e.store, prefix+"bag-info.txt")
	if !strings.Contains(info, "Source-Read-As: delegated:U1\n") {
		t.Errorf("bag-info.txt = %q, want Source-Read-As: delegated:U1", info)
	}

	// Never logged.
	logs := e.log.String()
	for _, secret := range []string{userTok, "xoxb-test", "csecret", link.Query().Get("state")} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds a secret (%.8s…)", secret)
		}
	}
	if !strings.Contains(logs, "allowed recordbot to read the conversations they file") {
		t.Error("the log does not say that a person allowed recordbot (is it captured?)")
	}
}

// Someone not in a DM cannot file it, even after allowing recordbot to
// read the conversations they file.
func TestNonMemberCannotFileDirectMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{grants: true})
	addDM(e)
	dmShortcut(t, e, "U3")
	link := e.allowLink(t, e.told(t, "U3", "Allow recordbot", 0))
	if code, body := e.consent(t, link, "U3"); code != http.StatusOK {
		t.Fatalf("user callback for U3 answered %d %q", code, body)
	}
	n := len(e.slack.Calls(""))
	dmShortcut(t, e, "U3")
	text := e.told(t, "U3", "Only members", n)
	if !strings.Contains(text, "can file its threads") || strings.Contains(text, "Allow recordbot") {
		t.Errorf("U3 was told %q, want that only members can file it, and no link", text)
	}
	if len(e.slack.Calls("views.open")) != 0 {
		t.Error("the filing form opened for a person not in the DM")
	}
	for _, c := range e.slack.Calls("conversations.replies") {
		if c.Token == e.slack.UserToken("U3") {
			t.Error("conversations.replies was called with the non-member's token")
		}
	}
}

// A revoked user token leads back to the authorisation step, and Slack's
// tokens_revoked event and /record forget-me remove a grant.
func TestRevokedUserTokenAsksAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{grants: true})
	addDM(e)
	ctx := context.Background()
	allow := func(user string) {
		t.Helper()
		n := len(e.slack.Calls(""))
		dmShortcut(t, e, user)
		link := e.allowLink(t, e.told(t, user, "Allow recordbot", n))
		if code, body := e.consent(t, link, user); code != http.StatusOK {
			t.Fatalf("user callback answered %d %q", code, body)
		}
	}
	allow("U1")

	// The person removes the app's access in Slack: recordbot finds out
	// when it next reads, forgets the grant and asks again.
	e.slack.RevokeUserToken(e.slack.UserToken("U1"))
	n := len(e.slack.Calls(""))
	dmShortcut(t, e, "U1")
	text := e.told(t, "U1", "Allow recordbot to read conversations you file", n)
	if !strings.Contains(text, "no longer works") {
		t.Errorf("after revocation U1 was told %q, want that the permission no longer works", text)
	}
	if _, err := e.store.Stat(ctx, filing.InstallationsPrefix+"slack/users/T1/U1.json"); !errors.Is(err, filing.ErrNotExist) {
		t.Errorf("grant after its token stopped working: Stat = %v, want ErrNotExist", err)
	}

	// tokens_revoked lists the people whose user tokens were revoked.
	allow("U1")
	e.slack.RevokeUserToken(e.slack.UserToken("U1"))
	code, _ := e.post(t, "/slack/events", `{"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev9","event_time":1700000000,"event":{"type":"tokens_revoked","tokens":{"oauth":["U1"]},"event_ts":"1700000000.000900"}}`)
	if code != http.StatusOK {
		t.Fatalf("tokens_revoked answered %d", code)
	}
	e.settle(t) // the event is handled after its acknowledgement, in its handler
	_, err := e.grants.Get(ctx, "T1", "U1")
	if !errors.Is(err, slackbot.ErrNoGrant) {
		t.Errorf("grant after tokens_revoked: Get = %v, want ErrNoGrant", err)
	}

	// /record forget-me gives the token back to Slack and deletes it.
	allow("U1")
	tok := e.slack.UserToken("U1")
	cmd := url.Values{"token": {"x"}, "team_id": {"T1"}, "team_domain": {"acme"}, "channel_id": {"D1"}, "user_id": {"U1"},
		"command": {"/record"}, "text": {"forget-me"}, "response_url": {"https://hooks.slack.com/commands/T1/1/x"}, "trigger_id": {"1.2.3"}}
	n = len(e.slack.Calls(""))
	code, body := e.post(t, "/slack/commands", cmd.Encode())
	if code != http.StatusOK {
		t.Fatalf("/record forget-me answered %d %q", code, body)
	}
	e.told(t, "U1", "Done: Slack confirmed that recordbot's permission", n)
	revoked := false
	for _, c := range e.slack.Calls("auth.revoke") {
		revoked = revoked || c.Token == tok
	}
	if !revoked || e.slack.UserToken("U1") != "" {
		t.Error("/record forget-me did not revoke the user token at Slack")
	}
	if _, err := e.grants.Get(ctx, "T1", "U1"); !errors.Is(err, slackbot.ErrNoGrant) {
		t.Errorf("grant after forget-me: Get = %v, want ErrNoGrant", err)
	}
	if strings.Contains(e.log.String(), tok) {
		t.Error("the log holds a user token")
	}

	// Uninstalling the app (Slack ends every token of the app in the
	// workspace) removes every grant of the workspace.
	allow("U1")
	allow("U2")
	e.slack.Uninstall("T1")
	code, _ = e.post(t, "/slack/events", `{"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev10","event_time":1700000000,"event":{"type":"app_uninstalled","event_ts":"1700000000.001000"}}`)
	if code != http.StatusOK {
		t.Fatalf("app_uninstalled answered %d", code)
	}
	e.settle(t)
	left := countKeys(t, e.store, filing.InstallationsPrefix+"slack/users/T1/")
	if left != 0 {
		t.Errorf("%d grants left after app_uninstalled, want 0", left)
	}
}

// The authorisation link's state is signed, bound to the person and the
// workspace, expires and works once: a forged, replayed, expired or
// someone else's state stores nothing.
func TestUserAuthorisationStateRefused(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(time.Now())
	e := newEnv(t, envOpts{grants: true, clock: clock})
	addDM(e)
	ctx := context.Background()
	linkFor := func(user string) *url.URL {
		t.Helper()
		n := len(e.slack.Calls(""))
		dmShortcut(t, e, user)
		return e.allowLink(t, e.told(t, user, "Allow recordbot", n))
	}
	callback := e.bot.URL + "/slack/oauth/user-callback?"

	// Forged: a state not made by this recordbot, or changed.
	link := linkFor("U1")
	state := link.Query().Get("state")
	payload, mac, _ := strings.Cut(state, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || !strings.Contains(string(raw), `"U1"`) {
		t.Fatalf("state payload %q: %v", raw, err)
	}
	other := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), `"U1"`, `"U2"`, 1)))
	forged := []string{
		"",
		"eyJ0IjoiVDEiLCJ1IjoiVTEiLCJlIjo5OTk5OTk5OTk5LCJuIjoiYWJjIn0.AAAA",
		other + "." + mac, // made for U1, changed to name U2
		payload + "." + strings.ToUpper(mac),
	}
	for _, st := range forged {
		code, body := get(t, callback+url.Values{"code": {e.slack.AuthorizeUser("U1")}, "state": {st}}.Encode())
		if code != http.StatusBadRequest || !strings.Contains(body, "not made by this recordbot") && !strings.Contains(body, "malformed") {
			t.Errorf("callback with state %q answered %d %q, want 400", st, code, body)
		}
	}

	// An error in the address: only a code is shown, never the text
	// someone put there.
	for _, e := range []string{"access_denied", "<b>Call 0800 EVIL</b>"} {
		code, body := get(t, callback+url.Values{"error": {e}}.Encode())
		want := "Slack said: access_denied."
		if e != "access_denied" {
			want = "Slack said: unknown."
		}
		if code != http.StatusBadRequest || !strings.Contains(body, want) || strings.Contains(body, "EVIL") {
			t.Errorf("callback with error %q answered %d %q", e, code, body)
		}
	}

	// Someone else follows U1's link: Slack gives U2's token, which is
	// given back; nothing is stored, and the link is spent.
	code, body := e.consent(t, link, "U2")
	if code != http.StatusForbidden || !strings.Contains(body, "made for someone else") {
		t.Errorf("U2 using U1's link: callback answered %d %q, want 403", code, body)
	}
	if e.slack.UserToken("U2") != "" {
		t.Error("U2's token from U1's link was not revoked")
	}
	for _, u := range []string{"U1", "U2"} {
		if _, err := e.grants.Get(ctx, "T1", u); !errors.Is(err, slackbot.ErrNoGrant) {
			t.Errorf("grant of %s after a refused callback: %v, want ErrNoGrant", u, err)
		}
	}

	// Replayed: a link works once, even with a fresh code.
	link = linkFor("U1")
	if code, body := e.consent(t, link, "U1"); code != http.StatusOK {
		t.Fatalf("first use of the link answered %d %q", code, body)
	}
	if err := e.grants.Delete(ctx, "T1", "U1"); err != nil {
		t.Fatal(err)
	}
	if code, body := e.consent(t, link, "U1"); code != http.StatusBadRequest || !strings.Contains(body, "cannot be used again") {
		t.Errorf("replayed link answered %d %q, want 400", code, body)
	}
	if _, err := e.grants.Get(ctx, "T1", "U1"); !errors.Is(err, slackbot.ErrNoGrant) {
		t.Errorf("grant after a replayed link: %v, want ErrNoGrant", err)
	}

	// Expired: 15 minutes.
	link = linkFor("U1")
	clock.Advance(16 * time.Minute)
	if code, body := e.consent(t, link, "U1"); code != http.StatusBadRequest || !strings.Contains(body, "expired") {
		t.Errorf("expired link answered %d %q, want 400", code, body)
	}
	if _, err := e.grants.Get(ctx, "T1", "U1"); !errors.Is(err, slackbot.ErrNoGrant) {
		t.Errorf("grant after an expired link: %v, want ErrNoGrant", err)
	}

	// The marks of used links are swept once their links have expired.
	if got := countKeys(t, e.store, filing.InstallationsPrefix+"slack/oauth-states/"); got != 2 {
		t.Errorf("%d used-link marks before the sweep, want 2", got)
	}
	fresh, err := url.Parse(e.app.UserAuthorizeLink("T1", "U1")) // the clock has moved: no signed shortcut
	if err != nil {
		t.Fatal(err)
	}
	if code, body := e.consent(t, fresh, "U1"); code != http.StatusOK {
		t.Fatalf("fresh link answered %d %q", code, body)
	}
	if got := countKeys(t, e.store, filing.InstallationsPrefix+"slack/oauth-states/"); got != 1 {
		t.Errorf("%d used-link marks after the sweep, want 1 (the fresh link's)", got)
	}
}

// Without the feature, a person filing a DM is told who can turn it on,
// not to invite the bot.
func TestDirectMessageWithoutUserTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	addDM(e)
	dmShortcut(t, e, "U1")
	text := e.told(t, "U1", "cannot read this conversation", 0)
	if strings.Contains(text, "/invite") || strings.Contains(text, "Allow recordbot") || !strings.Contains(text, "docs/slack.md#direct-and-group-messages") {
		t.Errorf("U1 was told %q, want who can turn it on, without /invite or a link", text)
	}
}

func readAll(t *testing.T, st filing.Store, key string) string {
	t.Helper()
	return string(storetest.Read(t, st, key))
}

func readJSON(t *testing.T, st filing.Store, key string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(readAll(t, st, key)), v); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
}

// The first-time flow for a DM through Socket Mode, with no signed HTTP
// routes: the bot's HTTP server serves only the page people come back to.
func TestDirectMessageSocketMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{grants: true, socketOnly: true})
	addDM(e)
	e.run(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.app.RunSocket(ctx, "xapp-test") }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunSocket: %v", err)
		}
	})
	for deadline := time.Now().Add(patience); !e.slack.Connected(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the socket mode client did not connect")
		}
	}
	if code, _ := e.post(t, "/slack/interactivity", "payload=x"); code != http.StatusNotFound {
		t.Fatalf("POST /slack/interactivity in Socket Mode = %d, want 404 (no HTTP routes)", code)
	}
	sctx, scancel := context.WithTimeout(ctx, 20*time.Second)
	defer scancel()
	shortcut := func() {
		t.Helper()
		msg := map[string]any{"type": "message", "user": "U1", "ts": dmRoot, "thread_ts": dmRoot, "text": "Shall we accept the venue's offer?"}
		if _, err := e.slack.Send(sctx, "interactive", messageAction("U1", "D1", msg)); err != nil {
			t.Fatalf("send message_action: %v", err)
		}
	}
	shortcut()
	link := e.allowLink(t, e.told(t, "U1", "Allow recordbot to read conversations you file", 0))
	if code, body := e.consent(t, link, "U1"); code != http.StatusOK {
		t.Fatalf("user callback answered %d %q", code, body)
	}
	shortcut()
	view := e.lastView(t)
	if ack, err := e.slack.Send(sctx, "interactive", viewSubmission("U1", view, "Venue offer", "100-20", "OFFICIAL", "")); err != nil || (len(ack) != 0 && string(ack) != "null") {
		t.Fatalf("view_submission ack = %s, %v; want an empty ack", ack, err)
	}
	e.told(t, "U1", "Filed as record", 0)
	var th capture.Thread
	readJSON(t, e.store, recordPrefix(t, e.store)+filing.ThreadFile, &th)
	if th.ReadAs != "delegated:U1" {
		t.Errorf("thread.json read_as = %q, want delegated:U1", th.ReadAs)
	}
}

// The same in a workspace installed through OAuth (several workspaces):
// the bot token comes from the installation, the person's from their grant.
func TestDirectMessageInstalledWorkspace(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{grants: true, installs: true, allowed: []string{"T1"}})
	addDM(e)
	e.run(t)
	if err := e.installs.Save(context.Background(), slackbot.Installation{TeamID: "T1", BotUserID: "UBOT", BotToken: "xoxb-test"}); err != nil {
		t.Fatal(err)
	}
	dmShortcut(t, e, "U1")
	link := e.allowLink(t, e.told(t, "U1", "Allow recordbot to read conversations you file", 0))
	if code, body := e.consent(t, link, "U1"); code != http.StatusOK {
		t.Fatalf("user callback answered %d %q", code, body)
	}
	dmShortcut(t, e, "U1")
	view := e.lastView(t)
	if code, body := e.interact(t, viewSubmission("U1", view, "Venue offer", "100-20", "OFFICIAL", "")); code != http.StatusOK || body != "" {
		t.Fatalf("view_submission answered %d %q", code, body)
	}
	e.told(t, "U1", "Filed as record", 0)
	var th capture.Thread
	readJSON(t, e.store, recordPrefix(t, e.store)+filing.ThreadFile, &th)
	if th.ReadAs != "delegated:U1" || len(th.Messages) != 2 {
		t.Errorf("thread.json read_as %q, %d messages; want delegated:U1, 2", th.ReadAs, len(th.Messages))
	}
}

// A token revoked after the form opened: the filing fails once, without
// retrying, and the person is given the link again.
func TestRevokedAfterFormOpened(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{grants: true})
	addDM(e)
	e.run(t)
	dmShortcut(t, e, "U1")
	link := e.allowLink(t, e.told(t, "U1", "Allow recordbot", 0))
	if code, body := e.consent(t, link, "U1"); code != http.StatusOK {
		t.Fatalf("user callback answered %d %q", code, body)
	}
	dmShortcut(t, e, "U1")
	view := e.lastView(t)
	e.slack.RevokeUserToken(e.slack.UserToken("U1"))
	n := len(e.slack.Calls(""))
	if code, body := e.interact(t, viewSubmission("U1", view, "Venue offer", "100-20", "OFFICIAL", "")); code != http.StatusOK || body != "" {
		t.Fatalf("view_submission answered %d %q", code, body)
	}
	text := e.told(t, "U1", "Could not file *Venue offer*", n)
	e.allowLink(t, text)
	waitNoPending(t, e.store)
	if got := countRecords(t, e.store); got != 0 {
		t.Errorf("%d records filed with a revoked token, want 0", got)
	}
}
