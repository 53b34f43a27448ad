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
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// LockMode is the Object Lock mode for records: "GOVERNANCE" (the
	// default) or "COMPLIANCE".
	LockMode string
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
}

// Service accepts filing requests, stores them durably and carries them out.
//
// A request lives under RequestsPrefix: pending/<id>.json from Submit until
// it is done (done/<id>.json) or has failed for good (failed/<id>.json).
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
	if o.Now == nil {
		o.Now = time.Now
	}
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
	if o.LockMode == "" {
		o.LockMode = "GOVERNANCE"
	}
	if s3, ok := o.Store.(*S3); ok {
		if err := s3.SetLockMode(o.LockMode); err != nil {
			return nil, err
		}
	}
	return &Service{
		o: o, log: o.Logger, now: o.Now,
		filer:  &filer{store: o.Store, org: o.Organisation, tz: o.TimeZone},
		owner:  uuid.NewString(),
		wake:   make(chan string, 1024),
		active: make(map[string]bool),
	}, nil
}

// Plan returns the file plan requests are checked against.
func (s *Service) Plan() *Plan { return s.o.Plan }

// maxTitle and maxDescription bound what a person types.
const (
	maxTitle       = 250
	maxDescription = 3000
)

// Check validates a request's title, class and marking, field by field. It
// returns nil when the request can be filed.
func (s *Service) Check(r Request) FieldErrors {
	fe := FieldErrors{}
	title := strings.TrimSpace(r.Title)
	switch {
	case title == "":
		fe["title"] = "Give the record a title."
	case utf8.RuneCountInString(title) > maxTitle:
		fe["title"] = fmt.Sprintf("Keep the title under %d characters.", maxTitle)
	case !utf8.ValidString(title) || strings.ContainsFunc(title, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		fe["title"] = "The title has characters that cannot be stored; type it again."
	}
	if utf8.RuneCountInString(r.Description) > maxDescription {
		fe["description"] = fmt.Sprintf("Keep the description under %d characters.", maxDescription)
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

func pendingKey(id string) string { return RequestsPrefix + "pending/" + id + ".json" }
func doneKey(id string) string    { return RequestsPrefix + "done/" + id + ".json" }
func failedKey(id string) string  { return RequestsPrefix + "failed/" + id + ".json" }

// Submit checks r and stores it durably as a pending request; it returns
// the request with its ID and time set. Bad input returns FieldErrors and
// stores nothing. Once Submit returns, the request will be carried out by
// this or another bot process, even across restarts.
//
// A request with a Key is stored at most once: a later Submit with the
// same Key (a replay, a double click, a retry after the store answered
// late) returns the request first stored, with Repeat set, whether it is
// still pending or already done or failed.
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
		first, err := s.claimKey(ctx, r.Key, r.ID)
		if err != nil {
			return r, fmt.Errorf("store filing request: %w", err)
		}
		if first != r.ID {
			if prev, err := s.request(ctx, first); err == nil {
				prev.Repeat = true
				return prev, nil
			} else if !errors.Is(err, ErrNotExist) {
				return r, fmt.Errorf("store filing request: %w", err)
			}
			// The key was claimed but the request never stored (the
			// process died in between): store it now under that id.
			r.ID = first
		}
	}
	data, err := json.Marshal(pending{Request: r})
	if err != nil {
		return r, err
	}
	if _, err := s.o.Store.Create(ctx, pendingKey(r.ID), bytes.NewReader(data), int64(len(data)), WriteOptions{ContentType: "application/json"}); err != nil {
		if errors.Is(err, ErrExist) && r.Key != "" {
			if prev, err := s.request(ctx, r.ID); err == nil {
				prev.Repeat = true
				return prev, nil
			}
		}
		return r, fmt.Errorf("store filing request: %w", err)
	}
	s.log.Info("filing request accepted", "request", r.ID, "thread", r.Thread.String(), "class", r.ClassCode, "by", r.RequestedBy.ID)
	select {
	case s.wake <- r.ID:
	default: // the next scan picks it up
	}
	return r, nil
}

// keyClaim is stored under requests/keys/ for each idempotency key.
type keyClaim struct {
	ID string `json:"id"`
}

// keyKey is where the claim of an idempotency key is stored: its SHA-256,
// so nothing a platform sent appears in a key name.
func keyKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return RequestsPrefix + "keys/" + hex.EncodeToString(sum[:]) + ".json"
}

