package mattermost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/mattermost"
	"github.com/recordbot/recordbot/capture/mattermost/mattermosttest"
)

// backend is what the contract tests need of a Mattermost server. The fake
// (mattermosttest.Server) and a real 6.7.2 server (internal/mmserver, in
// contract_real_test.go, built with -tags mmserver) both provide it, and
// runContract runs the same tests against each, so the fake cannot drift
// from what the real server does.
type backend interface {
	ServerURL() string
	Name(name string) string
	AddTeam(name, display string) *model.Team
	AddUser(username string, roles ...string) (*model.User, string)
	AddBot(username string) (*model.User, string)
	AddChannel(team *model.Team, name string, typ model.ChannelType, members ...*model.User) *model.Channel
	Join(ch *model.Channel, users ...*model.User)
	AddPost(ch *model.Channel, u *model.User, root *model.Post, message string, files ...mattermosttest.File) *model.Post
	Edit(p *model.Post, message string)
	React(p *model.Post, u *model.User, emoji string) *model.Reaction
}

func TestContractFake(t *testing.T) {
	t.Parallel()
	runContract(t, func(t *testing.T) backend { return mattermosttest.New(t) })
}

// contractWorld is a team with a public thread (an edit, reactions, a
// file) and a private channel the bot is not in.
type contractWorld struct {
	b                 backend
	team              *model.Team
	ch, private       *model.Channel
	alice, bob, carol *model.User
	bot               *model.User
	botToken          string
	carolToken        string
	root, secret      *model.Post
	replies           []*model.Post
	file              []byte
}

func newContractWorld(t *testing.T, b backend) *contractWorld {
	w := &contractWorld{b: b}
	w.team = b.AddTeam("ops", "Operations")
	w.alice, _ = b.AddUser("alice")
	w.bob, _ = b.AddUser("bob")
	w.carol, w.carolToken = b.AddUser("carol")
	w.bot, w.botToken = b.AddBot("recordbot")
	w.ch = b.AddChannel(w.team, "procurement", model.ChannelTypeOpen, w.alice, w.bob, w.bot)
	w.private = b.AddChannel(w.team, "secret", model.ChannelTypePrivate, w.alice, w.carol)
	w.root = b.AddPost(w.ch, w.alice, nil, "Decision: award the contract\nsecond line")
	w.file = []byte("%PDF-1.7 minutes\x00\x01\x02 binary tail")
	r1 := b.AddPost(w.ch, w.bob, w.root, "Agreed, minutes attached", mattermosttest.File{Name: "minutes.pdf", MIME: "application/pdf", Data: w.file})
	r2 := b.AddPost(w.ch, w.alice, w.root, "typo")
	b.Edit(r2, "Fixed the typo")
	w.replies = []*model.Post{r1, r2}
	b.React(w.root, w.bob, "+1")
	b.React(r1, w.alice, "white_check_mark")
	w.secret = b.AddPost(w.private, w.carol, nil, "Private: the salary review")
	return w
}

