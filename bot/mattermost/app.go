// Package mattermost is recordbot's Mattermost front end: the /record
// custom slash command, the interactive dialog that asks for title, class,
// marking and description (with a dynamic select for a large file plan),
// the reaction trigger seen over the WebSocket with its "File as record…"
// button, what the person is told about each filing request, and the
// per-team install and uninstall.
//
// Everything the person is told goes through channels a bot account with
// the default permissions may use on every server version: the slash
// command's own answer, the command's response_url (an ephemeral message
// where the command was typed, for 30 minutes and 5 messages), and
// otherwise a direct message from the bot. POST /posts/ephemeral is never
// used: it needs create_post_ephemeral, which only system admins hold.
//
// Mattermost does not sign the requests it sends integrations except for
// the slash command token, so every later step (dialog, lookup, button)
// carries the thread and the person in a state sealed with the bot.Vault:
// it cannot be forged or moved to another person. A team that is not
// installed has no command token, so every command claiming it is refused.
package mattermost

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	mmcapture "github.com/recordbot/recordbot/capture/mattermost"
	"github.com/recordbot/recordbot/filing"
)

// The paths Mattermost calls, under PUBLIC_URL.
const (
	CommandPath = "/mattermost/command"
	DialogPath  = "/mattermost/dialog"
	LookupPath  = "/mattermost/classes"
	ActionPath  = "/mattermost/action"
)

// Filer is what the front end needs of filing.Service.
type Filer interface {
	Submit(ctx context.Context, r filing.Request) (filing.Request, error)
	Check(r filing.Request) filing.FieldErrors
	Plan() *filing.Plan
}

// Options configure an App.
type Options struct {
	// Server is the Mattermost server URL (MATTERMOST_URL).
	Server string
	// PublicURL is where Mattermost reaches this bot (PUBLIC_URL).
	PublicURL string
	Store     filing.Store
	Vault     *bot.Vault
	Filer     Filer
	Logger    *slog.Logger
	// Reaction is the emoji name that offers filing (default
	// card_file_box).
	Reaction string
	// DynamicOver is the number of file plan classes above which the
	// class select asks the bot as the person types (default 100).
	DynamicOver int
	// Transport carries API requests; http.DefaultTransport when nil.
	Transport http.RoundTripper
	Now       func() time.Time
	// StateTTL is how long a dialog or button stays usable (default 24h).
	StateTTL time.Duration
	// InstallTTL is how long the stored installation is cached (default
	// 30s), so an install made while serving is picked up.
	InstallTTL time.Duration
}

// App is the Mattermost front end of one server.
type App struct {
	o      Options
	server string
	log    *slog.Logger

	mu       sync.Mutex
	inst     *Installation
	instAt   time.Time
	src      *mmcapture.Source
	srcToken string
}

