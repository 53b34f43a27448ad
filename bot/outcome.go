package bot

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

// Markup renders the few styles the bot's messages use in one platform's
// markup. Each front end has its own; Plain has none.
type Markup interface {
	// Bold marks s as strong: a title the person typed.
	Bold(s string) string
	// Code marks s as literal: an id, a command to type.
	Code(s string) string
	// Link makes text a link to url.
	Link(url, text string) string
}

// Plain is text without markup: for terminals, logs and platforms
// without it.
type Plain struct{}

// Bold implements Markup.
func (Plain) Bold(s string) string { return s }

// Code implements Markup.
func (Plain) Code(s string) string { return s }

// Link implements Markup.
func (Plain) Link(url, text string) string { return text + " (" + url + ")" }

// Voice is what the bot tells a person about filing, the same on every
// platform but for the markup and the names in it.
//
// When to tell is decided once, by the filing worker: it hands the front
// end an outcome only when the person should hear it (filed; failed for
// good; the first failure of a request it will try again; the first time a
// platform's rate limit holds a request up; a copy of a form that was
// already filed). A front end tells the person every outcome it is given,
// through Outcome, and decides nothing more. When the form is submitted,
// the submit step (Submitter) says Accepted, the new request or a repeat
// alike, or StoreLate.
//
// Every message a person reads comes from here: an error is rendered by
// its capture.Problem (Refusal, Why, Say, Outcome), never by its own
// text, which may name servers, paths, tokens or private channels.
type Voice struct {
	Markup Markup
	// Platform is the platform's name as people know it ("Mattermost").
	Platform string
	// BotName is the bot's username, as in "/invite @recordbot".
	BotName string
	// AddMe, when set, is how a person adds the bot where it is not, on a
	// platform with no /invite (Teams: "Apps, recordbot, Add").
	AddMe string
	// Explain, when set, gives a platform's own reason for err where a
	// capture.Problem's advice cannot say it (Slack: a link only the
	// front end can make), and whether it is certain that nothing was
	// filed; ok false leaves err to the Problem.
	Explain func(err error) (why string, nothing, ok bool)
	// Unseeable, when set, is added when the bot cannot see a message: a
	// platform's word on what it cannot file at all (Mattermost: direct
	// and group messages between people, which a bot cannot join).
	Unseeable string
}

// StoreLate is the answer in the form when the record store failed or
// answered too late to say whether a request was stored. The form stays
// open: pressing File again is safe, because the request's key comes from
// the form.
const StoreLate = "The record store did not confirm the request in time, so it may or may not have been stored. " +
	"Press File again: the same form cannot make a second record."

// FormLost is the answer in a form whose submission came without what
// the form carries (its thread, its id): nothing can be filed from it.
const FormLost = "Sorry: this form lost track of its thread. Close it and start again."

// FormExpired is the answer to a form or button that is too old, or was
// not made by this bot: the front end adds how to start again.
const FormExpired = "This form is no longer valid."

// NotYourForm is the answer to a form or button used by someone other
// than the person it was made for.
const NotYourForm = "This form belongs to someone else: only the person who opened it can use it."

// Accepted is what the person is told once their form's request is
// stored: that it is being filed, or, for a repeated form (Request.Repeat),
// that it was already received and is filed once.
func (v Voice) Accepted(r filing.Request, plan *filing.Plan) string {
	path := r.ClassCode
	if c := plan.Class(r.ClassCode); c != nil {
		path = c.PathString()
	}
	title := v.Markup.Bold(r.Title)
	if r.Repeat {
		return fmt.Sprintf("This form was already received: %s is filed only once, under %s (%s). I will tell you the outcome.", title, path, r.Marking)
	}
	return fmt.Sprintf("Filing %s under %s (%s)… I will tell you when it is filed.", title, path, r.Marking)
}

// Refusal is what the person is told when a thread cannot be filed before
// the form opens (capture.Resolver's errors): the bot cannot see the
// message or is not in its channel, the person is not a member, or the
// bot's app needs its admin. It renders the capture.Problem the platform
// built, names no channel the person may not know and shows no error text.
func (v Voice) Refusal(err error) string {
	p, ok := capture.ProblemOf(err)
	if !ok {
		return v.Platform + " did not answer in time; try again."
	}
	invite := v.invite()
	switch p.Kind {
	case capture.BotNotInChannel:
		return fmt.Sprintf("Add me to that channel first (%s), then try again.", invite)
	case capture.NotFound:
		msg := fmt.Sprintf("I cannot see that message. If it is in a private channel, add me first: %s.", invite)
		if v.Unseeable != "" {
			msg += " " + v.Unseeable
		}
		return msg
	case capture.RateLimited:
		return fmt.Sprintf("%s asked me to slow down; try again in %s.", v.Platform, about(rateLimitWait(err)))
	}
	return sentence(v.advice(p))
}

