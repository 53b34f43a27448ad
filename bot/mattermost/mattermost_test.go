package mattermost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	mmbot "github.com/recordbot/recordbot/bot/mattermost"
	"github.com/recordbot/recordbot/capture"
	mmcapture "github.com/recordbot/recordbot/capture/mattermost"
	"github.com/recordbot/recordbot/filing"
)

var fileValues = map[string]any{"title": "Ferry tender decision", "class": "200-20-01", "marking": "OFFICIAL-SENSITIVE", "description": "Award to bidder A"}

// TestCommandInThreadFilesRecord: /record typed in a thread's reply box.
// Newer Mattermost servers send the thread (root_id) with the command;
// 6.7.2, the server CI runs, does not, so only the test double can play
// this path (the real-server suite uses the link).
func TestCommandInThreadFilesRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	code, cr, err := e.mm.SlashCommand(e.team.Id, e.ch.Id, e.alice.Id, "/record", e.root.Id)
	if err != nil || code != 200 {
		t.Fatalf("/record in a thread = HTTP %d, %v", code, err)
	}
	if cr.Text != "" {
		t.Errorf("/record answered %q, want no text (the dialog opens)", cr.Text)
	}
	d := e.lastDialog()
	if got := d.Dialog.Elements[0].Default; got != "Tender decision for the new ferry" {
		t.Errorf("title prefill = %q, want the root post's first line", got)
	}
	if d.URL != e.public.URL+mmbot.DialogPath {
		t.Errorf("dialog URL = %q, want %q", d.URL, e.public.URL+mmbot.DialogPath)
	}
	if resp := e.submit(d, e.alice, fileValues); resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("submission refused: %+v", resp)
	}
	e.waitTold(e.alice, "Filing **Ferry tender decision**")
	done := e.waitTold(e.alice, "Filed as record **Ferry tender decision**")
	if done.ChannelId != e.ch.Id || done.RootId != e.root.Id {
		t.Errorf("outcome posted in %s/%s, want the thread %s/%s", done.ChannelId, done.RootId, e.ch.Id, e.root.Id)
	}
	e.checkRecord("Ferry tender decision", "200-20-01")
}

// TestDialogMarkingIsTheClassDefault: the marking preselected is the
// chosen class's default (as on Slack), not the plan's: a class whose
// records are sensitive by default is filed sensitive unless the person
// chooses otherwise.
func TestDialogMarkingIsTheClassDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	if _, _, err := e.mm.SlashCommand(e.team.Id, e.ch.Id, e.alice.Id, "/record", e.root.Id); err != nil {
		t.Fatal(err)
	}
	d := e.lastDialog()
	m := d.Dialog.Elements[2]
	if m.Name != "marking" || m.Default != bot.ClassDefault || len(m.Options) == 0 || m.Options[0].Value != bot.ClassDefault {
		t.Fatalf("marking element = %+v, want %q preselected and offered first", m, bot.ClassDefault)
	}
	if resp := e.submit(d, e.alice, map[string]any{"title": "Ferry tender decision", "class": "200-20-01", "marking": m.Default}); resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("submission refused: %+v", resp)
	}
	e.waitTold(e.alice, "Filing **Ferry tender decision** under 200 Finance > 200-20 Procurement > 200-20-01 Tender evaluation (OFFICIAL-SENSITIVE)")
	e.waitTold(e.alice, "- Marking: OFFICIAL-SENSITIVE")
}

func TestCommandWithLinkFilesRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	other := e.mm.AddChannel(e.team, "town-square", model.ChannelTypeOpen, e.alice)
	e.mm.Join(other, &model.User{Id: e.inst.BotUserID})
	link := e.mm.URL + "/ops/pl/" + e.replies[1].Id // a reply: its thread is filed
	code, cr, err := e.mm.SlashCommand(e.team.Id, other.Id, e.alice.Id, "/record "+link+" Ferry board minutes", "")
	if err != nil || code != 200 || cr.Text != "" {
		t.Fatalf("/record <link> = HTTP %d %q, %v", code, cr.Text, err)
	}
	d := e.lastDialog()
	if got := d.Dialog.Elements[0].Default; got != "Ferry board minutes" {
		t.Errorf("title prefill = %q, want the title typed after the link", got)
	}
	if resp := e.submit(d, e.alice, map[string]any{"title": "Ferry board minutes", "class": "100-20", "marking": "OFFICIAL"}); resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("submission refused: %+v", resp)
	}
	done := e.waitTold(e.alice, "Filed as record **Ferry board minutes**")
	if done.ChannelId != other.Id {
		t.Errorf("outcome posted in %s, want where the command was typed (%s)", done.ChannelId, other.Id)
	}
	e.checkRecord("Ferry board minutes", "100-20")
}

func TestCommandReplies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true})
	secret := e.mm.AddChannel(e.team, "secret", model.ChannelTypePrivate, e.alice)
	hidden := e.mm.AddPost(secret, e.alice, nil, "hidden")
	dm := e.mm.AddChannel(e.team, e.alice.Id+"__"+e.bob.Id, model.ChannelTypeDirect, e.alice, e.bob)
	private := e.mm.AddPost(dm, e.alice, nil, "between the two of us")
	for _, tc := range []struct {
		name, line, root string
		user             *model.User
		want             []string
	}{
		{"neither thread nor link", "/record", "", e.alice, []string{"In a thread", "Copy Link", "post link"}},
		{"words but no link", "/record the ferry thread", "", e.alice, []string{"In a thread", "Copy Link"}},
		{"bad link", "/record https://chat.example.org/ops/pl/" + e.root.Id, "", e.alice, []string{"another server"}},
		{"bot not in channel", "/record " + e.mm.URL + "/ops/pl/" + hidden.Id, "", e.alice, []string{"/invite @recordbot"}},
		// A bot cannot be added to a direct message: the person is told
		// so, not only to invite it.
		{"direct message", "/record " + e.mm.URL + "/ops/pl/" + private.Id, "", e.alice, []string{"direct or group message between people cannot be filed", "member of"}},
		{"requester not in channel", "/record", e.root.Id, e.bob, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.mm.OpenedDialogs())
			user := tc.user
			if tc.name == "requester not in channel" {
				carol, _ := e.mm.AddUser("carol")
				user = carol
				tc.want = []string{"Only members of the channel"}
			}
			code, cr, err := e.mm.SlashCommand(e.team.Id, e.ch.Id, user.Id, tc.line, tc.root)
			if err != nil || code != 200 {
				t.Fatalf("%s = HTTP %d, %v", tc.line, code, err)
			}
			if cr.ResponseType != model.CommandResponseTypeEphemeral {
				t.Errorf("response_type = %q, want ephemeral", cr.ResponseType)
			}
			for _, w := range tc.want {
				if !strings.Contains(cr.Text, w) {
					t.Errorf("%s answered %q, want it to contain %q", tc.line, cr.Text, w)
				}
			}
			if n := len(e.mm.OpenedDialogs()); n != before {
				t.Errorf("a dialog was opened; want none")
			}
		})
	}
}

