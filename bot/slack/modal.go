package slack

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

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
	// classDefault is the marking option meaning "the class's default".
	classDefault = "_class_default"
)

// target is the thread a modal files, kept in the view's private_metadata.
type target struct {
	Team       string `json:"t"`
	Enterprise string `json:"e,omitempty"`
	Channel    string `json:"c"`
	Root       string `json:"r"`
	Message    string `json:"m,omitempty"`
	Via        string `json:"v"`
}

func (t target) ref() capture.Ref {
	r := capture.Ref{Platform: capture.Slack, WorkspaceID: t.Team, ChannelID: t.Channel, ThreadID: t.Root, Server: t.Enterprise}
	if t.Message != "" && t.Message != t.Root {
		r.MessageID = t.Message
	}
	return r
}

// modal builds the filing modal for thread t with a suggested title.
func (a *App) modal(t target, title string) slackapi.ModalViewRequest {
	plan := a.o.Filer.Plan()
	text := func(s string) *slackapi.TextBlockObject {
		return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, false, false)
	}
	titleIn := slackapi.NewPlainTextInputBlockElement(text("What the record is about"), actionValue)
	titleIn.InitialValue = title
	titleIn.MaxLength = 250

	zero := 0
	classIn := slackapi.NewOptionsSelectBlockElement(slackapi.OptTypeExternal, text("Type a code or words of a title"), actionValue)
	classIn.MinQueryLength = &zero

	def := slackapi.NewOptionBlockObject(classDefault, text("The class's default"), nil)
	opts := []*slackapi.OptionBlockObject{def}
	for _, m := range plan.Markings {
		opts = append(opts, slackapi.NewOptionBlockObject(m, text(m), nil))
	}
	markIn := slackapi.NewOptionsSelectBlockElement(slackapi.OptTypeStatic, text("Security marking"), actionValue, opts...)
	markIn.InitialOption = def

	descIn := slackapi.NewPlainTextInputBlockElement(text("The decision or why this thread matters (optional)"), actionValue)
	descIn.Multiline = true
	descIn.MaxLength = 3000
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

// openModal opens the modal for t with trigger; the title is suggested
// from the thread's root message unless one is given.
func (a *App) openModal(ctx context.Context, trigger string, t target, title, rootText string) error {
	api, err := a.client(ctx, t.Team)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, within3s)
	defer cancel()
	if title == "" && rootText == "" {
		// The acted-on message is a reply (or a link): fetch the root,
		// within what is left of the trigger's 3 seconds.
		rctx, rcancel := context.WithTimeout(ctx, 1200*time.Millisecond)
		msgs, _, _, err := api.GetConversationRepliesContext(rctx, &slackapi.GetConversationRepliesParameters{
			ChannelID: t.Channel, Timestamp: t.Root, Limit: 1, Inclusive: true})
		rcancel()
		if err == nil && len(msgs) > 0 {
			rootText = msgs[0].Text
			if msgs[0].ThreadTimestamp != "" && msgs[0].ThreadTimestamp != t.Root {
				t.Root = msgs[0].ThreadTimestamp
			}
		}
	}
	if title == "" {
		title = suggestTitle(rootText)
	}
	_, err = api.OpenViewContext(ctx, trigger, a.modal(t, title))
	return err
}

// suggestTitle makes a title from a message: its first line, markup
// rendered, cut at a word near 100 characters.
func suggestTitle(text string) string {
	s := slackcap.PlainText(text)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	s = strings.NewReplacer("*", "", "~", "", "`", "").Replace(s) // mrkdwn emphasis
	s = strings.Trim(s, "_ ")
	const max = 100
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)[:max]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > max/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:-") + "…"
}

// submission reads the modal's fields into a request.
func (a *App) submission(ic *slackapi.InteractionCallback) (filing.Request, target, error) {
	var t target
	if err := json.Unmarshal([]byte(ic.View.PrivateMetadata), &t); err != nil || t.Channel == "" || t.Root == "" {
		return filing.Request{}, t, errors.New("the form lost track of its thread")
	}
	if t.Team == "" {
		t.Team = ic.Team.ID
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
	if marking == classDefault || marking == "" {
		marking = ""
		if c := a.o.Filer.Plan().Class(class); c != nil {
			marking = c.Default
		}
	}
	r := filing.Request{
		RequestedBy: capture.Person{ID: ic.User.ID, DisplayName: ic.User.Name},
		Thread:      t.ref(),
		Title:       strings.TrimSpace(title),
		ClassCode:   class,
		Marking:     marking,
		Description: strings.TrimSpace(desc),
		Via:         t.Via,
		Reply:       reply{Team: t.Team, Channel: t.Channel, User: ic.User.ID, ThreadTS: t.Root}.raw(),
	}
	return r, t, nil
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
