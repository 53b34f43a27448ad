package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/capture/slack/slacktest"
)

// `bot check` with a bad file plan fails the plan, names the line and the
// field in words, and does not go on to pass the sample plan instead.
func TestCheckBadFilePlan(t *testing.T) {
	t.Parallel()
	plan := filepath.Join(t.TempDir(), "plan.yml")
	if err := os.WriteFile(plan, []byte("markings: [OFFICIAL]\nclasses:\n  - code: \"1\"\n    titel: A\n    retention: {period: 1y, action: destroy}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := runCheck(t, map[string]string{"RECORDS_DIR": t.TempDir(), "FILE_PLAN": plan})
	words := strings.Join(strings.Fields(out), " ")
	if code != 1 || !strings.Contains(words, "FAIL file plan") || !strings.Contains(words, `line 4: unknown field "titel"`) {
		t.Errorf("bot check with a misspelt field: exit %d, output:\n%s\nwant exit 1 and FAIL file plan naming line 4 and the field", code, out)
	}
	for _, no := range []string{"ok file plan", "filing.", "yamlClass"} {
		if strings.Contains(words, no) {
			t.Errorf("bot check with a bad plan says %q:\n%s", no, out)
		}
	}
}

// `bot check` fails a PUBLIC_URL that is not HTTPS when Slack must reach
// the bot through it (HTTP mode), as the README says.
func TestCheckSlackHTTPModeNeedsHTTPS(t *testing.T) {
	t.Parallel()
	slack := slacktest.New(t)
	for _, tt := range []struct {
		name, url, want string
	}{
		{"plain http", "http://rb.example.org", "FAIL public url PUBLIC_URL http://rb.example.org is not HTTPS"},
		{"unset", "", "FAIL public url PUBLIC_URL is not set"},
		{"https", "https://rb.example.org", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"RECORDS_DIR": t.TempDir(), "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s",
				"SLACK_API_URL": slack.APIURL(), "PUBLIC_URL": tt.url}
			out, code := runCheck(t, env)
			words := strings.Join(strings.Fields(out), " ")
			if tt.want == "" {
				if strings.Contains(words, "public url") || code != 0 {
					t.Errorf("bot check with PUBLIC_URL %q: exit %d, output:\n%s\nwant no complaint about it", tt.url, code, out)
				}
				return
			}
			if code != 1 || !strings.Contains(words, tt.want) {
				t.Errorf("bot check with PUBLIC_URL %q: exit %d, output:\n%s\nwant exit 1 and %q", tt.url, code, out, tt.want)
			}
		})
	}
}

// `bot check` proves that a local store can be written or created, as
// `bot serve` will need, rather than promise that serve creates it.
func TestCheckLocalStoreWritable(t *testing.T) {
	t.Parallel()
	out, code := runCheck(t, map[string]string{"RECORDS_DIR": "/proc/recordbot-check/records"})
	words := strings.Join(strings.Fields(out), " ")
	if code != 1 || !strings.Contains(words, "FAIL store local directory /proc/recordbot-check/records does not exist, and `bot serve` could not create it") ||
		!strings.Contains(words, "cannot create anything in /proc") || strings.Contains(words, "serve creates it") {
		t.Errorf("bot check with a store that cannot be created: exit %d, output:\n%s\nwant exit 1 and FAIL store saying why", code, out)
	}
	dir := filepath.Join(t.TempDir(), "records")
	out, code = runCheck(t, map[string]string{"RECORDS_DIR": dir})
	if code != 0 || !strings.Contains(strings.Join(strings.Fields(out), " "), "does not exist yet; `bot serve` creates it") {
		t.Errorf("bot check with a store that can be created: exit %d, output:\n%s", code, out)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 0 {
		t.Errorf("bot check left %v behind", entries)
	}
}
