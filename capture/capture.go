// Package capture turns a chat thread into a platform-neutral snapshot.
//
// A Thread is what recordbot files: every message of a Slack or Mattermost
// thread with its author, time, edit mark, reactions and files, as they were
// at the moment of capture. Its JSON form (see Thread) is stored in every
// record as data/thread.json, so it is versioned and kept stable: fields are
// only ever added, never renamed or removed, within a SchemaVersion.
//
// The platform sources live in the subpackages capture/slack and
// capture/mattermost; this package imports no chat or storage SDK.
package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// SchemaVersion is the version of the JSON form of Thread written by this code.
const SchemaVersion = 1

// Platform names the chat system a thread came from.
type Platform string

// The platforms recordbot captures from.
const (
	Slack      Platform = "slack"
	Mattermost Platform = "mattermost"
	// Import is a thread read from a snapshot file rather than a live chat.
	Import Platform = "import"
	// WhatsApp is a chat a person exported from WhatsApp ("Export chat")
	// and supplied: WhatsApp has no API to capture from.
	WhatsApp Platform = "whatsapp"
	// Teams is Microsoft Teams, captured through Microsoft Graph.
	Teams Platform = "teams"
)

// Thread is a snapshot of a whole chat thread.
type Thread struct {
	SchemaVersion int       `json:"schema_version"`
	Platform      Platform  `json:"platform"`
	Workspace     Workspace `json:"workspace"`
	Channel       Channel   `json:"channel"`
	// ThreadID identifies the thread on its platform: the root message's
	// ts on Slack, the root post id on Mattermost.
	ThreadID   string    `json:"thread_id"`
	Permalink  string    `json:"permalink,omitempty"`
	CapturedAt time.Time `json:"captured_at"`
	// ReadAs says whose access read the thread: "bot" (the bot's own
	// token) or "delegated:<user id>" (the token a participant granted,
	// for a direct or group message the bot cannot join). Empty for
	// imports and for snapshots made before it was recorded.
	ReadAs string `json:"read_as,omitempty"`
	// Messages are in thread order; Messages[0] is the root.
	Messages []Message `json:"messages"`
	// Stream, when set, gives the messages instead: a thread too long to
	// hold (a WhatsApp export of millions of messages) is read again from
	// its source each time it is gone through. Messages then holds none
	// of them, or the first ones (all of a short chat), for callers that
	// look at a few; what it holds is not all there is unless its length
	// is Len. Code that goes through every message
	// uses Each and Len, which read Stream when it is set and Messages
	// when not, so that a live source needs no stream: a slice is one.
	Stream MessageStream `json:"-"`
	// Provenance is set when the thread was not captured from the platform
	// by recordbot but read from a file a person made and supplied (a
	// WhatsApp export): who supplied it, when, the file and its checksum,
	// and what had to be assumed to read it.
	Provenance *Provenance `json:"provenance,omitempty"`
}

// Provenance says where a snapshot read from a supplied file came from.
type Provenance struct {
	// Kind is "user-export": an export a person made on their own device,
	// not a capture recordbot made from the platform.
	Kind string `json:"kind"`
	// Description says the same for people.
	Description string `json:"description"`
	// SuppliedBy is the person who gave recordbot the file.
	SuppliedBy Person    `json:"supplied_by"`
	SuppliedAt time.Time `json:"supplied_at"`
	// Via says how it was supplied: "command line", "slack dm"...
	Via string `json:"via,omitempty"`
	// FileName, FileSize and FileSHA256 identify the file as supplied.
	FileName   string `json:"file_name"`
	FileSize   int64  `json:"file_size"`
	FileSHA256 string `json:"file_sha256"`
	// Format names the file's layout, such as "whatsapp-ios-zip".
	Format string `json:"format,omitempty"`
	// Assumptions are what reading the file needed that it does not say
	// itself (the order of day and month, the time zone), with the basis
	// of each.
	Assumptions []Assumption `json:"assumptions,omitempty"`
	// Notes are other facts about the file for people, such as files in
	// it that no message names.
	Notes []string `json:"notes,omitempty"`
	// Ledger accounts for every line of the chat text the file holds:
	// how each was read, and each line that was not understood.
	Ledger *Ledger `json:"ledger,omitempty"`
	// Original is the supplied file itself, kept in the record byte for
	// byte; filing gives it its Path and SHA256.
	Original *File `json:"original,omitempty"`
}

