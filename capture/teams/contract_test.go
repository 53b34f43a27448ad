package teams

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture/teams/teamstest"
)

// The responses in testdata are those Microsoft's Graph reference shows
// (see testdata/README.md for the pages). This code reads them, and the
// double answers with the same shape.

func readPage(t *testing.T, name string) (page[gMessage], []map[string]any) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var p page[gMessage]
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var raw struct {
		Value []map[string]any `json:"value"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	return p, raw.Value
}

func TestDocRepliesDecode(t *testing.T) {
	p, _ := readPage(t, "graph-list-replies.json")
	if len(p.Value) != 3 || p.NextLink != "" {
		t.Fatalf("%d replies, next %q", len(p.Value), p.NextLink)
	}
	sortOldestFirst(p.Value)
	for i, want := range []string{"Reply1", "Reply2", "Reply3"} {
		m := p.Value[i]
		if got := render(&m, nil).text; got != want {
			t.Errorf("reply %d = %q, want %q", i, got, want)
		}
		if a := author(m.From, nil); a.ID != "8ea0e38b-efb3-4757-924a-5f94061cf8c2" || a.DisplayName != "Robin Kline" {
			t.Errorf("author %+v", a)
		}
		if m.ReplyToID != "1616989510408" || m.LastEditedDateTime.Set() || m.DeletedDateTime.Set() {
			t.Errorf("reply %+v", m)
		}
	}
	if got := p.Value[0].CreatedDateTime.T; !got.Equal(time.Date(2021, 3, 29, 3, 49, 7, 416e6, time.UTC)) {
		t.Errorf("time %v", got)
	}
}

func TestDocChatMessagesDecode(t *testing.T) {
	p, _ := readPage(t, "graph-list-chat-messages.json")
	if len(p.Value) != 3 || !strings.Contains(p.NextLink, "$skiptoken=") {
		t.Fatalf("%d messages, next %q", len(p.Value), p.NextLink)
	}
	img := p.Value[1]
	r := render(&img, nil)
	if len(r.images) != 1 || !strings.HasPrefix(r.images[0], "aWQ9eF8wLXd1cy1kOS1lNTRmNjM1") || r.text != "[image 1]" {
		t.Errorf("inline image: %+v", r)
	}
	tg := Target{Tenant: "t", Channel: "19:2da4c29f6d7041eca70b638b43d45437@thread.v2", Scope: Message, From: img.ID}
	if got, want := hostedPath(tg, &img, r.images[0]), "/chats/19:2da4c29f6d7041eca70b638b43d45437@thread.v2/messages/1615971548136/hostedContents/"+r.images[0]+"/$value"; got != want {
		t.Errorf("hosted path %s\nwant       %s", got, want)
	}
	sys := p.Value[2]
	if got := systemText(&sys, map[string]string{"1fb8890f-423e-4154-8fbf-db6809bc8756": "Bob"}); got != "[system] the chat was renamed by Bob: Graph Members" {
		t.Errorf("system text %q", got)
	}
	// The example's malformed time is kept as written; the message's time
	// is then the one its id names.
	if !sys.CreatedDateTime.Set() || !sys.CreatedDateTime.T.IsZero() || sys.CreatedDateTime.Raw != "2021-03-1706:47:05.123Z" {
		t.Errorf("malformed time %+v", sys.CreatedDateTime)
	}
	if got := sys.created(); !got.Equal(time.UnixMilli(1615943825123)) {
		t.Errorf("time from the id: %v", got)
	}
	if got := img.created(); !got.Equal(time.Date(2021, 3, 17, 8, 59, 8, 136e6, time.UTC)) {
		t.Errorf("createdDateTime: %v", got)
	}
	noTime := gMessage{ID: "not-a-number"}
	if !noTime.created().IsZero() {
		t.Errorf("a time from a non-numeric id")
	}
}

func TestDocChannelMessageDecode(t *testing.T) {
	b, err := os.ReadFile("testdata/graph-get-channel-message.json")
	if err != nil {
		t.Fatal(err)
	}
	var m gMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	r := render(&m, nil)
	if len(r.images) != 1 || r.text != "[image 1]" {
		t.Fatalf("render %+v", r)
	}
	// The path this code fetches the image from is the one in the body.
	tg := Target{Tenant: "t", Team: m.ChannelIdentity.TeamID, Channel: m.ChannelIdentity.ChannelID, Scope: Thread, From: m.ID}
	src := m.Body.Content[strings.Index(m.Body.Content, "https://"):]
	src = src[:strings.Index(src, `"`)]
	if got := "https://graph.microsoft.com/v1.0" + hostedPath(tg, &m, r.images[0]); got != src {
		t.Errorf("hosted content\n%s\nwant\n%s", got, src)
	}
	if a := author(m.From, nil); a.DisplayName != "Robin Kline" || a.Bot {
		t.Errorf("author %+v", a)
	}
}

