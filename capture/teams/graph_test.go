package teams

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestDocMembersDecode(t *testing.T) {
	b, err := os.ReadFile("testdata/graph-list-channel-members.json")
	if err != nil {
		t.Fatal(err)
	}
	var p page[gMember]
	if err := json.Unmarshal(b, &p); err != nil || len(p.Value) != 2 {
		t.Fatalf("%v %+v", err, p)
	}
	if m := p.Value[1]; m.UserID != "b3246f44-c091-4627-96c6-25b18fa2c910" || m.DisplayName != "Anagha Kothurwar" {
		t.Errorf("member %+v", m)
	}
}

func TestNextLinkStaysOnGraph(t *testing.T) {
	s, err := New(Config{Tenant: "t", AppID: "a", AppSecret: "s", GraphURL: "https://graph.microsoft.us/"})
	if err != nil {
		t.Fatal(err)
	}
	for target, ok := range map[string]bool{
		"/chats/x/messages": true,
		"https://graph.microsoft.us/v1.0/chats/x/messages?$skiptoken=1": true,
		"https://GRAPH.microsoft.us/v1.0/x":                             true,
		"https://graph.microsoft.com/v1.0/x":                            false,
		"https://graph.microsoft.us.evil.example/v1.0/x":                false,
		"http://graph.microsoft.us/v1.0/x":                              false,
		"https://user@graph.microsoft.us/v1.0/x":                        false,
	} {
		got, err := s.graphURL(target)
		if (err == nil) != ok {
			t.Errorf("graphURL(%q) = %q, %v", target, got, err)
		}
	}
	if got, _ := s.graphURL("/x"); got != "https://graph.microsoft.us/v1.0/x" {
		t.Errorf("path: %s", got)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"7": 7 * time.Second, "0": time.Second, "-3": time.Second, "": time.Second, "soon": time.Second,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     time.Second,
	} {
		hdr := http.Header{}
		if h != "" {
			hdr.Set("Retry-After", h)
		}
		if got := retryAfter(hdr, now); got != want {
			t.Errorf("retryAfter(%q) = %s, want %s", h, got, want)
		}
	}
}

func TestNewChecksURLs(t *testing.T) {
	for _, c := range []Config{
		{Tenant: "t", AppID: "a"},
		{Tenant: "t", AppID: "a", AppSecret: "s", GraphURL: "ftp://graph"},
		{Tenant: "t", AppID: "a", AppSecret: "s", LoginURL: "https://u:p@login"},
		{Tenant: "t", AppID: "a", AppSecret: "s", GraphURL: "https://graph?x=1"},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

func TestPermissionsAreResourceSpecific(t *testing.T) {
	if len(Permissions) != 7 {
		t.Errorf("%d permissions", len(Permissions))
	}
	for _, p := range Permissions {
		if !(strings.HasSuffix(p, ".Group") || strings.HasSuffix(p, ".Chat")) {
			t.Errorf("%s is not a resource-specific permission", p)
		}
	}
}
