package mattermost

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/filing"
)

// tell sends the person a message: through the command's response_url
// while it works (an ephemeral message where they typed /record), else as
// a direct message from the bot. Messages with buttons always go as direct
// messages. pending, when set, is the post's pending_post_id: Mattermost
// makes one post of several creates with one pending id within 30 seconds,
// so bot processes that saw one event send one message.
func (a *App) tell(ctx context.Context, rp reply, text string, attachments []*model.MessageAttachment) error {
	return a.tellOnce(ctx, rp, text, attachments, "")
}

func (a *App) tellOnce(ctx context.Context, rp reply, text string, attachments []*model.MessageAttachment, pending string) error {
	inst, sess, err := a.installation(ctx, false)
	if err != nil {
		a.log.Error("mattermost: cannot reach the person", "err", err, "user", rp.UserID)
		return err
	}
	if rp.ResponseURL != "" && attachments == nil && a.responseURL(rp.ResponseURL) != "" {
		err := a.respond(ctx, sess, rp.ResponseURL, text)
		if err == nil {
			return nil
		}
		a.log.Info("mattermost: response_url refused the answer (expired or used up); sending a direct message", "err", err, "user", rp.UserID)
	}
	api := sess.api
	dm, _, err := api.CreateDirectChannel(ctx, inst.BotUserID, rp.UserID)
	if err != nil {
		a.log.Error("mattermost: open a direct message to the person", "err", err, "user", rp.UserID)
		return fmt.Errorf("open a direct message: %w", err)
	}
	p := &model.Post{ChannelId: dm.Id, Message: text, PendingPostId: pending}
	if attachments != nil {
		p.AddProp(model.PostPropsAttachments, attachments)
	}
	if _, resp, err := api.CreatePost(ctx, p); err != nil {
		if pending != "" && appErrID(err) == "api.post.deduplicate_create_post.pending" {
			return nil // another bot process is sending this very message
		}
		a.log.Error("mattermost: direct message to the person failed", "err", err, "status", httpStatus(resp, err), "user", rp.UserID)
		return fmt.Errorf("send a direct message: %w", err)
	}
	return nil
}

// respond posts an ephemeral answer to a slash command's response_url.
func (a *App) respond(ctx context.Context, sess *session, url, text string) error {
	b, _ := json.Marshal(&model.CommandResponse{ResponseType: model.CommandResponseTypeEphemeral, Text: text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := sess.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %v", resp.StatusCode, model.AppErrorFromJSON(io.LimitReader(resp.Body, 64<<10)))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}

// Notify implements filing.Notifier: it tells the person what became of
// their request, where they typed /record while its response_url works,
// else in a direct message from the bot.
func (a *App) Notify(ctx context.Context, o filing.Outcome) {
	var rp reply
	if err := json.Unmarshal(o.Request.Reply, &rp); err != nil || rp.UserID == "" {
		a.log.Warn("mattermost: filing outcome without a reply address", "request", o.Request.ID)
		return
	}
	if rp.Server != a.server {
		a.log.Warn("mattermost: filing outcome for another server", "request", o.Request.ID)
		return
	}
	if err := a.tell(ctx, rp, a.voice().Outcome(o), nil); err != nil {
		a.log.Error("mattermost: the person was not told the outcome", "request", o.Request.ID, "err", err)
	}
}

func (a *App) botName() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return cmp.Or(a.botUser, "recordbot")
}

// voice is what this front end tells people, in Mattermost's Markdown.
func (a *App) voice() bot.Voice {
	return bot.Voice{Markup: markdown{}, Platform: "Mattermost", BotName: a.botName(),
		Unseeable: "A direct or group message between people cannot be filed: Mattermost lets me read only conversations I am a member of, " +
			"and I cannot be added to them. Copy what must be kept into a channel I am in, or start the conversation with me in it."}
}

// markdown is Mattermost's markup.
type markdown struct{}

func (markdown) Bold(s string) string         { return "**" + mdEscape.Replace(s) + "**" }
func (markdown) Code(s string) string         { return "`" + s + "`" }
func (markdown) Link(url, text string) string { return "[" + mdEscape.Replace(text) + "](" + url + ")" }
