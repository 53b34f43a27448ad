package teams

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	teamscap "github.com/recordbot/recordbot/capture/teams"
	"github.com/recordbot/recordbot/filing"
)

// The form's input ids: the Adaptive Card's inputs come back by id in the
// submitAction's value.data.
const (
	inTitle       = "title"
	inClass       = "class"
	inMarking     = "marking"
	inDescription = "description"
	inScope       = "scope"
	inSince       = "since"
	// stateKey holds what the form files (formState) in the submit
	// action's data.
	stateKey = "recordbot"
)

// formState is what a form files, carried in its submit action's data and
// given back with the submission: the conversation, and the form's own
// nonce, which keys its request (one form makes at most one request).
//
// It comes back through the person's Teams client, so nothing in it is
// trusted: its tenant must be the activity's, and the worker's capture
// checks again that the person who submits may read the conversation.
type formState struct {
	Tenant  string `json:"tn"`
	Team    string `json:"tm,omitempty"`
	Channel string `json:"c"`
	From    string `json:"f"`
	Acted   string `json:"a"`
	Nonce   string `json:"n"`
}

func (s formState) chat() bool { return s.Team == "" }

// OneToOne is what a person is told who acts on a message of a one-to-one
// chat. Resource-specific consent, through which recordbot reads a chat,
// is not given for chats between two people ("RSC permissions for a chat
// or meeting": in personal scope only ChatMessageReadReceipt.Read.Chat,
// https://learn.microsoft.com/en-us/microsoftteams/platform/graph-api/rsc/resource-specific-consent).
const OneToOne = "recordbot cannot file a one-to-one chat: Teams does not let an app read a chat between two people. " +
	"Post what must be kept in a group chat or a channel recordbot is in, and file it there."

// voice is what this front end tells people, in Teams' words.
func (a *App) voice(m bot.Markup) bot.Voice {
	return bot.Voice{Markup: m, Platform: "Teams", BotName: "recordbot", AddMe: "Apps, recordbot, Add, in that team or chat",
		Explain: func(err error) (string, bool, bool) {
			p, ok := capture.ProblemOf(err)
			switch {
			case ok && p.Kind == capture.BotNotInChannel:
				return "recordbot is not in that team or chat: add it there (Apps, recordbot, Add) and file it again", true, true
			case ok && p.Kind == capture.NoAccess && !errors.Is(err, teamscap.ErrOneOnOne):
				// Words that name nothing of a conversation the person
				// may not see.
				return "only members of that team or chat can file its messages", true, true
			}
			return "", false, false
		}}
}

// refusal is what a person is told when the form cannot open.
// A person who may not file the conversation is told so in words that
// name nothing of it (not even the channel, which the source's advice may
// name).
func (a *App) refusal(err error) string {
	p, ok := capture.ProblemOf(err)
	switch {
	case ok && p.Kind == capture.BotNotInChannel:
		return "Add recordbot to this team or chat first (Apps, recordbot, Add), then try again."
	case errors.Is(err, teamscap.ErrOneOnOne):
		return OneToOne
	case ok && p.Kind == capture.NoAccess:
		return "Only members of that team or chat can file its messages."
	}
	return a.voice(bot.Plain{}).Refusal(err)
}

// fetchTask answers "File as record" on a message: the filing form, once
// the person is known to be a member of the conversation; nothing of the
// conversation (not even the suggested title) is shown before that.
func (a *App) fetchTask(ctx context.Context, act *activity) (any, func(context.Context)) {
	var v actionValue
	if err := json.Unmarshal(act.Value, &v); err != nil || v.CommandID != CommandID {
		return taskMessage("recordbot does not know that command."), nil
	}
	if act.kind() == kindPersonal {
		return taskMessage(OneToOne), nil
	}
	t, ok := act.where(v.MessagePayload)
	if !ok {
		return taskMessage("Use File as record from the … menu of a message in a channel or a group chat."), nil
	}
	who := act.person()
	if who.ID == "" {
		return taskMessage("Teams did not say who you are; try again."), nil
	}
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	var p capture.Preview
	var err error
	if !t.IsChat() && act.ChannelData.Team.AADGroupID == "" {
		// Graph names a team by its group id; Teams sent its thread id.
		g, err := a.o.Messenger.TeamGroupID(cctx, act.ServiceURL, act.ChannelData.Team.ID)
		if err != nil {
			a.log.Warn("teams: could not learn a team's group id", "tenant", t.Tenant, "team", act.ChannelData.Team.ID, "err", err)
			return taskMessage("Teams did not answer in time; try again."), nil
		}
		t.Team = g
	}
	if err == nil {
		p, err = a.o.Threads.Resolve(cctx, t.Ref(), who)
	}
	cancel()
	title := ""
	switch {
	case err == nil:
		if r, e := teamscap.TargetOf(p.Ref); e == nil && r.Tenant == t.Tenant {
			// The source's own names of the conversation (the team's
			// group id, the thread's root).
			t.Team, t.Channel = r.Team, r.Channel
			if r.Scope == teamscap.Thread {
				t.From = r.From
			}
		}
		title = bot.SuggestTitle(p.Text) // the source renders the message as text
	case refusal(err):
		a.log.Info("teams: filing form refused", "tenant", t.Tenant, "channel", t.Channel, "user", who.ID, "err", err)
		return taskMessage(a.refusal(err)), nil
	default:
		// The check did not finish in time: the form opens without a
		// suggested title, and the worker checks again before it
		// captures anything.
		a.log.Warn("teams: membership check did not finish; opening the form without a suggested title", "tenant", t.Tenant, "channel", t.Channel, "user", who.ID, "err", err)
	}
	st := formState{Tenant: t.Tenant, Team: t.Team, Channel: t.Channel, From: t.From, Acted: t.Acted, Nonce: nonce()}
	return a.formTask(st, bot.Form{Title: title, Marking: bot.ClassDefault}, string(teamscap.Message), "", nil, a.signIn(ctx, t.Tenant, who.ID)), nil
}

