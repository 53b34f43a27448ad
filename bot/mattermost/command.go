package mattermost

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	mmcapture "github.com/recordbot/recordbot/capture/mattermost"
)

const helpText = "**/record** files a thread as a record. Two ways:\n" +
	"- Anywhere: `/record <post link> [title]`, with the link from the post's **...** menu > **Copy Link**.\n" +
	"- In a thread's reply box: `/record [title]` (on servers that tell the bot which thread the command was typed in; Mattermost 6.7 does not, so give the link there).\n" +
	"You can also react to a post with :%s: and press **File as record…** in the message I send you."

// ephemeral writes the slash command's JSON answer, shown to the person
// only.
func ephemeral(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(&model.CommandResponse{ResponseType: model.CommandResponseTypeEphemeral, Text: text})
}

// handleCommand answers /record, as Mattermost POSTs it (form fields
// token, team_id, team_domain, channel_id, channel_name, user_id,
// user_name, command, text, trigger_id, root_id on recent servers,
// response_url; Authorization: Token <token>).
func (a *App) handleCommand(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f := r.PostForm
	ctx := r.Context()
	inst, sess, err := a.installationFor(ctx, f.Get("team_id"))
	if err != nil {
		a.log.Error("mattermost command: no installation", "err", err)
		http.Error(w, "recordbot is not installed here", http.StatusServiceUnavailable)
		return
	}
	token := f.Get("token")
	if h := r.Header.Get("Authorization"); token == "" && strings.HasPrefix(h, "Token ") {
		token = strings.TrimPrefix(h, "Token ")
	}
	if !a.commandTokenOK(inst, f.Get("team_id"), token) {
		a.log.Warn("mattermost command with a wrong token refused", "team", f.Get("team_id"))
		http.Error(w, "invalid command token", http.StatusUnauthorized)
		return
	}
	userID, channelID, teamID := f.Get("user_id"), f.Get("channel_id"), f.Get("team_id")
	if !model.IsValidId(userID) || !model.IsValidId(channelID) {
		a.log.Warn("mattermost command without a user or channel refused", "team", teamID)
		http.Error(w, "the command names no user or channel", http.StatusBadRequest)
		return
	}
	text := strings.TrimSpace(f.Get("text"))
	var postID, title string
	first, rest, _ := strings.Cut(text, " ")
	switch {
	case strings.Contains(first, "/pl/") || strings.HasPrefix(first, "http://") || strings.HasPrefix(first, "https://"):
		_, id, err := mmcapture.ParsePermalink(a.server, first)
		if err != nil {
			ephemeral(w, a.voice().Say(a.linkProblem(first), "that is not a Mattermost post link")+"\n\n"+fmt.Sprintf(helpText, a.o.Reaction))
			return
		}
		postID, title = id, strings.TrimSpace(rest)
	case f.Get("root_id") != "":
		postID, title = f.Get("root_id"), text
	default:
		ephemeral(w, fmt.Sprintf(helpText, a.o.Reaction))
		return
	}
	rp := reply{Server: a.server, TeamID: teamID, ChannelID: channelID, RootID: f.Get("root_id"), UserID: userID,
		ResponseURL: a.responseURL(f.Get("response_url"))}
	st, rootText, msg := a.resolve(ctx, sess, postID, userID, teamID)
	if msg != "" {
		ephemeral(w, msg)
		return
	}
	st.UserName, st.Via, st.Reply, st.Nonce = f.Get("user_name"), "mattermost /record", rp, newNonce()
	if title == "" {
		title = bot.SuggestTitle(rootText)
	}
	if err := a.openDialog(ctx, sess, f.Get("trigger_id"), st, title, nil); err != nil {
		a.log.Error("mattermost: open dialog", "err", err, "user", userID)
		ephemeral(w, "The filing form could not be opened. Run /record again.")
		return
	}
	a.log.Info("mattermost: filing dialog opened", "user", userID, "thread", st.Ref.String(), "via", "command")
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"response_type":"ephemeral","text":""}`)
}

// linkProblem says why link, which mmcapture.ParsePermalink refused, is
// not a post link of this server, in words for the person (the error's
// own text is for the log).
func (a *App) linkProblem(link string) error {
	u, err := url.Parse(link)
	su, _ := url.Parse(a.server)
	if err == nil && u.Host != "" && su != nil && !strings.EqualFold(u.Host, su.Host) {
		return bot.Unusable("that link is to another server ("+u.Host+"), not "+su.Host, nil)
	}
	return bot.Unusable("that is not a Mattermost post link (want https://server/team/pl/POSTID, from the post's “Copy Link”)", nil)
}

// commandTokenOK reports whether token is the /record command token of
// team teamID. A team that is not installed, or whose sealed token cannot
// be opened, has no token: every command for it is refused.
func (a *App) commandTokenOK(inst *Installation, teamID, token string) bool {
	t := inst.Teams[teamID]
	if t == nil || token == "" || !model.IsValidId(teamID) {
		return false
	}
	want := t.commandToken
	if want == "" {
		a.log.Error("mattermost: the stored command token cannot be opened (was the secret key changed?): run `bot mattermost install` again", "team", teamID)
		return false
	}
	return subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1
}

// responseURL keeps a slash command's response_url only when it points at
// this server's command hooks, so the bot never posts elsewhere.
func (a *App) responseURL(raw string) string {
	if !strings.HasPrefix(raw, a.server+"/hooks/commands/") {
		return ""
	}
	if id := strings.TrimPrefix(raw, a.server+"/hooks/commands/"); id == "" || strings.ContainsAny(id, "/?#") {
		return ""
	}
	return raw
}

// resolve finds the thread of postID and checks that the bot and the
// person may file it (capture.Resolver), before anything of it is shown.
// It returns the root post's text, or a message for the person when they
// may not file it.
func (a *App) resolve(ctx context.Context, sess *session, postID, userID, teamID string) (state, string, string) {
	ref := capture.Ref{Platform: capture.Mattermost, WorkspaceID: teamID, ThreadID: postID, Server: a.server}
	p, err := sess.src.Resolve(ctx, ref, capture.Person{ID: userID})
	if err != nil {
		if !errors.Is(err, capture.ErrAccess) && !errors.Is(err, capture.ErrBotNotInChannel) && !errors.Is(err, capture.ErrNotFound) {
			a.log.Error("mattermost: resolve a post", "post", postID, "err", err)
		}
		return state{}, "", a.voice().Refusal(err)
	}
	return state{Ref: p.Ref, User: userID}, p.Text, ""
}
