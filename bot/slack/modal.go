package slack

import (
	"cmp"
	"context"
	"encoding/json"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	slackcap "github.com/recordbot/recordbot/capture/slack"
	"github.com/recordbot/recordbot/filing"
)

// Callback and block ids of the shortcut and the modal.
const (
	// ShortcutID is the message shortcut's callback_id in manifest.yml.
	ShortcutID = "file_as_record"
	// ModalID is the filing modal's callback_id.
	ModalID = "record_modal"

	blockTitle       = "title"
	blockClass       = "class"
	blockMarking     = "marking"
	blockDescription = "description"
	actionValue      = "value"
)

// target is the thread a modal files, kept in the view's private_metadata.
type target struct {
	Team       string `json:"t"`
	Enterprise string `json:"e,omitempty"`
	Channel    string `json:"c"`
	Root       string `json:"r"`
	Message    string `json:"m,omitempty"`
	Via        string `json:"v"`
	// Kind is kindExport for an export sent to the bot (Root is the id it
	// is kept as, bot.Upload.ID, Channel the direct message it was sent
	// in); empty for a thread.
	Kind string `json:"k,omitempty"`
	// Key, for an export, is the request's key (exportKey): one per
	// export, sender and reading, whichever offer its form came from.
	Key string `json:"y,omitempty"`
}

func (t target) ref() capture.Ref {
	if t.Kind == kindExport {
		return capture.Ref{Platform: capture.WhatsApp, ThreadID: t.Root}
	}
	r := capture.Ref{Platform: capture.Slack, WorkspaceID: t.Team, ChannelID: t.Channel, ThreadID: t.Root, Server: t.Enterprise}
	if t.Message != "" && t.Message != t.Root {
		r.MessageID = t.Message
	}
	return r
}

// threadTS is the Slack thread to answer in: none for an export.
func (t target) threadTS() string {
	if t.Kind == kindExport {
		return ""
	}
	return t.Root
}

// modal builds the filing modal for thread t with a suggested title.
func (a *App) modal(t target, title string) slackapi.ModalViewRequest {
	plan := a.o.Filer.Plan()
	text := func(s string) *slackapi.TextBlockObject {
		return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, false, false)
	}
	titleIn := slackapi.NewPlainTextInputBlockElement(text("What the record is about"), actionValue)
	titleIn.InitialValue = title
	titleIn.MaxLength = bot.TitleMax

	zero := 0
	classIn := slackapi.NewOptionsSelectBlockElement(slackapi.OptTypeExternal, text("Type a code or words of a title"), actionValue)
	classIn.MinQueryLength = &zero

	def := slackapi.NewOptionBlockObject(bot.ClassDefault, text(bot.ClassDefaultLabel), nil)
	opts := []*slackapi.OptionBlockObject{def}
	for _, m := range plan.Markings {
		opts = append(opts, slackapi.NewOptionBlockObject(m, text(m), nil))
	}
	markIn := slackapi.NewOptionsSelectBlockElement(slackapi.OptTypeStatic, text("Security marking"), actionValue, opts...)
	markIn.InitialOption = def

	descIn := slackapi.NewPlainTextInputBlockElement(text("The decision or why this thread matters (optional)"), actionValue)
	descIn.Multiline = true
	descIn.MaxLength = bot.DescriptionMax
	desc := slackapi.NewInputBlock(blockDescription, text("Description or decision summary"), nil, descIn)
	desc.Optional = true

	meta, _ := json.Marshal(t)
	return slackapi.ModalViewRequest{
		Type:            slackapi.VTModal,
		CallbackID:      ModalID,
		Title:           text("File as record"),
		Submit:          text("File"),
		Close:           text("Cancel"),
		PrivateMetadata: string(meta),
		Blocks: slackapi.Blocks{BlockSet: []slackapi.Block{
			slackapi.NewInputBlock(blockTitle, text("Title"), nil, titleIn),
			slackapi.NewInputBlock(blockClass, text("File plan class"), text("The class sets how long the record is kept."), classIn),
			slackapi.NewInputBlock(blockMarking, text("Security marking"), nil, markIn),
			desc,
		}},
	}
}

// checkTimeout bounds the membership check (and the root's text) within
// the trigger's 3 seconds, leaving time to open the modal: three fifths
// of within3s (of Options.TriggerWindow, in openModal).
const checkTimeout = within3s * 3 / 5

