package teams

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/capture"
)

// TestEndlessPagingStops: a server whose next link points at itself (or
// at another host) does not keep the capture going.
func TestEndlessPagingStops(t *testing.T) {
	var srv *httptest.Server
	replies := 0
	foreign := false
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		p := r.URL.Path
		switch {
		case strings.HasSuffix(p, "/oauth2/v2.0/token"):
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "tok", "expires_in": 3600})
		case strings.HasSuffix(p, "/members"):
			_ = json.NewEncoder(w).Encode(map[string]any{"value": []any{map[string]any{"userId": "u1"}}})
		case strings.HasSuffix(p, "/replies"):
			replies++
			next := srv.URL + p + "?$top=50"
			if foreign {
				next = "https://elsewhere.example" + p
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"value": []any{}, "@odata.nextLink": next})
		case strings.Contains(p, "/messages/"):
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "1", "createdDateTime": "2026-01-01T00:00:00Z", "body": map[string]any{"contentType": "text", "content": "x"}})
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "c", "membershipType": "standard"})
		}
	}))
	defer srv.Close()
	s, err := New(Config{Tenant: "tn", AppID: "a", AppSecret: "s", LoginURL: srv.URL, GraphURL: srv.URL, HTTPClient: srv.Client(),
		Limits: Limits{ChannelMessages: -1, ChatMessages: -1, PerTeam: -1}})
	if err != nil {
		t.Fatal(err)
	}
	ref := Target{Tenant: "tn", Team: "tm", Channel: "19:c@thread.tacv2", Scope: Thread, From: "1"}.Ref()
	_, err = s.Capture(context.Background(), ref, capture.Person{ID: "u1"})
	if err == nil || !strings.Contains(err.Error(), "repeats") || replies != 2 {
		t.Errorf("self link: %v after %d pages", err, replies)
	}
	foreign, replies = true, 0
	_, err = s.Capture(context.Background(), ref, capture.Person{ID: "u1"})
	if err == nil || !strings.Contains(err.Error(), "not on Graph's host") || replies != 1 {
		t.Errorf("foreign link: %v after %d pages", err, replies)
	}
}