func (w *contractWorld) source(t *testing.T, o mattermost.Options) *mattermost.Source {
	t.Helper()
	o.URL, o.Token = w.b.ServerURL(), w.botToken
	s, err := mattermost.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (w *contractWorld) ref(ch *model.Channel, postID string) capture.Ref {
	return capture.Ref{Platform: capture.Mattermost, WorkspaceID: w.team.Id, ChannelID: ch.Id, ThreadID: postID, Server: w.b.ServerURL()}
}

// raw calls the API as token and returns the status and the error body.
func raw(t *testing.T, b backend, token, method, path string, body any) (int, *model.AppError) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, b.ServerURL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	var ae model.AppError
	if err := json.Unmarshal(data, &ae); err != nil {
		t.Fatalf("%s %s = HTTP %d with a body that is not an AppError: %q", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode, &ae
}

func wantAppError(t *testing.T, what string, code int, ae *model.AppError, wantCode int, wantID, wantMessage string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("%s: Got(status) = %d, want %d", what, code, wantCode)
	}
	if ae == nil {
		t.Errorf("%s: no error body, want id %q", what, wantID)
		return
	}
	if ae.Id != wantID {
		t.Errorf("%s: Got(id) = %q, want %q", what, ae.Id, wantID)
	}
	if wantMessage != "" && ae.Message != wantMessage {
		t.Errorf("%s: Got(message) = %q, want %q", what, ae.Message, wantMessage)
	}
}

func runContract(t *testing.T, newBackend func(t *testing.T) backend) {
	b := newBackend(t)
	w := newContractWorld(t, b)
	ctx := context.Background()

	t.Run("capture a thread with an edit, reactions and a file", func(t *testing.T) {
		th, err := w.source(t, mattermost.Options{}).Capture(ctx, w.ref(w.ch, w.replies[1].Id), personOf(w.alice))
		if err != nil {
			t.Fatalf("Capture: %v", err)
		}
		if got, want := len(th.Messages), 3; got != want {
			t.Fatalf("Got(len(messages)) = %d, want %d", got, want)
		}
		for i, want := range []string{w.root.Id, w.replies[0].Id, w.replies[1].Id} {
			if th.Messages[i].ID != want {
				t.Errorf("Got(messages[%d].id) = %q, want %q", i, th.Messages[i].ID, want)
			}
		}
		if got := th.Messages[2]; got.Text != "Fixed the typo" || got.Edited == nil {
			t.Errorf("Got(edited reply) = %q, edited %v; want %q marked edited", got.Text, got.Edited, "Fixed the typo")
		}
		if got := th.Messages[0].Reactions; len(got) != 1 || got[0].Emoji != "+1" || got[0].Count != 1 || got[0].Users[0].ID != w.bob.Id {
			t.Errorf("Got(root reactions) = %+v, want +1 by bob", got)
		}
		if th.Channel.Name != "Procurement" || th.Workspace.Name != "Operations" || th.Channel.Private {
			t.Errorf("Got(channel, team) = %q (private %v), %q; want Procurement (public), Operations", th.Channel.Name, th.Channel.Private, th.Workspace.Name)
		}
		if want := w.b.ServerURL() + "/" + w.team.Name + "/pl/" + w.root.Id; th.Permalink != want {
			t.Errorf("Got(permalink) = %q, want %q", th.Permalink, want)
		}
		files := th.Files()
		if len(files) != 1 || files[0].Name != "minutes.pdf" || files[0].Size != int64(len(w.file)) {
			t.Fatalf("Got(files) = %+v, want minutes.pdf of %d bytes", files, len(w.file))
		}
		rc, err := files[0].Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, w.file) {
			t.Errorf("Got(file content) = %q, want %q", got, w.file)
		}
	})

	t.Run("more than 200 replies are paged", func(t *testing.T) {
		root := b.AddPost(w.ch, w.alice, nil, "Long thread")
		const n = 230
		for i := range n {
			b.AddPost(w.ch, []*model.User{w.alice, w.bob}[i%2], root, fmt.Sprint("reply ", i))
		}
		th, err := w.source(t, mattermost.Options{PageSize: 1000}).Capture(ctx, w.ref(w.ch, root.Id), personOf(w.bob))
		if err != nil {
			t.Fatalf("Capture: %v", err)
		}
		if got := len(th.Messages); got != n+1 {
			t.Fatalf("Got(len(messages)) = %d, want %d", got, n+1)
		}
		for i := 1; i < len(th.Messages); i++ {
			if want := fmt.Sprint("reply ", i-1); th.Messages[i].Text != want {
				t.Fatalf("Got(messages[%d].text) = %q, want %q", i, th.Messages[i].Text, want)
			}
		}
	})

	t.Run("perPage over 200 is refused", func(t *testing.T) {
		code, ae := raw(t, b, w.botToken, "GET", "/api/v4/posts/"+w.root.Id+"/thread?perPage=201&direction=down", nil)
		wantAppError(t, "GET thread?perPage=201", code, ae, 400, "api.context.invalid_body_param.app_error", "Invalid or missing perPage in request body.")
		if code, _ := raw(t, b, w.botToken, "GET", "/api/v4/posts/"+w.root.Id+"/thread?perPage=200&direction=down", nil); code != 200 {
			t.Errorf("GET thread?perPage=200: Got(status) = %d, want 200", code)
		}
	})

	t.Run("a bot may not post ephemeral messages", func(t *testing.T) {
		code, ae := raw(t, b, w.botToken, "POST", "/api/v4/posts/ephemeral",
			model.PostEphemeral{UserID: w.alice.Id, Post: &model.Post{ChannelId: w.ch.Id, Message: "hello"}})
		wantAppError(t, "POST /posts/ephemeral as a bot", code, ae, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
	})

	t.Run("a bot may send a direct message", func(t *testing.T) {
		api := model.NewAPIv4Client(b.ServerURL())
		api.SetToken(w.botToken)
		dm, _, err := api.CreateDirectChannel(ctx, w.bot.Id, w.alice.Id)
		if err != nil {
			t.Fatalf("CreateDirectChannel as the bot: %v", err)
		}
		p, _, err := api.CreatePost(ctx, &model.Post{ChannelId: dm.Id, Message: "Filing…", PendingPostId: w.bot.Id + ":1"})
		if err != nil {
			t.Fatalf("CreatePost in the direct channel as the bot: %v", err)
		}
		again, _, err := api.CreatePost(ctx, &model.Post{ChannelId: dm.Id, Message: "Filing…", PendingPostId: w.bot.Id + ":1"})
		if err != nil || again.Id != p.Id {
			t.Errorf("CreatePost with the same pending_post_id = %v, %v; want post %s again", again, err, p.Id)
		}
		dm2, _, err := api.CreateDirectChannel(ctx, w.bot.Id, w.alice.Id)
		if err != nil || dm2.Id != dm.Id {
			t.Errorf("second CreateDirectChannel = %v, %v; want channel %s again", dm2, err, dm.Id)
		}
	})

	t.Run("the bot reads no channel it is not in", func(t *testing.T) {
		code, ae := raw(t, b, w.botToken, "GET", "/api/v4/posts/"+w.secret.Id, nil)
		wantAppError(t, "GET a post of a private channel", code, ae, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		code, ae = raw(t, b, w.botToken, "GET", "/api/v4/channels/"+w.private.Id+"/members/me", nil)
		wantAppError(t, "GET membership of a private channel", code, ae, 403, "api.context.permissions.app_error", "")
		_, err := w.source(t, mattermost.Options{}).Capture(ctx, w.ref(w.private, w.secret.Id), personOf(w.carol))
		if !errors.Is(err, capture.ErrBotNotInChannel) {
			t.Errorf("Capture of a private thread the bot is not in = %v, want ErrBotNotInChannel", err)
		}
		if err != nil && strings.Contains(err.Error(), w.private.Name) {
			t.Errorf("Capture error %q names the private channel", err)
		}
	})

	t.Run("only members may file", func(t *testing.T) {
		code, ae := raw(t, b, w.botToken, "GET", "/api/v4/channels/"+w.ch.Id+"/members/"+w.carol.Id, nil)
		wantAppError(t, "GET membership of a non-member", code, ae, 404, "app.channel.get_member.missing.app_error", "")
		_, err := w.source(t, mattermost.Options{}).Capture(ctx, w.ref(w.ch, w.root.Id), personOf(w.carol))
		if !errors.Is(err, capture.ErrAccess) {
			t.Errorf("Capture for a non-member = %v, want ErrAccess", err)
		}
	})

	t.Run("people read what the server lets them", func(t *testing.T) {
		_, daveTok := b.AddUser("dave")
		// dave is on no team: a post of a public channel is not his to read.
		code, ae := raw(t, b, daveTok, "GET", "/api/v4/posts/"+w.root.Id, nil)
		wantAppError(t, "GET a post as a user outside the team", code, ae, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		// carol is on the team but not in the public channel: she may read it.
		code, _ = raw(t, b, w.carolToken, "GET", "/api/v4/posts/"+w.root.Id, nil)
		if code != 200 {
			t.Errorf("GET a public channel's post as a team member outside it: Got(status) = %d, want 200", code)
		}
		code, _ = raw(t, b, daveTok, "GET", "/api/v4/users/me", nil)
		if code != 200 {
			t.Errorf("GET /users/me: Got(status) = %d, want 200", code)
		}
		code, ae = raw(t, b, "not-a-token", "GET", "/api/v4/users/me", nil)
		wantAppError(t, "GET /users/me with a bad token", code, ae, 401, "api.context.session_expired.app_error", "")
	})

	t.Run("resolve checks before it shows the first line", func(t *testing.T) {
		src := w.source(t, mattermost.Options{})
		p, err := src.Resolve(ctx, capture.Ref{ThreadID: w.replies[0].Id}, personOf(w.bob))
		want := w.ref(w.ch, w.root.Id)
		want.MessageID = w.replies[0].Id
		if err != nil || p.Ref != want || p.Text != "Decision: award the contract\nsecond line" {
			t.Errorf("Resolve(a reply) = %+v, %v; want %+v and the root's text", p, err, want)
		}
		for _, tc := range []struct {
			name string
			ref  capture.Ref
			by   *model.User
			want error
		}{
			{"a non-member", capture.Ref{ThreadID: w.root.Id}, w.carol, capture.ErrAccess},
			{"a private channel the bot is not in", capture.Ref{ThreadID: w.secret.Id}, w.carol, capture.ErrNotFound},
			{"a missing post", capture.Ref{ThreadID: model.NewId()}, w.alice, capture.ErrNotFound},
		} {
			p, err := src.Resolve(ctx, tc.ref, personOf(tc.by))
			if !errors.Is(err, tc.want) || p.Text != "" {
				t.Errorf("Resolve(%s) = %+v, %v; want nothing of the thread and %v", tc.name, p, err, tc.want)
			}
		}
	})

	t.Run("a post that does not exist", func(t *testing.T) {
		code, _ := raw(t, b, w.botToken, "GET", "/api/v4/posts/"+model.NewId(), nil)
		if code != 404 && code != 403 {
			t.Errorf("GET a missing post: Got(status) = %d, want 404 or 403", code)
		}
		_, err := w.source(t, mattermost.Options{}).Capture(ctx, w.ref(w.ch, model.NewId()), personOf(w.alice))
		if !errors.Is(err, capture.ErrNotFound) && !errors.Is(err, capture.ErrBotNotInChannel) {
			t.Errorf("Capture of a missing post = %v, want ErrNotFound", err)
		}
	})
}
