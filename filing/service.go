package filing

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/recordbot/recordbot/capture"
)

// Notifier tells the person who asked what became of their request. The
// front end that made the request implements it, using Request.Reply.
type Notifier interface {
	Notify(ctx context.Context, o Outcome)
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, o Outcome)

// Notify implements Notifier.
func (f NotifierFunc) Notify(ctx context.Context, o Outcome) { f(ctx, o) }

// Options configure a Service.
type Options struct {
	Store Store
	Plan  *Plan
	// Source captures threads for requests (capture.Sources routes by
	// platform). It may be nil when only FileThread is used.
	Source capture.Source
	// Notifier is told every outcome; nil drops them.
	Notifier Notifier
	Logger   *slog.Logger
	// Clock decides every time the service reads or waits for (request
	// and event times, leases, retries, scans); the system's when nil.
	Clock Clock
	// Organisation fills bag-info.txt's Source-Organization.
	Organisation string
	// TimeZone is the organisation's time zone, shown beside UTC in the
	// transcripts; nil shows UTC only.
	TimeZone *time.Location
	// Workers is how many requests are carried out at once (default 2).
	Workers int
	// AfterFiling runs after each record is filed (registers, receipts).
	// Its error is logged, never turned into a filing failure.
	AfterFiling func(ctx context.Context, s Summary) error
	// LeaseTime is how long a worker's claim on a request lasts without
	// renewal (default 2 minutes); the worker renews it every third.
	LeaseTime time.Duration
	// ScanEvery is how often the store is searched for pending requests
	// left by a process that stopped, or due for a retry (default 15s).
	ScanEvery time.Duration
	// MaxAttempts is how often a request is tried before it fails for
	// good (default 6). Waiting out a platform's rate limit is no attempt.
	MaxAttempts int
	// RetryWait is the wait after the first failed attempt; it doubles
	// with each later one, up to 15 minutes (default 30 seconds).
	RetryWait time.Duration
	// RepeatWindow is how long a keyed request that was filed keeps
	// answering copies of itself at once as repeats (default 7 days). Set
	// it longer than any front end accepts a copy of one form (Slack: five
	// minutes; a Mattermost form: its state's lifetime, 24 hours by
	// default). A copy later still files nothing: the worker tells its
	// sender the record that was filed.
	RepeatWindow time.Duration
	// Signer signs each record's index entry and filing event with the
	// deployment's key, so that `records verify` and disposal can tell a
	// record filed here from one made with the S3 keys alone. nil signs
	// nothing (and verify then reports the record as unsigned).
	Signer *Signer
}

// Service accepts filing requests, stores them durably and carries them out.
//
// A request lives under RequestsPrefix: pending/<id>.json from Submit until
// it is done (done/<id>.json) or has failed for good (failed/<id>.json).
// A keyed request that is done leaves an empty object at its pending key
// for Options.RepeatWindow, so that a copy's create-only write fails and
// the copy is answered as a repeat (see submitKeyed); scans skip and, once
// the window has passed, remove these markers.
// A worker claims a pending request by rewriting it with a lease, on the
// condition that it has not changed (If-Match), so two bot processes on one
// bucket do not work on one request at once; and since a request's record
// key derives from the request alone and every record object is created only
// if absent, even two workers racing past a lapsed lease make one record.
type Service struct {
	o      Options
	filer  *filer
	log    *slog.Logger
	now    func() time.Time
	owner  string
	wake   chan string
	mu     sync.Mutex
	active map[string]bool // requests being worked on by this process
}

