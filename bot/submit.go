package bot

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

// Submitter is the one submit step of every front end's filing form (a
// Slack modal, a Mattermost dialog): it turns the submitted form into a
// filing request, has it checked and stored once, and says what to answer
// in the form and what to tell the person afterwards. A front end decodes
// its platform's submission into a Submission, draws the Answer in its
// own form, and sends Answer.Tell once its response has gone out.
//
// The request is checked once, by Filer.Submit (filing.Service.Submit
// checks before it stores): the step never calls a check of its own.
type Submitter struct {
	Filer Filer
	// Exports, when set, is read for an export's earlier record: the
	// record of an export read otherwise than one filed before names that
	// one as the record it corrects (Upload.Related).
	Exports *Uploads
	// Timeout, when set, bounds the store's answer (Slack's 3 seconds).
	Timeout time.Duration
	// QuietRepeats, when set, tells nothing for a copy of a form already
	// answered (a platform that delivers one submission more than once,
	// as Slack retries): only when this process answered an earlier copy
	// StoreLate and has told the person nothing since is the copy told
	// that the form was already received. Unset, every copy is told so.
	QuietRepeats bool
	// Clock forgets remembered forms after FormMemory; the system clock
	// when nil.
	Clock  filing.Clock
	Logger *slog.Logger

	mu    sync.Mutex
	forms map[string]formState
}

// FormMemory is how long a Submitter remembers its answer to a form: as
// long as a person may take to press File again.
const FormMemory = time.Hour

// formState is what this process answered a form.
type formState struct {
	at   time.Time
	late bool // answered StoreLate
	told bool // told the person it is being filed
}

// Submission is a filing form as a front end decoded it.
type Submission struct {
	Form   Form
	Origin Origin
	// FormID names this form among the forms the Submitter remembers
	// (QuietRepeats); Origin.Key when empty. A front end whose request
	// key is shared by several forms (one export offered twice) gives
	// each form its own.
	FormID string
	// NewForm says a request stored before under the key is told as new
	// to this form (an export offered again makes a new form for it).
	NewForm bool
}

// Answer is what the submit step decided: exactly one of Fields, Error or
// Request (with Tell) is set.
type Answer struct {
	// Fields are inline errors by filing's field names ("title",
	// "class", "marking", "description"): the form stays open.
	Fields filing.FieldErrors
	// Error is a message for the whole form (StoreLate): the form stays
	// open, and pressing File again is safe.
	Error string
	// Request is the stored request (its ID set; Repeat for a copy).
	Request filing.Request
	// Tell is what to tell the person once the form's response has gone
	// out (Voice.Accepted); empty: nothing.
	Tell string
}

// Accepted reports whether the request was stored: the form closes.
func (a Answer) Accepted() bool { return a.Fields == nil && a.Error == "" }

// Submit files a submitted form: inline field errors for bad input,
// StoreLate when the store failed or answered too late to say whether the
// request was stored, or the stored request and the words Voice v has for
// it. The request's key comes from the form, so a replayed or
// double-pressed submission stores one request.
func (s *Submitter) Submit(ctx context.Context, v Voice, sub Submission) Answer {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	plan := s.Filer.Plan()
	r := sub.Form.Request(plan, sub.Origin)
	formID := sub.FormID
	if formID == "" {
		formID = r.Key
	}
	if r.Thread.Platform == capture.WhatsApp && s.Exports != nil {
		up, err := s.Exports.Get(ctx, r.Thread.ThreadID)
		if err != nil && !errors.Is(err, capture.ErrNotFound) { // one no longer kept is told so when filed
			log.Error("could not read a kept export", "via", r.Via, "user", r.RequestedBy.ID, "err", err)
			s.remember(formID, true, false)
			return Answer{Error: StoreLate}
		}
		// What the person chose in the form is part of the request: the
		// same export filed again under another class is filed again,
		// and corrects the record filed before (Upload.Related).
		r.Key, r.Related = KeyUnder(r.Key, r.ClassCode), up.Related(r.ClassCode)
	}
	stored, err := s.Filer.Submit(ctx, r)
	if fe, ok := errors.AsType[filing.FieldErrors](err); ok {
		return Answer{Fields: fe}
	}
	if err != nil {
		// The store may have kept the request and answered late: say so,
		// and that pressing File again cannot file the thread twice.
		log.Error("could not store a filing request", "via", r.Via, "user", r.RequestedBy.ID, "thread", r.Thread.String(), "err", err)
		s.remember(formID, true, false)
		return Answer{Error: StoreLate}
	}
	if !s.remember(formID, false, stored.Repeat && !sub.NewForm) {
		log.Info("submission repeated; request already stored", "request", stored.ID, "via", r.Via, "user", r.RequestedBy.ID)
		return Answer{Request: stored}
	}
	return Answer{Request: stored, Tell: v.Accepted(stored, plan)}
}

// remember records this process's answer to the form: StoreLate (late),
// or its request stored, new or a copy (repeat), forgetting forms older
// than FormMemory. For a stored request it reports whether to tell the
// person: for a new request, yes; for a copy, unless QuietRepeats, yes,
// else only when an earlier copy was answered StoreLate and the person
// was told nothing since.
func (s *Submitter) remember(form string, late, repeat bool) (tell bool) {
	if !s.QuietRepeats {
		return !late
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := filing.ClockOr(s.Clock).Now()
	if s.forms == nil {
		s.forms = make(map[string]formState)
	}
	for k, f := range s.forms {
		if now.Sub(f.at) > FormMemory {
			delete(s.forms, k)
		}
	}
	f := s.forms[form]
	f.at = now
	switch {
	case late:
		f.late = true
	case !f.told && (!repeat || f.late):
		tell, f.told = true, true
	}
	s.forms[form] = f
	return tell
}