// Ledger accounts for every line of a supplied chat text: each is the
// header of a message, a continuation of the message above it, a system
// line, a blank line before the first message, or not understood. The
// counts add up to Lines.
type Ledger struct {
	// Lines is the number of lines of the chat text.
	Lines int `json:"lines"`
	// Headers are lines that start a message with an author.
	Headers int `json:"message_headers"`
	// Continuations are lines that continue the message above them.
	Continuations int `json:"continuations"`
	// System are lines of the platform's own notices, without an author.
	System int `json:"system_lines"`
	// Blank are empty lines before the first message.
	Blank int `json:"blank,omitempty"`
	// NotUnderstood counts the lines that could not be read: a line that
	// starts with a date and time but not as a message does, and the
	// lines that continue it. None of them is part of any message.
	NotUnderstood int `json:"not_understood"`
	// Unread lists the lines not understood, with their number and
	// text. It is kept in the snapshot (data/thread.json); record.json
	// keeps the counts only (see Provenance.Counts).
	Unread []LedgerLine `json:"not_understood_lines,omitempty"`
	// MayBeCut is set when the export holds as many messages as WhatsApp
	// puts in an export at most (about 10,000 with media, 40,000
	// without): the chat may hold more than the export. It is that limit.
	MayBeCut int `json:"may_be_cut_at,omitempty"`
}

// LedgerLine is a line of a chat text that was not understood.
type LedgerLine struct {
	// Line is its number, from 1.
	Line int `json:"line"`
	// Text is the line as written.
	Text string `json:"text"`
	// Why says why it was not understood.
	Why string `json:"why"`
}

// Counts returns p with its ledger's counts but without the lines not
// understood, whose text belongs in the snapshot, not in the record's
// metadata. It returns p itself when there are none.
func (p *Provenance) Counts() *Provenance {
	if p == nil || p.Ledger == nil || len(p.Ledger.Unread) == 0 {
		return p
	}
	c, l := *p, *p.Ledger
	l.Unread = nil
	c.Ledger = &l
	return &c
}

// Provenance kinds.
const (
	// UserExport is a chat export a person made and supplied.
	UserExport = "user-export"
)

// Assumption is one thing a snapshot's reading assumed, and why.
type Assumption struct {
	// Subject is what was assumed: "date order", "time zone".
	Subject string `json:"subject"`
	// Value is what was taken: "day/month/year", "Europe/London".
	Value string `json:"value"`
	// Basis says why: inferred from the file, or given by whom.
	Basis string `json:"basis"`
}

// Workspace is a Slack workspace or a Mattermost team.
type Workspace struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Domain is the workspace's Slack domain or the Mattermost server URL.
	Domain string `json:"domain,omitempty"`
}

// Channel is where the thread was posted.
type Channel struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Private bool   `json:"private"`
	// Kind is "channel", "private", "dm" or "group" (group direct message).
	Kind string `json:"kind,omitempty"`
}

// Person is a message author, reactor or requester, with the names they had
// at capture time.
type Person struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name,omitempty"`
	RealName    string `json:"real_name,omitempty"`
	Bot         bool   `json:"bot,omitempty"`
}

// Name returns the best human name for p: display name, then real name, then id.
func (p Person) Name() string {
	switch {
	case p.DisplayName != "":
		return p.DisplayName
	case p.RealName != "":
		return p.RealName
	}
	return p.ID
}

// Message is one message of a thread.
type Message struct {
	ID string `json:"id"`
	// Position is the message's place in the thread: 0 for the root.
	Position int       `json:"position"`
	Author   Person    `json:"author"`
	Time     time.Time `json:"time"`
	// Text is the message as the platform stored it (markup, ids and all).
	Text string `json:"text"`
	// ReadableText has mentions, channel links and URLs rendered for people.
	ReadableText string     `json:"readable_text"`
	Edited       *Edit      `json:"edited,omitempty"`
	Reactions    []Reaction `json:"reactions,omitempty"`
	Files        []File     `json:"files,omitempty"`
	Permalink    string     `json:"permalink,omitempty"`
	// Subtype is the platform's message subtype or post type, if any.
	Subtype string `json:"subtype,omitempty"`
}

