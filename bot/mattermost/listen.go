package mattermost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	mmcapture "github.com/recordbot/recordbot/capture/mattermost"
)

// Listen follows the Mattermost WebSocket as the bot until ctx is
// cancelled, offering to file a thread when someone adds the configured
// reaction to one of its posts, and taking WhatsApp exports sent to the
// bot in a direct message (whatsapp.go). It waits for an installation, and
// reconnects with exponential backoff (1s doubling to 2 minutes, with
// jitter) when the connection drops.
func (a *App) Listen(ctx context.Context) error {
	defer a.work.Wait()
	// The direct messages being answered at once, across reconnections.
	dms := make(chan struct{}, dmsAtOnce)
	backoff := time.Second
	for {
		inst, _, err := a.installation(ctx, false)
		var connected time.Duration
		if err == nil {
			start := a.now()
			err = a.listenOnce(ctx, inst, dms)
			connected = a.o.Clock.Since(start)
		}
		if ctx.Err() != nil {
			return nil
		}
		if connected > time.Minute {
			backoff = time.Second
		}
		if errors.Is(err, ErrNotInstalled) {
			a.log.Debug("mattermost: waiting for an installation")
		} else {
			a.log.Warn("mattermost: websocket closed; reconnecting", "err", err, "in", backoff)
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return nil
		case <-a.o.Clock.After(wait):
		}
		backoff = min(backoff*2, 2*time.Minute)
	}
}

func (a *App) listenOnce(ctx context.Context, inst *Installation, dms chan struct{}) error {
	tok := inst.botToken
	wsURL := "ws" + strings.TrimPrefix(a.server, "http")
	dialer := &websocket.Dialer{HandshakeTimeout: 15 * time.Second, Proxy: websocket.DefaultDialer.Proxy}
	ws, err := model.NewWebSocketClient4WithDialer(dialer, wsURL, tok)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", wsURL, err)
	}
	ws.Listen()
	defer ws.Close()
	a.log.Info("mattermost: listening for reactions", "emoji", a.o.Reaction)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-ws.EventChannel:
			if !ok {
				if ws.ListenError != nil {
					return ws.ListenError
				}
				return errors.New("connection closed")
			}
			switch ev.EventType() {
			case model.WebsocketEventReactionAdded:
				a.onReaction(ctx, inst, ev)
			case model.WebsocketEventPosted:
				a.onPosted(ctx, inst, ev, dms)
			}
		case resp, ok := <-ws.ResponseChannel:
			if ok && resp.Status == model.StatusFail {
				return fmt.Errorf("websocket refused the bot: %v", resp.Error)
			}
		case <-ws.PingTimeoutChannel:
			return errors.New("no ping from the server")
		}
	}
}

// onReaction offers filing to the person who added the configured
// reaction: a direct message from the bot with a "File as record…" button
// (or, when they may not file the thread, why not). Every bot process that
// sees the event sends the message with one pending_post_id, derived from
// the reaction, so Mattermost makes one post of them; and the form's nonce
// derives from the reaction too, so even two offers make one request.
func (a *App) onReaction(ctx context.Context, inst *Installation, ev *model.WebSocketEvent) {
	raw, _ := ev.GetData()["reaction"].(string)
	var re model.Reaction
	if err := json.Unmarshal([]byte(raw), &re); err != nil || !model.IsValidId(re.PostId) || !model.IsValidId(re.UserId) {
		a.log.Warn("mattermost: reaction_added event without a reaction")
		return
	}
	if re.EmojiName != a.o.Reaction || re.UserId == inst.BotUserID {
		return
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%s|%d", re.PostId, re.UserId, re.EmojiName, re.CreateAt)))
	nonce := "reaction-" + hex.EncodeToString(sum[:16])
	pending := inst.BotUserID + ":" + hex.EncodeToString(sum[16:])
	_, sess, err := a.installation(ctx, false)
	if err != nil {
		a.log.Error("mattermost: reaction", "err", err)
		return
	}
	st, rootText, msg := a.resolve(ctx, sess, re.PostId, re.UserId, "")
	rp := reply{Server: a.server, TeamID: st.Ref.WorkspaceID, ChannelID: st.Ref.ChannelID, RootID: st.Ref.ThreadID, UserID: re.UserId}
	if msg != "" {
		if err := a.tellOnce(ctx, rp, msg, nil, pending); err != nil {
			a.log.Error("mattermost: the person who reacted was not told why they cannot file", "user", re.UserId, "err", err)
		}
		return
	}
	st.Via, st.Reply, st.Nonce, st.Title = "mattermost reaction", rp, nonce, bot.SuggestTitle(rootText)
	link := markdown{}.Link(mmcapture.Permalink(a.server, "", st.Ref.ThreadID), "a post")
	err = a.tellOnce(ctx, rp, fmt.Sprintf("You reacted with :%s: to %s. File its thread as a record?", a.o.Reaction, link), []*model.MessageAttachment{{
		Actions: []*model.PostAction{{
			Id: "filerecord", Type: model.PostActionTypeButton, Name: "File as record…", Style: "primary",
			Integration: &model.PostActionIntegration{URL: a.o.PublicURL + ActionPath, Context: map[string]any{"state": a.seal(st)}},
		}},
	}}, pending)
	if err != nil {
		a.log.Error("mattermost: the filing offer was not sent", "user", re.UserId, "err", err)
		return
	}
	a.log.Info("mattermost: offered filing after a reaction", "user", re.UserId, "thread", st.Ref.String())
}
