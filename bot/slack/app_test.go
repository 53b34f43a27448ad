package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	slackbot "github.com/recordbot/recordbot/bot/slack"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/bagcheck"
)

// Slack's published signing example (RECORDS.md).
func TestVerify(t *testing.T) {
	t.Parallel()
	const body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	const sig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	at := time.Unix(1531420618, 0)
	hdr := func(ts, s string) http.Header {
		h := http.Header{}
		if ts != "" {
			h.Set("X-Slack-Request-Timestamp", ts)
		}
		if s != "" {
			h.Set("X-Slack-Signature", s)
		}
		return h
	}
	tests := []struct {
		name   string
		secret string
		header http.Header
		body   string
		now    time.Time
		want   error
	}{
		{"slack's example", "8f742231b10e8888abcd99yyyzzz85a5", hdr("1531420618", sig), body, at, nil},
		{"4 minutes later", "8f742231b10e8888abcd99yyyzzz85a5", hdr("1531420618", sig), body, at.Add(4 * time.Minute), nil},
		{"over 5 minutes old", "8f742231b10e8888abcd99yyyzzz85a5", hdr("1531420618", sig), body, at.Add(5*time.Minute + time.Second), slackbot.ErrStale},
		{"from the future", "8f742231b10e8888abcd99yyyzzz85a5", hdr("1531420618", sig), body, at.Add(-6 * time.Minute), slackbot.ErrStale},
		{"body changed", "8f742231b10e8888abcd99yyyzzz85a5", hdr("1531420618", sig), body + "&x=1", at, slackbot.ErrBadSignature},
		{"other secret", "another-secret", hdr("1531420618", sig), body, at, slackbot.ErrBadSignature},
		{"timestamp changed", "8f742231b10e8888abcd99yyyzzz85a5", hdr("1531420619", sig), body, at, slackbot.ErrBadSignature},
		{"no signature", "8f742231b10e8888abcd99yyyzzz85a5", hdr("1531420618", ""), body, at, slackbot.ErrBadSignature},
		{"no timestamp", "8f742231b10e8888abcd99yyyzzz85a5", hdr("", sig), body, at, slackbot.ErrBadSignature},
		{"not hex", "8f742231b10e8888abcd99yyyzzz85a5", hdr("1531420618", "v0=zz"), body, at, slackbot.ErrBadSignature},
	}
	for _, tt := range tests {
		err := slackbot.Verify(tt.secret, tt.header, []byte(tt.body), tt.now)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: Verify = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestParseLink(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in               string
		channel, ts, thr string
		ok               bool
	}{
		{"https://acme.slack.com/archives/C0123ABC/p1700000000000100", "C0123ABC", "1700000000.000100", "", true},
		{"https://acme.slack.com/archives/C0123ABC/p1700000100000200?thread_ts=1700000000.000100&cid=C0123ABC", "C0123ABC", "1700000100.000200", "1700000000.000100", true},
		{"<https://acme.slack.com/archives/C0123ABC/p1700000100000200?thread_ts=1700000000.000100&amp;cid=C0123ABC>", "C0123ABC", "1700000100.000200", "1700000000.000100", true},
		{"<https://acme.slack.com/archives/G0123ABC/p1700000000000100|link>", "G0123ABC", "1700000000.000100", "", true},
		{"https://acme.enterprise.slack.com/archives/D0123ABC/p1700000000000100", "D0123ABC", "1700000000.000100", "", true},
		{"https://app.slack.com/client/T0123/C0123ABC/thread/C0123ABC-1700000000.000100", "C0123ABC", "1700000000.000100", "1700000000.000100", true},
		{"https://app.slack.com/client/T0123/C0123ABC/p1700000000000100", "C0123ABC", "1700000000.000100", "", true},
		{"https://acme.slack.com/archives/C0123ABC", "", "", "", false},
		{"https://example.org/archives/C0123ABC/p1700000000000100", "", "", "", false},
		{"https://acme.slack.com/archives/C0123ABC/p1700000000000100?thread_ts=evil", "", "", "", false},
		{"https://acme.slack.com/archives/C0123ABC/p1700000000000100?cid=C999", "", "", "", false},
		{"not a link", "", "", "", false},
		{"javascript:alert(1)", "", "", "", false},
	}
	for _, tt := range tests {
		l, err := slackbot.ParseLink(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseLink(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && (l.Channel != tt.channel || l.TS != tt.ts || l.ThreadTS != tt.thr) {
			t.Errorf("ParseLink(%q) = %+v, want channel %q ts %q thread %q", tt.in, l, tt.channel, tt.ts, tt.thr)
		}
	}
}

// The whole path: a signed message shortcut on a reply opens the modal,
// the class picker answers, bad input is refused inline, a good submission
// is stored and filed by the worker into MinIO as a valid bag with every
// message and file, and the person is told where.
func TestShortcutFilesRecord(t *testing.T) {
	t.Parallel()
	hold := &holdViews{release: make(chan struct{})}
	e := newEnv(t, envOpts{receipt: true, transport: hold})
	e.run(t)

	// The shortcut on a reply: it is acknowledged before the modal opens
	// (views.open is held up until the acknowledgement has come).
	msg := map[string]any{"type": "message", "user": "U2", "ts": reply1, "thread_ts": root, "text": "Yes. Minutes and chart attached."}
	code, body := e.interact(t, messageAction("U1", "C1", msg))
	close(hold.release)
	if code != http.StatusOK || body != "" {
		t.Fatalf("message_action answered %d %q, want 200 and an empty body", code, body)
	}
	view := e.lastView(t)
	if view["callback_id"] != "record_modal" || view["type"] != "modal" {
		t.Fatalf("opened view = %v, want the record modal", view)
	}
	if title, _ := inputInitial(view, "title"); title != "Budget 2026: approve the venue contract? @here" {
		t.Errorf("modal title = %q, want it prefilled from the root message", title)
	}
	if got := e.slack.Calls("views.open")[0].Get("trigger_id"); got != "13345224609.738474920.8088930838d88f008e0" {
		t.Errorf("views.open trigger_id = %q", got)
	}

	// The class picker's type-ahead.
	code, body = e.post(t, "/slack/options", url.Values{"payload": {`{"type":"block_suggestion","team":{"id":"T1"},"user":{"id":"U1"},"block_id":"class","action_id":"value","value":"committ","view":{"id":"V1","callback_id":"record_modal"}}`}}.Encode())
	var opts struct {
		Options []struct {
			Text  struct{ Text string } `json:"text"`
			Value string                `json:"value"`
		} `json:"options"`
	}
	if err := json.Unmarshal([]byte(body), &opts); code != http.StatusOK || err != nil || len(opts.Options) != 1 || opts.Options[0].Value != "100-20" {
		t.Fatalf("block_suggestion %q answered %d %s, want one option 100-20", "committ", code, body)
	}

	// Bad input: no class, a marking the class does not allow.
	code, body = e.interact(t, viewSubmission("U1", view, "", "", "", ""))
	if code != http.StatusOK || !strings.Contains(body, `"response_action":"errors"`) || !strings.Contains(body, `"title"`) || !strings.Contains(body, `"class"`) {
		t.Fatalf("bad view_submission answered %d %s, want errors on title and class", code, body)
	}
	if n := countPending(t, e.store); n != 0 {
		t.Fatalf("%d requests stored after bad input, want 0", n)
	}

	// Good input.
	code, body = e.interact(t, viewSubmission("U1", view, "Venue contract approved", "100-20", "_class_default", "Approved by the committee."))
	if code != http.StatusOK || body != "" {
		t.Fatalf("view_submission answered %d %q, want 200 and an empty body (modal closes)", code, body)
	}
	filingMsg := e.waitFor(t, "chat.postEphemeral", "Filing *Venue contract approved* under 100 Administration > 100-20", 5*time.Second)
	if filingMsg.Get("user") != "U1" || filingMsg.Get("channel") != "C1" || filingMsg.Get("thread_ts") != root {
		t.Errorf("Filing… went to user %q channel %q thread %q, want U1 in C1 thread %s", filingMsg.Get("user"), filingMsg.Get("channel"), filingMsg.Get("thread_ts"), root)
	}
	filed := e.waitFor(t, "chat.postEphemeral", "Filed as", 30*time.Second)
	if txt := filed.Get("text"); !strings.Contains(txt, "100-20 Committees") || !strings.Contains(txt, "Record id: ") || strings.Contains(txt, "s3://") {
		t.Errorf("outcome message = %q, want the class path and record id, not the store's address", txt)
	}
	e.waitFor(t, "chat.postMessage", "filed this thread as record", 5*time.Second)

	// The record is a valid bag with every message and file.
	prefix := recordPrefix(t, e.store)
	bag, err := bagcheck.Check(context.Background(), e.store, prefix)
	if err != nil {
		t.Fatalf("bagcheck.Check(%s): %v", prefix, err)
	}
	var files int
	for p := range bag.Payload {
		if strings.HasPrefix(p, "data/files/") {
			files++
		}
	}
	if files != 2 {
		t.Errorf("bag has %d files, want 2: %v", files, bag.Payload)
	}
	rc, _, err := e.store.Open(context.Background(), prefix+filing.ThreadFile)
	if err != nil {
		t.Fatal(err)
	}
	var th capture.Thread
	json.NewDecoder(rc).Decode(&th)
	rc.Close()
	if len(th.Messages) != 3 || th.ThreadID != root || th.Channel.Name != "decisions" || th.Messages[2].ReadableText != "Approved. Thanks @Bob Bobson." {
		t.Errorf("thread.json = %d messages, thread %q, channel %q; want 3 messages of %s in #decisions with names rendered", len(th.Messages), th.ThreadID, th.Channel.Name, root)
	}
}

// countPending counts the requests waiting to be filed (not the empty
// markers done keyed requests leave).
func countPending(t testing.TB, st filing.Store) int {
	n := 0
	for info, err := range st.List(context.Background(), filing.RequestsPrefix+"pending/") {
		if err != nil {
			t.Fatal(err)
		}
		if info.Size > 0 {
			n++
		}
	}
	return n
}

// recordPrefix finds the one record package in st.
func recordPrefix(t testing.TB, st filing.Store) string {
	t.Helper()
	var found []string
	for o, err := range st.List(context.Background(), filing.RecordsPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(o.Key, "/bagit.txt") {
			found = append(found, strings.TrimSuffix(o.Key, "bagit.txt"))
		}
	}
	if len(found) != 1 {
		t.Fatalf("found %d records, want 1: %v", len(found), found)
	}
	return found[0]
}

func TestRecordCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	cmd := func(text string) url.Values {
		return url.Values{"token": {"x"}, "team_id": {"T1"}, "team_domain": {"acme"}, "channel_id": {"C1"}, "channel_name": {"decisions"},
			"user_id": {"U1"}, "user_name": {"ada"}, "command": {"/record"}, "text": {text},
			"response_url": {"https://hooks.slack.com/commands/T1/1/x"}, "trigger_id": {"99.88.77"}}
	}
	tests := []struct {
		text     string
		reply    string // in the immediate answer; "" for none
		title    string // the modal's title; "" when no modal
		root     string
		viewOpen bool
	}{
		{"", "File as record", "", "", false},
		{"help", "Copy link", "", "", false},
		{"nonsense", "not a link", "", "", false},
		{"https://other.slack.com/archives/C1/p1700000000000100", "another workspace", "", "", false},
		{"https://acme.slack.com/archives/C1/p1700000100000200?thread_ts=1700000000.000100&cid=C1 Venue decision", "", "Venue decision", root, true},
		{"<https://acme.slack.com/archives/C1/p1700000000000100>", "", "Budget 2026: approve the venue contract? @here", root, true},
	}
	for _, tt := range tests {
		before := len(e.slack.Calls("views.open"))
		code, body := e.post(t, "/slack/commands", cmd(tt.text).Encode())
		if code != http.StatusOK {
			t.Errorf("/record %q answered %d", tt.text, code)
			continue
		}
		if tt.reply != "" && (!strings.Contains(body, tt.reply) || !strings.Contains(body, `"ephemeral"`)) {
			t.Errorf("/record %q answered %q, want an ephemeral saying %q", tt.text, body, tt.reply)
		}
		opened := false
		if tt.viewOpen {
			opened = e.waitViews(before)
		} else {
			e.settle(t) // a modal is opened before the handler ends
			opened = len(e.slack.Calls("views.open")) > before
		}
		if opened != tt.viewOpen {
			t.Errorf("/record %q opened a modal: %v, want %v", tt.text, opened, tt.viewOpen)
			continue
		}
		if opened {
			v := e.lastView(t)
			title, _ := inputInitial(v, "title")
			var meta struct{ R, C string }
			json.Unmarshal([]byte(v["private_metadata"].(string)), &meta)
			if title != tt.title || meta.R != tt.root || meta.C != "C1" {
				t.Errorf("/record %q: modal title %q thread %q/%q, want %q thread C1/%q", tt.text, title, meta.C, meta.R, tt.title, tt.root)
			}
		}
	}
}

func TestRefusedRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	body := url.Values{"payload": {`{"type":"block_suggestion","team":{"id":"T1"},"user":{"id":"U1"},"value":"x"}`}}.Encode()
	tests := []struct {
		name   string
		header http.Header
		body   string
		want   int
	}{
		{"unsigned", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, body, http.StatusUnauthorized},
		{"stale", sign(time.Now().Add(-6*time.Minute).Unix(), body), body, http.StatusUnauthorized},
		{"signed for another body", sign(time.Now().Unix(), body+"x"), body, http.StatusUnauthorized},
		{"too large", sign(time.Now().Unix(), strings.Repeat("a", 2<<20)), strings.Repeat("a", 2<<20), http.StatusRequestEntityTooLarge},
		{"good", sign(time.Now().Unix(), body), body, http.StatusOK},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodPost, e.bot.URL+"/slack/interactivity", strings.NewReader(tt.body))
		req.Header = tt.header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
	}
}