// Edit marks a message changed after it was posted.
type Edit struct {
	// At is when it was changed; zero when the platform does not say (a
	// WhatsApp export marks an edited message without the time).
	At time.Time `json:"at,omitzero"`
	By string    `json:"by,omitempty"`
}

// Reaction is one emoji reaction on a message.
type Reaction struct {
	Emoji string   `json:"emoji"`
	Count int      `json:"count"`
	Users []Person `json:"users,omitempty"`
}

// File is a file attached to a message. Its content is not part of the
// snapshot: Open streams it from its source when the record is written.
type File struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	MIMEType string `json:"mime_type,omitempty"`
	// Size is the size the platform reported, or -1 when unknown.
	Size int64 `json:"size"`
	// Source is where the content comes from: a platform URL or API path,
	// or a path relative to the snapshot file for imports.
	Source string `json:"source,omitempty"`
	// Path is the file's place inside the record package, such as
	// "data/files/001_minutes.pdf". Filing sets it.
	Path string `json:"path,omitempty"`
	// SHA256 is the hex SHA-256 of the content. Filing sets it.
	SHA256 string `json:"sha256,omitempty"`
	// Error says why the content could not be captured, when it could not
	// (for example a file deleted from the platform). Filing records it in
	// place of the content rather than dropping the file silently.
	Error string `json:"error,omitempty"`
	// ContentID, when set, names the file's content within its thread:
	// files of one thread with the same ContentID have the same content
	// (one file of a WhatsApp export named by several messages), and a
	// record stores it once, at one Path that each of them gives. Files
	// without one are stored each on its own.
	ContentID string `json:"content_id,omitempty"`

	// Open streams the content. It is nil for files that were never
	// fetchable (Error is set then) and is not part of the JSON form.
	Open Opener `json:"-"`
}

// Opener opens a file's content for reading. The caller closes it.
type Opener func(ctx context.Context) (io.ReadCloser, error)

// Ref points at a thread on a platform: enough for a Source to capture it.
type Ref struct {
	Platform Platform `json:"platform"`
	// WorkspaceID is the Slack team id or the Mattermost team id.
	WorkspaceID string `json:"workspace_id"`
	ChannelID   string `json:"channel_id"`
	// ThreadID is the root message's id (Slack ts, Mattermost post id).
	ThreadID string `json:"thread_id"`
	// MessageID is the message the person acted on, when it is not the root.
	MessageID string `json:"message_id,omitempty"`
	// Server is the Mattermost server URL, or the Slack enterprise id.
	Server string `json:"server,omitempty"`
}

// String returns a short form for logs; it holds ids only, never content.
func (r Ref) String() string {
	return fmt.Sprintf("%s:%s/%s/%s", r.Platform, r.WorkspaceID, r.ChannelID, r.ThreadID)
}

// Source captures threads from one platform.
type Source interface {
	// Capture snapshots the thread ref points at, on behalf of requester.
	// It fails with ErrAccess when the requester cannot see the thread.
	Capture(ctx context.Context, ref Ref, requester Person) (*Thread, error)
}

// Resolver is what a live Source can do before a filing form opens: find
// the thread a message belongs to, check that the bot can read it and the
// requester may file it, and only then give its first message, so a title
// can be suggested. A person who may not file a thread sees nothing of it.
// It fails as Capture does: ErrAccess, ErrBotNotInChannel, ErrNotFound.
type Resolver interface {
	Resolve(ctx context.Context, ref Ref, requester Person) (Preview, error)
}

// Preview is a thread as Resolve found it.
type Preview struct {
	// Ref is the thread: ThreadID is its root, MessageID the message
	// acted on when that is a reply, ChannelID its channel.
	Ref Ref
	// Text is the root message's text, in the platform's markup.
	Text string
}