// New returns the front end for o.Server.
func New(o Options) (*App, error) {
	server, err := mmcapture.NormalizeURL(o.Server)
	if err != nil {
		return nil, err
	}
	switch {
	case o.Vault == nil:
		return nil, fmt.Errorf("mattermost: %w (it seals the bot token)", bot.ErrNoKey)
	case o.Store == nil || o.Filer == nil:
		return nil, errors.New("mattermost: needs a store and the filing service")
	case o.PublicURL == "":
		return nil, errors.New("mattermost: PUBLIC_URL is not set: Mattermost must reach the bot there")
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	if o.Reaction == "" {
		o.Reaction = "card_file_box"
	}
	o.Reaction = strings.Trim(o.Reaction, ": ")
	if o.DynamicOver == 0 {
		o.DynamicOver = 100
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.StateTTL == 0 {
		o.StateTTL = 24 * time.Hour
	}
	if o.InstallTTL == 0 {
		o.InstallTTL = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &App{o: o, server: server, log: o.Logger}, nil
}

// Register adds the routes Mattermost calls to mux.
func (a *App) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+CommandPath, a.handleCommand)
	mux.HandleFunc("POST "+DialogPath, a.handleDialog)
	mux.HandleFunc("POST "+LookupPath, a.handleLookup)
	mux.HandleFunc("POST "+ActionPath, a.handleAction)
}

// ErrNotInstalled is returned while no installation is stored.
var ErrNotInstalled = errors.New("recordbot is not installed on this Mattermost server yet: run `bot mattermost install --team TEAM`")

// installation returns the stored installation (cached briefly) and a
// capture source with the bot's token.
func (a *App) installation(ctx context.Context, fresh bool) (*Installation, *mmcapture.Source, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if fresh || a.inst == nil || a.o.Now().Sub(a.instAt) > a.o.InstallTTL {
		inst, _, err := LoadInstallation(ctx, a.o.Store, a.server)
		if err != nil {
			return nil, nil, err
		}
		if inst == nil {
			a.inst, a.src = nil, nil
			return nil, nil, ErrNotInstalled
		}
		a.inst, a.instAt = inst, a.o.Now()
	}
	tok, err := a.o.Vault.Open(a.inst.BotToken, botLabel(a.server))
	if err != nil {
		return nil, nil, fmt.Errorf("the stored Mattermost bot token: %w", err)
	}
	if a.src == nil || a.srcToken != tok {
		src, err := mmcapture.New(mmcapture.Options{URL: a.server, Token: tok, Transport: a.o.Transport, Logger: a.log})
		if err != nil {
			return nil, nil, err
		}
		a.src, a.srcToken = src, tok
	}
	return a.inst, a.src, nil
}

// Source returns a capture.Source that uses the installed bot's token.
func (a *App) Source() capture.Source { return sourceFunc(a.capture) }

type sourceFunc func(ctx context.Context, ref capture.Ref, requester capture.Person) (*capture.Thread, error)

func (f sourceFunc) Capture(ctx context.Context, ref capture.Ref, requester capture.Person) (*capture.Thread, error) {
	return f(ctx, ref, requester)
}

func (a *App) capture(ctx context.Context, ref capture.Ref, requester capture.Person) (*capture.Thread, error) {
	_, src, err := a.installation(ctx, false)
	if err != nil {
		return nil, err
	}
	return src.Capture(ctx, ref, requester)
}

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
	st.Exp = a.o.Now().Add(a.o.StateTTL).Unix()
	b, _ := json.Marshal(st)
	return a.o.Vault.Seal(string(b), a.stateLabel())
}

var errStale = errors.New("this form is no longer valid: run /record again")

func (a *App) open(sealed, userID string) (state, error) {
	var st state
	pt, err := a.o.Vault.Open(sealed, a.stateLabel())
	if err != nil {
		return st, errStale
	}
	if err := json.Unmarshal([]byte(pt), &st); err != nil {
		return st, errStale
	}
	if a.o.Now().Unix() > st.Exp {
		return st, errStale
	}
	if st.User == "" || userID == "" || subtle.ConstantTimeCompare([]byte(st.User), []byte(userID)) != 1 {
		return st, errors.New("this form belongs to someone else")
	}
	return st, nil
}

