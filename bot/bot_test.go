package bot_test

import (
	"context"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // base64 of 32 bytes

func TestVault(t *testing.T) {
	t.Parallel()
	v, err := bot.NewVault(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed := v.Seal("xoxb-secret-token", "slack:T1:bot")
	if strings.Contains(sealed, "xoxb") {
		t.Fatalf("Seal() = %q shows the secret", sealed)
	}
	if got, err := v.Open(sealed, "slack:T1:bot"); err != nil || got != "xoxb-secret-token" {
		t.Errorf("Open() = %q, %v; want the secret", got, err)
	}
	if _, err := v.Open(sealed, "slack:T2:bot"); err == nil {
		t.Errorf("Open() with another label succeeded; a sealed token must not move between installations")
	}
	other, _ := bot.NewVault(strings.Repeat("ab", 32))
	if _, err := other.Open(sealed, "slack:T1:bot"); err == nil {
		t.Errorf("Open() with another key succeeded")
	}
	tampered := sealed[:len(sealed)-4] + "AAAA"
	if _, err := v.Open(tampered, "slack:T1:bot"); err == nil {
		t.Errorf("Open() of a tampered value succeeded")
	}
	for _, bad := range []string{"", "short", "!!!!"} {
		if _, err := bot.NewVault(bad); err == nil {
			t.Errorf("NewVault(%q) = nil error, want one", bad)
		}
	}
}

type recorder struct{ got []string }

func (r *recorder) Notify(ctx context.Context, o filing.Outcome) { r.got = append(r.got, o.Request.ID) }

func TestNotifiersRoute(t *testing.T) {
	t.Parallel()
	s, m := &recorder{}, &recorder{}
	n := &bot.Notifiers{ByPlatform: map[capture.Platform]filing.Notifier{capture.Slack: s, capture.Mattermost: m}}
	n.Notify(context.Background(), filing.Outcome{Request: filing.Request{ID: "r1", Thread: capture.Ref{Platform: capture.Mattermost}}})
	n.Notify(context.Background(), filing.Outcome{Request: filing.Request{ID: "r2", Thread: capture.Ref{Platform: capture.Slack}}})
	n.Notify(context.Background(), filing.Outcome{Request: filing.Request{ID: "r3", Thread: capture.Ref{Platform: "teams"}}})
	// An export sent in Slack goes back to Slack, though its platform
	// is WhatsApp.
	n.ByVia = map[string]filing.Notifier{"slack whatsapp upload": s}
	n.Notify(context.Background(), filing.Outcome{Request: filing.Request{ID: "r4", Via: "slack whatsapp upload", Thread: capture.Ref{Platform: capture.WhatsApp}}})
	if strings.Join(m.got, ",") != "r1" || strings.Join(s.got, ",") != "r2,r4" {
		t.Errorf("routed: mattermost %v, slack %v; want [r1] and [r2 r4]", m.got, s.got)
	}
}
