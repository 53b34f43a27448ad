package bot

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/recordbot/recordbot/filing"
)

// Sealed keeps values of one kind (a platform's installations, people's
// grants) in a filing.Store, one JSON object per id, with their secrets
// sealed by a Vault under a label bound to the id: a sealed value copied
// to another id's object does not open. Lookups are cached for a while;
// writes are conditional (create-only for a new value, If-Match for a
// changed one), so two writers racing cannot both believe they won.
// It is safe for concurrent use. A value Get returns is shared with the
// cache: read it, do not change it (Load gives one to change).
type Sealed[T any] struct {
	store filing.Store
	vault *Vault
	o     SealedOptions[T]

	mu    sync.Mutex
	cache map[string]cachedValue[T]
}

// SealedOptions say where a Sealed store keeps its values and which of
// their fields are secret.
type SealedOptions[T any] struct {
	// What names the values in errors ("slack installation").
	What string
	// Prefix is where the objects live, such as
	// filing.InstallationsPrefix + "slack/".
	Prefix string
	// Name gives the object's name under Prefix (".json" is added); the id
	// itself when nil.
	Name func(id string) string
	// Valid reports whether an id may be stored and looked up; any id
	// when nil. An invalid id is never looked up: it has nothing stored.
	Valid func(id string) bool
	// Label is the seal label of id's secrets: a secret named N is sealed
	// under Label(id) + ":" + N, one with no name under Label(id).
	Label func(id string) string
	// Secrets lists v's secret fields.
	Secrets func(v *T) []Secret
	// Check, when set, refuses a stored value that does not belong to id.
	Check func(id string, v *T) error
	// TTL is how long a value found stays cached (0: not cached).
	TTL time.Duration
	// CacheMissing caches "nothing stored" for TTL too; otherwise a value
	// stored by another process is seen at the next lookup.
	CacheMissing bool
	// Missing is wrapped in the error for an id with nothing stored;
	// ErrNotStored when nil.
	Missing error
	// Clock is the cache's clock (and times the retries of Update); the
	// system clock when nil.
	Clock filing.Clock
}

// Secret is one secret field of a stored value: Plain is what callers
// use and is never stored; Sealed is what is stored.
type Secret struct {
	Name   string
	Plain  *string
	Sealed *string
}

// ErrNotStored is returned (wrapped) for an id with nothing stored, when
// the options name no other error.
var ErrNotStored = errors.New("nothing stored")

type cachedValue[T any] struct {
	v   T
	err error
	at  time.Time
}

// NewSealed returns a store of values kept in store, sealed with vault.
func NewSealed[T any](store filing.Store, vault *Vault, o SealedOptions[T]) (*Sealed[T], error) {
	if store == nil {
		return nil, fmt.Errorf("%s: no store", o.What)
	}
	if vault == nil {
		return nil, fmt.Errorf("%s: %w", o.What, ErrNoKey)
	}
	if o.Prefix == "" || o.Label == nil || o.Secrets == nil {
		return nil, fmt.Errorf("%s: prefix, label and secrets are needed", o.What)
	}
	if o.Name == nil {
		o.Name = func(id string) string { return id }
	}
	if o.Valid == nil {
		o.Valid = func(string) bool { return true }
	}
	if o.Missing == nil {
		o.Missing = ErrNotStored
	}
	o.Clock = filing.ClockOr(o.Clock)
	return &Sealed[T]{store: store, vault: vault, o: o, cache: make(map[string]cachedValue[T])}, nil
}

// Key returns the store key of id's object.
func (s *Sealed[T]) Key(id string) string { return s.o.Prefix + s.o.Name(id) + ".json" }

func (s *Sealed[T]) label(id, name string) string {
	if name == "" {
		return s.o.Label(id)
	}
	return s.o.Label(id) + ":" + name
}