func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

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
	inst, src, err := a.installation(ctx, false)
	if err == nil && inst.Teams[f.Get("team_id")] == nil {
		inst, src, err = a.installation(ctx, true) // installed since the cache was filled?
	}
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
			ephemeral(w, err.Error()+"\n\n"+fmt.Sprintf(helpText, a.o.Reaction))
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
	st, rootText, msg := a.target(ctx, src, inst, postID, userID, teamID)
	if msg != "" {
		ephemeral(w, msg)
		return
	}
	st.UserName, st.Via, st.Reply, st.Nonce = f.Get("user_name"), "mattermost /record", rp, newNonce()
	if title == "" {
		title = titleFrom(rootText)
	}
	if err := a.openDialog(ctx, src, f.Get("trigger_id"), st, title); err != nil {
		a.log.Error("mattermost: open dialog", "err", err, "user", userID)
		ephemeral(w, "The filing form could not be opened ("+err.Error()+"). Run /record again.")
		return
	}
	a.log.Info("mattermost: filing dialog opened", "user", userID, "thread", st.Ref.String(), "via", "command")
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"response_type":"ephemeral","text":""}`)
}

// commandTokenOK reports whether token is the /record command token of
// team teamID. A team that is not installed, or whose sealed token cannot
// be opened, has no token: every command for it is refused.
func (a *App) commandTokenOK(inst *Installation, teamID, token string) bool {
	t := inst.Teams[teamID]
	if t == nil || token == "" || !model.IsValidId(teamID) {
		return false
	}
	want, err := a.o.Vault.Open(t.CommandToken, commandLabel(a.server, teamID))
	if err != nil || want == "" {
		a.log.Error("mattermost: the stored command token cannot be opened (RECORDBOT_SECRET_KEY changed?): run `bot mattermost install` again", "team", teamID)
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

// target finds the thread of postID and checks the bot and the person may
// file it. It returns a message for the person when they may not.
func (a *App) target(ctx context.Context, src *mmcapture.Source, inst *Installation, postID, userID, teamID string) (state, string, string) {
	api := src.API()
	cannotSee := fmt.Sprintf("I cannot see that post. If it is in a private channel, add me first: `/invite @%s`.", inst.BotUsername)
	post, resp, err := api.GetPost(ctx, postID, "")
	if err != nil {
		if st := mmcapture.HTTPStatus(resp, err); st == http.StatusNotFound || st == http.StatusForbidden {
			return state{}, "", cannotSee
		}
		a.log.Error("mattermost: read post", "post", postID, "err", err)
		return state{}, "", "Mattermost did not answer in time; try again."
	}
	root := post
	if post.RootId != "" {
		if root, resp, err = api.GetPost(ctx, post.RootId, ""); err != nil {
			return state{}, "", cannotSee
		}
	}
	if _, resp, err := api.GetChannelMember(ctx, root.ChannelId, "me", ""); err != nil {
		if st := mmcapture.HTTPStatus(resp, err); st == http.StatusNotFound || st == http.StatusForbidden {
			return state{}, "", fmt.Sprintf("Add me to that channel first (`/invite @%s`), then try again.", inst.BotUsername)
		}
		return state{}, "", "Mattermost did not answer in time; try again."
	}
	if _, resp, err := api.GetChannelMember(ctx, root.ChannelId, userID, ""); err != nil {
		if st := mmcapture.HTTPStatus(resp, err); st == http.StatusNotFound || st == http.StatusForbidden {
			return state{}, "", "Only members of the channel can file its threads."
		}
		return state{}, "", "Mattermost did not answer in time; try again."
	}
	ref := capture.Ref{Platform: capture.Mattermost, WorkspaceID: teamID, ChannelID: root.ChannelId, ThreadID: root.Id, Server: a.server}
	if postID != root.Id {
		ref.MessageID = postID
	}
	return state{Ref: ref, User: userID}, root.Message, ""
}

// titleFrom suggests a title: the root post's first line, shortened.
func titleFrom(text string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	line = strings.Join(strings.Fields(line), " ")
	if utf8.RuneCountInString(line) > 140 {
		r := []rune(line)
		line = strings.TrimSpace(string(r[:139])) + "…"
	}
	return line
}

// dialog builds the filing form.
func (a *App) dialog(st state, title string) model.Dialog {
	plan := a.o.Filer.Plan()
	leaves := plan.Leaves()
	class := model.DialogElement{
		DisplayName: "Class", Name: "class", Type: "select",
		Placeholder: "Type to search the file plan",
		HelpText:    "The file plan class sets how long the record is kept.",
	}
	if len(leaves) > a.o.DynamicOver {
		class.DataSource = "dynamic"
		class.DataSourceURL = a.o.PublicURL + LookupPath
	} else {
		for _, c := range leaves {
			class.Options = append(class.Options, &model.PostActionOptions{Text: classText(c), Value: c.Code})
		}
	}
	marking := model.DialogElement{DisplayName: "Security marking", Name: "marking", Type: "select", Default: plan.Default}
	for _, m := range plan.Markings {
		marking.Options = append(marking.Options, &model.PostActionOptions{Text: m, Value: m})
	}
	st.Title = ""
	return model.Dialog{
		CallbackId:       "file-record",
		Title:            "File as record",
		IntroductionText: "The whole thread is filed, with its files, as it is now. A filed record cannot be changed.",
		SubmitLabel:      "File",
		State:            a.seal(st),
		Elements: []model.DialogElement{
			{DisplayName: "Title", Name: "title", Type: "text", Default: title, MaxLength: 250,
				HelpText: "What the record is about, as someone searching later would put it."},
			class,
			marking,
			{DisplayName: "Description", Name: "description", Type: "textarea", Optional: true, MaxLength: 3000,
				HelpText: "Optional: context, decisions, related references."},
		},
	}
}

func classText(c *filing.Class) string {
	s := c.Code + " " + c.Title
	if c.Parent != nil {
		s += " (" + c.Parent.PathString() + ")"
	}
	return s
}

func (a *App) openDialog(ctx context.Context, src *mmcapture.Source, triggerID string, st state, title string) error {
	if triggerID == "" {
		return errors.New("no trigger id")
	}
	_, err := src.API().OpenInteractiveDialog(ctx, model.OpenDialogRequest{
		TriggerId: triggerID, URL: a.o.PublicURL + DialogPath, Dialog: a.dialog(st, title),
	})
	return err
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// handleDialog takes the dialog submission: checks each field (errors go
// back inline), submits the filing request keyed by the form's nonce (so
// a repeated submission finds the first) and tells the person it is being
// filed.
func (a *App) handleDialog(w http.ResponseWriter, r *http.Request) {
	var req model.SubmitDialogRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 256<<10)).Decode(&req); err != nil {
		http.Error(w, "bad dialog submission", http.StatusBadRequest)
		return
	}
	if req.Cancelled {
		w.WriteHeader(http.StatusOK)
		return
	}
	ctx := r.Context()
	st, err := a.open(req.State, req.UserId)
	if err != nil {
		writeJSON(w, model.SubmitDialogResponse{Error: err.Error()})
		return
	}
	field := func(name string) string {
		if v, ok := req.Submission[name]; ok && v != nil {
			return strings.TrimSpace(fmt.Sprint(v))
		}
		return ""
	}
	rb, _ := json.Marshal(st.Reply)
	fr := filing.Request{
		RequestedBy: capture.Person{ID: st.User, DisplayName: st.UserName},
		Thread:      st.Ref,
		Title:       field("title"),
		ClassCode:   field("class"),
		Marking:     field("marking"),
		Description: field("description"),
		Via:         st.Via,
		Key:         a.formKey(st),
		Reply:       rb,
	}
	if fe := a.o.Filer.Check(fr); fe != nil {
		writeJSON(w, model.SubmitDialogResponse{Errors: fe})
		return
	}
	sub, err := a.o.Filer.Submit(ctx, fr)
	if err != nil {
		var fe filing.FieldErrors
		if errors.As(err, &fe) {
			writeJSON(w, model.SubmitDialogResponse{Errors: fe})
			return
		}
		a.log.Error("mattermost: submit filing request", "err", err, "thread", st.Ref.String())
		writeJSON(w, model.SubmitDialogResponse{Error: storeUnsure})
		return
	}
	path := sub.ClassCode
	if c := a.o.Filer.Plan().Class(sub.ClassCode); c != nil {
		path = c.PathString()
	}
	msg := fmt.Sprintf("Filing **%s** under %s (%s)… I will tell you when it is filed.", sub.Title, path, sub.Marking)
	if sub.Repeat {
		msg = fmt.Sprintf("This form was already received: **%s** is filed only once, under %s (%s). I will tell you the outcome.", sub.Title, path, sub.Marking)
	}
	w.WriteHeader(http.StatusOK)
	a.tell(context.WithoutCancel(ctx), st.Reply, msg, nil)
}

// storeUnsure is the answer when the store failed or answered too late to
// say whether a request was stored. The dialog stays open: pressing File
// again is safe, because the request's key is the form's nonce.
const storeUnsure = "The record store did not confirm the request in time, so it may or may not have been stored. " +
	"Press File again: the same form cannot make a second record."

// formKey is the idempotency key of a dialog: the platform, the server,
// the team and the form's nonce (for a reaction, derived from the
// reaction), so a replayed or double-clicked form, or one submitted again
// after the store answered late, makes one request.
func (a *App) formKey(st state) string {
	return "mattermost:" + a.server + ":" + st.Reply.TeamID + ":" + st.Nonce
}

// handleLookup answers the dynamic class select as the person types.
func (a *App) handleLookup(w http.ResponseWriter, r *http.Request) {
	var req model.SubmitDialogRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		http.Error(w, "bad lookup", http.StatusBadRequest)
		return
	}
	if _, err := a.open(req.State, req.UserId); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	q, _ := req.Submission["query"].(string)
	items := []model.DialogSelectOption{}
	for _, c := range a.o.Filer.Plan().Search(q, 50) {
		items = append(items, model.DialogSelectOption{Text: classText(c), Value: c.Code})
	}
	writeJSON(w, model.LookupDialogResponse{Items: items})
}

// handleAction takes a press of the "File as record…" button and opens
// the dialog.
func (a *App) handleAction(w http.ResponseWriter, r *http.Request) {
	var req model.PostActionIntegrationRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		http.Error(w, "bad action", http.StatusBadRequest)
		return
	}
	sealed, _ := req.Context["state"].(string)
	st, err := a.open(sealed, req.UserId)
	if err != nil {
		writeJSON(w, model.PostActionIntegrationResponse{EphemeralText: err.Error()})
		return
	}
	_, src, err := a.installation(r.Context(), false)
	if err != nil {
		writeJSON(w, model.PostActionIntegrationResponse{EphemeralText: "recordbot is not installed here any more."})
		return
	}
	if err := a.openDialog(r.Context(), src, req.TriggerId, st, st.Title); err != nil {
		a.log.Error("mattermost: open dialog from button", "err", err, "user", req.UserId)
		writeJSON(w, model.PostActionIntegrationResponse{EphemeralText: "The filing form could not be opened; press the button again."})
		return
	}
	a.log.Info("mattermost: filing dialog opened", "user", req.UserId, "thread", st.Ref.String(), "via", "button")
	writeJSON(w, model.PostActionIntegrationResponse{})
}

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
	inst, src, err := a.installation(ctx, false)
	if err != nil {
		a.log.Error("mattermost: cannot reach the person", "err", err, "user", rp.UserID)
		return err
	}
	if rp.ResponseURL != "" && attachments == nil && a.responseURL(rp.ResponseURL) != "" {
		err := a.respond(ctx, src, rp.ResponseURL, text)
		if err == nil {
			return nil
		}
		a.log.Info("mattermost: response_url refused the answer (expired or used up); sending a direct message", "err", err, "user", rp.UserID)
	}
	api := src.API()
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
		a.log.Error("mattermost: direct message to the person failed", "err", err, "status", mmcapture.HTTPStatus(resp, err), "user", rp.UserID)
		return fmt.Errorf("send a direct message: %w", err)
	}
	return nil
}

// respond posts an ephemeral answer to a slash command's response_url.
func (a *App) respond(ctx context.Context, src *mmcapture.Source, url, text string) error {
	b, _ := json.Marshal(&model.CommandResponse{ResponseType: model.CommandResponseTypeEphemeral, Text: text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := src.HTTPClient().Do(req)
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
	if err := a.tell(ctx, rp, outcomeText(o, a.botName()), nil); err != nil {
		a.log.Error("mattermost: the person was not told the outcome", "request", o.Request.ID, "err", err)
	}
}

func (a *App) botName() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inst != nil {
		return a.inst.BotUsername
	}
	return "recordbot"
}

// plural returns "1 file", "2 files".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// outcomeText is what the person is told about their request. It names
// the record by class and id, never by store location (an S3 URL or a
// local path means nothing to them and says too much), and shows no raw
// error text, which may name private channels or servers.
func outcomeText(o filing.Outcome, botName string) string {
	r := o.Request
	if o.Err == nil && o.Record != nil {
		s := o.Record
		kept := "kept permanently"
		if !s.DisposalDate.IsZero() {
			kept = fmt.Sprintf("kept until %s, then %s", s.DisposalDate.Format("2 January 2006"), s.DisposalAction)
		}
		return fmt.Sprintf("Filed as record **%s**\n- Record id: `%s` (the records team finds it by this id)\n- Class: %s\n- Marking: %s\n- %s, %s; %s",
			s.Title, s.ID, s.ClassPath, s.Marking, plural(s.Messages, "message"), plural(s.Files, "file"), kept)
	}
	var rl *capture.RateLimitError
	nothing := false // true when it is certain nothing was filed
	why := "the bot hit an error; the records team can look it up by request id `" + r.ID + "`"
	switch {
	case o.Err == nil:
	case errors.Is(o.Err, capture.ErrBotNotInChannel):
		why, nothing = fmt.Sprintf("I am not in that channel: add me with `/invite @%s` and file it again", botName), true
	case errors.Is(o.Err, capture.ErrAccess):
		why, nothing = "only members of the channel can file its threads", true
	case errors.Is(o.Err, capture.ErrNotFound):
		why, nothing = "the thread no longer exists", true
	case errors.As(o.Err, &rl):
		why = fmt.Sprintf("Mattermost asked the bot to slow down for %s", rl.RetryAfter.Round(time.Second))
	case errors.Is(o.Err, capture.ErrRateLimited):
		why = "Mattermost asked the bot to slow down"
	}
	if !o.Final {
		return fmt.Sprintf("Filing **%s** hit a problem (%s). I will try again and tell you the outcome.", r.Title, why)
	}
	if nothing {
		return fmt.Sprintf("Could not file **%s**: %s. Nothing was filed.", r.Title, why)
	}
	return fmt.Sprintf("Could not file **%s**: %s. The request (id `%s`) was stopped; ask the records team before filing it again.", r.Title, why, r.ID)
}
