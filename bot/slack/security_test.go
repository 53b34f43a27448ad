package slack_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	slackbot "github.com/recordbot/recordbot/bot/slack"
	"github.com/recordbot/recordbot/capture"
	slackcap "github.com/recordbot/recordbot/capture/slack"
	"github.com/recordbot/recordbot/capture/slack/slacktest"
	"github.com/recordbot/recordbot/filing"
)

const (
	secretRoot  = "1700001000.000100"
	secretReply = "1700001100.000200"
)

// addPrivateThread adds #hr-restructure (G9), a private channel the bot is
// in and U1 is not, with a thread whose first line is secret.
func addPrivateThread(e *env) {
	e.slack.AddChannel(slacktest.Channel{ID: "G9", Name: "hr-restructure", Kind: "private", Members: []string{"U2", "UBOT"}, BotIn: true})
	e.slack.AddMessages("G9",
		slacktest.Msg(secretRoot, secretRoot, "U2", "Layoffs in finance: 40 posts go in March", map[string]any{"reply_count": 1}),
		slacktest.Msg(secretReply, secretRoot, "U2", "Keep this quiet until the board meets.", nil),
	)
}

func commandForm(user, text string) string {
	return url.Values{"token": {"x"}, "team_id": {"T1"}, "team_domain": {"acme"}, "channel_id": {"C1"}, "channel_name": {"decisions"},
		"user_id": {user}, "user_name": {"ada"}, "command": {"/record"}, "text": {text},
		"response_url": {"https://hooks.slack.com/commands/T1/1/x"}, "trigger_id": {"99.88.77"}}.Encode()
}

// threadReads counts the calls that read a message of channel.
func threadReads(s *slacktest.Server, channel string) int {
	n := 0
	for _, m := range []string{"conversations.replies", "conversations.history"} {
		for _, c := range s.Calls(m) {
			if c.Get("channel") == channel {
				n++
			}
		}
	}
	return n
}

// Finding 3 of issue 9: /record with a link to a private thread fetched
// the thread before any membership check and put its first line in the
// modal. A non-member now gets a refusal, no modal, and Slack is asked for
// nothing of the thread; the refusal names neither the channel nor the text.
func TestNonMemberSeesNothingOfPrivateThread(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	addPrivateThread(e)
	links := []string{
		"https://acme.slack.com/archives/G9/p1700001000000100",                                    // the root
		"https://acme.slack.com/archives/G9/p1700001100000200",                                    // a reply, no thread_ts: needs the root
		"https://acme.slack.com/archives/G9/p1700001100000200?thread_ts=1700001000.000100&cid=G9", // a reply's link
		"https://acme.slack.com/archives/G9/p1700001000000100 My own title",                       // with a title
	}
	for i, link := range links {
		code, _ := e.post(t, "/slack/commands", commandForm("U1", link))
		if code != http.StatusOK {
			t.Fatalf("/record %s answered %d", link, code)
		}
		e.settle(t) // the refusal is posted after the acknowledgement, in its handler
		calls := e.slack.Calls("chat.postEphemeral")
		if len(calls) != i+1 {
			t.Fatalf("/record %s: %d refusals in all, want %d", link, len(calls), i+1)
		}
		txt := calls[i].Get("text")
		if !strings.Contains(txt, "Only members of the channel can file its threads") || strings.Contains(txt, "hr-restructure") || strings.Contains(txt, "Layoffs") {
			t.Errorf("refusal = %q, want “only members” without the channel's name or the thread's text", txt)
		}
	}
	if n := len(e.slack.Calls("views.open")); n != 0 {
		t.Errorf("views.open called %d times for a non-member, want 0", n)
	}
	if n := threadReads(e.slack, "G9"); n != 0 {
		t.Errorf("%d calls read messages of G9 for a non-member, want 0", n)
	}

	// The message shortcut, on a reply, from the same non-member.
	msg := map[string]any{"type": "message", "user": "U2", "ts": secretReply, "thread_ts": secretRoot, "text": "Keep this quiet until the board meets."}
	if code, body := e.interact(t, messageAction("U1", "G9", msg)); code != http.StatusOK || body != "" {
		t.Fatalf("message_action answered %d %q", code, body)
	}
	e.waitFor(t, "chat.postMessage", "Only members of the channel", 3*time.Second) // a DM: U1 is not in G9
	if n := len(e.slack.Calls("views.open")); n != 0 {
		t.Errorf("views.open called %d times for a non-member's shortcut, want 0", n)
	}
	if n := threadReads(e.slack, "G9"); n != 0 {
		t.Errorf("%d calls read messages of G9 for a non-member's shortcut, want 0", n)
	}

	// A member gets the modal with the root's first line.
	if code, _ := e.post(t, "/slack/commands", commandForm("U2", links[1])); code != http.StatusOK {
		t.Fatalf("/record by a member answered %d", code)
	}
	if !e.waitViews(0) {
		t.Fatal("no modal for a member")
	}
	if title, _ := inputInitial(e.lastView(t), "title"); title != "Layoffs in finance: 40 posts go in March" {
		t.Errorf("member's modal title = %q, want the root's first line", title)
	}
}