// Get returns id's value with its secrets opened, from the cache while it
// is fresh, or an error matching the Missing error when nothing is stored.
func (s *Sealed[T]) Get(ctx context.Context, id string) (T, error) {
	s.mu.Lock()
	c, ok := s.cache[id]
	s.mu.Unlock()
	if ok && s.o.Clock.Since(c.at) < s.o.TTL {
		return c.v, c.err
	}
	v, _, err := s.Load(ctx, id)
	missing := errors.Is(err, s.o.Missing)
	if err != nil && !(missing && s.o.CacheMissing) {
		return v, err // storage trouble is never cached
	}
	if s.o.TTL > 0 {
		s.mu.Lock()
		s.cache[id] = cachedValue[T]{v: v, err: err, at: s.o.Clock.Now()}
		s.mu.Unlock()
	}
	return v, err
}

// Refresh is Get without the cache: the value read is cached again.
func (s *Sealed[T]) Refresh(ctx context.Context, id string) (T, error) {
	s.forget(id)
	return s.Get(ctx, id)
}

// Secret returns the opened secret called name of id's value (Get).
func (s *Sealed[T]) Secret(ctx context.Context, id, name string) (string, error) {
	v, err := s.Get(ctx, id)
	if err != nil {
		return "", err
	}
	for _, sec := range s.o.Secrets(&v) {
		if sec.Name == name {
			return *sec.Plain, nil
		}
	}
	return "", fmt.Errorf("%s %s: no secret %q", s.o.What, id, name)
}

// Load reads id's value from the store, bypassing the cache, with its
// secrets opened and the ETag to update it with (Write). The value is the
// caller's own to change.
func (s *Sealed[T]) Load(ctx context.Context, id string) (T, string, error) {
	var v T
	if !s.o.Valid(id) {
		return v, "", fmt.Errorf("%s %q: %w", s.o.What, id, s.o.Missing)
	}
	data, etag, err := ReadStored(ctx, s.store, s.Key(id))
	if errors.Is(err, filing.ErrNotExist) {
		return v, "", fmt.Errorf("%s %s: %w", s.o.What, id, s.o.Missing)
	}
	if err != nil {
		return v, "", fmt.Errorf("read %s %s: %w", s.o.What, id, err)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, "", fmt.Errorf("the %s at %s is damaged: %w", s.o.What, s.Key(id), err)
	}
	if s.o.Check != nil {
		if err := s.o.Check(id, &v); err != nil {
			return v, "", fmt.Errorf("the %s at %s: %w", s.o.What, s.Key(id), err)
		}
	}
	var failed error
	for _, sec := range s.o.Secrets(&v) {
		plain, err := s.vault.Open(*sec.Sealed, s.label(id, sec.Name))
		if err != nil && failed == nil {
			failed = fmt.Errorf("%s %s: %w", s.o.What, id, unsealedError{err})
		}
		*sec.Plain = plain
	}
	return v, etag, failed
}

// ErrUnsealed matches the error of a Load or Get that found a value whose
// secrets (some or all) do not open: sealed with another key, or for
// another id, or changed. Load still gives the value and its ETag, the
// secrets that opened filled in, so it can be repaired.
var ErrUnsealed = errors.New("a sealed secret does not open")

type unsealedError struct{ err error }

func (e unsealedError) Error() string   { return e.err.Error() }
func (e unsealedError) Unwrap() []error { return []error{ErrUnsealed, e.err} }

// maxStored bounds what one stored value may be.
const maxStored = 1 << 20

// ReadStored reads a small object and the ETag of the version read (from
// the read itself, so a later If-Match with it cannot overwrite a version
// that was never read).
func ReadStored(ctx context.Context, st filing.Store, key string) ([]byte, string, error) {
	rc, info, err := st.Open(ctx, key)
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxStored+1))
	if err != nil {
		return nil, "", err
	}
	if len(data) > maxStored {
		return nil, "", fmt.Errorf("%s is larger than %d bytes", key, maxStored)
	}
	return data, info.ETag, nil
}