// Outcome is what the person is told about their request. It names the
// record by class and id, never by store location (an S3 URL or a local
// path means nothing to them and says too much), and shows no raw error
// text, which may name private channels, servers or paths.
func (v Voice) Outcome(o filing.Outcome) string {
	m, r := v.Markup, o.Request
	if o.Err == nil && o.Record != nil {
		s := o.Record
		kept := "kept permanently"
		if !s.DisposalDate.IsZero() {
			kept = fmt.Sprintf("kept until %s, then %s", s.DisposalDate.Format("2 January 2006"), s.DisposalAction)
		}
		files := count(s.Files, "file")
		if n := s.UnavailableFiles + s.MissingFiles; n > 0 {
			files += fmt.Sprintf(" (and %s not kept: the record names each and says why)", count(n, "file"))
		}
		return fmt.Sprintf("Filed as record %s\n- Record id: %s (the records team finds it by this id)\n- Class: %s\n- Marking: %s\n- %s, %s; %s",
			m.Bold(s.Title), m.Code(s.ID), s.ClassPath, s.Marking, count(s.Messages, "message"), files, kept)
	}
	if !o.Final && errors.Is(o.Err, capture.ErrRateLimited) {
		return fmt.Sprintf("%s asked me to slow down: filing %s goes on in %s. Nothing is lost: I will tell you when it is filed.",
			v.Platform, m.Bold(r.Title), about(rateLimitWait(o.Err)))
	}
	why, nothing := v.why(o.Err, r.ID)
	switch {
	case !o.Final:
		return fmt.Sprintf("Filing %s hit a problem (%s). I will try again and tell you the outcome.", m.Bold(r.Title), why)
	case nothing:
		return fmt.Sprintf("Could not file %s: %s. Nothing was filed.", m.Bold(r.Title), why)
	}
	return fmt.Sprintf("Could not file %s: %s. The request (id %s) was stopped; ask the records team before filing it again.",
		m.Bold(r.Title), why, m.Code(r.ID))
}

// why says, for a person, why filing failed, and whether it is certain
// that nothing was filed: the capture.Problem's advice, or, for any other
// error, where the records team can look it up.
func (v Voice) why(err error, id string) (string, bool) {
	if v.Explain != nil && err != nil {
		if why, nothing, ok := v.Explain(err); ok {
			return why, nothing
		}
	}
	p, ok := capture.ProblemOf(err)
	if !ok || p.Kind == capture.RateLimited {
		return "the bot hit an error; the records team can look it up by request id " + v.Markup.Code(id), false
	}
	if p.Kind == capture.BotNotInChannel {
		return fmt.Sprintf("I am not in that channel: add me with %s and file it again", v.invite()), true
	}
	return v.advice(p), true
}

// advice is p's advice, or the words every platform shares for its kind.
func (v Voice) advice(p *capture.Problem) string {
	if p.Advice != "" {
		return p.Advice
	}
	switch p.Kind {
	case capture.NoAccess:
		return "only members of the channel can file its threads"
	case capture.NotFound:
		return "the thread no longer exists"
	case capture.AppNeedsAdmin:
		return fmt.Sprintf("my %s app needs its admin", v.Platform)
	case capture.BadExport:
		return "the export cannot be read; send it again as the phone made it"
	case capture.Unusable:
		return "what you sent cannot be used"
	}
	return "it cannot be filed"
}

// Unusable is the error for something a person sent that cannot be used
// as it is (a link that is not one, a form or link expired or made
// elsewhere): a capture.Problem of kind capture.Unusable whose advice,
// a clause in lower case without a full stop, is what they are told
// (Voice.Why, Voice.Say). err, which may be nil, is for the log only.
func Unusable(advice string, err error) error {
	return &capture.Problem{Kind: capture.Unusable, Advice: advice, Err: err}
}

// Why is err for a person, as a clause: a capture.Problem's advice (or
// the words for its kind), or otherwise for any other error. It never
// shows an error's own text, which may name servers, paths, tokens or
// private channels.
func (v Voice) Why(err error, otherwise string) string {
	p, ok := capture.ProblemOf(err)
	switch {
	case !ok:
		return otherwise
	case p.Kind == capture.RateLimited:
		return fmt.Sprintf("%s asked me to slow down; try again in %s", v.Platform, about(rateLimitWait(err)))
	}
	return v.advice(p)
}

// Say is Why as a sentence.
func (v Voice) Say(err error, otherwise string) string { return sentence(v.Why(err, otherwise)) }

// sentence makes a clause a sentence: a capital first letter (but for
// the bot's own lower-case name) and a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	if !strings.HasPrefix(s, "recordbot") {
		r, n := utf8.DecodeRuneInString(s)
		s = string(unicode.ToUpper(r)) + s[n:]
	}
	return s + "."
}

func (v Voice) botName() string {
	if v.BotName == "" {
		return "recordbot"
	}
	return v.BotName
}

// rateLimitWait is how long the worker waits out err's rate limit: what
// the platform asked, or a minute when it said nothing.
func rateLimitWait(err error) time.Duration {
	var rl *capture.RateLimitError
	if errors.As(err, &rl) && rl.RetryAfter > 0 {
		return rl.RetryAfter
	}
	return time.Minute
}

// about says a wait in whole minutes, rounded up: "about 2 minutes".
func about(d time.Duration) string {
	mins := int((d + time.Minute - 1) / time.Minute)
	if mins <= 1 {
		return "about a minute"
	}
	return fmt.Sprintf("about %d minutes", mins)
}

// count says how many of a thing: "1 file", "2 files".
func count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// invite is how a person adds the bot: AddMe, or /invite @bot.
func (v Voice) invite() string {
	if v.AddMe != "" {
		return v.AddMe
	}
	return v.Markup.Code("/invite @" + v.botName())
}
