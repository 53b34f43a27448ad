package mattermost_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	mmbot "github.com/recordbot/recordbot/bot/mattermost"
	"github.com/recordbot/recordbot/filing"
)

// postCommand posts a slash command form to the bot as an attacker who can
// reach it would, and returns the HTTP status.
func postCommand(t *testing.T, e *env, form url.Values, auth string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", e.public.URL+mmbot.CommandPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestForgedCommandsRefused: issue 9, finding 1. A team that is not
// installed has no command token, so no token (least of all the constant
// the old code expected for such teams) passes; nor does a command with
// the right token that names no user or channel.
func TestForgedCommandsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true})
	good := e.mm.Commands(e.team.Id)[0].Token
	wrong := "x" + good[1:] // differs from the right token in its first character
	if good[0] == 'x' {
		wrong = "y" + good[1:]
	}
	link := e.mm.URL + "/ops/pl/" + e.root.Id
	accepted, sent := 0, 0
	dialogsBefore := len(e.mm.OpenedDialogs())
	send := func(team, token, user, channel string) {
		f := url.Values{"token": {token}, "team_id": {team}, "channel_id": {channel}, "user_id": {user},
			"user_name": {"mallory"}, "command": {"/record"}, "text": {link}, "trigger_id": {e.mm.NewTrigger(user)}}
		sent++
		if code := postCommand(t, e, f, ""); code == http.StatusOK {
			accepted++
		}
	}
	for i := range 50 {
		other := mattermosttestID()
		send(other, "\x00no command token\x00", e.alice.Id, e.ch.Id) // the old default secret
		send(other, good, e.alice.Id, e.ch.Id)                       // a real token, another team
		send(e.team.Id, wrong, e.alice.Id, e.ch.Id)                  // a wrong token
		switch i % 3 {
		case 0:
			send(e.team.Id, good, "", e.ch.Id) // no user
		case 1:
			send(e.team.Id, good, e.alice.Id, "") // no channel
		default:
			send("", good, e.alice.Id, e.ch.Id) // no team
		}
	}
	if sent != 200 || accepted != 0 {
		t.Errorf("Got(accepted) = %d of %d forged commands, want 0", accepted, sent)
	}
	if n := len(e.mm.OpenedDialogs()) - dialogsBefore; n != 0 {
		t.Errorf("forged commands opened %d dialogs, want 0", n)
	}
	// The real command still works.
	if code, _, err := e.mm.SlashCommand(e.team.Id, e.ch.Id, e.alice.Id, "/record "+link, ""); err != nil || code != 200 {
		t.Errorf("the real /record = HTTP %d, %v; want 200", code, err)
	}
}

// TestNonMemberSeesNothingOfPrivateThread: a person who is not in a
// private channel links one of its posts; the bot (a member) refuses
// before showing anything of the thread: no dialog, no first line, no
// channel name.
func TestNonMemberSeesNothingOfPrivateThread(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true})
	hr := e.mm.AddChannel(e.team, "hr-restructuring", model.ChannelTypePrivate, e.bob)
	e.mm.Join(hr, &model.User{Id: e.inst.BotUserID})
	secret := e.mm.AddPost(hr, e.bob, nil, "Redundancies in the ferry team\ndetails")
	before := len(e.mm.OpenedDialogs())
	code, cr, err := e.mm.SlashCommand(e.team.Id, e.ch.Id, e.alice.Id, "/record "+e.mm.URL+"/ops/pl/"+secret.Id, "")
	if err != nil || code != 200 {
		t.Fatalf("/record <link> = HTTP %d, %v", code, err)
	}
	if !strings.Contains(cr.Text, "Only members of the channel") {
		t.Errorf("Got(answer) = %q, want it to say only members may file", cr.Text)
	}
	for _, leak := range []string{"Redundancies", "hr-restructuring", "Hr-restructuring"} {
		if strings.Contains(cr.Text, leak) {
			t.Errorf("Got(answer) = %q, which shows %q to a non-member", cr.Text, leak)
		}
	}
	if n := len(e.mm.OpenedDialogs()); n != before {
		t.Errorf("a dialog (with the thread's first line) was opened for a non-member")
	}
}

// lateStore stores requests but answers the first one with an error, as
// a store that answered after the bot stopped waiting does.
type lateStore struct {
	filing.Store
	mu   sync.Mutex
	late bool
}

func (s *lateStore) Create(ctx context.Context, key string, r io.Reader, size int64, o filing.WriteOptions) (filing.ObjectInfo, error) {
	info, err := s.Store.Create(ctx, key, r, size, o)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil && !s.late && strings.HasPrefix(key, filing.RequestsPrefix+"pending/") {
		s.late = true
		return info, context.DeadlineExceeded
	}
	return info, err
}