// Write stores v (sealing its secrets; one left empty keeps what is
// sealed) as id's value: with etag "" only if
// nothing is stored yet, else only over the version with that ETag (from
// Load). Losing either race is an error matching filing.ErrConflict. v
// itself is not changed.
func (s *Sealed[T]) Write(ctx context.Context, id string, v T, etag string) error {
	if !s.o.Valid(id) {
		return fmt.Errorf("%s: bad id %q", s.o.What, id)
	}
	for _, sec := range s.o.Secrets(&v) {
		switch {
		case *sec.Plain != "":
			*sec.Sealed = s.vault.Seal(*sec.Plain, s.label(id, sec.Name))
		case *sec.Sealed == "":
			return fmt.Errorf("%s %s: no %s secret", s.o.What, id, cmp.Or(sec.Name, "sealed"))
		}
		// A secret Load could not open stays as it was sealed.
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	key := s.Key(id)
	opts := filing.WriteOptions{ContentType: "application/json"}
	s.forget(id)
	if etag == "" {
		_, err = s.store.Create(ctx, key, bytes.NewReader(data), int64(len(data)), opts)
		if errors.Is(err, filing.ErrExist) {
			err = fmt.Errorf("%w: one was stored meanwhile", filing.ErrConflict)
		}
	} else {
		opts.IfMatch = etag
		_, err = s.store.Put(ctx, key, bytes.NewReader(data), int64(len(data)), opts)
	}
	s.forget(id) // a Get that ran meanwhile may have cached the old value
	if err != nil {
		return fmt.Errorf("store %s %s: %w", s.o.What, id, err)
	}
	return nil
}

// Save stores v as id's value, replacing what is stored (conditionally:
// a replacement that races another write fails with filing.ErrConflict).
func (s *Sealed[T]) Save(ctx context.Context, id string, v T) error {
	err := s.Write(ctx, id, v, "")
	if !errors.Is(err, filing.ErrConflict) {
		return err
	}
	info, serr := s.store.Stat(ctx, s.Key(id))
	if serr != nil {
		return fmt.Errorf("store %s %s: %w", s.o.What, id, serr)
	}
	return s.Write(ctx, id, v, info.ETag)
}

// Update changes id's value with change, which is given the stored value
// (the zero value and false when there is none) and may refuse with an
// error. When another write comes between the read and the write, it is
// read again and change runs again, so no update is lost. It returns the
// value stored.
func (s *Sealed[T]) Update(ctx context.Context, id string, change func(v *T, found bool) error) (T, error) {
	const attempts = 8
	var zero T
	for i := 0; ; i++ {
		v, etag, err := s.Load(ctx, id)
		found := err == nil
		if err != nil && !errors.Is(err, s.o.Missing) {
			return zero, err
		}
		if !found {
			v = zero
		}
		if err := change(&v, found); err != nil {
			return zero, err
		}
		err = s.Write(ctx, id, v, etag)
		if err == nil || !errors.Is(err, filing.ErrConflict) || i == attempts-1 {
			return v, err
		}
		select {
		case <-ctx.Done():
			return zero, ctx.Err()
		// A short real wait for the other writer to finish, not a
		// decision by time: a fake clock would stall it.
		case <-time.After(time.Duration(i+1) * 5 * time.Millisecond):
		}
	}
}

// Delete removes id's value; removing none is no error. From the moment
// it is called, no lookup in this process serves the old value.
func (s *Sealed[T]) Delete(ctx context.Context, id string) error {
	if !s.o.Valid(id) {
		return fmt.Errorf("%s: bad id %q", s.o.What, id)
	}
	s.forget(id)
	err := s.store.Delete(ctx, s.Key(id))
	s.forget(id)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", s.o.What, id, err)
	}
	return nil
}

// IDs lists the ids stored under prefix (an id prefix, such as a
// workspace's "T123/"), for stores whose Name is the id.
func (s *Sealed[T]) IDs(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	for o, err := range s.store.List(ctx, s.o.Prefix+prefix) {
		if err != nil {
			return out, err
		}
		if id, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, s.o.Prefix), ".json"); ok && s.o.Valid(id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func (s *Sealed[T]) forget(id string) {
	s.mu.Lock()
	delete(s.cache, id)
	s.mu.Unlock()
}