// signIn is the link that lets the person allow recordbot to read the
// files shared in what they file, when they have not (and may); "" when
// they have, when the feature is off, or when the store does not say in
// time (the form opens without it: shared files are then kept as links,
// and the record says why).
func (a *App) signIn(ctx context.Context, tenant, user string) string {
	if a.o.Consent == nil {
		return ""
	}
	// The invoke's five seconds are mostly the membership check's: the
	// store gets one.
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	has, err := a.o.Consent.Has(ctx, tenant, user)
	if err != nil {
		a.log.Warn("teams: could not learn whether a person allowed recordbot to read files", "tenant", tenant, "user", user, "err", err)
		return ""
	}
	if has {
		return ""
	}
	return a.o.Consent.Link(tenant, user)
}

// refusal reports whether err says why the conversation cannot be filed
// (a capture.Problem other than a rate limit).
func refusal(err error) bool {
	p, ok := capture.ProblemOf(err)
	return ok && p.Kind != capture.RateLimited
}

// submission is the form's data as submitted.
type submission struct {
	Title       string          `json:"title"`
	Class       string          `json:"class"`
	Marking     string          `json:"marking"`
	Description string          `json:"description"`
	Scope       string          `json:"scope"`
	Since       string          `json:"since"`
	State       json.RawMessage `json:"recordbot"`
}

// submitAction files the submitted form: field errors show the form again
// with them; otherwise the request is stored, the dialog says it is being
// filed, and so does a message in the person's personal chat with the
// bot, where the outcome follows. The request's key is the form's nonce,
// so a replayed or repeated submission of one form finds the request
// already stored and files once.
func (a *App) submitAction(ctx context.Context, act *activity) (any, func(context.Context)) {
	var v actionValue
	var s submission
	var st formState
	if err := json.Unmarshal(act.Value, &v); err != nil || v.CommandID != CommandID || json.Unmarshal(v.Data, &s) != nil ||
		json.Unmarshal(s.State, &st) != nil || st.Channel == "" || st.From == "" || st.Acted == "" {
		return taskMessage("Sorry: the form lost track of its conversation. Close it and use File as record again."), nil
	}
	if st.Tenant != act.tenant() {
		a.log.Warn("teams: a form came back naming another tenant", "tenant", act.tenant(), "form_tenant", st.Tenant)
		return taskMessage("Sorry: the form lost track of its conversation. Close it and use File as record again."), nil
	}
	who := act.person()
	if who.ID == "" {
		return taskMessage("Teams did not say who you are; try again."), nil
	}
	form := bot.Form{Title: s.Title, Class: s.Class, Marking: s.Marking, Description: s.Description}
	again := func(errs []string) any { return a.formTask(st, form, s.Scope, s.Since, errs, "") }
	t, fieldErr := st.target(s.Scope, s.Since, act.zone(a.o.TimeZone))
	if fieldErr != "" {
		return again([]string{fieldErr}), nil
	}
	to := Personal{ServiceURL: act.ServiceURL, Tenant: act.tenant(), User: act.From.ID}
	reply, _ := json.Marshal(to)
	key := "teams:" + st.Tenant + ":" + st.Nonce
	if st.Nonce == "" {
		key = "teams:" + st.Tenant + ":activity:" + act.ID
	}
	// The shared submit step checks and stores the request once; its
	// words for the personal chat are in Teams' markdown, the dialog's
	// plain.
	ans := a.submit.Submit(ctx, a.voice(markdown{}), bot.Submission{Form: form,
		Origin: bot.Origin{By: who, Thread: t.Ref(), Via: Via, Key: key, Reply: reply}})
	switch {
	case ans.Fields != nil:
		return again(fieldErrors(ans.Fields)), nil
	case ans.Error != "":
		// The store may have kept the request and answered late: the
		// form stays open, and File again cannot file twice.
		return again([]string{ans.Error}), nil
	}
	r := ans.Request
	text := a.voice(bot.Plain{}).Accepted(r, a.o.Filer.Plan())
	if ans.Tell == "" {
		return taskMessage(text), nil // a copy of a form already told
	}
	return taskMessage(text), a.tell(r.ID, func(ctx context.Context) {
		if err := a.o.Messenger.Send(ctx, to, ans.Tell); err != nil {
			a.log.Warn("teams: could not tell a person their request is being filed", "request", r.ID, "user", who.ID, "err", err)
		}
	})
}