// TestCommandRequestAsSent posts the slash command exactly as a Mattermost
// server sends it (testdata/command.form), with good and bad tokens.
func TestCommandRequestAsSent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true})
	raw, err := os.ReadFile("testdata/command.form")
	if err != nil {
		t.Fatal(err)
	}
	good := e.mm.Commands(e.team.Id)[0].Token
	// A token that differs from the right one in its first character (a
	// random token may itself start with "x").
	wrong := "x" + good[1:]
	if good[0] == 'x' {
		wrong = "y" + good[1:]
	}
	for _, tc := range []struct {
		name, token, auth string
		want              int
	}{
		{"right token", good, "Token " + good, 200},
		{"wrong token", wrong, "Token " + wrong, 401},
		{"no token", "", "", 401},
		{"token of another team", good, "Token " + good, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			team := e.team.Id
			if tc.name == "token of another team" {
				team = mattermosttestID()
			}
			body := strings.NewReplacer("TOKEN", tc.token, "TEAMID", team, "CHANNELID", e.ch.Id,
				"USERID", e.alice.Id, "ROOTID", e.root.Id, "TRIGGERID", e.mm.NewTrigger(e.alice.Id)).Replace(strings.TrimSpace(string(raw)))
			req, _ := http.NewRequest("POST", e.public.URL+mmbot.CommandPath, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "application/json")
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("POST %s with %s = HTTP %d, want %d", mmbot.CommandPath, tc.name, resp.StatusCode, tc.want)
			}
		})
	}
}

func TestDialogSubmission(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true})
	if _, _, err := e.mm.SlashCommand(e.team.Id, e.ch.Id, e.alice.Id, "/record", e.root.Id); err != nil {
		t.Fatal(err)
	}
	d := e.lastDialog()
	for _, tc := range []struct {
		name       string
		values     map[string]any
		user       string
		state      string
		wantErrors []string
		wantError  string
	}{
		{"empty title and class", map[string]any{"title": " ", "class": nil, "marking": "OFFICIAL"}, "", "", []string{"title", "class"}, ""},
		{"marking not allowed in class", map[string]any{"title": "T", "class": "200-20-01", "marking": "SECRET"}, "", "", []string{"marking"}, ""},
		{"class with sub-classes", map[string]any{"title": "T", "class": "200-20", "marking": "OFFICIAL"}, "", "", []string{"class"}, ""},
		{"someone else's form", fileValues, e.bob.Id, "", nil, "someone else"},
		{"forged state", fileValues, "", "v1:" + strings.Repeat("A", 80), nil, "no longer valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dd := d
			if tc.state != "" {
				dd.Dialog.State = tc.state
			}
			user := tc.user
			if user == "" {
				user = e.alice.Id
			}
			code, resp, err := e.mm.SubmitDialog(dd, user, e.ch.Id, e.team.Id, tc.values)
			if err != nil || code != 200 {
				t.Fatalf("SubmitDialog = HTTP %d, %v", code, err)
			}
			for _, f := range tc.wantErrors {
				if resp.Errors[f] == "" {
					t.Errorf("errors[%q] empty in %+v, want a message", f, resp.Errors)
				}
			}
			if len(resp.Errors) != len(tc.wantErrors) {
				t.Errorf("errors = %+v, want fields %v", resp.Errors, tc.wantErrors)
			}
			if !strings.Contains(resp.Error, tc.wantError) || (tc.wantError == "" && resp.Error != "") {
				t.Errorf("error = %q, want %q", resp.Error, tc.wantError)
			}
		})
	}
	if n := pending(t, e); n != 0 {
		t.Errorf("%d requests stored after refused submissions, want 0", n)
	}
	// One good submission stores one request; submitting the same form
	// again (a double click, a replay) stores nothing more.
	if resp := e.submit(d, e.alice, fileValues); resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("good submission refused: %+v", resp)
	}
	if resp := e.submit(d, e.alice, fileValues); resp.Error != "" || len(resp.Errors) > 0 {
		t.Errorf("second submission of one form = %+v, want it accepted as the same request", resp)
	}
	e.waitTold(e.alice, "This form was already received")
	if n := pending(t, e); n != 1 {
		t.Errorf("%d requests stored, want 1", n)
	}
}

// pending counts the requests waiting to be filed (not the empty markers
// done keyed requests leave).
func pending(t *testing.T, e *env) int {
	n := 0
	for info, err := range e.store.List(context.Background(), filing.RequestsPrefix+"pending/") {
		if err != nil {
			t.Fatal(err)
		}
		if info.Size > 0 {
			n++
		}
	}
	return n
}

