package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/slack/slacktest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// s3Env is the environment of a bot on a fresh test bucket.
func s3Env(t *testing.T, o miniotest.Options) map[string]string {
	c := miniotest.Config(t)
	return map[string]string{
		"S3_ENDPOINT": "http://" + c.Endpoint, "S3_BUCKET": miniotest.NewBucket(t, o), "S3_REGION": c.Region,
		"S3_ACCESS_KEY": c.AccessKey, "S3_SECRET_KEY": c.SecretKey, "S3_PATH_STYLE": "on",
	}
}

// runCheck runs `bot check` with env and returns its output and exit code.
func runCheck(t *testing.T, env map[string]string) (string, int) {
	t.Helper()
	var out strings.Builder
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return env[k] }}
	err := m.Run(context.Background(), []string{"check"})
	code := 0
	if err != nil {
		code = exitCode(err)
	}
	return out.String(), code
}

func TestCheck(t *testing.T) {
	t.Parallel()
	slack := slacktest.New(t)
	lacking := slacktest.New(t)
	lacking.Scopes = []string{"chat:write", "commands"}
	for _, tt := range []struct {
		name     string
		env      func(t *testing.T) map[string]string
		wantCode int
		want     []string // lines that must appear
	}{
		{"locked bucket", func(t *testing.T) map[string]string { return s3Env(t, miniotest.Options{}) }, 0,
			[]string{"ok store", "ok object lock Object Lock GOVERNANCE, enforced", "all checks passed"}},
		// The canary is proven in the configured mode (it stays in the
		// test bucket for its two minutes of COMPLIANCE retention).
		{"locked bucket, COMPLIANCE", func(t *testing.T) map[string]string {
			env := s3Env(t, miniotest.Options{})
			env["RECORD_LOCK_MODE"] = "compliance"
			return env
		}, 0, []string{"ok object lock Object Lock COMPLIANCE, enforced", "all checks passed"}},
		{"bad lock mode", func(t *testing.T) map[string]string {
			env := s3Env(t, miniotest.Options{})
			env["RECORD_LOCK_MODE"] = "weak"
			return env
		}, 2, []string{"FAIL configuration", `RECORD_LOCK_MODE="WEAK": want GOVERNANCE or COMPLIANCE`}},
		{"unlocked bucket", func(t *testing.T) map[string]string { return s3Env(t, miniotest.Options{NoLock: true}) }, 1,
			[]string{"FAIL object lock", "Object Lock off", "--with-lock"}},
		{"unlocked bucket, override", func(t *testing.T) map[string]string {
			env := s3Env(t, miniotest.Options{NoLock: true})
			env["RECORDBOT_ALLOW_UNLOCKED"] = "true"
			return env
		}, 0, []string{"warn object lock", "NOT protected"}},
		{"wrong S3 secret", func(t *testing.T) map[string]string {
			env := s3Env(t, miniotest.Options{})
			env["S3_SECRET_KEY"] = "not-the-secret"
			return env
		}, 1, []string{"FAIL store", "check S3_ACCESS_KEY and S3_SECRET_KEY"}},
		{"bad secret key", func(t *testing.T) map[string]string {
			env := s3Env(t, miniotest.Options{})
			env["RECORDBOT_SECRET_KEY"] = "too-short"
			return env
		}, 1, []string{"FAIL secret key", "32 bytes"}},
		{"slack works", func(t *testing.T) map[string]string {
			env := s3Env(t, miniotest.Options{})
			env["SLACK_BOT_TOKEN"], env["SLACK_APP_TOKEN"], env["SLACK_API_URL"] = "xoxb-test", "xapp-test", slack.APIURL()
			return env
		}, 0, []string{`ok slack token workspace "Acme" (T1`, "as bot @recordbot", "ok slack scopes", "ok slack socket mode"}},
		{"bad slack token", func(t *testing.T) map[string]string {
			env := s3Env(t, miniotest.Options{})
			env["SLACK_BOT_TOKEN"], env["SLACK_APP_TOKEN"], env["SLACK_API_URL"] = "xoxb-revoked", "xapp-wrong", slack.APIURL()
			return env
		}, 1, []string{"FAIL slack token", "invalid_auth", "OAuth & Permissions", "FAIL slack socket mode"}},
		{"slack token lacks scopes", func(t *testing.T) map[string]string {
			env := s3Env(t, miniotest.Options{})
			env["SLACK_BOT_TOKEN"], env["SLACK_SIGNING_SECRET"], env["SLACK_API_URL"] = "xoxb-test", "s", lacking.APIURL()
			return env
		}, 1, []string{"FAIL slack scopes", "channels:history", "reinstall"}},
		{"unreachable mattermost", func(t *testing.T) map[string]string {
			env := s3Env(t, miniotest.Options{})
			env["MATTERMOST_URL"], env["PUBLIC_URL"] = "http://127.0.0.1:1", "https://rb.example.org"
			env["RECORDBOT_SECRET_KEY"] = strings.Repeat("00", 32)
			return env
		}, 1, []string{"FAIL mattermost server", "127.0.0.1:1 does not answer", "MATTERMOST_URL"}},
		{"bad configuration", func(t *testing.T) map[string]string {
			return map[string]string{"S3_ENDPOINT": "127.0.0.1:9", "S3_BUCKET": "b"}
		}, 2, []string{"FAIL configuration", "S3_USE_IAM"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, code := runCheck(t, tt.env(t))
			t.Logf("bot check (exit %d):\n%s", code, out)
			if code != tt.wantCode {
				t.Errorf("bot check exit = %d, want %d; output:\n%s", code, tt.wantCode, out)
			}
			words := strings.Join(strings.Fields(out), " ")
			for _, w := range tt.want {
				if !strings.Contains(words, w) {
					t.Errorf("bot check output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// serve refuses a bucket whose Object Lock is not enforced, unless the
// admin sets the override; then the banner and /readyz say so.
func TestServeRefusesUnlockedBucket(t *testing.T) {
	t.Parallel()
	env := s3Env(t, miniotest.Options{NoLock: true})
	env["LISTEN_ADDR"] = "127.0.0.1:0"
	m, _ := testMain(env)
	err := m.Run(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "RECORDBOT_ALLOW_UNLOCKED") || !strings.Contains(err.Error(), "Object Lock off") {
		t.Fatalf("serve on an unlocked bucket = %v, want a refusal naming the override", err)
	}

	env["RECORDBOT_ALLOW_UNLOCKED"] = "true"
	addr, banner, stop := startServe(t, env)
	defer stop()
	if !strings.Contains(banner, "NOT protected") {
		t.Errorf("banner does not say records are not protected:\n%s", banner)
	}
	code, body := get(t, "http://"+addr+"/readyz")
	if code != http.StatusOK || !strings.Contains(body, "ok   store") || !strings.Contains(body, "warn object lock: records are NOT protected") {
		t.Errorf("/readyz = %d %q, want 200 with the store ok and the warning", code, body)
	}
}

// /readyz fails when the store goes away; /healthz still answers.
func TestReadyzFollowsTheStore(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "records")
	clock := clockwork.NewFakeClock()
	addr, banner, stop := startServeWith(t, map[string]string{"LISTEN_ADDR": "127.0.0.1:0", "RECORDS_DIR": dir}, clock)
	defer stop()
	if !strings.Contains(banner, "no Object Lock") {
		t.Errorf("banner does not say the local store has no Object Lock:\n%s", banner)
	}
	if code, body := get(t, "http://"+addr+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d %q, want 200", code, body)
	}
	if err := removeAll(dir); err != nil {
		t.Fatal(err)
	}
	// Past the time /readyz keeps an answer for, it asks the store again.
	clock.Advance(readyCacheFor + time.Second)
	if code, body := get(t, "http://"+addr+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "FAIL store") {
		t.Errorf("/readyz with the store gone = %d %q, want 503 naming the store", code, body)
	}
	if code, _ := get(t, "http://"+addr+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200", code)
	}
}

// A filing through Slack (Socket Mode, the test Slack API) shows in
// /metrics, with no names or text in the labels.
func TestMetricsShowAFiling(t *testing.T) {
	t.Parallel()
	s := slacktest.New(t)
	s.AddUser(slacktest.User{ID: "U1", Name: "ada", RealName: "Ada Lovelace"})
	s.AddChannel(slacktest.Channel{ID: "C1", Name: "decisions", Kind: "channel", Members: []string{"U1", "UBOT"}, BotIn: true})
	const root = "1700000000.000100"
	s.AddMessages("C1", slacktest.Msg(root, root, "U1", "Approve the venue contract?", nil),
		slacktest.Msg("1700000100.000200", root, "U1", "Approved.", nil))
	env := map[string]string{
		"LISTEN_ADDR": "127.0.0.1:0", "RECORDS_DIR": filepath.Join(t.TempDir(), "records"),
		"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test", "SLACK_API_URL": s.APIURL(),
	}
	addr, banner, stop := startServe(t, env)
	defer stop()
	if !strings.Contains(banner, `Slack workspace: workspace "Acme" (T1`) {
		t.Errorf("banner does not name the Slack workspace:\n%s", banner)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !s.Connected() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msg := map[string]any{"type": "message", "user": "U1", "ts": root, "thread_ts": root, "text": "Approve the venue contract?"}
	if _, err := s.Send(ctx, "interactive", map[string]any{
		"type": "message_action", "callback_id": "file_as_record", "trigger_id": "1.2.3",
		"team": map[string]any{"id": "T1", "domain": "acme"}, "user": map[string]any{"id": "U1", "team_id": "T1"},
		"channel": map[string]any{"id": "C1"}, "message_ts": root, "message": msg,
	}); err != nil {
		t.Fatalf("send message_action: %v", err)
	}
	var view map[string]any
	for view == nil && ctx.Err() == nil {
		if calls := s.Calls("views.open"); len(calls) > 0 {
			json.Unmarshal([]byte(calls[0].Get("view")), &view)
		}
		time.Sleep(10 * time.Millisecond)
	}
	sel := func(v string) map[string]any {
		return map[string]any{"type": "static_select", "selected_option": map[string]any{"value": v, "text": map[string]any{"type": "plain_text", "text": v}}}
	}
	if _, err := s.Send(ctx, "interactive", map[string]any{
		"type": "view_submission", "trigger_id": "1.2.4",
		"team": map[string]any{"id": "T1"}, "user": map[string]any{"id": "U1", "team_id": "T1"},
		"view": map[string]any{"id": "V1", "team_id": "T1", "type": "modal", "hash": "1.a", "callback_id": view["callback_id"],
			"private_metadata": view["private_metadata"], "state": map[string]any{"values": map[string]any{
				"title":   map[string]any{"value": map[string]any{"type": "plain_text_input", "value": "Venue contract approved"}},
				"class":   map[string]any{"value": sel("100-20")},
				"marking": map[string]any{"value": sel("OFFICIAL")},
			}}},
	}); err != nil {
		t.Fatalf("send view_submission: %v", err)
	}
	want := []string{
		`recordbot_requests_total{platform="slack",result="accepted"} 1`,
		`recordbot_filings_total{outcome="filed",platform="slack",reason=""} 1`,
		`recordbot_filing_duration_seconds_count{platform="slack"} 1`,
		`recordbot_pending_requests 0`,
		`recordbot_platform_api_calls_total{platform="slack",status="ok"}`,
	}
	var body string
	for ctx.Err() == nil {
		_, body = get(t, "http://"+addr+"/metrics")
		if strings.Contains(body, want[1]) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %q", w)
		}
	}
	for _, secret := range []string{"Venue", "Approve", `"ada"`, "Ada", `"decisions"`, "xoxb", `"U1"`, `"C1"`} {
		if strings.Contains(body, secret) {
			t.Errorf("/metrics holds %q, a name, title or token", secret)
		}
	}
}

// startServe runs `bot serve` with env until stop; it returns the
// listening address and the banner.
func startServe(t *testing.T, env map[string]string) (addr, banner string, stop func()) {
	t.Helper()
	return startServeWith(t, env, nil)
}

// startServeWith is startServe on clock (the system's when nil).
func startServeWith(t *testing.T, env map[string]string, clock filing.Clock) (addr, banner string, stop func()) {
	t.Helper()
	m, errb := testMain(env)
	m.Clock = clock
	pr, pw := io.Pipe()
	m.Stdout = pw
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, nil); pw.Close() }()
	sc := bufio.NewScanner(pr)
	var lines []string
	for sc.Scan() { // the banner ends with the Mattermost line
		line := sc.Text()
		lines = append(lines, line)
		if rest, ok := strings.CutPrefix(line, "recordbot listening on "); ok {
			addr = strings.Fields(rest)[0]
		}
		if strings.HasPrefix(line, "Mattermost") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if addr == "" {
		cancel()
		t.Fatalf("serve did not start: %v\n%s\n%s", <-done, strings.Join(lines, "\n"), errb.String())
	}
	return addr, strings.Join(lines, "\n"), func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop within 10s")
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func removeAll(dir string) error {
	// Records are read-only; make them writable to remove them.
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

func TestVersionLine(t *testing.T) {
	t.Parallel()
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-11-24T04:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionLine(bi), "recordbot v1.2.3 (commit 0123456789ab, 2026-11-24T04:00:00Z, modified), go1.26.8"; got != want {
		t.Errorf("versionLine() = %q, want %q", got, want)
	}
	var out strings.Builder
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if err := m.Run(context.Background(), []string{"version"}); err != nil || !strings.HasPrefix(out.String(), "recordbot ") {
		t.Errorf("bot version = %q, %v; want a line starting with recordbot", out.String(), err)
	}
}

// The oldest pending request's age comes from when it was accepted, for
// keyed and unkeyed requests alike, not from the object's last write.
func TestMetricsOldestPendingAge(t *testing.T) {
	t.Parallel()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	submit := func(at time.Time, key string) {
		svc, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan(), Clock: clockwork.NewFakeClockAt(at)})
		if err != nil {
			t.Fatal(err)
		}
		r := filing.Request{RequestedBy: capture.Person{ID: "U1"}, Thread: capture.Ref{Platform: capture.Slack, WorkspaceID: "T1", ChannelID: "C1", ThreadID: "1.2"},
			Title: "Pending", ClassCode: "100-20", Marking: "OFFICIAL", Key: key}
		if _, err := svc.Submit(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	submit(now, "")                                 // named by a UUIDv7 of the real clock: now
	submit(now.Add(-3*time.Hour), "slack:T1:V1:h1") // written now, accepted 3 hours ago
	// The empty marker a done keyed request leaves is no pending request,
	// however old.
	marker := filing.RequestsPrefix + "pending/k-0000000000000000000000000000000000000000000000000000000000000000.json"
	if _, err := st.Put(context.Background(), marker, strings.NewReader(""), 0, filing.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(st.Where(marker), now.Add(-48*time.Hour), now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	m := newMetrics(st, func() time.Time { return now })
	rec := httptest.NewRecorder()
	m.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if !strings.Contains(body, "recordbot_pending_requests 2\n") {
		t.Errorf("/metrics lacks recordbot_pending_requests 2")
	}
	var age float64
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, "recordbot_oldest_pending_request_age_seconds "); ok {
			age, _ = strconv.ParseFloat(v, 64)
		}
	}
	if age < 10798 || age > 10802 {
		t.Errorf("oldest pending age = %v s, want 10800 (3 hours)", age)
	}
}
