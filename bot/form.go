package bot

import (
	"context"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

// The filing form every front end shows (a Slack modal, a Mattermost
// dialog): a title suggested from the thread, a class from the file plan,
// a security marking that defaults to the class's own, and an optional
// description. The limits are filing's, so a form never accepts what
// filing.Service.Check refuses.
const (
	// TitleMax and DescriptionMax are the fields' limits in runes.
	TitleMax       = filing.MaxTitle
	DescriptionMax = filing.MaxDescription
	// SuggestedTitleMax is the most runes of a suggested title: a line
	// a person reads at a glance, well inside TitleMax.
	SuggestedTitleMax = 100
	// ClassDefault is the marking option meaning "the class's default
	// marking": the form preselects it, since the class is chosen in the
	// same form and its default is not known until it is submitted.
	ClassDefault = "_class_default"
	// ClassDefaultLabel is how that option reads.
	ClassDefaultLabel = "The class's default"
)

// SuggestTitle suggests a record title from a thread's first message, its
// platform markup already rendered as plain text: the first line with
// spaces collapsed, emphasis marks (*, ~, `, _ around it, a heading's #) dropped, cut
// at a word near SuggestedTitleMax runes and ended with "…" when cut.
func SuggestTitle(text string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	line = strings.Join(strings.FieldsFunc(line, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	line = strings.NewReplacer("*", "", "~", "", "`", "").Replace(line)
	if h := strings.TrimLeft(line, "#"); h != line && strings.HasPrefix(h, " ") {
		line = h // a Markdown heading
	}
	line = strings.Trim(line, "_ ")
	if utf8.RuneCountInString(line) <= SuggestedTitleMax {
		return line
	}
	cut := string([]rune(line)[:SuggestedTitleMax])
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:-") + "…"
}

// Form is what a person submitted in the filing form, as the platform
// sent it.
type Form struct {
	Title       string
	Class       string
	Marking     string // a marking, ClassDefault or empty
	Description string
}

// Origin is who asks to file which thread, how, and where to answer them.
type Origin struct {
	By     capture.Person
	Thread capture.Ref
	// Via says how the person asked ("mattermost /record", "slack
	// shortcut").
	Via string
	// Key is the submission's idempotency key, prefixed with the
	// platform and workspace (see filing.Request.Key).
	Key string
	// Reply is the front end's own reply address (filing.Request.Reply).
	Reply json.RawMessage
}

// Request turns a submitted form into a filing request: fields trimmed,
// and ClassDefault (or no marking) taken as the chosen class's default
// marking. It checks nothing: filing.Service.Check does.
func (f Form) Request(plan *filing.Plan, o Origin) filing.Request {
	class := strings.TrimSpace(f.Class)
	marking := strings.TrimSpace(f.Marking)
	if marking == ClassDefault || marking == "" {
		marking = ""
		if c := plan.Class(class); c != nil {
			marking = c.Default
		}
	}
	return filing.Request{
		RequestedBy: o.By,
		Thread:      o.Thread,
		Title:       strings.TrimSpace(f.Title),
		ClassCode:   class,
		Marking:     marking,
		Description: strings.TrimSpace(f.Description),
		Via:         o.Via,
		Key:         o.Key,
		Reply:       o.Reply,
	}
}

// ClassLabel is how a class reads in a picker: its code and title, and
// the path above it in brackets.
func ClassLabel(c *filing.Class) string {
	s := c.Code + " " + c.Title
	if c.Parent != nil {
		s += " (" + c.Parent.PathString() + ")"
	}
	return s
}

// Filer accepts filing requests from a front end: filing.Service
// implements it. A front end submits through a Submitter, never Filer
// itself.
type Filer interface {
	// Submit checks a request field by field (the only check a
	// submission gets) and stores it durably for the worker, returning
	// it with its ID set (and Repeat set for a copy of a keyed request
	// already stored); bad input returns filing.FieldErrors.
	Submit(ctx context.Context, r filing.Request) (filing.Request, error)
	// Plan is the file plan the form's class picker offers.
	Plan() *filing.Plan
}

var _ Filer = (*filing.Service)(nil)