// Errors a Source returns, usually as the cause of a *Problem that says
// what a person can do about them.
var (
	// ErrAccess: the requester may not see the thread.
	ErrAccess = errors.New("not allowed to read this thread")
	// ErrNotFound: the thread or its channel does not exist (any more).
	ErrNotFound = errors.New("thread not found")
	// ErrBotNotInChannel: the bot must be invited to the channel first.
	ErrBotNotInChannel = errors.New("the bot is not in this channel")
	// ErrRateLimited: the platform asked us to slow down for longer than
	// a source waits within one attempt. Match it with errors.Is; a
	// *RateLimitError says how long to wait. It never fails a filing: the
	// request is tried again after the wait, without counting an attempt.
	ErrRateLimited = errors.New("the platform is rate limiting us")
)

// Kind is what kind of problem stopped a capture, as the person who asked
// for it is told: each has its own words and its own remedy.
type Kind string

// The kinds of Problem.
const (
	// NotFound: the thread, its channel or the export is gone, or the
	// bot cannot see it at all. Matches ErrNotFound.
	NotFound Kind = "not-found"
	// BotNotInChannel: the bot must be added to the channel first.
	// Matches ErrBotNotInChannel.
	BotNotInChannel Kind = "bot-not-in-channel"
	// NoAccess: the person may not file the thread. Matches ErrAccess.
	NoAccess Kind = "access"
	// AppNeedsAdmin: the bot's app or token on the platform needs its
	// admin (a missing permission, a revoked token). Matches
	// ErrAppNeedsAdmin.
	AppNeedsAdmin Kind = "app-needs-admin"
	// RateLimited: the platform asked to slow down. Matches
	// ErrRateLimited; a *RateLimitError says for how long.
	RateLimited Kind = "rate-limited"
	// BadExport: a supplied export cannot be read. Matches ErrBadExport.
	BadExport Kind = "bad-export"
	// Unusable: what the person sent cannot be used as it is (a link
	// that is not one, a form or link that expired or was not made by
	// this bot). Matches ErrUnusable.
	Unusable Kind = "unusable"
)

// More errors a Source returns, matched as the ones above.
var (
	// ErrAppNeedsAdmin: the bot's app or token needs its admin.
	ErrAppNeedsAdmin = errors.New("the bot's app needs its admin")
	// ErrBadExport: a supplied export cannot be read.
	ErrBadExport = errors.New("the export cannot be read")
	// ErrUnusable: what the person sent cannot be used.
	ErrUnusable = errors.New("what was sent cannot be used")
)

var kindErr = map[Kind]error{
	NotFound:        ErrNotFound,
	BotNotInChannel: ErrBotNotInChannel,
	NoAccess:        ErrAccess,
	AppNeedsAdmin:   ErrAppNeedsAdmin,
	RateLimited:     ErrRateLimited,
	BadExport:       ErrBadExport,
	Unusable:        ErrUnusable,
}

// Problem is a failure as the person who asked is told it: its Kind, and
// Advice in words they can act on. It is the one error type for words a
// person reads: a Source builds it where it knows what went wrong in a
// capture, a front end where what the person sent cannot be used
// (Unusable); bot.Voice renders it, and never shows Err, which keeps the
// whole chain for the logs.
//
// errors.Is matches a Problem against its Kind's error (ErrNotFound,
// ErrAccess...); errors.As finds it through any wrapping.
type Problem struct {
	Kind Kind
	// Advice says what is wrong and what to do, for a person: a clause
	// that starts in lower case and has no full stop ("the thread no
	// longer exists"), with no internal wrapping, error text, server
	// address or private channel name in it. Empty leaves the words to
	// the front end.
	Advice string
	// Err is the cause, with its detail, for the logs.
	Err error
}

// Error is the advice and the whole chain, for logs and operators.
func (p *Problem) Error() string {
	head := p.Advice
	if head == "" {
		head = string(p.Kind)
		if e := kindErr[p.Kind]; e != nil {
			head = e.Error()
		}
	}
	if p.Err == nil {
		return head
	}
	return head + ": " + p.Err.Error()
}

// Unwrap returns the cause.
func (p *Problem) Unwrap() error { return p.Err }

// Is matches the error of the Problem's Kind.
func (p *Problem) Is(target error) bool {
	e := kindErr[p.Kind]
	return e != nil && target == e
}

