package teams_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/bot/teams"
	teamscap "github.com/recordbot/recordbot/capture/teams"
	"github.com/recordbot/recordbot/capture/teams/entra"
	"github.com/recordbot/recordbot/capture/teams/teamstest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/bagcheck"
)

// consentEnv is the front end over capture/teams reading the Graph double,
// with people's file consent on: the sign-in goes to the double's
// authorization endpoint and comes back to the front end's callback.
func consentEnv(t *testing.T) (*env, *teamstest.Server, *teams.Consent) {
	t.Helper()
	gs := teamstest.New(teamstest.Options{Tenant: tenant, ClientID: appID, ClientSecret: password})
	t.Cleanup(gs.Close)
	for _, p := range []person{alice, bob, mallory} {
		gs.AddUser(p.AAD, p.Name)
	}
	var cons *teams.Consent
	src, err := teamscap.New(teamscap.Config{Tenant: tenant, AppID: appID, AppSecret: password, LoginURL: gs.URL, GraphURL: gs.URL,
		HTTPClient: gs.Client(), Limits: teamscap.Limits{ChannelMessages: -1, ChatMessages: -1, PerTeam: -1},
		Delegated: teamscap.DelegatedFunc(func(ctx context.Context, tn, user string) (string, error) { return cons.FileToken(ctx, tn, user) })})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOpts{src: src, consent: func(e *env) *teams.Consent {
		gs.RegisterRedirect(e.srv.URL + teams.CallbackPath)
		vault, err := bot.NewVault(strings.Repeat("ab", 32))
		if err != nil {
			t.Fatal(err)
		}
		cons, err = teams.NewConsent(teams.ConsentOptions{Store: e.store, Vault: vault,
			Login:    &entra.Client{LoginURL: gs.URL, Tenant: tenant, ClientID: appID, Credential: entra.Secret(password), HTTPClient: gs.Client()},
			GraphURL: gs.URL, RedirectURL: e.srv.URL + teams.CallbackPath, Key: []byte("teams consent test key, 32 bytes"), Clock: e.clock})
		if err != nil {
			t.Fatal(err)
		}
		return cons
	}})
	return e, gs, cons
}

const sharedLink = "https://contoso.sharepoint.com/sites/ferries/Shared%20Documents/minutes.docx"

var sharedContent = []byte("minutes of the ferry board, 3 November")

// sharedThread seeds a channel thread whose root shares a file, and
// returns the root's id.
func sharedThread(gs *teamstest.Server) string {
	gs.AddTeam(group, "Ferries", true, alice.AAD, bob.AAD)
	gs.AddChannel(group, general.channel, "General", "standard")
	root := gs.PostChannel(group, general.channel, teamstest.Message{From: alice.AAD, Created: time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC),
		HTML: "<p>Ferry tender minutes attached</p>", Files: []*teamstest.SharedFile{{Name: "minutes.docx", URL: sharedLink, Content: sharedContent}}})
	gs.PostChannel(group, general.channel, teamstest.Message{ReplyTo: root.ID, From: bob.AAD, Created: time.Date(2026, 11, 3, 9, 5, 0, 0, time.UTC), HTML: "<p>agreed</p>"})
	return root.ID
}