// Finding 4 of issue 9: one signed view_submission replayed made 6
// records, 10 parallel copies made 10. The view's id and hash make one
// request; the copies close the form and say nothing again.
func TestReplayedSubmissionFilesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.run(t)
	msg := map[string]any{"type": "message", "user": "U1", "ts": root, "text": "*Budget 2026:* approve the venue contract? <!here>"}
	if code, _ := e.interact(t, messageAction("U1", "C1", msg)); code != http.StatusOK {
		t.Fatal("shortcut refused")
	}
	view := e.lastView(t)
	raw, _ := json.Marshal(viewSubmission("U1", view, "Venue contract approved", "100-20", "_class_default", ""))
	body := url.Values{"payload": {string(raw)}}.Encode()
	h := sign(time.Now().Unix(), body) // one signed request, sent 10 times

	const copies = 10
	var wg sync.WaitGroup
	codes := make([]int, copies)
	for i := range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = e.send(t, "/slack/interactivity", body, h)
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("copy %d answered %d, want 200", i, c)
		}
	}
	e.waitFor(t, "chat.postEphemeral", "Filed as", 30*time.Second)
	waitNoPending(t, e.store)

	// A late copy, after the filing, still files nothing.
	if code, _ := e.send(t, "/slack/interactivity", body, h); code != http.StatusOK {
		t.Errorf("late copy answered %d, want 200", code)
	}
	e.settle(t) // a request, if the copy made one, is stored by then
	waitNoPending(t, e.store)
	records := countRecords(t, e.store)
	requests := countKeys(t, e.store, filing.RequestsPrefix+"done/")
	filingMsgs, repeatMsgs := 0, 0
	for _, c := range e.slack.Calls("chat.postEphemeral") {
		if strings.HasPrefix(c.Get("text"), "Filing *") {
			filingMsgs++
		}
		if strings.Contains(c.Get("text"), "already received") {
			repeatMsgs++
		}
	}
	t.Logf("1 signed submission sent %d+1 times: %d request, %d record, %d “Filing…”, %d “already received”", copies, requests, records, filingMsgs, repeatMsgs)
	if records != 1 || requests != 1 || filingMsgs != 1 || repeatMsgs != 0 {
		t.Errorf("%d copies of one submission made %d records, %d requests, %d “Filing…” and %d “already received” messages, want 1, 1, 1 and 0", copies+1, records, requests, filingMsgs, repeatMsgs)
	}
}

// lateFiler stores the request through the real service but answers as if
// the store had not answered in time, the first time.
type lateFiler struct {
	*filing.Service
	mu    sync.Mutex
	calls int
}

func (f *lateFiler) Submit(ctx context.Context, r filing.Request) (filing.Request, error) {
	f.mu.Lock()
	f.calls++
	first := f.calls == 1
	f.mu.Unlock()
	got, err := f.Service.Submit(context.Background(), r)
	if first && err == nil {
		return r, context.DeadlineExceeded
	}
	return got, err
}