// ProblemOf returns the Problem in err's chain. An error that is not one
// but matches one of the kinds' errors (ErrNotFound, a *RateLimitError...)
// gives a Problem of that kind without Advice. ok is false for any other
// error: one a person cannot act on.
func ProblemOf(err error) (p *Problem, ok bool) {
	if err == nil {
		return nil, false
	}
	if errors.As(err, &p) {
		return p, true
	}
	for _, k := range []Kind{RateLimited, BotNotInChannel, NoAccess, NotFound, AppNeedsAdmin, BadExport, Unusable} {
		if errors.Is(err, kindErr[k]) {
			return &Problem{Kind: k, Err: err}, true
		}
	}
	return nil, false
}

// RateLimitError is a rate limit with the wait the platform asked for.
type RateLimitError struct {
	// Platform is the platform that answered 429.
	Platform Platform
	// RetryAfter is how long the platform asked us to wait.
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s is rate limiting us: retry after %s", e.Platform, e.RetryAfter)
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// Participants returns everyone who wrote in or reacted to the thread, each
// once, authors first in order of their first message, then reactors by id.
func (t *Thread) Participants() []Person {
	var s Survey
	t.Each(context.Background(), func(m *Message) error { s.Add(m); return nil })
	return s.Participants()
}

// Span returns the times of the first and last message.
func (t *Thread) Span() (first, last time.Time) {
	var s Survey
	t.Each(context.Background(), func(m *Message) error { s.Add(m); return nil })
	return s.Span()
}

// Files returns the supplied original of an imported thread
// (Provenance.Original), if any, then every file of the thread in message
// order. The original comes first: it is the largest file of an import,
// so filing starts it first and stores the media beside it.
//
// The files of Messages are given in place; those of a Stream are copies
// read from it (nil when it cannot be read again: FilesOf says why).
func (t *Thread) Files() []*File {
	out, _ := t.FilesOf(context.Background())
	return out
}

// FilesOf is Files, with the error of a Stream that cannot be read again.
func (t *Thread) FilesOf(ctx context.Context) ([]*File, error) {
	var out []*File
	if t.Provenance != nil && t.Provenance.Original != nil {
		out = append(out, t.Provenance.Original)
	}
	if t.Stream == nil {
		for i := range t.Messages {
			for j := range t.Messages[i].Files {
				out = append(out, &t.Messages[i].Files[j])
			}
		}
		return out, nil
	}
	err := t.Stream.Each(ctx, func(m *Message) error {
		for j := range m.Files {
			out = append(out, &m.Files[j])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Validate checks that t is a complete snapshot worth filing.
func (t *Thread) Validate() error { return t.ValidateEach(context.Background(), nil) }

// ValidateEach is Validate, passing each message to fn too (when not
// nil): for code that goes through the messages anyway, as a stream is
// read again at each pass. Messages that cannot be read fail it with
// the stream's error.
func (t *Thread) ValidateEach(ctx context.Context, fn func(m *Message)) error {
	var problems []string
	if t.Platform == "" {
		problems = append(problems, "no platform")
	}
	if t.Channel.ID == "" {
		problems = append(problems, "no channel id")
	}
	if t.ThreadID == "" {
		problems = append(problems, "no thread id")
	}
	if t.Len() == 0 {
		problems = append(problems, "no messages")
	}
	i := 0
	err := t.Each(ctx, func(m *Message) error {
		if m.ID == "" {
			problems = append(problems, fmt.Sprintf("message %d has no id", i))
		}
		if m.Time.IsZero() {
			problems = append(problems, fmt.Sprintf("message %d has no time", i))
		}
		i++
		if fn != nil {
			fn(m)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the thread's messages: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid thread snapshot: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Sources routes each capture to the Source of the ref's platform.
type Sources map[Platform]Source

// Capture implements Source.
func (s Sources) Capture(ctx context.Context, ref Ref, requester Person) (*Thread, error) {
	src, ok := s[ref.Platform]
	if !ok {
		return nil, fmt.Errorf("capture %s: platform %q is not configured", ref, ref.Platform)
	}
	return src.Capture(ctx, ref, requester)
}

// Sleep waits for d, or until ctx is done, whichever comes first: the wait
// the platform sources make before retrying after an HTTP 429.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