// claimKey creates the claim of key for request id, only if there is none;
// it returns the id of the request that holds the key, id or an earlier one.
func (s *Service) claimKey(ctx context.Context, key, id string) (string, error) {
	k := keyKey(key)
	err := createJSON(ctx, s.o.Store, k, keyClaim{ID: id})
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, ErrExist) {
		return "", err
	}
	var c keyClaim
	if err := readJSON(ctx, s.o.Store, k, &c); err != nil {
		return "", err
	}
	if c.ID == "" {
		return "", fmt.Errorf("idempotency claim %s holds no request id", k)
	}
	return c.ID, nil
}

// request reads the stored request id, wherever it is in its life:
// pending, done or failed. ErrNotExist when it was never stored.
func (s *Service) request(ctx context.Context, id string) (Request, error) {
	for _, key := range []string{pendingKey(id), doneKey(id), failedKey(id)} {
		var v struct {
			Request Request `json:"request"`
		}
		err := readJSON(ctx, s.o.Store, key, &v)
		if err == nil {
			return v.Request, nil
		}
		if !errors.Is(err, ErrNotExist) {
			return Request{}, err
		}
	}
	return Request{}, fmt.Errorf("request %s: %w", id, ErrNotExist)
}

// readJSON decodes the object at key (at most 1 MiB) into v.
func readJSON(ctx context.Context, st Store, key string, v any) error {
	rc, err := st.Open(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return err
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
	}
	for _, p := range rec.Payload {
		if strings.HasPrefix(p.Path, "data/files/") {
			sum.Files++
		}
		sum.Bytes += p.Size
	}
	// The index entry and the audit event have keys fixed by the request,
	// so a retry finds them in place rather than writing them twice.
	var people []string
	for _, p := range rec.Participants {
		people = append(people, Label(p))
	}
	idx := IndexEntry{
		ID: rec.ID, Key: rec.Key, Title: rec.Title, ClassCode: c.Code, ClassPath: sum.ClassPath, Marking: rec.Marking,
		FiledAt: rec.FiledAt, FiledBy: rec.FiledBy, ThreadStart: rec.ThreadStart, DisposalDate: rec.Retention.DisposalDate,
		DisposalAction: rec.Retention.Action, Platform: rec.Source.Platform, Channel: rec.Source.Channel.Name, Participants: people,
	}
	// Both are written once and locked as long as the record, so that what
	// `records verify` anchors on cannot be removed, only written over (a
	// later version, which it reports).
	lock := WriteOptions{ContentType: "application/json", RetainUntil: fl.opts.RetainUntil}
	if err := createLockedJSON(ctx, s.o.Store, IndexPrefix+rec.ID+".json", idx, lock); err != nil && !errors.Is(err, ErrExist) {
		return nil, fmt.Errorf("index record: %w", err)
	}
	ev := rec.Events[0]
	ev.At = s.now().UTC()
	ev.TagManifestSHA256 = tagSum
	ev.Source = firstNonEmpty(rec.Source.Permalink, r.Thread.String())
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
func EventKey(e Event, at time.Time) string {
	return fmt.Sprintf("%s%s/%s_%s.json", AuditPrefix, at.UTC().Format("2006/01/02"), e.ID, Slug(e.Type, true, 40))
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
func WriteEvent(ctx context.Context, st Store, e Event, lockUntil time.Time) (Event, error) {
	if e.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return e, err
		}
		e.ID = id.String()
	}
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	if e.Agent == "" {
		e.Agent = Agent
	}
	if least := e.At.Add(minEventLock); lockUntil.Before(least) {
		lockUntil = least
	}
	return e, createLockedJSON(ctx, st, EventKey(e, e.At), e, WriteOptions{ContentType: "application/json", RetainUntil: lockUntil.UTC()})
}

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
		errors.Is(err, capture.ErrAccess) || errors.Is(err, capture.ErrNotFound) || errors.Is(err, capture.ErrBotNotInChannel)
}