// TestLateStoreAnswer: issue 9, finding 6. The store stored the request
// but answered late: the person is told it may have been stored and that
// pressing again is safe, and pressing again makes no second request.
func TestLateStoreAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true, store: func(s filing.Store) filing.Store { return &lateStore{Store: s} }})
	if _, _, err := e.mm.SlashCommand(e.team.Id, e.ch.Id, e.alice.Id, "/record", e.root.Id); err != nil {
		t.Fatal(err)
	}
	d := e.lastDialog()
	resp := e.submit(d, e.alice, fileValues)
	if !strings.Contains(resp.Error, "may or may not have been stored") || !strings.Contains(resp.Error, "cannot make a second record") {
		t.Errorf("Got(dialog error) = %q, want it to say the request may have been stored and pressing again is safe", resp.Error)
	}
	if strings.Contains(resp.Error, "Nothing was filed") {
		t.Errorf("Got(dialog error) = %q, which claims nothing was stored", resp.Error)
	}
	resp = e.submit(d, e.alice, fileValues)
	if resp.Error != "" || len(resp.Errors) > 0 {
		t.Errorf("second press = %+v, want it accepted", resp)
	}
	if n := pending(t, e); n != 1 {
		t.Errorf("Got(requests stored) = %d after a late answer and a second press, want 1", n)
	}
}

// TestReplayedFormMakesOneRequest: one form submitted ten times at once
// (a replay, a double click) makes one request.
func TestReplayedFormMakesOneRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true})
	if _, _, err := e.mm.SlashCommand(e.team.Id, e.ch.Id, e.alice.Id, "/record", e.root.Id); err != nil {
		t.Fatal(err)
	}
	d := e.lastDialog()
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.mm.SubmitDialog(d, e.alice.Id, e.ch.Id, e.team.Id, fileValues)
		}()
	}
	wg.Wait()
	if n := pending(t, e); n != 1 {
		t.Errorf("Got(requests stored) = %d for one form submitted 10 times, want 1", n)
	}
	// No claim objects any more: the request key does the work.
	for info, err := range e.store.List(context.Background(), filing.InstallationsPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(info.Key, "/claims/") {
			t.Errorf("claim object %s written; the filing key replaces claims", info.Key)
		}
	}
}

// TestOutcomeAfterResponseURLExpires: once the command's response_url
// has expired (30 minutes), the outcome comes as a direct message.
func TestOutcomeAfterResponseURLExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true})
	if _, _, err := e.mm.SlashCommand(e.team.Id, e.ch.Id, e.alice.Id, "/record", e.root.Id); err != nil {
		t.Fatal(err)
	}
	d := e.lastDialog()
	if resp := e.submit(d, e.alice, fileValues); resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("submission refused: %+v", resp)
	}
	filing := e.waitTold(e.alice, "Filing **Ferry tender decision**")
	if e.isDM(filing.ChannelId) || filing.ChannelId != e.ch.Id || filing.RootId != e.root.Id {
		t.Errorf("Filing… shown in %s/%s, want the thread %s/%s (through response_url)", filing.ChannelId, filing.RootId, e.ch.Id, e.root.Id)
	}
	e.mm.AgeHooks(31 * time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); e.svc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	out := e.waitTold(e.alice, "Filed as record **Ferry tender decision**")
	if !e.isDM(out.ChannelId) {
		t.Errorf("outcome in channel %s after response_url expired, want a direct message", out.ChannelId)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		t.Fatal("cancelled early")
	}
}

// TestInstallRemovesOldClaims: the claim objects an older recordbot wrote
// for every form and reaction are removed by the next install.
func TestInstallRemovesOldClaims(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true})
	ctx := context.Background()
	prefix := strings.TrimSuffix(mmbot.InstallKey(e.mm.URL), ".json") + "/claims/"
	for _, n := range []string{"form-0123", "reaction-4567"} {
		b := []byte(`{"claimed_at":"2026-01-01T00:00:00Z","for":"dialog"}`)
		if _, err := e.store.Create(ctx, prefix+n, strings.NewReader(string(b)), int64(len(b)), filing.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.install("ops")
	n := 0
	for _, err := range e.store.List(ctx, prefix) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 0 {
		t.Errorf("Got(claim objects after install) = %d, want 0", n)
	}
}

// TestDialogWithoutUserRefused: a dialog submission that names no user
// (Mattermost always names one) is refused and stores nothing.
func TestDialogWithoutUserRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true})
	if _, _, err := e.mm.SlashCommand(e.team.Id, e.ch.Id, e.alice.Id, "/record", e.root.Id); err != nil {
		t.Fatal(err)
	}
	code, resp, err := e.mm.SubmitDialog(e.lastDialog(), "", e.ch.Id, e.team.Id, fileValues)
	if err != nil || code != 200 {
		t.Fatalf("SubmitDialog = HTTP %d, %v", code, err)
	}
	if resp.Error == "" {
		t.Errorf("Got(dialog error) = %q for a submission without a user, want a refusal", resp.Error)
	}
	if n := pending(t, e); n != 0 {
		t.Errorf("Got(requests stored) = %d, want 0", n)
	}
}