// Issue 9, finding 6: the form said "nothing was filed, press File again"
// when the store answered late but had stored the request, and a second
// press made a duplicate. Now it says the request may have been stored and
// that pressing again cannot make a second one, which holds.
func TestSubmitAnsweredLate(t *testing.T) {
	t.Parallel()
	lf := &lateFiler{}
	e := newEnv(t, envOpts{filer: lf})
	lf.Service = e.service
	msg := map[string]any{"type": "message", "user": "U1", "ts": root, "text": "Budget"}
	e.interact(t, messageAction("U1", "C1", msg))
	view := e.lastView(t)
	sub := viewSubmission("U1", view, "Venue contract approved", "100-20", "_class_default", "")

	code, body := e.interact(t, sub)
	if code != http.StatusOK || !strings.Contains(body, `"response_action":"errors"`) {
		t.Fatalf("late submission answered %d %s, want errors in the form", code, body)
	}
	if strings.Contains(strings.ToLower(body), "nothing was filed") || !strings.Contains(body, "may or may not have been stored") || !strings.Contains(body, "cannot make a second record") {
		t.Errorf("late submission said %s, want “may or may not have been stored” and “cannot make a second record”", body)
	}
	// The person presses File again.
	code, body = e.interact(t, sub)
	if code != http.StatusOK || body != "" {
		t.Errorf("second press answered %d %q, want 200 and an empty body (the form closes)", code, body)
	}
	if n := countPending(t, e.store); n != 1 {
		t.Errorf("%d requests stored after a late answer and a second press, want 1", n)
	}
	// The first press told the person nothing but the late answer: the
	// second tells them the form was received, once.
	e.waitFor(t, "chat.postEphemeral", "This form was already received: *Venue contract approved* is filed only once", 3*time.Second)
	code, _ = e.interact(t, sub)
	if code != http.StatusOK {
		t.Errorf("third press answered %d, want 200", code)
	}
	e.settle(t) // what the person is told is posted before the handler ends
	told := 0
	for _, c := range e.slack.Calls("chat.postEphemeral") {
		if strings.Contains(c.Get("text"), "already received") {
			told++
		}
	}
	if told != 1 {
		t.Errorf("told %d times that the form was already received, want 1", told)
	}
}

// A title is the person's own text: in Slack's mrkdwn its &, < and > are
// escaped, so it cannot make a mention or a link
// (https://api.slack.com/reference/surfaces/formatting#escaping).
func TestTitleEscapedInMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	r := filing.Request{ID: "req-esc", Title: "Venue <!channel> & <https://evil.example|bank>",
		Reply: json.RawMessage(`{"team":"T1","channel":"C1","user":"U1","thread_ts":"` + root + `"}`)}
	e.app.Notify(context.Background(), filing.Outcome{Request: r, Err: errors.New("connection reset"), Final: true})
	got := e.waitFor(t, "chat.postEphemeral", "Could not file", time.Second).Get("text")
	want := "*Venue &lt;!channel&gt; &amp; &lt;https://evil.example|bank&gt;*"
	if !strings.Contains(got, want) {
		t.Errorf("Got(%q) = %q, want it to contain %q", r.Title, got, want)
	}
}

// Issue 9, finding 7: a signed payload with an empty user or team was
// accepted and queued. It is refused, and so is anything from a workspace
// outside SLACK_ALLOWED_TEAMS.
func TestRefusesNamelessAndForeignCallers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{allowed: []string{"T1"}})
	msg := map[string]any{"type": "message", "user": "U1", "ts": root, "text": "Budget"}
	e.interact(t, messageAction("U1", "C1", msg))
	view := e.lastView(t)

	good := viewSubmission("U1", view, "Venue", "100-20", "_class_default", "")
	noUser := viewSubmission("", view, "Venue", "100-20", "_class_default", "")
	noTeam := viewSubmission("U1", view, "Venue", "100-20", "_class_default", "")
	noTeam["team"] = nil
	noTeam["user"].(map[string]any)["team_id"] = ""
	foreign := viewSubmission("U1", view, "Venue", "100-20", "_class_default", "")
	foreign["team"] = map[string]any{"id": "T9", "domain": "evil"}
	foreign["user"].(map[string]any)["team_id"] = "T9"
	foreignShortcut := messageAction("U1", "C1", msg)
	foreignShortcut["team"] = map[string]any{"id": "T9", "domain": "evil"}
	foreignShortcut["user"].(map[string]any)["team_id"] = "T9"

	views := len(e.slack.Calls("views.open"))
	for name, p := range map[string]map[string]any{"no user": noUser, "no team": noTeam, "foreign workspace": foreign, "foreign shortcut": foreignShortcut} {
		code, body := e.interact(t, p)
		if code == http.StatusOK && body == "" {
			t.Errorf("%s: answered 200 and an empty body, want a refusal", name)
		}
	}
	e.settle(t)
	if n := countPending(t, e.store); n != 0 {
		t.Errorf("%d requests queued from nameless or foreign callers, want 0", n)
	}
	if n := len(e.slack.Calls("views.open")); n != views {
		t.Errorf("views.open called %d times for a foreign shortcut, want 0", n-views)
	}
	for name, form := range map[string]string{
		"no user": commandForm("", "https://acme.slack.com/archives/C1/p1700000000000100"),
		"foreign": strings.Replace(commandForm("U1", "https://acme.slack.com/archives/C1/p1700000000000100"), "team_id=T1", "team_id=T9", 1),
	} {
		code, body := e.post(t, "/slack/commands", form)
		if code == http.StatusOK && !strings.Contains(body, "does not serve") {
			t.Errorf("/record %s: answered %d %q, want a refusal", name, code, body)
		}
	}
	e.settle(t)
	if n := len(e.slack.Calls("views.open")); n != views {
		t.Errorf("views.open called %d times for refused commands, want 0", n-views)
	}
	// The allowed caller still files.
	if code, body := e.interact(t, good); code != http.StatusOK || body != "" {
		t.Errorf("allowed submission answered %d %q, want 200 and an empty body", code, body)
	}
	if n := countPending(t, e.store); n != 1 {
		t.Errorf("%d requests after the allowed submission, want 1", n)
	}
}