func TestDynamicClassSelect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{dynamicOver: 3, noWorker: true})
	if _, _, err := e.mm.SlashCommand(e.team.Id, e.ch.Id, e.alice.Id, "/record", e.root.Id); err != nil {
		t.Fatal(err)
	}
	d := e.lastDialog()
	class := d.Dialog.Elements[1]
	if class.DataSource != "dynamic" || class.DataSourceURL != e.public.URL+mmbot.LookupPath || len(class.Options) != 0 {
		t.Fatalf("class element = %+v, want a dynamic select asking %s", class, mmbot.LookupPath)
	}
	res, err := e.mm.LookupDialog(d, "class", e.alice.Id, e.ch.Id, e.team.Id, "tender")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 || res.Items[0].Value != "200-20-01" {
		t.Errorf("lookup %q = %+v, want 200-20-01 only", "tender", res.Items)
	}
	if _, err := e.mm.LookupDialog(d, "class", e.bob.Id, e.ch.Id, e.team.Id, "tender"); err == nil {
		t.Errorf("lookup with someone else's form succeeded, want refusal")
	}
}

func TestReactionButtonDialogFilesRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	// Two bot processes on one store: one offer, one request.
	second := e.newApp(envOpts{})
	e.listen(e.app, 1)
	e.listen(second, 2)
	e.mm.React(e.replies[0], e.alice, "thumbsup") // not the filing emoji
	e.mm.React(e.replies[0], e.alice, "card_file_box")
	offer := e.waitTold(e.alice, "File its thread as a record?")
	if !e.isDM(offer.ChannelId) {
		t.Errorf("offer posted in channel %s, want a direct message from the bot", offer.ChannelId)
	}
	code, _, err := e.mm.ClickButton(offer, "filerecord", e.alice.Id)
	if err != nil || code != 200 {
		t.Fatalf("button = HTTP %d, %v", code, err)
	}
	d := e.lastDialog()
	if got := d.Dialog.Elements[0].Default; got != "Tender decision for the new ferry" {
		t.Errorf("title prefill = %q", got)
	}
	// Someone else pressing the same button gets no dialog.
	before := len(e.mm.OpenedDialogs())
	_, ar, _ := e.mm.ClickButton(offer, "filerecord", e.bob.Id)
	if len(e.mm.OpenedDialogs()) != before || !strings.Contains(ar.EphemeralText, "someone else") {
		t.Errorf("bob pressing alice's button: %+v; want a refusal and no dialog", ar)
	}
	if resp := e.submit(d, e.alice, fileValues); resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("submission refused: %+v", resp)
	}
	e.waitTold(e.alice, "Filed as record **Ferry tender decision**")
	e.checkRecord("Ferry tender decision", "200-20-01")
	offers := 0
	for _, p := range e.mm.MessagesTo(e.alice.Id) {
		if strings.Contains(p.Message, "File its thread as a record?") {
			offers++
		}
	}
	if offers != 1 {
		t.Errorf("%d offers for one reaction with two bot processes, want 1", offers)
	}
}

// TestReactionEventJSON feeds the listener a reaction_added frame as the
// server writes it (testdata/reaction_added.json), after a reconnect.
func TestReactionEventJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true})
	e.listen(e.app, 1)
	e.mm.DropWebSockets()
	e.waitFor("the listener to reconnect", func() bool { return e.mm.WebSocketClients() == 1 })
	raw, err := os.ReadFile("testdata/reaction_added.json")
	if err != nil {
		t.Fatal(err)
	}
	frame := strings.NewReplacer("POSTID", e.root.Id, "USERID", e.bob.Id, "CHANNELID", e.ch.Id).Replace(string(raw))
	var check map[string]any
	if err := json.Unmarshal([]byte(frame), &check); err != nil {
		t.Fatalf("fixture is not JSON: %v", err)
	}
	e.mm.SendRaw(bytes.TrimSpace([]byte(frame)))
	offer := e.waitTold(e.bob, "File its thread as a record?")
	if !e.isDM(offer.ChannelId) || !strings.Contains(offer.Message, e.root.Id) {
		t.Errorf("offer %q in channel %s, want a direct message linking post %s", offer.Message, offer.ChannelId, e.root.Id)
	}
}