// NewService returns a service; call Run to carry out requests.
func NewService(o Options) (*Service, error) {
	if o.Store == nil || o.Plan == nil {
		return nil, errors.New("filing service needs a store and a file plan")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Clock = ClockOr(o.Clock)
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.LeaseTime <= 0 {
		o.LeaseTime = 2 * time.Minute
	}
	if o.ScanEvery <= 0 {
		o.ScanEvery = 15 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 6
	}
	if o.RetryWait <= 0 {
		o.RetryWait = 30 * time.Second
	}
	if o.RepeatWindow <= 0 {
		o.RepeatWindow = 7 * 24 * time.Hour
	}
	return &Service{
		o: o, log: o.Logger, now: o.Clock.Now,
		filer:  &filer{store: o.Store, org: o.Organisation, tz: o.TimeZone},
		owner:  uuid.NewString(),
		wake:   make(chan string, 1024),
		active: make(map[string]bool),
	}, nil
}

// Plan returns the file plan requests are checked against.
func (s *Service) Plan() *Plan { return s.o.Plan }

// MaxTitle and MaxDescription bound what a person types, in runes: the
// forms of every front end use them as their fields' limits.
const (
	MaxTitle       = 250
	MaxDescription = 3000
)

// Check validates a request's title, class and marking, field by field. It
// returns nil when the request can be filed.
func (s *Service) Check(r Request) FieldErrors {
	fe := FieldErrors{}
	title := strings.TrimSpace(r.Title)
	switch {
	case title == "":
		fe["title"] = "Give the record a title."
	case utf8.RuneCountInString(title) > MaxTitle:
		fe["title"] = fmt.Sprintf("Keep the title under %d characters.", MaxTitle)
	case !utf8.ValidString(title) || strings.ContainsFunc(title, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		fe["title"] = "The title has characters that cannot be stored; type it again."
	}
	if utf8.RuneCountInString(r.Description) > MaxDescription {
		fe["description"] = fmt.Sprintf("Keep the description under %d characters.", MaxDescription)
	}
	c := s.o.Plan.Class(r.ClassCode)
	switch {
	case strings.TrimSpace(r.ClassCode) == "":
		fe["class"] = "Choose a file plan class."
	case c == nil:
		fe["class"] = fmt.Sprintf("There is no class %q in the file plan.", r.ClassCode)
	case !c.Leaf():
		fe["class"] = fmt.Sprintf("%s %s has sub-classes: choose one of them.", c.Code, c.Title)
	}
	switch {
	case r.Marking == "" && c == nil && strings.TrimSpace(r.ClassCode) != "":
		// An unknown class: its error is the one to fix, and a marking
		// left empty takes the class's default once there is one.
	case r.Marking == "":
		fe["marking"] = "Choose a security marking."
	case c != nil && !c.Allows(r.Marking):
		fe["marking"] = fmt.Sprintf("%s is not allowed in %s; choose %s.", r.Marking, c.Code, strings.Join(c.Markings, " or "))
	case c == nil && !slices.Contains(s.o.Plan.Markings, r.Marking):
		fe["marking"] = fmt.Sprintf("Unknown security marking %q.", r.Marking)
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// pending is a stored request with its claim.
type pending struct {
	Request      Request   `json:"request"`
	ClaimedBy    string    `json:"claimed_by,omitempty"`
	ClaimedUntil time.Time `json:"claimed_until,omitzero"`
	NotBefore    time.Time `json:"not_before,omitzero"`
}

// A stored request is named by its handle (Request.handle) under pending/
// while it waits, and under done/ or failed/ when it has ended.
func pendingKey(h string) string { return RequestsPrefix + "pending/" + h + ".json" }
func doneKey(h string) string    { return RequestsPrefix + "done/" + h + ".json" }
func failedKey(h string) string  { return RequestsPrefix + "failed/" + h + ".json" }

// handle names a stored request: its id, or for a request with an
// idempotency key "k-" and the key's SHA-256, so that every copy of one
// submission names the same object and a create-only write admits one.
// Nothing a platform sent appears in the name.
func (r Request) handle() string {
	if r.Key == "" {
		return r.ID
	}
	sum := sha256.Sum256([]byte(r.Key))
	return "k-" + hex.EncodeToString(sum[:])
}

// Submit checks r and stores it durably as a pending request; it returns
// the request with its ID and time set. Bad input returns FieldErrors and
// stores nothing. Once Submit returns, the request will be carried out by
// this or another bot process, even across restarts.
//
// A request with a Key is filed at most once: a later Submit with the same
// Key (a replay, a double click, a retry after the store answered late)
// returns the request first stored, with Repeat set, while it is pending or
// once it is done. A copy that arrives as the first one ends, or after it
// failed, is stored, and the worker tells its sender the first one's outcome
// instead of filing again.
func (s *Service) Submit(ctx context.Context, r Request) (Request, error) {
	r.Title = strings.TrimSpace(r.Title)
	r.Description = strings.TrimSpace(r.Description)
	r.ClassCode = strings.TrimSpace(r.ClassCode)
	r.Repeat = false
	if fe := s.Check(r); fe != nil {
		return r, fe
	}
	id, err := uuid.NewV7()
	if err != nil {
		return r, err
	}
	r.ID = id.String()
	r.RequestedAt = s.now().UTC()
	r.Attempts, r.LastError = 0, ""
	if r.Key != "" {
		return s.submitKeyed(ctx, r)
	}
	if err := s.storePending(ctx, r); err != nil {
		return r, fmt.Errorf("store filing request: %w", err)
	}
	s.accepted(r)
	return r, nil
}

// submitKeyed stores a request with an idempotency key in one create-only
// write, named by the key (see Request.handle): the person waits for one
// round trip to the store, and nothing else is asked on that path. A copy's
// write fails because the object exists: while the request is pending, and
// after it was filed, for Options.RepeatWindow, because finishing it leaves
// an empty marker in its place (Service.finish). Only then is the stored
// request read (pending, done or failed) and returned with Repeat set. A
// copy that arrives after a failure, or after the window, is stored, and
// the worker, finding the handle done or failed, tells the person that
// outcome instead of filing twice (see Service.ended).
func (s *Service) submitKeyed(ctx context.Context, r Request) (Request, error) {
	err := s.storePending(ctx, r)
	switch {
	case err == nil:
		s.accepted(r)
		return r, nil
	case !errors.Is(err, ErrExist):
		return r, fmt.Errorf("store filing request: %w", err)
	}
	prev, err := s.request(ctx, r.handle())
	if err != nil {
		return r, fmt.Errorf("store filing request: %w", err)
	}
	prev.Repeat = true
	return prev, nil
}

// storePending creates the pending request, only if there is none.
func (s *Service) storePending(ctx context.Context, r Request) error {
	data, err := json.Marshal(pending{Request: r})
	if err != nil {
		return err
	}
	_, err = s.o.Store.Create(ctx, pendingKey(r.handle()), bytes.NewReader(data), int64(len(data)), WriteOptions{ContentType: "application/json"})
	return err
}

// accepted logs an accepted request and wakes a worker for it.
func (s *Service) accepted(r Request) {
	s.log.Info("filing request accepted", "request", r.ID, "thread", r.Thread.String(), "class", r.ClassCode, "by", r.RequestedBy.ID)
	select {
	case s.wake <- r.handle():
	default: // the next scan picks it up
	}
}

// request reads the stored request with handle h, wherever it is in its
// life: pending, done or failed. ErrNotExist when it was never stored.
func (s *Service) request(ctx context.Context, h string) (Request, error) {
	for _, key := range []string{pendingKey(h), doneKey(h), failedKey(h)} {
		var v struct {
			Request Request `json:"request"`
		}
		err := readJSON(ctx, s.o.Store, key, &v)
		if err == nil {
			return v.Request, nil
		}
		if !errors.Is(err, ErrNotExist) && !errors.Is(err, errEnded) {
			return Request{}, err
		}
	}
	return Request{}, fmt.Errorf("request %s: %w", h, ErrNotExist)
}

// errEnded is read from an empty object at a pending key: the marker a
// keyed request leaves when it is done (see Service.finish).
var errEnded = errors.New("request has ended")

// readJSON decodes the object at key (at most 1 MiB) into v.
func readJSON(ctx context.Context, st Store, key string, v any) error {
	rc, _, err := st.Open(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return fmt.Errorf("%s: %w", key, errEnded)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// FileThread files thread t for request r at once, without the queue: for
// imports and tests. r needs ID and RequestedAt set (Submit does this; a
// zero ID gets a new UUIDv7 and a zero time gets now).
func (s *Service) FileThread(ctx context.Context, r Request, t *capture.Thread) (*Summary, error) {
	if r.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, err
		}
		r.ID = id.String()
	}
	if r.RequestedAt.IsZero() {
		r.RequestedAt = s.now().UTC()
	}
	if fe := s.Check(r); fe != nil {
		return nil, fe
	}
	return s.file(ctx, r, fetch{thread: t})
}

// file writes the record, its index entry and its audit event, from the
// stored snapshot if there is one, else from the thread src captured.
func (s *Service) file(ctx context.Context, r Request, src fetch) (*Summary, error) {
	c := s.o.Plan.Class(r.ClassCode)
	if c == nil || !c.Leaf() {
		return nil, permanent(fmt.Errorf("class %q is no longer in the file plan", r.ClassCode))
	}
	fl := s.filer.newFiling(r, c)
	rec, tagSum, err := s.filer.file(ctx, fl, src)
	if err != nil {
		return nil, err
	}
	sum := &Summary{
		ID: rec.ID, Title: rec.Title, ClassCode: c.Code, ClassPath: c.PathString(), Marking: rec.Marking,
		Key: rec.Key, Where: s.o.Store.Where(rec.Key), FiledAt: rec.FiledAt, DisposalDate: fl.disposal,
		DisposalAction: c.Retention.Action, FiledBy: rec.FiledBy, Messages: rec.Messages, MissingFiles: len(rec.Missing),
		UnavailableFiles: rec.unavailable,
	}
	for _, p := range rec.Payload {
		if strings.HasPrefix(p.Path, "data/files/") {
			sum.Files++
		}
		sum.Bytes += p.Size
	}
	// The index entry and the audit event have keys fixed by the request,
	// so a retry finds them in place rather than writing them twice.
	idx := IndexEntryOf(rec)
	// Both are written once and locked as long as the record, so that what
	// `records verify` anchors on cannot be removed, only written over (a
	// later version, which it reports).
	lock := WriteOptions{ContentType: "application/json", RetainUntil: fl.opts.RetainUntil}
	if s.o.Signer != nil {
		if err := s.o.Signer.Sign(KindIndex, &idx, &idx.Signature); err != nil {
			return nil, err
		}
	}
	if err := createLockedJSON(ctx, s.o.Store, IndexPrefix+rec.ID+".json", idx, lock); err != nil && !errors.Is(err, ErrExist) {
		return nil, fmt.Errorf("index record: %w", err)
	}
	ev := rec.Events[0]
	ev.At = s.now().UTC()
	ev.TagManifestSHA256 = tagSum
	ev.Source = firstNonEmpty(rec.Source.Permalink, r.Thread.String())
	if s.o.Signer != nil {
		if err := s.o.Signer.Sign(KindEvent, &ev, &ev.Signature); err != nil {
			return nil, err
		}
	}
	if err := createLockedJSON(ctx, s.o.Store, EventKey(ev, rec.FiledAt), ev, lock); err != nil && !errors.Is(err, ErrExist) {
		return nil, fmt.Errorf("audit event: %w", err)
	}
	s.log.Info("record filed", "record", rec.ID, "class", c.Code, "messages", rec.Messages, "files", sum.Files)
	if s.o.AfterFiling != nil {
		if err := s.o.AfterFiling(ctx, *sum); err != nil {
			s.log.Warn("after filing", "record", rec.ID, "err", err)
		}
	}
	return sum, nil
}

// EventKey returns where an audit event is stored: by day, then event id
// and type, so the trail lists in time order. at is the day it belongs to.
// An event about a record names it: the filing event by its id (the
// record's), any other event by the record's id at the end, so a record's
// events can be picked out of a listing without reading the others
// (EventRecord).
func EventKey(e Event, at time.Time) string {
	name := e.ID + "_" + Slug(e.Type, true, 40)
	if e.RecordID != "" && e.RecordID != e.ID {
		name += "_" + e.RecordID
	}
	return fmt.Sprintf("%s%s/%s.json", AuditPrefix, at.UTC().Format("2006/01/02"), name)
}

// EventRecord returns the record an audit event's key names (EventKey);
// ok is false for a key that names none, such as one written by a
// recordbot before keys named records: its event must be read to know.
// What a key says is a hint for finding events; the event read is what
// counts.
func EventRecord(key string) (id string, ok bool) {
	name := strings.TrimSuffix(path.Base(key), ".json")
	first, rest, found := strings.Cut(name, "_")
	switch {
	case !found:
		return "", false
	case rest == "filed":
		return first, true
	}
	if i := strings.LastIndexByte(rest, '_'); i >= 0 {
		if _, err := uuid.Parse(rest[i+1:]); err == nil {
			return rest[i+1:], true
		}
	}
	return "", false
}

// minEventLock is the shortest Object Lock of an audit event: an event of a
// record whose own lock has ended (a fixity check at the disposal review)
// is still kept this long.
const minEventLock = 366 * 24 * time.Hour

// RecordLock returns until when Object Lock protects the objects of a
// record filed at filed with disposal date disposalDate (YYYY-MM-DD, ""
// for a record kept permanently): the disposal date, or the permanent
// horizon the filing service uses.
func RecordLock(filed time.Time, disposalDate string) time.Time {
	if d, err := time.Parse(time.DateOnly, disposalDate); err == nil {
		return d
	}
	return filed.UTC().AddDate(permanentLock, 0, 0)
}

// WriteEvent adds an event to the audit trail, giving it an id if it has
// none. Events are created once, never rewritten, and locked (on a store
// with Object Lock) until lockUntil, the lock of the record they belong to
// (RecordLock), or at least a year from the event.
//
// A signer (nil for none) signs the event, Prev included: the caller sets
// Prev to the Sum of the record's latest event as stored (EventBytes).
func WriteEvent(ctx context.Context, st Store, signer *Signer, e Event, lockUntil time.Time) (Event, error) {
	if e.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return e, err
		}
		e.ID = id.String()
	}
	if e.At.IsZero() {
		e.At = SystemClock().Now().UTC()
	}
	if e.Agent == "" {
		e.Agent = Agent
	}
	if least := e.At.Add(minEventLock); lockUntil.Before(least) {
		lockUntil = least
	}
	if signer != nil {
		if err := signer.Sign(KindEvent, &e, &e.Signature); err != nil {
			return e, err
		}
	}
	return e, createLockedJSON(ctx, st, EventKey(e, e.At), e, WriteOptions{ContentType: "application/json", RetainUntil: lockUntil.UTC()})
}

// EventBytes is how an event is stored: what an event's Prev hashes.
func EventBytes(e Event) ([]byte, error) { return json.MarshalIndent(e, "", "  ") }

// createJSON creates the object at key holding v as indented JSON.
func createJSON(ctx context.Context, st Store, key string, v any) error {
	return createLockedJSON(ctx, st, key, v, WriteOptions{ContentType: "application/json"})
}

// createLockedJSON is createJSON with opts, such as a retention.
func createLockedJSON(ctx context.Context, st Store, key string, v any, opts WriteOptions) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = st.Create(ctx, key, bytes.NewReader(data), int64(len(data)), opts)
	return err
}

// permanentError marks a failure that retrying will not mend.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func permanent(err error) error { return permanentError{err} }

// isPermanent reports whether err should end a request rather than be retried.
func isPermanent(err error) bool {
	var pe permanentError
	var fe FieldErrors
	return errors.As(err, &pe) || errors.As(err, &fe) ||
		errors.Is(err, capture.ErrAccess) || errors.Is(err, capture.ErrNotFound) || errors.Is(err, capture.ErrBotNotInChannel) ||
		errors.Is(err, capture.ErrBadExport)
}