// target is the conversation the form files: a channel's thread, or the
// chosen messages of a chat. fieldErr says what is wrong with the choice.
func (s formState) target(scope, since string, zone *time.Location) (t teamscap.Target, fieldErr string) {
	t = teamscap.Target{Tenant: s.Tenant, Team: s.Team, Channel: s.Channel, From: s.From, Acted: s.Acted, Scope: teamscap.Thread}
	if !s.chat() {
		return t, ""
	}
	t.From = s.Acted
	switch teamscap.Scope(scope) {
	case teamscap.Message, "":
		t.Scope = teamscap.Message
	case teamscap.Day:
		t.Scope, t.Zone = teamscap.Day, zone
	case teamscap.Since:
		chat, msg, ok := messageIDFromLink(since)
		if !ok {
			return t, "To file since an earlier message, paste that message's link (Copy link in its … menu)."
		}
		if chat != s.Channel {
			return t, "That link is to a message of another chat: paste the link of a message in this chat."
		}
		t.Scope, t.From = teamscap.Since, msg
	default:
		return t, "Choose what to file: this message, the messages of that day, or since an earlier message."
	}
	return t, ""
}

// fieldErrors are filing's field errors as lines above the form.
func fieldErrors(fe filing.FieldErrors) []string {
	names := map[string]string{"title": "Title", "class": "Class", "marking": "Marking", "description": "Description"}
	var out []string
	for _, f := range []string{"title", "class", "marking", "description"} {
		if msg, ok := fe[f]; ok {
			out = append(out, names[f]+": "+msg)
		}
	}
	for f, msg := range fe {
		if _, known := names[f]; !known {
			out = append(out, msg)
		}
	}
	return out
}

// nonce is a form's own random id.
func nonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// taskMessage is a dialog answer that shows text and closes
// ("task": {"type": "message"}).
func taskMessage(text string) any {
	return map[string]any{"task": map[string]any{"type": "message", "value": text}}
}

// formTask is the dialog with the filing form: an Adaptive Card
// ("Create and send dialogs": a task of type continue with a card,
// https://learn.microsoft.com/en-us/microsoftteams/platform/messaging-extensions/how-to/action-commands/create-task-module).
// errs, when any, are shown above the fields; signIn, when set, is the
// link that lets the person allow recordbot to read shared files.
func (a *App) formTask(st formState, f bot.Form, scope, since string, errs []string, signIn string) any {
	return map[string]any{"task": map[string]any{"type": "continue", "value": map[string]any{
		"title":  "File as record",
		"height": "large",
		"width":  "medium",
		"card":   map[string]any{"contentType": "application/vnd.microsoft.card.adaptive", "content": a.card(st, f, scope, since, errs, signIn)},
	}}}
}