// openModal opens the modal for t with trigger once user is known to be a
// member of its channel: nothing of the thread is read before that. The
// title is suggested from the thread's root message unless one is given.
// A check that Slack does not answer in time opens the modal without a
// suggested title; the worker checks again before it captures anything.
func (a *App) openModal(ctx context.Context, trigger string, t target, user, title, rootText string) error {
	api, err := a.client(ctx, t.Team)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.o.TriggerWindow)
	defer cancel()
	who := capture.Person{ID: user}
	cctx, ccancel := context.WithTimeout(ctx, a.o.TriggerWindow*3/5)
	if title == "" && rootText == "" {
		// The acted-on message is a reply (or a link): fetch the root
		// once the person is known to be a member.
		var p capture.Preview
		if p, err = a.o.Threads.Resolve(cctx, t.ref(), who); err == nil {
			rootText = p.Text
			if p.Ref.ThreadID != "" {
				t.Root = p.Ref.ThreadID
			}
		}
	} else {
		err = a.o.Threads.Member(cctx, t.ref(), who)
		if err != nil {
			rootText = ""
		}
	}
	ccancel()
	if err != nil {
		if refusal(err) {
			return err
		}
		a.log.Warn("slack: membership check did not finish; opening the form without a suggested title", "team", t.Team, "channel", t.Channel, "user", user, "err", err)
	}
	if title == "" {
		title = bot.SuggestTitle(slackcap.PlainText(rootText))
	}
	_, err = api.OpenViewContext(ctx, trigger, a.modal(t, title))
	return err
}

// submission reads the modal's fields; ok is false when the view lost
// its thread or came without its id.
func (a *App) submission(ic *slackapi.InteractionCallback) (bot.Submission, target, bool) {
	var t target
	if err := json.Unmarshal([]byte(ic.View.PrivateMetadata), &t); err != nil || t.Channel == "" || t.Root == "" {
		return bot.Submission{}, t, false
	}
	if t.Team == "" {
		t.Team = ic.Team.ID
	}
	if ic.View.ID == "" || ic.View.Hash == "" {
		return bot.Submission{}, t, false
	}
	val := func(block string) (string, string) {
		if ic.View.State == nil {
			return "", ""
		}
		act := ic.View.State.Values[block][actionValue]
		return act.Value, act.SelectedOption.Value
	}
	title, _ := val(blockTitle)
	_, class := val(blockClass)
	_, marking := val(blockMarking)
	desc, _ := val(blockDescription)
	return bot.Submission{
		Form: bot.Form{Title: title, Class: class, Marking: marking, Description: desc},
		Origin: bot.Origin{
			By:     capture.Person{ID: ic.User.ID, DisplayName: ic.User.Name},
			Thread: t.ref(),
			Via:    t.Via,
			Key:    cmp.Or(t.Key, submissionKey(ic)),
			Reply:  reply{Team: t.Team, Channel: t.Channel, User: ic.User.ID, ThreadTS: t.threadTS()}.raw(),
		},
	}, t, true
}

// submissionKey is the request's idempotency key: the workspace, the
// view's id and its hash. Slack sends the same view id and hash with every
// copy of one submission, and a new hash only when the view changes
// (https://api.slack.com/reference/interaction-payloads/views,
// https://api.slack.com/surfaces/modals#updating_views).
func submissionKey(ic *slackapi.InteractionCallback) string {
	team := ic.Team.ID
	if team == "" {
		team = ic.User.TeamID
	}
	return "slack:" + team + ":" + ic.View.ID + ":" + ic.View.Hash
}

// fieldBlocks maps filing's field names to the modal's block ids.
var fieldBlocks = map[string]string{
	"title": blockTitle, "class": blockClass, "marking": blockMarking, "description": blockDescription,
}

func viewErrors(fe filing.FieldErrors) map[string]string {
	out := make(map[string]string, len(fe))
	for f, msg := range fe {
		b, ok := fieldBlocks[f]
		if !ok {
			b = blockTitle
		}
		if prev, dup := out[b]; dup {
			msg = prev + " " + msg
		}
		out[b] = msg
	}
	return out
}

// classOptions answers the class picker's type-ahead (block_suggestion):
// up to 100 leaf classes matching the typed words.
func (a *App) classOptions(query string) map[string]any {
	classes := a.o.Filer.Plan().Search(query, 100)
	opts := make([]map[string]any, 0, len(classes))
	for _, c := range classes {
		o := map[string]any{
			"text":  map[string]any{"type": "plain_text", "text": cut(c.Code+" "+c.Title, 75)},
			"value": c.Code,
		}
		if c.Parent != nil {
			o["description"] = map[string]any{"type": "plain_text", "text": cut(c.Parent.PathString(), 75)}
		}
		opts = append(opts, o)
	}
	return map[string]any{"options": opts}
}

// cut shortens s to at most n characters, ending in "…" when cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
