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
)

// Listen follows the Mattermost WebSocket as the bot until ctx is
// cancelled, offering to file a thread when someone adds the configured
// reaction to one of its posts. It waits for an installation, and
// reconnects with exponential backoff (1s doubling to 2 minutes, with
// jitter) when the connection drops.
func (a *App) Listen(ctx context.Context) error {
	backoff := time.Second
	for {
		inst, _, err := a.installation(ctx, false)
		var connected time.Duration
		if err == nil {
			start := time.Now()
			err = a.listenOnce(ctx, inst)
			connected = time.Since(start)
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
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 2*time.Minute)
	}
}

func (a *App) listenOnce(ctx context.Context, inst *Installation) error {
	tok, err := a.o.Vault.Open(inst.BotToken, botLabel(a.server))
	if err != nil {
		return err
	}
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
			if ev.EventType() == model.WebsocketEventReactionAdded {
				a.onReaction(ctx, inst, ev)
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
// reaction: an ephemeral message with a "File as record…" button. The
// reaction is claimed in the store first, so when several bot processes
// see the event only one of them offers.
func (a *App) onReaction(ctx context.Context, inst *Installation, ev *model.WebSocketEvent) {
	raw, _ := ev.GetData()["reaction"].(string)
	var re model.Reaction
	if err := json.Unmarshal([]byte(raw), &re); err != nil || re.PostId == "" || re.UserId == "" {
		a.log.Warn("mattermost: reaction_added event without a reaction")
		return
	}
	if re.EmojiName != a.o.Reaction || re.UserId == inst.BotUserID {
		return
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%s|%d", re.PostId, re.UserId, re.EmojiName, re.CreateAt)))
	nonce := "reaction-" + hex.EncodeToString(sum[:16])
	ok, err := a.claim(ctx, nonce, "reaction")
	if err != nil {
		a.log.Error("mattermost: claim reaction", "err", err)
		return
	}
	if !ok {
		return // another bot process offered already
	}
	_, src, err := a.installation(ctx, false)
	if err != nil {
		a.log.Error("mattermost: reaction", "err", err)
		return
	}
	st, rootText, msg := a.target(ctx, src, inst, re.PostId, re.UserId, "")
	channelID := re.ChannelId
	if channelID == "" {
		if b := ev.GetBroadcast(); b != nil {
			channelID = b.ChannelId
		}
	}
	if st.Ref.ChannelID != "" {
		channelID = st.Ref.ChannelID
	}
	rp := reply{Server: a.server, ChannelID: channelID, RootID: st.Ref.ThreadID, UserID: re.UserId}
	if msg != "" {
		a.post(ctx, rp, msg, nil)
		return
	}
	if ch, _, err := src.API().GetChannel(ctx, channelID); err == nil {
		st.Ref.WorkspaceID, rp.TeamID = ch.TeamId, ch.TeamId
	}
	st.Via, st.Reply, st.Nonce, st.Title = "mattermost reaction", rp, nonce, titleFrom(rootText)
	a.post(ctx, rp, "File this thread as a record?", []*model.MessageAttachment{{
		Actions: []*model.PostAction{{
			Id: "filerecord", Type: model.PostActionTypeButton, Name: "File as record…", Style: "primary",
			Integration: &model.PostActionIntegration{URL: a.o.PublicURL + ActionPath, Context: map[string]any{"state": a.seal(st)}},
		}},
	}})
	a.log.Info("mattermost: offered filing after a reaction", "user", re.UserId, "thread", st.Ref.String())
}