func TestNotifyFailureAndFallback(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	r := filing.Request{ID: "req-1", Title: "Venue", Thread: capture.Ref{Platform: capture.Slack, WorkspaceID: "T1", ChannelID: "C1", ThreadID: root},
		Reply: json.RawMessage(`{"team":"T1","channel":"C1","user":"U1","thread_ts":"` + root + `"}`)}
	e.app.Notify(context.Background(), filing.Outcome{Request: r, Err: fmt.Errorf("capture thread: invite @recordbot to #decisions first: %w", capture.ErrBotNotInChannel), Final: true})
	e.waitFor(t, "chat.postEphemeral", "Could not file *Venue*: I am not in that channel: add me with `/invite @recordbot`", time.Second)

	// The person has left the channel: the message comes as a DM.
	r.Reply = json.RawMessage(`{"team":"T1","channel":"C1","user":"U7","thread_ts":"` + root + `"}`)
	e.app.Notify(context.Background(), filing.Outcome{Request: r, Record: &filing.Summary{ID: "rec-1", ClassPath: "100 A > 100-20 B", Messages: 3, Files: 1}, Final: true})
	dm := e.waitFor(t, "chat.postMessage", "Record id: `rec-1`", time.Second)
	if dm.Get("channel") != "U7" {
		t.Errorf("fallback went to %q, want a DM to U7", dm.Get("channel"))
	}
}