func TestInstall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true})
	ctx := context.Background()
	key := mmbot.InstallKey(e.mm.URL)
	info1, err := e.store.Stat(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	// Again: nothing changes on Mattermost or in the store.
	again := e.install("ops")
	info2, _ := e.store.Stat(ctx, key)
	if info1.ETag != info2.ETag || again.BotTokenID != e.inst.BotTokenID {
		t.Errorf("second install changed the installation (etag %s -> %s, token %s -> %s)", info1.ETag, info2.ETag, e.inst.BotTokenID, again.BotTokenID)
	}
	if n := len(e.mm.Commands(e.team.Id)); n != 1 {
		t.Errorf("%d commands on the team after two installs, want 1", n)
	}
	if n := len(e.mm.ActiveTokens(e.inst.BotUserID)); n != 1 {
		t.Errorf("%d bot tokens after two installs, want 1", n)
	}
	if n := len(e.mm.Bots()); n != 1 {
		t.Errorf("%d bots after two installs, want 1", n)
	}
	if !e.mm.TeamMember(e.team.Id, e.inst.BotUserID) {
		t.Errorf("bot is not on the team")
	}
	// Tokens are sealed: no plain token in the stored object.
	rc, _, _ := e.store.Open(ctx, key)
	stored := readAll(t, rc)
	rc.Close()
	if cmdTok := e.mm.Commands(e.team.Id)[0].Token; strings.Contains(stored, cmdTok) {
		t.Errorf("stored installation holds the command token in clear")
	}
	// A second team.
	e.mm.AddTeam("finance", "Finance")
	inst := e.install("finance")
	if len(inst.Teams) != 2 {
		t.Errorf("installed on %d teams, want 2", len(inst.Teams))
	}
	// Uninstall one team, then all.
	if err := e.installer(e.adminToken).Uninstall(ctx, []string{"finance"}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.mm.Commands(e.team.Id)); n != 1 {
		t.Errorf("uninstalling finance removed ops's command")
	}
	if err := e.installer(e.adminToken).Uninstall(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(e.mm.Commands(e.team.Id)); n != 0 {
		t.Errorf("%d commands after uninstall, want 0", n)
	}
	if n := len(e.mm.ActiveTokens(e.inst.BotUserID)); n != 0 {
		t.Errorf("%d bot tokens after uninstall, want 0", n)
	}
	if b := e.mm.Bots(); len(b) != 1 || b[0].DeleteAt == 0 {
		t.Errorf("bot after uninstall = %+v, want it disabled", b)
	}
	if _, err := e.store.Stat(ctx, key); err == nil {
		t.Errorf("installation still stored after uninstall")
	}
	// Install again after uninstall: the disabled bot is enabled, a new
	// token made.
	re := e.install("ops")
	if re.BotUserID != e.inst.BotUserID || len(e.mm.ActiveTokens(re.BotUserID)) != 1 {
		t.Errorf("reinstall: bot %s (was %s), %d tokens", re.BotUserID, e.inst.BotUserID, len(e.mm.ActiveTokens(re.BotUserID)))
	}
}

// After the secret key changed, the stored tokens do not open: the front
// end refuses to use them, and install run again makes new ones, sealed
// with the new key, and replaces the old bot token.
func TestInstallAfterKeyChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true})
	ctx := context.Background()
	other, err := bot.NewVault(strings.Repeat("11", 32))
	if err != nil {
		t.Fatal(err)
	}
	installs, err := mmbot.NewInstallations(e.store, other, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := installs.Get(ctx, e.mm.URL); !errors.Is(err, bot.ErrUnsealed) {
		t.Fatalf("Get with another key = %v, want ErrUnsealed", err)
	}
	in := e.installer(e.adminToken)
	in.Vault = other
	re, err := in.Install(ctx, []string{"ops"})
	if err != nil {
		t.Fatal(err)
	}
	if re.BotTokenID == e.inst.BotTokenID || len(e.mm.ActiveTokens(re.BotUserID)) != 1 {
		t.Errorf("install with a new key: token %s (was %s), %d active tokens; want a new one, the old one revoked",
			re.BotTokenID, e.inst.BotTokenID, len(e.mm.ActiveTokens(re.BotUserID)))
	}
	tok, err := installs.Secret(ctx, e.mm.URL, "bot")
	if err != nil || tok == "" {
		t.Fatalf("bot token after install with the new key = %q, %v", tok, err)
	}
	cmd, err := installs.Secret(ctx, e.mm.URL, e.team.Id+":command")
	if err != nil || cmd != e.mm.Commands(e.team.Id)[0].Token {
		t.Errorf("command token after install with the new key = %q, %v; want the team's", cmd, err)
	}
}

func TestInstallErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true})
	_, userToken := e.mm.AddUser("mallory")
	for _, tc := range []struct {
		name  string
		cfg   func()
		token string
		teams []string
		want  string
	}{
		{"unknown team", nil, e.adminToken, []string{"nosuch"}, `no team "nosuch"`},
		{"no team", nil, e.adminToken, nil, "at least one team"},
		{"not an admin", nil, userToken, []string{"ops"}, "not a system admin"},
		{"bad token", nil, "wrong", []string{"ops"}, "refused it"},
		{"no token", nil, "", []string{"ops"}, "no admin token given"},
		{"bot accounts disabled", func() { e.mm.Config.DisableBotAccounts = true }, e.adminToken, []string{"ops"}, "Enable Bot Account Creation"},
		{"tokens disabled", func() { e.mm.Config.DisableUserTokens = true }, e.adminToken, []string{"ops"}, "Enable Personal Access Tokens"},
		{"commands disabled", func() { e.mm.Config.DisableCommands = true }, e.adminToken, []string{"ops"}, "Enable Custom Slash Commands"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A fresh store each time so install starts from nothing.
			in := e.installer(tc.token)
			in.BotUsername = "rb-" + strings.ReplaceAll(tc.name, " ", "-")
			in.Store = freshStore(t)
			e.mm.Lock()
			e.mm.Config = mmConfigZero
			if tc.cfg != nil {
				tc.cfg()
			}
			e.mm.Unlock()
			defer func() { e.mm.Lock(); e.mm.Config = mmConfigZero; e.mm.Unlock() }()
			_, err := in.Install(context.Background(), tc.teams)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Install = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestInstallKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ server, want string }{
		{"https://chat.example.org", "installations/mattermost/chat.example.org.json"},
		{"http://127.0.0.1:8065", "installations/mattermost/127.0.0.1_8065.json"},
		{"https://example.org/chat", "installations/mattermost/example.org_chat.json"},
	} {
		if got := mmbot.InstallKey(tc.server); got != tc.want {
			t.Errorf("InstallKey(%q) = %q, want %q", tc.server, got, tc.want)
		}
	}
}

func TestPermalinkRoundTrip(t *testing.T) {
	t.Parallel()
	id := mattermosttestID()
	link := mmcapture.Permalink("https://chat.example.org", "ops", id)
	team, post, err := mmcapture.ParsePermalink("https://chat.example.org", link)
	if err != nil || team != "ops" || post != id {
		t.Errorf("ParsePermalink(Permalink(%q)) = %q, %q, %v", id, team, post, err)
	}
}