// OAuth installs into a workspace outside SLACK_ALLOWED_TEAMS are refused:
// nothing is stored and the token is given back.
func TestInstallIntoForeignWorkspaceRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{installs: true, allowed: []string{"T1", "E1"}})
	e.slack.ClientID, e.slack.ClientSecret, e.slack.Code = "cid", "csecret", "code-1"
	e.slack.InstallToken, e.slack.InstallTeam = "xoxb-foreign", "T7"
	jar := &cookieJar{}
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
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
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("install into T7 = %d, want 403", resp.StatusCode)
	}
	ctx := context.Background()
	if _, err := e.store.Stat(ctx, filing.InstallationsPrefix+"slack/T7.json"); !errors.Is(err, filing.ErrNotExist) {
		t.Errorf("installation of T7: Stat = %v, want ErrNotExist", err)
	}
	revoked := false
	for _, c := range e.slack.Calls("auth.revoke") {
		revoked = revoked || c.Token == "xoxb-foreign"
	}
	if !revoked {
		t.Error("the refused install's token was not revoked (auth.revoke)")
	}

	// An installation stored before T7 left the allow-list is not used.
	if err := e.installs.Save(ctx, slackbot.Installation{TeamID: "T7", BotUserID: "UBOT", BotToken: "xoxb-old"}); err != nil {
		t.Fatal(err)
	}
	if tok, err := e.app.Token(ctx, "T7"); !errors.Is(err, slackbot.ErrNotAllowed) {
		t.Errorf("Token(T7) = %q, %v, want ErrNotAllowed", tok, err)
	}
	// One of an allowed Enterprise Grid organisation is.
	if err := e.installs.Save(ctx, slackbot.Installation{TeamID: "T8", EnterpriseID: "E1", BotUserID: "UBOT", BotToken: "xoxb-grid"}); err != nil {
		t.Fatal(err)
	}
	if tok, err := e.app.Token(ctx, "T8"); err != nil || tok != "xoxb-grid" {
		t.Errorf("Token(T8 of E1) = %q, %v, want its token", tok, err)
	}
}

