package slack_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The same path through Socket Mode: the real slack-go socketmode client
// connects to the fake Slack's websocket, and the envelopes' acks carry the
// handlers' answers.
func TestSocketModeFilesRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
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
	deadline := time.Now().Add(patience)
	for !e.slack.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("the socket mode client did not connect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Each envelope gets its own time to be answered. (One 10-second
	// context for them all made the test flaky: the last envelope is sent
	// after the record is filed, which on a loaded machine took longer
	// than what was left of it, and failed with "context deadline
	// exceeded".)
	send := func(typ string, payload any) ([]byte, error) {
		sctx, scancel := context.WithTimeout(ctx, patience)
		defer scancel()
		return e.slack.Send(sctx, typ, payload)
	}

	msg := map[string]any{"type": "message", "user": "U1", "ts": root, "thread_ts": root, "text": "Budget 2026: approve the venue contract?"}
	if _, err := send("interactive", messageAction("U1", "C1", msg)); err != nil {
		t.Fatalf("send message_action: %v", err)
	}
	view := e.lastView(t)
	if title, _ := inputInitial(view, "title"); title != "Budget 2026: approve the venue contract?" {
		t.Errorf("modal title = %q", title)
	}

	ackp, err := send("interactive", map[string]any{"type": "block_suggestion", "team": map[string]any{"id": "T1"},
		"user": map[string]any{"id": "U1"}, "block_id": "class", "action_id": "value", "value": "budget"})
	if err != nil || !strings.Contains(string(ackp), `"value":"200-10"`) {
		t.Fatalf("block_suggestion ack = %s, %v; want class 200-10 offered", ackp, err)
	}

	ackp, err = send("interactive", viewSubmission("U1", view, "Venue", "100-20", "TOP-SECRET", ""))
	if err != nil || !strings.Contains(string(ackp), `"marking"`) {
		t.Fatalf("view_submission with a marking the class does not allow: ack = %s, %v; want an inline marking error", ackp, err)
	}
	ackp, err = send("interactive", viewSubmission("U1", view, "Venue", "100-20", "OFFICIAL", ""))
	if err != nil || (len(ackp) != 0 && string(ackp) != "null") {
		t.Fatalf("view_submission ack = %s, %v; want an empty ack (modal closes)", ackp, err)
	}
	e.waitFor(t, "chat.postEphemeral", "Filing *Venue* under", 5*time.Second)
	e.waitFor(t, "chat.postEphemeral", "Filed as", 30*time.Second)
	prefix := recordPrefix(t, e.store)
	if !strings.Contains(prefix, "100-20_") {
		t.Errorf("record filed at %s, want under class 100-20", prefix)
	}

	ackp, err = send("slash_commands", map[string]any{"team_id": "T1", "team_domain": "acme", "channel_id": "C1",
		"user_id": "U1", "command": "/record", "text": "help", "trigger_id": "1.2.3"})
	var body struct {
		Text         string `json:"text"`
		ResponseType string `json:"response_type"`
	}
	if err != nil || json.Unmarshal(ackp, &body) != nil || body.ResponseType != "ephemeral" || !strings.Contains(body.Text, "File as record") {
		t.Errorf("/record help ack = %s, %v", ackp, err)
	}
}
