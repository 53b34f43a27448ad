package bot_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

// tags is a markup that shows where each style went.
type tags struct{}

func (tags) Bold(s string) string         { return "<b>" + s + "</b>" }
func (tags) Code(s string) string         { return "<c>" + s + "</c>" }
func (tags) Link(url, text string) string { return "<a " + url + ">" + text + "</a>" }

var errConsent = errors.New("needs the person's permission")

func voice() bot.Voice {
	return bot.Voice{Markup: tags{}, Platform: "Mattermost", BotName: "filebot",
		Explain: func(err error) (string, bool, bool) {
			if errors.Is(err, errConsent) {
				return "allow me to read it first", true, true
			}
			return "", false, false
		}}
}

// problem is a capture.Problem as a platform's capture builds it: advice
// for the person, and a chain for the logs.
func problem(kind capture.Kind, advice string) error {
	return fmt.Errorf("capture thread: %w", &capture.Problem{Kind: kind, Advice: advice,
		Err: errors.New("mattermost capture of mattermost:T1/C1/p1: read the post: HTTP 401 on https://chat.internal")})
}

func TestOutcome(t *testing.T) {
	t.Parallel()
	req := filing.Request{ID: "r1", Title: "Ferry"}
	delayed := req
	delayed.Delayed = true
	secret := errors.New("put s3://bucket/records/x: /var/lib/secret-path unavailable")
	for _, tc := range []struct {
		name   string
		o      filing.Outcome
		want   []string
		unwant []string
	}{
		{"filed", filing.Outcome{Request: req, Final: true, Record: &filing.Summary{ID: "r1", Title: "Ferry", ClassPath: "200 Finance > 200-20 Procurement",
			Marking: "OFFICIAL", Where: "s3://b/records/x/", Messages: 3, Files: 1,
			DisposalDate: time.Date(2033, 12, 31, 0, 0, 0, 0, time.UTC), DisposalAction: filing.Destroy}},
			[]string{"Filed as record <b>Ferry</b>", "Record id: <c>r1</c>", "200-20 Procurement", "Marking: OFFICIAL", "3 messages, 1 file", "kept until 31 December 2033, then destroy"},
			[]string{"s3://"}},
		{"filed, kept permanently", filing.Outcome{Request: req, Final: true, Record: &filing.Summary{ID: "r1", Title: "Ferry", Messages: 1, DisposalAction: filing.Permanent}},
			[]string{"1 message, 0 files; kept permanently"}, nil},
		{"first failure, will retry", filing.Outcome{Request: req, Err: secret},
			[]string{"Filing <b>Ferry</b> hit a problem", "<c>r1</c>", "I will try again"}, []string{"s3://", "/var/lib"}},
		{"rate limit holds it up", filing.Outcome{Request: delayed, Err: fmt.Errorf("capture: %w", &capture.RateLimitError{Platform: capture.Mattermost, RetryAfter: 90 * time.Second})},
			[]string{"Mattermost asked me to slow down", "<b>Ferry</b>", "about 2 minutes", "Nothing is lost"}, []string{"problem", "r1"}},
		{"rate limit with no wait given", filing.Outcome{Request: delayed, Err: fmt.Errorf("capture: %w", capture.ErrRateLimited)},
			[]string{"about a minute"}, nil},
		{"bot not in channel", filing.Outcome{Request: req, Final: true, Err: fmt.Errorf("capture: %w", capture.ErrBotNotInChannel)},
			[]string{"Could not file <b>Ferry</b>", "<c>/invite @filebot</c>", "Nothing was filed"}, nil},
		{"not a member", filing.Outcome{Request: req, Final: true, Err: fmt.Errorf("capture: %w", capture.ErrAccess)},
			[]string{"only members of the channel can file its threads", "Nothing was filed"}, nil},
		{"thread gone", filing.Outcome{Request: req, Final: true, Err: fmt.Errorf("capture: %w", capture.ErrNotFound)},
			[]string{"the thread no longer exists", "Nothing was filed"}, nil},
		{"failed for good, unknown cause", filing.Outcome{Request: req, Final: true, Err: secret},
			[]string{"Could not file <b>Ferry</b>", "(id <c>r1</c>) was stopped", "ask the records team"}, []string{"s3://", "/var/lib", "Nothing was filed"}},
		{"platform's own reason", filing.Outcome{Request: req, Final: true, Err: fmt.Errorf("capture: %w", errConsent)},
			[]string{"Could not file <b>Ferry</b>: allow me to read it first. Nothing was filed."}, nil},
		{"app needs its admin", filing.Outcome{Request: req, Final: true, Err: problem(capture.AppNeedsAdmin, "a system admin must run the install again")},
			[]string{"Could not file <b>Ferry</b>: a system admin must run the install again. Nothing was filed."}, []string{"capture", "401", "chat.internal"}},
		{"app needs its admin, no advice", filing.Outcome{Request: req, Final: true, Err: problem(capture.AppNeedsAdmin, "")},
			[]string{"Could not file <b>Ferry</b>: my Mattermost app needs its admin. Nothing was filed."}, []string{"capture", "401"}},
		{"the platform's advice", filing.Outcome{Request: req, Final: true, Err: problem(capture.NotFound, "the export is no longer kept: send it to me again")},
			[]string{"Could not file <b>Ferry</b>: the export is no longer kept: send it to me again. Nothing was filed."}, []string{"capture", "401"}},
		{"a bad export", filing.Outcome{Request: req, Final: true, Err: problem(capture.BadExport, "")},
			[]string{"the export cannot be read", "Nothing was filed"}, []string{"capture"}},
		{"bot not in channel: the voice's own words", filing.Outcome{Request: req, Final: true, Err: problem(capture.BotNotInChannel, "invite @recordbot")},
			[]string{"I am not in that channel: add me with <c>/invite @filebot</c> and file it again"}, []string{"capture", "@recordbot"}},
		{"rate limit that ended the request", filing.Outcome{Request: req, Final: true, Err: fmt.Errorf("capture: %w", capture.ErrRateLimited)},
			[]string{"Could not file <b>Ferry</b>", "ask the records team"}, []string{"slow down"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := voice().Outcome(tc.o)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("Outcome() = %q, want it to contain %q", got, w)
				}
			}
			for _, w := range tc.unwant {
				if strings.Contains(got, w) {
					t.Errorf("Outcome() = %q, which shows %q", got, w)
				}
			}
		})
	}
}