func TestDocErrorDecode(t *testing.T) {
	b, err := os.ReadFile("testdata/graph-error.json")
	if err != nil {
		t.Fatal(err)
	}
	var e gError
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Code != "invalidRange" || e.Error.InnerError["request-id"] != "request-id" {
		t.Fatalf("%v %+v", err, e)
	}
}

// TestDoubleAnswersAsDocumented compares the keys of the double's
// messages and errors with the documented examples'.
func TestDoubleAnswersAsDocumented(t *testing.T) {
	srv := teamstest.New(teamstest.Options{})
	defer srv.Close()
	srv.AddUser("u1", "Robin Kline")
	srv.AddTeam("tm", "T", true, "u1")
	srv.AddChannel("tm", "19:c@thread.tacv2", "General", "standard")
	root := srv.PostChannel("tm", "19:c@thread.tacv2", teamstest.Message{From: "u1", HTML: "root"})
	srv.PostChannel("tm", "19:c@thread.tacv2", teamstest.Message{From: "u1", ReplyTo: root.ID, Created: time.Now().Add(time.Second), HTML: "Reply1"})
	srv.AddChat("19:x@thread.v2", "", "group", true, "u1")
	srv.PostChat("19:x@thread.v2", teamstest.Message{From: "u1", HTML: "Hello world"})
	tok := appToken(t, srv)

	get := func(path string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1.0"+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	keys := func(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
	for _, c := range []struct{ doc, path string }{
		{"graph-list-replies.json", "/teams/tm/channels/19:c@thread.tacv2/messages/" + root.ID + "/replies"},
		{"graph-list-chat-messages.json", "/chats/19:x@thread.v2/messages"},
	} {
		_, doc := readPage(t, c.doc)
		status, b := get(c.path)
		if status != 200 {
			t.Fatalf("%s: %d %s", c.path, status, b)
		}
		var got struct {
			Value []map[string]any `json:"value"`
		}
		if err := json.Unmarshal(b, &got); err != nil || len(got.Value) == 0 {
			t.Fatalf("%s: %v %s", c.path, err, b)
		}
		for _, k := range keys(doc[0]) {
			if _, ok := got.Value[0][k]; !ok {
				t.Errorf("%s: the double's message lacks the documented %q", c.path, k)
			}
		}
		var p page[gMessage]
		if err := json.Unmarshal(b, &p); err != nil {
			t.Errorf("%s: %v", c.path, err)
		}
	}
	// One message, as "Get chatMessage" shows it.
	var docMsg, gotMsg map[string]any
	db, _ := os.ReadFile("testdata/graph-get-channel-message.json")
	_ = json.Unmarshal(db, &docMsg)
	delete(docMsg, "@odata.context")
	status, b := get("/teams/tm/channels/19:c@thread.tacv2/messages/" + root.ID)
	if err := json.Unmarshal(b, &gotMsg); status != 200 || err != nil {
		t.Fatalf("get message: %d %s", status, b)
	}
	for _, k := range keys(docMsg) {
		if _, ok := gotMsg[k]; !ok {
			t.Errorf("the double's message lacks the documented %q", k)
		}
	}

	// Members: every documented property is there.
	mb, _ := os.ReadFile("testdata/graph-list-channel-members.json")
	var docMembers struct {
		Value []map[string]any `json:"value"`
	}
	_ = json.Unmarshal(mb, &docMembers)
	status, b = get("/teams/tm/channels/19:c@thread.tacv2/members")
	var gotMembers struct {
		Value []map[string]any `json:"value"`
	}
	if err := json.Unmarshal(b, &gotMembers); status != 200 || err != nil || len(gotMembers.Value) == 0 {
		t.Fatalf("members: %d %s", status, b)
	}
	for _, k := range keys(docMembers.Value[0]) {
		if _, ok := gotMembers.Value[0][k]; !ok {
			t.Errorf("the double's member lacks %q", k)
		}
	}

	// $top above 50 is refused, with Graph's error body.
	status, b = get("/chats/19:x@thread.v2/messages?$top=51")
	var e map[string]map[string]any
	if status != http.StatusBadRequest || json.Unmarshal(b, &e) != nil {
		t.Fatalf("$top=51: %d %s", status, b)
	}
	docErr, _ := os.ReadFile("testdata/graph-error.json")
	var de map[string]map[string]any
	_ = json.Unmarshal(docErr, &de)
	for _, k := range keys(de["error"]) {
		if _, ok := e["error"][k]; !ok {
			t.Errorf("the double's error lacks %q: %s", k, b)
		}
	}
}

func appToken(t *testing.T, srv *teamstest.Server) string {
	t.Helper()
	resp, err := srv.Client().PostForm(srv.URL+"/"+srv.Tenant+"/oauth2/v2.0/token", map[string][]string{
		"grant_type": {"client_credentials"}, "client_id": {srv.ClientID}, "client_secret": {srv.ClientSecret},
		"scope": {srv.GraphScope()}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %v", err)
	}
	return tok.AccessToken
}