// Revoking a workspace's bot token (tokens_revoked) removes its
// installation, as app_uninstalled does.
func TestTokensRevokedRemovesInstallation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{installs: true, allowed: []string{"T1", "T2"}})
	ctx := context.Background()
	if err := e.installs.Save(ctx, slackbot.Installation{TeamID: "T2", BotUserID: "UBOT", BotToken: "xoxb-t2"}); err != nil {
		t.Fatal(err)
	}
	// A user token revoked: the installation stays.
	code, _ := e.post(t, "/slack/events", `{"token":"x","team_id":"T2","api_app_id":"A1","type":"event_callback","event_id":"Ev1","event_time":1700000000,"event":{"type":"tokens_revoked","tokens":{"oauth":["UADMIN"]},"event_ts":"1700000000.000100"}}`)
	if code != http.StatusOK {
		t.Fatalf("tokens_revoked answered %d", code)
	}
	e.settle(t) // the event is handled after its acknowledgement, in its handler
	if _, err := e.store.Stat(ctx, filing.InstallationsPrefix+"slack/T2.json"); err != nil {
		t.Fatalf("installation after a user token was revoked: %v, want it kept", err)
	}
	code, _ = e.post(t, "/slack/events", `{"token":"x","team_id":"T2","api_app_id":"A1","type":"event_callback","event_id":"Ev2","event_time":1700000000,"event":{"type":"tokens_revoked","tokens":{"bot":["UBOT"]},"event_ts":"1700000000.000200"}}`)
	if code != http.StatusOK {
		t.Fatalf("tokens_revoked answered %d", code)
	}
	e.settle(t)
	_, err := e.store.Stat(ctx, filing.InstallationsPrefix+"slack/T2.json")
	_, tokErr := e.app.Token(ctx, "T2")
	if !errors.Is(err, filing.ErrNotExist) {
		t.Errorf("installation after its bot token was revoked: Stat = %v, want ErrNotExist", err)
	}
	if !errors.Is(tokErr, slackbot.ErrNotInstalled) {
		t.Errorf("Token(T2) after tokens_revoked = %v, want ErrNotInstalled", tokErr)
	}
}

func countKeys(t testing.TB, st filing.Store, prefix string) int {
	t.Helper()
	n := 0
	for _, err := range st.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

func countRecords(t testing.TB, st filing.Store) int {
	t.Helper()
	n := 0
	for o, err := range st.List(context.Background(), filing.RecordsPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(o.Key, "/bagit.txt") {
			n++
		}
	}
	return n
}

// waitNoPending waits until no request is pending.
func waitNoPending(t testing.TB, st filing.Store) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for countPending(t, st) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("requests still pending after 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Issue 9: messages to chat users named the store's address (an S3 URL, a
// local path). They name the record by class path and id; errors not
// written for people are not passed on.
func TestMessagesNameNoStoreAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	r := filing.Request{ID: "019a1b2c-3d4e-7f00-8123-456789abcdef", Title: "Venue", Attempts: 1,
		Reply: json.RawMessage(`{"team":"T1","channel":"C1","user":"U1","thread_ts":"` + root + `"}`)}
	sum := &filing.Summary{ID: r.ID, Title: "Venue", ClassPath: "100 Administration > 100-20 Committees", Marking: "OFFICIAL",
		Where: "s3://records-bucket/records/100_Administration/2026/x_6789abcdef/", Key: "records/100_Administration/2026/x/", Messages: 3}
	storeErr := errors.New("write records/100_Administration/x/data/thread.json to s3://records-bucket (/var/lib/recordbot/records): connection reset")
	ctx := context.Background()
	e.app.Notify(ctx, filing.Outcome{Request: r, Record: sum, Final: true})
	e.app.Notify(ctx, filing.Outcome{Request: r, Err: storeErr})
	e.app.Notify(ctx, filing.Outcome{Request: r, Err: storeErr, Final: true})
	calls := e.slack.Calls("chat.postEphemeral")
	if len(calls) != 3 {
		t.Fatalf("%d messages, want 3", len(calls))
	}
	for _, c := range calls {
		txt := c.Get("text")
		for _, leak := range []string{"s3://", "records-bucket", "/var/lib", "records/100_Administration"} {
			if strings.Contains(txt, leak) {
				t.Errorf("message %q names %q", txt, leak)
			}
		}
	}
	if txt := calls[0].Get("text"); !strings.Contains(txt, "Filed as record *"+sum.Title+"*") ||
		!strings.Contains(txt, r.ID) || !strings.Contains(txt, "100-20 Committees") {
		t.Errorf("filed message = %q, want the title, the record id and the class path", txt)
	}
	if txt := calls[2].Get("text"); !strings.Contains(txt, "request id `"+r.ID+"`") {
		t.Errorf("failure message = %q, want the request id for the records team", txt)
	}
}

// Issue 9: a long Retry-After left the person hearing nothing for minutes.
// A non-final rate-limit outcome says when filing resumes.
func TestNotifyRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	r := filing.Request{ID: "req-rl", Title: "Venue", Attempts: 3,
		Reply: json.RawMessage(`{"team":"T1","channel":"C1","user":"U1","thread_ts":"` + root + `"}`)}
	err := fmt.Errorf("capture thread: %w", &capture.RateLimitError{Platform: capture.Slack, RetryAfter: 9*time.Minute + 10*time.Second})
	e.app.Notify(context.Background(), filing.Outcome{Request: r, Err: err})
	e.waitFor(t, "chat.postEphemeral", "Slack asked me to slow down: filing *Venue* goes on in about 10 minutes", time.Second)
}