func TestAccepted(t *testing.T) {
	t.Parallel()
	plan := testPlan(t)
	r := filing.Request{ID: "r1", Title: "Ferry", ClassCode: "200-20", Marking: "OFFICIAL-SENSITIVE"}
	repeat := r
	repeat.Repeat = true
	gone := r
	gone.ClassCode = "999"
	for _, tc := range []struct {
		name string
		r    filing.Request
		want string
	}{
		{"new", r, "Filing <b>Ferry</b> under 200 Finance > 200-20 Procurement (OFFICIAL-SENSITIVE)… I will tell you when it is filed."},
		{"repeat", repeat, "This form was already received: <b>Ferry</b> is filed only once, under 200 Finance > 200-20 Procurement (OFFICIAL-SENSITIVE). I will tell you the outcome."},
		{"class no longer in the plan", gone, "Filing <b>Ferry</b> under 999 (OFFICIAL-SENSITIVE)… I will tell you when it is filed."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := voice().Accepted(tc.r, plan); got != tc.want {
				t.Errorf("Accepted() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRefusal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", capture.ErrBotNotInChannel), "Add me to that channel first (<c>/invite @filebot</c>), then try again."},
		{fmt.Errorf("x: %w", capture.ErrAccess), "Only members of the channel can file its threads."},
		{fmt.Errorf("x: %w", capture.ErrNotFound), "I cannot see that message. If it is in a private channel, add me first: <c>/invite @filebot</c>."},
		{errors.New("dial tcp 10.0.0.1:443: timeout"), "Mattermost did not answer in time; try again."},
		{problem(capture.NoAccess, "only members of #general can file its threads"), "Only members of #general can file its threads."},
		{problem(capture.AppNeedsAdmin, "recordbot's token was refused: an admin must reinstall it"), "recordbot's token was refused: an admin must reinstall it."},
		{problem(capture.BotNotInChannel, "invite @recordbot"), "Add me to that channel first (<c>/invite @filebot</c>), then try again."},
		{fmt.Errorf("x: %w", &capture.RateLimitError{Platform: capture.Mattermost, RetryAfter: 3 * time.Minute}), "Mattermost asked me to slow down; try again in about 3 minutes."},
	} {
		if got := voice().Refusal(tc.err); got != tc.want {
			t.Errorf("Refusal(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// A platform's word on what it cannot file at all follows "I cannot see".
func TestRefusalUnseeable(t *testing.T) {
	t.Parallel()
	v := voice()
	v.Unseeable = "Direct messages cannot be filed."
	want := "I cannot see that message. If it is in a private channel, add me first: <c>/invite @filebot</c>. Direct messages cannot be filed."
	if got := v.Refusal(capture.ErrNotFound); got != want {
		t.Errorf("Refusal(ErrNotFound) = %q, want %q", got, want)
	}
}

func TestPlain(t *testing.T) {
	t.Parallel()
	var m bot.Markup = bot.Plain{}
	if got := m.Bold("a") + m.Code("b") + m.Link("https://x", "c"); got != "abc (https://x)" {
		t.Errorf("Plain = %q, want %q", got, "abc (https://x)")
	}
	if got := (bot.Voice{Markup: bot.Plain{}}).Refusal(capture.ErrBotNotInChannel); !strings.Contains(got, "/invite @recordbot") {
		t.Errorf("Refusal() with no bot name = %q, want /invite @recordbot", got)
	}
}

// A platform with no /invite says how to add the bot its own way.
func TestRefusalAddMe(t *testing.T) {
	v := bot.Voice{Markup: bot.Plain{}, Platform: "Teams", BotName: "recordbot", AddMe: "Apps, recordbot, Add"}
	err := &capture.Problem{Kind: capture.BotNotInChannel}
	for _, got := range []string{v.Refusal(err)} {
		if !strings.Contains(got, "Apps, recordbot, Add") || strings.Contains(got, "/invite") {
			t.Errorf("Got = %q, want the platform's way to add the bot and no /invite", got)
		}
	}
}
