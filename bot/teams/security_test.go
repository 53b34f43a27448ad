package teams_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/bot/teams"
	"github.com/recordbot/recordbot/bot/teams/connectortest"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

var general = where{kind: "channel", team: "19:team1@thread.tacv2", channel: "19:general@thread.tacv2"}

// group is the team's Microsoft 365 group id: how Graph names it.
const group = "6f1e8f1a-0000-4000-8000-00000000g001"

func channelEnv(t testing.TB) (*env, *fakeGraph) {
	g := newFakeGraph()
	g.add(general.channel, group, []person{alice, bob}, []capture.Message{
		{ID: "1700000000000", Author: capture.Person{ID: alice.AAD, DisplayName: alice.Name}, Time: time.Now().Add(-time.Hour), Text: "<p>Ferry tender decision</p>"},
		{ID: "1700000000100", Author: capture.Person{ID: bob.AAD, DisplayName: bob.Name}, Time: time.Now().Add(-time.Minute), Text: "<p>Agreed</p>"},
	})
	return newEnv(t, envOpts{src: g}), g
}

// TestForgedRequestsRefused sends a fetchTask and a submitAction with each
// of the tokens the Bot Connector's authentication page says a bot must
// refuse: each is answered 401, and nothing is acted on (no membership
// check, no request stored, no message sent).
func TestForgedRequestsRefused(t *testing.T) {
	e, _ := channelEnv(t)
	now := e.clock.Now()
	good := e.cx.Claims(now)
	forged := []struct {
		name string
		auth func() string
		// act changes the activity (for a mismatch with the token).
		act func(map[string]any)
	}{
		{"no Bearer", func() string { return "" }, nil},
		{"not Bearer", func() string { return "Basic " + e.cx.Sign(t, good) }, nil},
		{"bad signature", func() string { c := good; c.Tamper = true; return "Bearer " + e.cx.Sign(t, c) }, nil},
		{"unknown key", func() string { c := good; c.Key = e.cx.Unknown; return "Bearer " + e.cx.Sign(t, c) }, nil},
		{"wrong issuer", func() string {
			c := good
			c.Issuer = "https://sts.windows.net/evil/"
			return "Bearer " + e.cx.Sign(t, c)
		}, nil},
		{"wrong audience", func() string { c := good; c.Audience = "another-bot"; return "Bearer " + e.cx.Sign(t, c) }, nil},
		{"expired", func() string {
			c := good
			c.NotBefore, c.Expiry = now.Add(-2*time.Hour), now.Add(-6*time.Minute) // past the 5 minutes of skew
			return "Bearer " + e.cx.Sign(t, c)
		}, nil},
		{"not yet valid", func() string {
			c := good
			c.NotBefore, c.Expiry = now.Add(6*time.Minute), now.Add(time.Hour)
			return "Bearer " + e.cx.Sign(t, c)
		}, nil},
		{"serviceurl mismatch", func() string { return "Bearer " + e.cx.Sign(t, good) },
			func(a map[string]any) { a["serviceUrl"] = "https://attacker.example/" }},
		{"serviceurl claim of another connector", func() string {
			c := good
			c.ServiceURL = "https://smba.trafficmanager.net/emea/"
			return "Bearer " + e.cx.Sign(t, c)
		}, nil},
		{"key not endorsed for the channel", func() string { c := good; c.Key = e.cx.Unendorsed; return "Bearer " + e.cx.Sign(t, c) }, nil},
		{"channel not msteams", func() string { c := good; c.Key = e.cx.Unendorsed; return "Bearer " + e.cx.Sign(t, c) },
			func(a map[string]any) { a["channelId"] = "webchat" }},
	}
	for _, f := range forged {
		t.Run(f.name, func(t *testing.T) {
			for _, name := range []string{"composeExtension/fetchTask", "composeExtension/submitAction"} {
				act := e.activity("f:"+f.name+name, name, alice, general, fetchValue("1700000000100", "1700000000000", "<p>Agreed</p>"))
				if name == "composeExtension/submitAction" {
					act["value"] = map[string]any{"commandId": "fileAsRecord", "data": map[string]any{"title": "Forged", "class": "100-01",
						"recordbot": map[string]any{"tn": tenant, "tm": group, "c": general.channel, "f": "1700000000000", "a": "1700000000100", "n": "forged"}}}
				}
				if f.act != nil {
					f.act(act)
				}
				status, body := e.postToken(act, f.auth())
				if status != http.StatusUnauthorized {
					t.Errorf("%s: answered %d %s, want 401", name, status, body)
				}
				if strings.Contains(string(body), "Ferry") || strings.Contains(string(body), "task") {
					t.Errorf("%s: a refusal says %s", name, body)
				}
			}
		})
	}
	e.app.Wait()
	if e.resolves() != 0 {
		t.Errorf("forged requests made %d membership checks; want none", e.resolves())
	}
	if n := len(e.records()); n != 0 {
		t.Errorf("forged requests filed %d records", n)
	}
	if n := e.count(filing.RequestsPrefix); n != 0 {
		t.Errorf("forged requests stored %d filing requests", n)
	}
	if m := e.cx.Messages(); len(m) != 0 {
		t.Errorf("forged requests made the bot send %d messages", len(m))
	}

	// The genuine request is acted on: the checks above refuse the
	// forgeries, not everything.
	status, body := e.post(e.activity("f:genuine", "composeExtension/fetchTask", alice, general, fetchValue("1700000000100", "1700000000000", "<p>Agreed</p>")))
	f := e.task(status, body).form(t)
	if got := f.inputs["title"]["value"]; got != "Ferry tender decision" {
		t.Errorf("genuine request's suggested title = %v", got)
	}
}