// signIn follows link in p's browser to the end: the page recordbot
// shows, or the login service's own when it sends nobody back.
func signIn(t *testing.T, gs *teamstest.Server, p person, link string) (int, string) {
	t.Helper()
	resp, err := gs.Browser(p.AAD).Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// callbackURL follows link in p's browser up to recordbot's callback and
// returns that address, not visited.
func callbackURL(t *testing.T, gs *teamstest.Server, p person, link string) string {
	t.Helper()
	b := gs.Browser(p.AAD)
	var back string
	b.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if strings.HasSuffix(r.URL.Path, teams.CallbackPath) {
			back = r.URL.String()
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := b.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if back == "" {
		t.Fatalf("the login service did not send %s back (HTTP %d)", p.Name, resp.StatusCode)
	}
	return back
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// fetchForm opens the filing form on the thread's root as p.
func (e *env) fetchForm(t *testing.T, id string, p person, root string) form {
	t.Helper()
	w := general
	w.root = root
	return e.task(e.post(e.activity(id, "composeExtension/fetchTask", p, w, fetchValue(root, "", "")))).form(t)
}

// grants counts the file grants stored.
func (e *env) grants() int { return e.count(filing.InstallationsPrefix + "teams/users/") }

// TestConsentKeepsSharedFile: a person without the permission sees, in the
// form, a button to allow recordbot to read shared files; signing in
// through it stores their permission (sealed), the form no longer asks,
// and the thread they file keeps the shared file byte for byte.
func TestConsentKeepsSharedFile(t *testing.T) {
	e, gs, _ := consentEnv(t)
	root := sharedThread(gs)
	f := e.fetchForm(t, "c:1", bob, root)
	if f.signIn == "" || !strings.HasPrefix(f.signIn, gs.URL+"/"+tenant+"/oauth2/v2.0/authorize?") {
		t.Fatalf("the form's sign-in link is %q, want the tenant's authorization endpoint", f.signIn)
	}
	if !slices.ContainsFunc(f.texts, func(s string) bool { return strings.Contains(s, "kept as links only") }) {
		t.Errorf("the form does not say why to sign in: %q", f.texts)
	}
	q, _ := url.Parse(f.signIn)
	for k, want := range map[string]string{"client_id": appID, "response_type": "code", "code_challenge_method": "S256", "redirect_uri": e.srv.URL + teams.CallbackPath} {
		if got := q.Query().Get(k); got != want {
			t.Errorf("sign-in link %s = %q, want %q", k, got, want)
		}
	}
	if sc := q.Query().Get("scope"); !strings.Contains(sc, "Files.Read.All") || !strings.Contains(sc, "offline_access") || strings.Contains(sc, ".default") {
		t.Errorf("sign-in link asks scope %q", sc)
	}
	status, page := signIn(t, gs, bob, f.signIn)
	if status != http.StatusOK || !strings.Contains(page, "may now read") {
		t.Fatalf("the sign-in ends with HTTP %d: %s", status, page)
	}
	if e.grants() != 1 {
		t.Fatalf("%d grants stored, want 1", e.grants())
	}
	raw := e.read(filing.InstallationsPrefix + "teams/users/" + tenant + "/" + bob.AAD + ".json")
	if strings.Contains(raw, "1.AAAA") || !strings.Contains(raw, "refresh_token_sealed") {
		t.Errorf("the grant is not sealed: %s", raw)
	}
	f = e.fetchForm(t, "c:2", bob, root)
	if f.signIn != "" {
		t.Errorf("the form still asks bob to sign in")
	}
	e.task(e.post(e.activity("c:3", "composeExtension/submitAction", bob, general, submitValue(f, map[string]string{"title": "Ferry minutes", "class": "100-01"})))).message(t)
	said := e.filed(bob)
	if last := said[len(said)-1]; !strings.HasPrefix(last, "Filed as record") || strings.Contains(last, "allow files") {
		t.Fatalf("bob is told %q", said)
	}
	bag, err := bagcheck.Check(context.Background(), e.store, e.records()[0])
	if err != nil {
		t.Fatal(err)
	}
	th := e.readThread()
	files := th.Files()
	if len(files) != 1 || files[0].Error != "" {
		t.Fatalf("the record's files are %+v, want the shared file kept", files)
	}
	sum := sha256.Sum256(sharedContent)
	if bag.Payload[files[0].Path] != hex.EncodeToString(sum[:]) {
		t.Errorf("the shared file is not in the record byte for byte")
	}
}

// TestConsentMissingWithoutIt: filed without the permission, the shared
// file is in the record as missing, with its link and why; the person is
// told how to allow it for next time.
func TestConsentMissingWithoutIt(t *testing.T) {
	e, gs, _ := consentEnv(t)
	root := sharedThread(gs)
	f := e.fetchForm(t, "m:1", bob, root)
	e.task(e.post(e.activity("m:2", "composeExtension/submitAction", bob, general, submitValue(f, map[string]string{"title": "Ferry minutes", "class": "100-01"})))).message(t)
	said := e.filed(bob)
	if last := said[len(said)-1]; !strings.HasPrefix(last, "Filed as record") || !strings.Contains(last, "0 files (and 1 file not kept") ||
		!strings.Contains(last, "allow files") {
		t.Fatalf("bob is told %q", said)
	}
	th := e.readThread()
	files := th.Files()
	if len(files) != 1 || files[0].Source != sharedLink || !strings.Contains(files[0].Error, "has not let recordbot read") {
		t.Fatalf("the record's files are %+v, want the shared file missing with its link and why", files)
	}
}

// TestConsentOtherPersonRefused: a link made for bob, followed by
// mallory signed in as herself, stores nothing, and cannot be used again.
func TestConsentOtherPersonRefused(t *testing.T) {
	e, gs, cons := consentEnv(t)
	link := cons.Link(tenant, bob.AAD)
	status, page := signIn(t, gs, mallory, link)
	if status != http.StatusForbidden || !strings.Contains(page, "someone else") {
		t.Fatalf("mallory's sign-in on bob's link ends with HTTP %d: %s", status, page)
	}
	if e.grants() != 0 {
		t.Fatalf("%d grants stored after another person's sign-in", e.grants())
	}
	status, page = signIn(t, gs, bob, link)
	if status != http.StatusBadRequest || !strings.Contains(page, "already used") {
		t.Errorf("the used link, followed again, ends with HTTP %d: %s", status, page)
	}
	if _, err := cons.FileToken(context.Background(), tenant, mallory.AAD); !errors.Is(err, teamscap.ErrNoConsent) {
		t.Errorf("mallory has a file token: %v", err)
	}
}

// TestConsentCallbackHostile: forged, expired and replayed callbacks,
// and Microsoft's refusals, store nothing; the page shows none of the
// text the address carries.
func TestConsentCallbackHostile(t *testing.T) {
	e, gs, cons := consentEnv(t)
	cb := e.srv.URL + teams.CallbackPath
	for name, c := range map[string]struct {
		query  string
		status int
		says   string
	}{
		"forged state":     {"code=x&state=eyJ0IjoiYSJ9.c2lnbmF0dXJl", 400, "not made by this recordbot"},
		"no state":         {"code=x", 400, "not made by this recordbot"},
		"refusal text":     {"error=access_denied&error_description=%3Cscript%3Ealert(1)%3C/script%3E+Call+0800+EVIL", 400, "did not allow it"},
		"unknown error":    {"error=%3Cb%3Ebad%3C/b%3E", 400, "did not give the permission"},
		"app not set up":   {"error=invalid_request&error_description=AADSTS50011", 400, "tell the people who run recordbot"},
		"code of no state": {"code=0.AAAAforged&state=", 400, "not made by this recordbot"},
	} {
		status, page := get(t, cb+"?"+c.query)
		if status != c.status || !strings.Contains(page, c.says) {
			t.Errorf("%s: HTTP %d %s", name, status, page)
		}
		if strings.Contains(page, "EVIL") || strings.Contains(page, "<script") || strings.Contains(page, "<b>") {
			t.Errorf("%s: the page shows text from the address: %s", name, page)
		}
	}

	// Expired: the link works for 15 minutes.
	late := callbackURL(t, gs, bob, cons.Link(tenant, bob.AAD))
	e.clock.Advance(16 * time.Minute)
	if status, page := get(t, late); status != http.StatusBadRequest || !strings.Contains(page, "expired") {
		t.Errorf("a callback after 16 minutes: HTTP %d %s", status, page)
	}

	// Replayed: a callback that stored a grant, sent again, is refused.
	back := callbackURL(t, gs, bob, cons.Link(tenant, bob.AAD))
	if status, page := get(t, back); status != http.StatusOK {
		t.Fatalf("the sign-in: HTTP %d %s", status, page)
	}
	if status, page := get(t, back); status != http.StatusBadRequest || !strings.Contains(page, "already used") {
		t.Errorf("the same callback again: HTTP %d %s", status, page)
	}

	// Declined, or only an admin may consent: nothing stored.
	if _, err := cons.Forget(context.Background(), tenant, bob.AAD); err != nil {
		t.Fatal(err)
	}
	gs.Decline(alice.AAD, true)
	if status, page := signIn(t, gs, alice, cons.Link(tenant, alice.AAD)); status != http.StatusBadRequest || !strings.Contains(page, "did not allow it") {
		t.Errorf("a declined sign-in: HTTP %d %s", status, page)
	}
	gs.Decline(alice.AAD, false)
	gs.AdminConsentOnly(true)
	if _, page := signIn(t, gs, alice, cons.Link(tenant, alice.AAD)); !strings.Contains(page, "Need admin approval") {
		t.Errorf("with admin consent only, the sign-in ends at %s", page)
	}
	if e.grants() != 0 {
		t.Errorf("%d grants stored after refused sign-ins", e.grants())
	}
}

// TestConsentRevokedForgotten: a permission Microsoft no longer honours
// is deleted at its next use; "forget me" deletes it at once; the
// refresh token is renewed and kept sealed as it changes.
func TestConsentRevokedForgotten(t *testing.T) {
	e, gs, cons := consentEnv(t)
	ctx := context.Background()
	if status, page := signIn(t, gs, bob, cons.Link(tenant, bob.AAD)); status != http.StatusOK {
		t.Fatalf("sign-in: HTTP %d %s", status, page)
	}
	key := filing.InstallationsPrefix + "teams/users/" + tenant + "/" + bob.AAD + ".json"
	before := e.read(key)
	tok, err := cons.FileToken(ctx, tenant, bob.AAD)
	if err != nil {
		t.Fatal(err)
	}
	if info, ok := gs.TokenInfo(tok); !ok || info.User != bob.AAD || !strings.Contains(info.Scope, "Files.Read.All") {
		t.Errorf("bob's file token is %+v", info)
	}
	e.clock.Advance(2 * time.Hour) // past the access token's hour
	if _, err := cons.FileToken(ctx, tenant, bob.AAD); err != nil {
		t.Fatal(err)
	}
	if after := e.read(key); after == before {
		t.Errorf("the renewed refresh token was not kept")
	}

	gs.RevokeConsent(bob.AAD)
	e.clock.Advance(2 * time.Hour)
	if _, err := cons.FileToken(ctx, tenant, bob.AAD); !errors.Is(err, teamscap.ErrNoConsent) {
		t.Fatalf("after Microsoft revoked it, FileToken = %v, want ErrNoConsent", err)
	}
	if e.grants() != 0 {
		t.Errorf("the revoked grant is still stored")
	}

	// "forget me" in the personal chat.
	if status, page := signIn(t, gs, bob, cons.Link(tenant, bob.AAD)); status != http.StatusOK {
		t.Fatalf("sign-in again: HTTP %d %s", status, page)
	}
	e.say(t, "f:1", bob, "<at>recordbot</at> Forget me.")
	if e.grants() != 0 {
		t.Errorf("forget me left the grant stored")
	}
	if _, err := cons.FileToken(ctx, tenant, bob.AAD); !errors.Is(err, teamscap.ErrNoConsent) {
		t.Errorf("after forget me, FileToken = %v", err)
	}
	said := e.cx.MessagesTo(bob.ID)
	if last := said[len(said)-1]; !strings.HasPrefix(last, "Done: recordbot deleted") {
		t.Errorf("bob is told %q", last)
	}
	e.say(t, "f:2", bob, "allow files")
	said = e.cx.MessagesTo(bob.ID)
	if last := said[len(said)-1]; !strings.Contains(last, "]("+gs.URL+"/"+tenant+"/oauth2/v2.0/authorize?") {
		t.Errorf("allow files answers %q", last)
	}
	e.say(t, "f:3", bob, "what is this?")
	said = e.cx.MessagesTo(bob.ID)
	if last := said[len(said)-1]; !strings.Contains(last, "File as record") {
		t.Errorf("a question answers %q", last)
	}
	n := len(said)
	e.say(t, "f:3", bob, "what is this?") // Teams sends it again
	if len(e.cx.MessagesTo(bob.ID)) != n {
		t.Errorf("a message sent again was answered again")
	}
}

// say sends text from p in their personal chat with the bot and waits
// for the answer.
func (e *env) say(t *testing.T, id string, p person, text string) {
	t.Helper()
	act := e.activity(id, "", p, where{kind: "personal", channel: "a:personal-" + p.ID}, nil)
	act["type"], act["text"] = "message", text
	delete(act, "name")
	if status, body := e.post(act); status != http.StatusOK {
		t.Fatalf("a message: HTTP %d %s", status, body)
	}
	e.app.Wait()
}

// read returns the stored object at key as text.
func (e *env) read(key string) string {
	e.t.Helper()
	rc, _, err := e.store.Open(context.Background(), key)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

// TestConsentSealedWithAnotherKey: a permission sealed with another
// secret key (the key was changed) is no permission: the form asks again,
// and no file token comes of it.
func TestConsentSealedWithAnotherKey(t *testing.T) {
	e, gs, cons := consentEnv(t)
	if status, page := signIn(t, gs, bob, cons.Link(tenant, bob.AAD)); status != http.StatusOK {
		t.Fatalf("sign-in: HTTP %d %s", status, page)
	}
	vault, err := bot.NewVault(strings.Repeat("cd", 32))
	if err != nil {
		t.Fatal(err)
	}
	other, err := teams.NewConsent(teams.ConsentOptions{Store: e.store, Vault: vault,
		Login:    &entra.Client{LoginURL: gs.URL, Tenant: tenant, ClientID: appID, Credential: entra.Secret(password), HTTPClient: gs.Client()},
		GraphURL: gs.URL, RedirectURL: e.srv.URL + teams.CallbackPath, Key: []byte("teams consent test key, 32 bytes"), Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if has, err := other.Has(ctx, tenant, bob.AAD); has || err != nil {
		t.Errorf("a grant sealed with another key: Has = %v, %v", has, err)
	}
	if _, err := other.FileToken(ctx, tenant, bob.AAD); !errors.Is(err, teamscap.ErrNoConsent) {
		t.Errorf("a grant sealed with another key: FileToken = %v, want ErrNoConsent", err)
	}
}