// card is the filing form as an Adaptive Card (version 1.5, which Teams
// renders: https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/cards-reference#adaptive-card).
func (a *App) card(st formState, f bot.Form, scope, since string, errs []string, signIn string) map[string]any {
	var body []any
	for _, e := range errs {
		body = append(body, map[string]any{"type": "TextBlock", "text": e, "wrap": true, "color": "attention"})
	}
	body = append(body, a.formFields(f)...)
	if st.chat() {
		if scope == "" {
			scope = string(teamscap.Message)
		}
		body = append(body, map[string]any{
			"type": "Input.ChoiceSet", "id": inScope, "label": "What to file", "style": "expanded", "value": scope,
			"choices": []any{
				map[string]any{"title": "This message", "value": string(teamscap.Message)},
				map[string]any{"title": "The messages of that day", "value": string(teamscap.Day)},
				map[string]any{"title": "Since an earlier message (paste its link below)", "value": string(teamscap.Since)},
			},
		}, map[string]any{
			"type": "Input.Text", "id": inSince, "label": "Link to the earlier message (Copy link in its … menu)", "value": since,
			"placeholder": "https://teams.microsoft.com/l/message/…",
		})
	} else {
		body = append(body, map[string]any{"type": "TextBlock", "wrap": true, "isSubtle": true,
			"text": "The whole thread is filed: its first message and every reply."})
	}
	actions := []any{map[string]any{"type": "Action.Submit", "title": "File", "data": map[string]any{stateKey: st}}}
	if signIn != "" {
		// The sign-in opens in the browser (Action.OpenUrl); the form
		// stays open, to be filed once the person is back.
		body = append(body, map[string]any{"type": "TextBlock", "wrap": true, "isSubtle": true,
			"text": "Files shared in the conversation are kept as links only, unless you let recordbot read them (once, with your work account). " +
				"Allow it first, then press File."})
		actions = append(actions, map[string]any{"type": "Action.OpenUrl", "title": "Allow recordbot to read shared files", "url": signIn})
	}
	return map[string]any{
		"type":    "AdaptiveCard",
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"version": "1.5",
		"body":    body,
		"actions": actions,
	}
}

// formFields are the filing form's fields (title, class, marking,
// description) filled with f: the same for a conversation and a WhatsApp
// export.
func (a *App) formFields(f bot.Form) []any {
	plan := a.o.Filer.Plan()
	var body []any
	body = append(body, map[string]any{
		"type": "Input.Text", "id": inTitle, "label": "Title", "value": f.Title, "maxLength": bot.TitleMax,
		"isRequired": true, "errorMessage": "Say what the record is about.", "placeholder": "What the record is about",
	})
	classes := []any{}
	for _, c := range plan.Leaves() {
		classes = append(classes, map[string]any{"title": bot.ClassLabel(c), "value": c.Code})
	}
	body = append(body, map[string]any{
		"type": "Input.ChoiceSet", "id": inClass, "label": "File plan class (sets how long the record is kept)", "style": "filtered",
		"choices": classes, "value": f.Class, "isRequired": true, "errorMessage": "Choose a class.", "placeholder": "Type a code or words of a title",
	})
	markings := []any{map[string]any{"title": bot.ClassDefaultLabel, "value": bot.ClassDefault}}
	for _, m := range plan.Markings {
		markings = append(markings, map[string]any{"title": m, "value": m})
	}
	marking := f.Marking
	if marking == "" {
		marking = bot.ClassDefault
	}
	body = append(body, map[string]any{"type": "Input.ChoiceSet", "id": inMarking, "label": "Security marking", "style": "compact", "choices": markings, "value": marking})
	body = append(body, map[string]any{
		"type": "Input.Text", "id": inDescription, "label": "Description or decision summary (optional)", "isMultiline": true,
		"maxLength": bot.DescriptionMax, "value": f.Description, "placeholder": "The decision or why this conversation matters",
	})
	return body
}

// markdown is the markup of the bot's messages in Teams, which renders a
// subset of Markdown in a message of textFormat markdown
// (https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/cards-format#format-cards-with-markdown).
// Text inside it has Markdown's marks and HTML's brackets escaped, so a
// title cannot make a link, a mention or markup.
type markdown struct{}

var mdEscape = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "'", "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;", "#", `\#`)

func (markdown) Bold(s string) string { return "**" + mdEscape.Replace(s) + "**" }

// cardMarkdown is the markup of an Adaptive Card's TextBlock, which
// renders Markdown but no HTML, and shows an entity such as &lt; as it is
// written ("Text formatting in cards",
// https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/cards-format):
// Markdown's marks are escaped, angle brackets are left alone.
type cardMarkdown struct{}

var cardEscape = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "'", "[", `\[`, "]", `\]`, "#", `\#`)

func (cardMarkdown) Bold(s string) string { return "**" + cardEscape.Replace(s) + "**" }
func (cardMarkdown) Code(s string) string { return "`" + strings.ReplaceAll(s, "`", "'") + "`" }
func (cardMarkdown) Link(u, text string) string {
	return "[" + cardEscape.Replace(text) + "](" + strings.NewReplacer("(", "%28", ")", "%29", " ", "%20").Replace(u) + ")"
}
func (markdown) Code(s string) string { return "`" + strings.ReplaceAll(s, "`", "'") + "`" }
func (markdown) Link(u, text string) string {
	return "[" + mdEscape.Replace(text) + "](" + strings.NewReplacer("(", "%28", ")", "%29", " ", "%20").Replace(u) + ")"
}
