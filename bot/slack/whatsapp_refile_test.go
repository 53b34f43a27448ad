package slack_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	slackbot "github.com/recordbot/recordbot/bot/slack"
	"github.com/recordbot/recordbot/capture/slack/slacktest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/intaketest"
)

// The same export filed again under another class (intaketest.Refile,
// the same case as Mattermost's) through the Messages tab and the modal.
func TestWhatsAppRefiledUnderAnotherClass(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.slack.AddUser(slacktest.User{ID: "U4", Name: "dee", RealName: "Dee Dee", TZ: "Europe/London"})
	e.run(t)
	intaketest.Refile(t, &slackDM{e: e})
}

// slackDM is intaketest.DM on the fake Slack, as U4.
type slackDM struct {
	e      *env
	sent   int      // files sent, each offered
	values []string // the last offer's buttons
	after  int      // calls to Slack before the last File
}

func (d *slackDM) Store() filing.Store { return d.e.store }

func (d *slackDM) Send(t *testing.T, name string, data []byte) string {
	t.Helper()
	d.e.sendFile(t, "U4", fmt.Sprintf("FR%02d", d.sent), name, "application/zip", data)
	d.values = d.e.offerButtons(t, d.sent)
	d.sent++
	seen := 0
	for _, c := range d.e.slack.Calls("chat.postMessage") {
		if c.Get("channel") == "D9" && strings.Contains(c.Get("blocks"), slackbot.ExportActionID) {
			if seen++; seen == d.sent {
				return c.Get("blocks")
			}
		}
	}
	t.Fatalf("offer %d not found", d.sent)
	return ""
}

func (d *slackDM) File(t *testing.T, title, class string) {
	t.Helper()
	views := len(d.e.slack.Calls("views.open"))
	d.e.interact(t, pressExport("U4", d.values[0]))
	if !d.e.waitViews(views) {
		t.Fatal("the button opened no modal")
	}
	sub := viewSubmission("U4", d.e.lastView(t), title, class, "_class_default", "")
	sub["view"].(map[string]any)["id"] = fmt.Sprintf("VR%02d", d.sent)
	d.after = len(d.e.slack.Calls(""))
	if code, body := d.e.interact(t, sub); code != 200 || body != "" {
		t.Fatalf("submit = %d %q, want 200 and an empty body", code, body)
	}
}

func (d *slackDM) Told(t *testing.T, any ...string) string {
	t.Helper()
	deadline := time.Now().Add(patience)
	for time.Now().Before(deadline) {
		calls := d.e.slack.Calls("")
		for _, c := range calls[min(d.after, len(calls)):] {
			if (c.Method == "chat.postMessage" || c.Method == "chat.postEphemeral") && (c.Get("user") == "U4" || c.Get("channel") == "U4") {
				for _, want := range any {
					if strings.Contains(c.Get("text"), want) {
						return c.Get("text")
					}
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("U4 was told none of %q after filing", any)
	return ""
}
