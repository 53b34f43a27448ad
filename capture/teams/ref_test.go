package teams

import (
	"errors"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
)

func TestTargetRoundTrip(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []Target{
		{Tenant: "tn", Team: "tm", Channel: "19:c@thread.tacv2", Scope: Thread, From: "1700000000000", Acted: "1700000000999"},
		{Tenant: "tn", Channel: "19:x@thread.v2", Scope: Message, From: "5", Acted: "5"},
		{Tenant: "tn", Channel: "19:x@thread.v2", Scope: Since, From: "3", Acted: "5"},
		{Tenant: "tn", Channel: "19:x@thread.v2", Scope: Day, From: "5", Zone: london, Acted: "5"},
	} {
		got, err := TargetOf(want.Ref())
		if err != nil {
			t.Fatalf("TargetOf(%+v) = %v", want.Ref(), err)
		}
		if got.Tenant != want.Tenant || got.Team != want.Team || got.Channel != want.Channel || got.Scope != want.Scope ||
			got.From != want.From || got.Acted != want.Acted || (want.Zone != nil && got.Zone.String() != want.Zone.String()) {
			t.Errorf("TargetOf(Ref()) = %+v, want %+v", got, want)
		}
	}
}

func TestTargetOfRefuses(t *testing.T) {
	for _, r := range []capture.Ref{
		{Platform: capture.Slack, Server: "tn", ChannelID: "c", ThreadID: "thread:1"},
		{Platform: capture.Teams, ChannelID: "c", ThreadID: "thread:1", WorkspaceID: "tm"},
		{Platform: capture.Teams, Server: "tn", ChannelID: "c", ThreadID: "thread:1"},                     // chat with thread scope
		{Platform: capture.Teams, Server: "tn", WorkspaceID: "tm", ChannelID: "c", ThreadID: "day:1@UTC"}, // channel with chat scope
		{Platform: capture.Teams, Server: "tn", ChannelID: "c", ThreadID: "day:1"},
		{Platform: capture.Teams, Server: "tn", ChannelID: "c", ThreadID: "day:1@Local"},
		{Platform: capture.Teams, Server: "tn", ChannelID: "c", ThreadID: "day:1@Mars/Base"},
		{Platform: capture.Teams, Server: "tn", ChannelID: "c", ThreadID: "all:1"},
		{Platform: capture.Teams, Server: "tn", ChannelID: "c", ThreadID: "message:"},
		{Platform: capture.Teams, Server: "tn", ChannelID: "c", ThreadID: "1"},
	} {
		if _, err := TargetOf(r); !errors.Is(err, ErrBadRef) {
			t.Errorf("TargetOf(%+v) = %v, want ErrBadRef", r, err)
		}
	}
}