func TestNotifyOutcomes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{noWorker: true})
	rp, _ := json.Marshal(map[string]string{"server": e.mm.URL, "channel_id": e.ch.Id, "root_id": e.root.Id, "user_id": e.alice.Id})
	req := filing.Request{ID: "r1", Title: "Ferry", Reply: rp}
	// What capture/mattermost answers when the server refuses the bot's
	// token: its advice reaches the person, its chain does not.
	revoked, err := mmcapture.New(mmcapture.Options{URL: e.mm.URL, Token: "revoked"})
	if err != nil {
		t.Fatal(err)
	}
	_, tokenErr := revoked.Capture(context.Background(), capture.Ref{Platform: capture.Mattermost, ThreadID: e.root.Id}, capture.Person{ID: e.alice.Id})
	for _, tc := range []struct {
		name   string
		o      filing.Outcome
		want   []string
		unwant []string
	}{
		{"token refused", filing.Outcome{Request: req, Err: fmt.Errorf("capture thread: %w", tokenErr), Final: true},
			[]string{"Could not file **Ferry**: the Mattermost server no longer accepts recordbot's access token: a system admin must run `bot mattermost install` again. Nothing was filed."},
			[]string{"capture", e.mm.URL, "401"}},
		{"bot not in channel", filing.Outcome{Request: req, Err: fmt.Errorf("capture: %w", capture.ErrBotNotInChannel), Final: true},
			[]string{"Could not file **Ferry**", "/invite @recordbot", "Nothing was filed"}, nil},
		{"not a member", filing.Outcome{Request: req, Err: fmt.Errorf("capture: %w", capture.ErrAccess), Final: true},
			[]string{"only members of the channel", "Nothing was filed"}, nil},
		{"will retry", filing.Outcome{Request: req, Err: errors.New("put s3://bucket/records/x: /var/lib/secret-path unavailable"), Final: false},
			[]string{"I will try again", "`r1`"}, []string{"s3://", "/var/lib"}},
		{"failed for good, unknown cause", filing.Outcome{Request: req, Err: errors.New("put s3://bucket/records/x failed"), Final: true},
			[]string{"Could not file **Ferry**", "`r1`", "ask the records team"}, []string{"s3://", "Nothing was filed"}},
		{"rate limited", filing.Outcome{Request: req, Err: fmt.Errorf("capture: %w", &capture.RateLimitError{Platform: capture.Mattermost, RetryAfter: 90 * time.Second}), Final: false},
			[]string{"Mattermost asked me to slow down", "**Ferry**", "about 2 minutes", "I will tell you when it is filed"}, nil},
		{"filed", filing.Outcome{Request: req, Record: &filing.Summary{ID: "r1", Title: "Ferry", ClassPath: "200 Finance > 200-20 Procurement",
			Marking: "OFFICIAL", Where: "s3://b/records/x/", Messages: 3, Files: 2}, Final: true},
			[]string{"Filed as record **Ferry**", "`r1`", "200-20 Procurement", "OFFICIAL", "kept permanently"}, []string{"s3://"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.mm.MessagesTo(e.alice.Id))
			e.app.Notify(context.Background(), tc.o)
			got := e.mm.MessagesTo(e.alice.Id)
			if len(got) != before+1 {
				t.Fatalf("%d messages to the person, want %d", len(got), before+1)
			}
			p := got[len(got)-1]
			for _, w := range tc.want {
				if !strings.Contains(p.Message, w) {
					t.Errorf("Notify posted %q, want it to contain %q", p.Message, w)
				}
			}
			for _, w := range tc.unwant {
				if strings.Contains(p.Message, w) {
					t.Errorf("Notify posted %q, which shows %q to the person", p.Message, w)
				}
			}
			if !e.isDM(p.ChannelId) {
				t.Errorf("posted in channel %s, want a direct message (there is no response_url)", p.ChannelId)
			}
		})
	}
}