func TestEventsAndInstall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{installs: true})
	e.slack.ClientID, e.slack.ClientSecret, e.slack.Code = "cid", "csecret", "code-1"
	e.slack.InstallToken, e.slack.InstallTeam = "xoxb-installed", "T2"
	ctx := context.Background()

	// URL verification.
	code, body := e.post(t, "/slack/events", `{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	if code != http.StatusOK || body != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("url_verification answered %d %q", code, body)
	}

	// Not installed yet.
	if _, err := e.app.Token(ctx, "T2"); !errors.Is(err, slackbot.ErrNotInstalled) {
		t.Fatalf("Token(T2) before install = %v, want ErrNotInstalled", err)
	}

	jar := &cookieJar{}
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(e.bot.URL + "/slack/install")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("client_id") != "cid" || !strings.Contains(loc.Query().Get("scope"), "channels:history") {
		t.Fatalf("/slack/install = %d to %s, want a redirect to Slack's consent page", resp.StatusCode, loc)
	}
	state := loc.Query().Get("state")

	// A callback with another state, or from another browser, is refused.
	for name, c := range map[string]*http.Client{"bad state": client, "no cookie": http.DefaultClient} {
		st := state
		if name == "bad state" {
			st = state + "x"
		}
		resp, err := c.Get(e.bot.URL + "/slack/oauth/callback?code=code-1&state=" + url.QueryEscape(st))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: callback = %d, want 400", name, resp.StatusCode)
		}
	}
	resp, err = client.Get(e.bot.URL + "/slack/oauth/callback?code=code-1&state=" + url.QueryEscape(state))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback = %d %s, want 200", resp.StatusCode, page)
	}
	if tok, err := e.app.Token(ctx, "T2"); err != nil || tok != "xoxb-installed" {
		t.Fatalf("Token(T2) after install = %q, %v, want the installed token", tok, err)
	}
	rc, _, err := e.store.Open(ctx, filing.InstallationsPrefix+"slack/T2.json")
	if err != nil {
		t.Fatalf("installation not stored: %v", err)
	}
	stored, _ := io.ReadAll(rc)
	rc.Close()
	if strings.Contains(string(stored), "xoxb-installed") || !strings.Contains(string(stored), `"installed_by": "UADMIN"`) {
		t.Errorf("stored installation = %s, want the token sealed and who installed it", stored)
	}

	// Uninstall removes it. Slack ends the app's tokens in the
	// workspace, then sends app_uninstalled.
	e.slack.Uninstall("T2")
	code, _ = e.post(t, "/slack/events", `{"token":"x","team_id":"T2","api_app_id":"A1","type":"event_callback","event_id":"Ev1","event_time":1700000000,"event":{"type":"app_uninstalled","event_ts":"1700000000.000100"}}`)
	if code != http.StatusOK {
		t.Fatalf("app_uninstalled answered %d", code)
	}
	// The removal follows the acknowledgement.
	e.settle(t)
	_, statErr := e.store.Stat(ctx, filing.InstallationsPrefix+"slack/T2.json")
	_, tokErr := e.app.Token(ctx, "T2")
	if err := statErr; !errors.Is(err, filing.ErrNotExist) {
		t.Errorf("installation after app_uninstalled: Stat = %v, want ErrNotExist", err)
	}
	if !errors.Is(tokErr, slackbot.ErrNotInstalled) {
		t.Errorf("Token(T2) after uninstall = %v, want ErrNotInstalled", tokErr)
	}
}

// cookieJar keeps the cookies of the bot's server for one test browser.
type cookieJar struct{ c []*http.Cookie }

func (j *cookieJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	for _, c := range cookies {
		if c.MaxAge < 0 {
			j.c = nil
			continue
		}
		j.c = append(j.c, c)
	}
}
func (j *cookieJar) Cookies(u *url.URL) []*http.Cookie { return j.c }

// holdViews holds up views.open until release is closed.
type holdViews struct{ release chan struct{} }

func (h *holdViews) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/views.open") {
		select {
		case <-h.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// holdReads holds up the capture source's calls until release is closed
// (or the caller gives up).
type holdReads struct{ release chan struct{} }

func (h *holdReads) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/api/") {
		select {
		case <-h.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// Slack's trigger expires after 3 seconds: a membership check that has
// not finished within three fifths of the window opens the form without
// a suggested title (the worker checks again before it reads anything),
// rather than not at all.
func TestSlowCheckOpensFormWithoutTitle(t *testing.T) {
	t.Parallel()
	hold := &holdReads{release: make(chan struct{})}
	defer close(hold.release)
	e := newEnv(t, envOpts{sourceTransport: hold, window: 5 * time.Second})
	msg := map[string]any{"type": "message", "user": "U2", "ts": reply1, "thread_ts": root, "text": "Yes. Minutes and chart attached."}
	if code, _ := e.interact(t, messageAction("U1", "C1", msg)); code != http.StatusOK {
		t.Fatalf("message_action answered %d", code)
	}
	view := e.lastView(t)
	if title, _ := inputInitial(view, "title"); title != "" {
		t.Errorf("modal title = %q, want none (the check did not finish)", title)
	}
	if n := threadReads(e.slack, "C1"); n != 0 {
		t.Errorf("%d calls read the thread before the check finished, want 0", n)
	}
}
