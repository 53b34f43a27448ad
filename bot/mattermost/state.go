package mattermost

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
)

// state travels with a dialog or button, sealed: the thread, who may use
// it, where to reply, and a nonce so one form or button files at most one
// request.
type state struct {
	Ref      capture.Ref `json:"ref"`
	User     string      `json:"user"`
	UserName string      `json:"user_name,omitempty"`
	Nonce    string      `json:"nonce"`
	Via      string      `json:"via"`
	Exp      int64       `json:"exp"`
	Reply    reply       `json:"reply"`
	Title    string      `json:"title,omitempty"`
}

// reply is filing.Request.Reply for Mattermost requests: where the person
// is told what became of their request.
type reply struct {
	Server    string `json:"server"`
	TeamID    string `json:"team_id,omitempty"`
	ChannelID string `json:"channel_id"`
	RootID    string `json:"root_id,omitempty"`
	UserID    string `json:"user_id"`
	// ResponseURL is the slash command's response_url, when the request
	// began with /record: ephemeral answers there show where the command
	// was typed, for 30 minutes and 5 answers. Afterwards, and on every
	// path without one, the bot sends a direct message.
	ResponseURL string `json:"response_url,omitempty"`
}

func (a *App) stateLabel() string { return "mattermost:" + a.server + ":state" }

func (a *App) seal(st state) string {
	st.Exp = a.now().Add(a.o.StateTTL).Unix()
	b, _ := json.Marshal(st)
	return a.o.Vault.Seal(string(b), a.stateLabel())
}

// Why a sealed state does not open: for the log; a person is told
// stateText.
var (
	errStale    = errors.New("the sealed state is expired, forged or unreadable")
	errNotYours = errors.New("the sealed state belongs to another user")
)

// stateText is what the person is told when a form's or a button's state
// does not open.
func stateText(err error) string {
	if errors.Is(err, errNotYours) {
		return bot.NotYourForm
	}
	return bot.FormExpired + " Run /record again."
}

func (a *App) open(sealed, userID string) (state, error) {
	var st state
	pt, err := a.o.Vault.Open(sealed, a.stateLabel())
	if err != nil {
		return st, errStale
	}
	if err := json.Unmarshal([]byte(pt), &st); err != nil {
		return st, errStale
	}
	if a.now().Unix() > st.Exp {
		return st, errStale
	}
	if st.User == "" || userID == "" || subtle.ConstantTimeCompare([]byte(st.User), []byte(userID)) != 1 {
		return st, errNotYours
	}
	return st, nil
}

func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