// Issue 9: the bot read up to 1 MiB of a request before checking its
// signature. A request whose timestamp is stale or missing, whose
// signature is malformed, or whose declared length is over the endpoint's
// limit is now refused before a byte of its body is read: these requests
// send their headers and then nothing, and still get their answer.
func TestRefusedBeforeBodyIsRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	sig := "v0=" + strings.Repeat("ab", 32)
	now := time.Now().Unix()
	tests := []struct {
		name, path, ts, sig string
		length              int
		want                int
	}{
		{"stale timestamp", "/slack/interactivity", fmt.Sprint(now - 600), sig, 100_000, http.StatusUnauthorized},
		{"timestamp from the future", "/slack/commands", fmt.Sprint(now + 600), sig, 100_000, http.StatusUnauthorized},
		{"no timestamp", "/slack/interactivity", "", sig, 100_000, http.StatusUnauthorized},
		{"no signature", "/slack/events", fmt.Sprint(now), "", 100_000, http.StatusUnauthorized},
		{"malformed signature", "/slack/options", fmt.Sprint(now), "v0=xyz", 100_000, http.StatusUnauthorized},
		{"short signature", "/slack/options", fmt.Sprint(now), "v0=abcd", 100_000, http.StatusUnauthorized},
		{"command too large", "/slack/commands", fmt.Sprint(now), sig, 100_000, http.StatusRequestEntityTooLarge},
		{"interaction too large", "/slack/interactivity", fmt.Sprint(now), sig, 1 << 20, http.StatusRequestEntityTooLarge},
	}
	addr := strings.TrimPrefix(e.bot.URL, "http://")
	for _, tt := range tests {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		req := "POST " + tt.path + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
			"Content-Length: " + fmt.Sprint(tt.length) + "\r\n"
		if tt.ts != "" {
			req += "X-Slack-Request-Timestamp: " + tt.ts + "\r\n"
		}
		if tt.sig != "" {
			req += "X-Slack-Signature: " + tt.sig + "\r\n"
		}
		io.WriteString(conn, req+"\r\n") // and no body
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Errorf("%s: no answer without the body: %v", tt.name, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
	}
}

// An app its admin must fix (here a token Slack no longer takes): the
// person is told what to do, in capture/slack's advice, not the error
// chain the logs keep (Slack's answer, the method called).
func TestNotifyAppProblem(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	src, err := slackcap.New(slackcap.Options{
		Token:  func(context.Context, string) (string, error) { return "xoxb-revoked", nil },
		APIURL: e.slack.APIURL(),
		Limits: slackcap.Limits{Tier2: rate.Inf, Tier3: rate.Inf, Tier4: rate.Inf, Burst: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	ref := capture.Ref{Platform: capture.Slack, WorkspaceID: "T1", ChannelID: "C1", ThreadID: root}
	_, capErr := src.Capture(context.Background(), ref, capture.Person{ID: "U1"})
	if !errors.Is(capErr, capture.ErrAppNeedsAdmin) {
		t.Fatalf("Capture with a revoked token = %v, want ErrAppNeedsAdmin", capErr)
	}
	r := filing.Request{ID: "req-app", Title: "Venue",
		Reply: json.RawMessage(`{"team":"T1","channel":"C1","user":"U1","thread_ts":"` + root + `"}`)}
	e.app.Notify(context.Background(), filing.Outcome{Request: r, Err: fmt.Errorf("capture thread: %w", capErr), Final: true})
	got := e.waitFor(t, "chat.postEphemeral", "Could not file", time.Second).Get("text")
	want := "Could not file *Venue*: Slack no longer accepts recordbot's token for this workspace (invalid_auth): a workspace admin must reinstall the app. Nothing was filed."
	if got != want {
		t.Errorf("Got(%q) = %q, want %q", capErr, got, want)
	}
}