// TestUnknownKeysRefetchedRateLimited: a token naming an unknown key makes
// the verifier fetch the keys again (a rotated key is found), but a flood
// of made-up key ids makes it fetch at most once a minute.
func TestUnknownKeysRefetchedRateLimited(t *testing.T) {
	e, _ := channelEnv(t)
	act := e.activity("a1", "composeExtension/fetchTask", alice, general, fetchValue("1700000000100", "1700000000000", ""))
	if status, body := e.post(act); status != http.StatusOK {
		t.Fatalf("genuine request answered %d %s", status, body)
	}
	for i := range 20 { // known keys are used from the cache
		act["id"] = "known" + strconv.Itoa(i)
		e.post(act)
	}
	if n := e.cx.KeyFetches(); n != 1 {
		t.Errorf("21 requests signed with a known key fetched the keys %d times; want once", n)
	}
	before := e.cx.KeyFetches()
	for i := range 50 {
		c := e.cx.Claims(e.clock.Now())
		c.Key = e.cx.Unknown
		act["id"] = "flood" + string(rune('a'+i%26))
		if status, _ := e.postToken(act, "Bearer "+e.cx.Sign(t, c)); status != http.StatusUnauthorized {
			t.Fatalf("unknown key answered %d", status)
		}
	}
	if n := e.cx.KeyFetches() - before; n > 1 {
		t.Errorf("50 tokens with an unknown key made %d fetches of the keys; want at most 1", n)
	}
	e.clock.Advance(2 * time.Minute)
	c := e.cx.Claims(e.clock.Now())
	c.Key = e.cx.Unknown
	e.postToken(act, "Bearer "+e.cx.Sign(t, c))
	if n := e.cx.KeyFetches() - before; n != 1 {
		t.Errorf("a minute after the last fetch, an unknown key made %d fetches; want 1", n)
	}
	// Keys older than a day are fetched again.
	e.clock.Advance(teams.KeysFor + time.Minute)
	act["id"] = "a day later"
	if status, body := e.post(act); status != http.StatusOK {
		t.Fatalf("a day later a genuine request answered %d %s", status, body)
	}
	if n := e.cx.KeyFetches() - before; n != 2 {
		t.Errorf("a day later the keys were fetched %d times in all since the flood; want 2", n)
	}
}

// TestBodyCapped: a body over the cap is refused without being read.
func TestBodyCapped(t *testing.T) {
	e, _ := channelEnv(t)
	act := e.activity("big", "composeExtension/fetchTask", alice, general, fetchValue("1700000000100", "1700000000000", strings.Repeat("x", 300<<10)))
	if status, _ := e.post(act); status != http.StatusRequestEntityTooLarge {
		t.Errorf("a %d KiB body answered %d, want 413", 300, status)
	}
	if e.resolves() != 0 {
		t.Error("an oversized request was acted on")
	}
}

var _ = connectortest.Issuer

// TestTokenOnlyToTrustedServiceURL: an outcome whose reply names a service
// URL no authenticated activity named (a planted request) is not sent:
// the bot's token never reaches that address.
func TestTokenOnlyToTrustedServiceURL(t *testing.T) {
	e, _ := channelEnv(t)
	var got []string
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		w.Write([]byte(`{"id":"x"}`))
	}))
	defer attacker.Close()
	for _, su := range []string{attacker.URL + "/", "https://smba.trafficmanager.net.attacker.example/", "https://smba.trafficmanager.net:8443/"} {
		reply, _ := json.Marshal(teams.Personal{ServiceURL: su, Tenant: tenant, User: alice.ID})
		e.app.Notify(t.Context(), filing.Outcome{Request: filing.Request{ID: "r1", Title: "x", Reply: reply}, Err: capture.ErrNotFound, Final: true})
	}
	if len(got) != 0 {
		t.Errorf("the bot sent %d requests to an untrusted service URL", len(got))
	}
	if n := e.cx.LoginCalls(); n != 0 {
		t.Errorf("the bot asked for %d tokens to send to untrusted addresses", n)
	}
	// Once an authenticated activity names the double's connector, an
	// outcome reaches it.
	e.post(e.activity("t:1", "composeExtension/fetchTask", alice, general, fetchValue("1700000000100", "1700000000000", "")))
	reply, _ := json.Marshal(teams.Personal{ServiceURL: e.cx.ServiceURL(), Tenant: tenant, User: alice.ID})
	e.app.Notify(t.Context(), filing.Outcome{Request: filing.Request{ID: "r2", Title: "Ferry", Reply: reply}, Err: capture.ErrNotFound, Final: true})
	if said := e.cx.MessagesTo(alice.ID); len(said) != 1 || !strings.HasPrefix(said[0], "Could not file **Ferry**") {
		t.Errorf("alice is told %q", said)
	}
}
