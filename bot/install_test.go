package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/internal/storetest"
)

// account is a stored value with two secrets, one unnamed and one named
// "api" (optional).
type account struct {
	ID        string `json:"id"`
	N         int    `json:"n"`
	Sealed    string `json:"sealed"`
	Token     string `json:"-"`
	SealedAPI string `json:"api_sealed,omitempty"`
	API       string `json:"-"`
}

func accountOptions(c *clockwork.FakeClock, ttl time.Duration, cacheMissing bool) bot.SealedOptions[account] {
	return bot.SealedOptions[account]{
		What:   "test account",
		Prefix: filing.InstallationsPrefix + "test/",
		Valid:  func(id string) bool { return id != "" && !strings.ContainsAny(id, "./") },
		Label:  func(id string) string { return "test:" + id },
		Secrets: func(a *account) []bot.Secret {
			out := []bot.Secret{{Plain: &a.Token, Sealed: &a.Sealed}}
			if a.API != "" || a.SealedAPI != "" {
				out = append(out, bot.Secret{Name: "api", Plain: &a.API, Sealed: &a.SealedAPI})
			}
			return out
		},
		TTL: ttl, CacheMissing: cacheMissing, Clock: c,
	}
}

// newAccounts returns two stores over one local directory, as two bot
// processes sharing a bucket would have.
func newAccounts(t *testing.T, ttl time.Duration, cacheMissing bool) (*bot.Sealed[account], *bot.Sealed[account], filing.Store, *clockwork.FakeClock) {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, err := bot.NewVault(key)
	if err != nil {
		t.Fatal(err)
	}
	c := clockwork.NewFakeClockAt(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	a, err := bot.NewSealed(st, v, accountOptions(c, ttl, cacheMissing))
	if err != nil {
		t.Fatal(err)
	}
	b, err := bot.NewSealed(st, v, accountOptions(c, ttl, cacheMissing))
	if err != nil {
		t.Fatal(err)
	}
	return a, b, st, c
}

func putObject(t *testing.T, st filing.Store, key string, data []byte) {
	t.Helper()
	if _, err := st.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestSealedStoresSecretsSealed(t *testing.T) {
	t.Parallel()
	s, _, st, _ := newAccounts(t, time.Minute, false)
	ctx := context.Background()
	if err := s.Save(ctx, "a1", account{ID: "a1", N: 1, Token: "tok-secret-1"}); err != nil {
		t.Fatal(err)
	}
	stored := storetest.Read(t, st, s.Key("a1"))
	if bytes.Contains(stored, []byte("tok-secret-1")) || !bytes.Contains(stored, []byte(`"sealed": "v1:`)) {
		t.Errorf("stored = %s, want the token sealed", stored)
	}
	got, err := s.Get(ctx, "a1")
	if err != nil || got.Token != "tok-secret-1" || got.N != 1 {
		t.Errorf("Get = %+v, %v", got, err)
	}
	if tok, err := s.Secret(ctx, "a1", ""); err != nil || tok != "tok-secret-1" {
		t.Errorf("Secret = %q, %v", tok, err)
	}
	if _, err := s.Get(ctx, "nobody"); !errors.Is(err, bot.ErrNotStored) {
		t.Errorf("Get(nobody) = %v, want ErrNotStored", err)
	}
	if err := s.Save(ctx, "a2", account{ID: "a2"}); err == nil {
		t.Errorf("Save with no token succeeded")
	}
	if err := s.Save(ctx, "../x", account{Token: "t"}); err == nil {
		t.Errorf("Save with a bad id succeeded")
	}
}

// A sealed value changed in the bucket is refused, and Load still gives
// the rest of the value (so an install can repair it).
func TestSealedRefusesTamperedValue(t *testing.T) {
	t.Parallel()
	s, _, st, _ := newAccounts(t, time.Minute, false)
	ctx := context.Background()
	if err := s.Save(ctx, "a1", account{ID: "a1", N: 7, Token: "tok-secret-1"}); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(storetest.Read(t, st, s.Key("a1")), &raw); err != nil {
		t.Fatal(err)
	}
	sealed := raw["sealed"].(string)
	// Flip one character of the ciphertext (not the last, whose low bits
	// base64 may ignore).
	i := len(sealed) / 2
	flip := byte('A')
	if sealed[i] == 'A' {
		flip = 'B'
	}
	raw["sealed"] = sealed[:i] + string(flip) + sealed[i+1:]
	data, _ := json.Marshal(raw)
	putObject(t, st, s.Key("a1"), data)

	if got, err := s.Get(ctx, "a1"); !errors.Is(err, bot.ErrUnsealed) || got.Token != "" {
		t.Fatalf("Get of a tampered value = %+v, %v; want ErrUnsealed and no token", got, err)
	}
	got, etag, err := s.Load(ctx, "a1")
	if !errors.Is(err, bot.ErrUnsealed) || got.N != 7 || got.Token != "" || etag == "" {
		t.Errorf("Load of a tampered value = %+v, %q, %v; want the value without its token, and ErrUnsealed", got, etag, err)
	}
}

// A value sealed for one id does not open under another: copying an
// object to another id's key does not give that id its token.
func TestSealedBindsSecretsToTheID(t *testing.T) {
	t.Parallel()
	s, _, st, _ := newAccounts(t, time.Minute, false)
	ctx := context.Background()
	if err := s.Save(ctx, "alice", account{ID: "alice", Token: "tok-alice", API: "api-alice"}); err != nil {
		t.Fatal(err)
	}
	putObject(t, st, s.Key("mallory"), storetest.Read(t, st, s.Key("alice")))
	if got, err := s.Get(ctx, "mallory"); !errors.Is(err, bot.ErrUnsealed) || got.Token != "" || got.API != "" {
		t.Errorf("Get(mallory) of alice's copied value = %+v, %v; want ErrUnsealed", got, err)
	}
	for _, name := range []string{"", "api"} {
		if tok, err := s.Secret(ctx, "mallory", name); err == nil || tok != "" {
			t.Errorf("Secret(mallory, %q) = %q, %v; want an error", name, tok, err)
		}
	}
	// Nor does one secret pass for another of the same id.
	if err := s.Save(ctx, "bob", account{ID: "bob", Token: "tok-bob", API: "api-bob"}); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(storetest.Read(t, st, s.Key("bob")), &raw); err != nil {
		t.Fatal(err)
	}
	raw["sealed"] = raw["api_sealed"]
	data, _ := json.Marshal(raw)
	putObject(t, st, s.Key("bob"), data)
	if got, err := s.Refresh(ctx, "bob"); !errors.Is(err, bot.ErrUnsealed) || got.Token != "" {
		t.Errorf("Get(bob) with the api secret in the token's place = %+v, %v; want ErrUnsealed", got, err)
	}
	if got, err := s.Get(ctx, "alice"); err != nil || got.Token != "tok-alice" || got.API != "api-alice" {
		t.Errorf("Get(alice) = %+v, %v", got, err)
	}
}

// Two writers that read the same version: one wins, the other is told,
// and the value stored is the winner's. A create over an existing value
// is refused too.
func TestSealedConditionalWrites(t *testing.T) {
	t.Parallel()
	a, b, _, _ := newAccounts(t, time.Minute, false)
	ctx := context.Background()
	if err := a.Write(ctx, "x", account{ID: "x", N: 1, Token: "t1"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(ctx, "x", account{ID: "x", N: 99, Token: "t99"}, ""); !errors.Is(err, filing.ErrConflict) {
		t.Errorf("second create = %v, want ErrConflict", err)
	}
	va, etagA, err := a.Load(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	vb, etagB, err := b.Load(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	va.N, vb.N = 2, 3
	errA := a.Write(ctx, "x", va, etagA)
	errB := b.Write(ctx, "x", vb, etagB)
	if errA != nil || !errors.Is(errB, filing.ErrConflict) {
		t.Fatalf("writes over the same version: first %v, second %v; want nil and ErrConflict", errA, errB)
	}
	if got, err := b.Get(ctx, "x"); err != nil || got.N != 2 || got.Token != "t1" {
		t.Errorf("stored after the race = %+v, %v; want the first writer's", got, err)
	}
}

// Writers updating at once through Update each see the other's change:
// none is lost.
func TestSealedUpdateLosesNoUpdate(t *testing.T) {
	t.Parallel()
	a, b, _, _ := newAccounts(t, time.Minute, false)
	ctx := context.Background()
	const writers = 6
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Update(ctx, "counter", func(v *account, found bool) error {
				if !found {
					*v = account{ID: "counter", Token: "tok"}
				}
				v.N++
				return nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Update: %v", err)
		}
	}
	got, _, err := a.Load(ctx, "counter")
	if err != nil || got.N != writers {
		t.Errorf("counter after %d concurrent updates = %d (%v), want %d", writers, got.N, err, writers)
	}
	// A change that refuses stores nothing.
	refuse := errors.New("no")
	if _, err := a.Update(ctx, "counter", func(v *account, _ bool) error { v.N = 0; return refuse }); !errors.Is(err, refuse) {
		t.Errorf("refused Update = %v", err)
	}
	if got, _, _ := a.Load(ctx, "counter"); got.N != writers {
		t.Errorf("a refused Update changed the value to %d", got.N)
	}
}

// A value found is served from the cache until the TTL passes; then the
// store is read again.
func TestSealedCacheExpires(t *testing.T) {
	t.Parallel()
	a, b, _, c := newAccounts(t, time.Minute, false)
	ctx := context.Background()
	if err := a.Save(ctx, "x", account{ID: "x", N: 1, Token: "t"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Get(ctx, "x"); got.N != 1 {
		t.Fatalf("Get = %d, want 1", got.N)
	}
	if err := b.Save(ctx, "x", account{ID: "x", N: 2, Token: "t"}); err != nil {
		t.Fatal(err)
	}
	c.Advance(59 * time.Second)
	if got, _ := a.Get(ctx, "x"); got.N != 1 {
		t.Errorf("Get within the TTL = %d, want the cached 1", got.N)
	}
	c.Advance(2 * time.Second)
	if got, _ := a.Get(ctx, "x"); got.N != 2 {
		t.Errorf("Get after the TTL = %d, want 2", got.N)
	}
	// Refresh reads at once.
	if err := b.Save(ctx, "x", account{ID: "x", N: 3, Token: "t"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Refresh(ctx, "x"); got.N != 3 {
		t.Errorf("Refresh = %d, want 3", got.N)
	}
}

// "Nothing stored" is cached only when the options say so.
func TestSealedCachesMissingOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	for _, cacheMissing := range []bool{false, true} {
		a, b, _, c := newAccounts(t, time.Minute, cacheMissing)
		ctx := context.Background()
		if _, err := a.Get(ctx, "x"); !errors.Is(err, bot.ErrNotStored) {
			t.Fatalf("Get = %v, want ErrNotStored", err)
		}
		if err := b.Save(ctx, "x", account{ID: "x", Token: "t"}); err != nil {
			t.Fatal(err)
		}
		_, err := a.Get(ctx, "x")
		if cacheMissing != errors.Is(err, bot.ErrNotStored) {
			t.Errorf("CacheMissing %v: Get after another process saved = %v", cacheMissing, err)
		}
		c.Advance(time.Minute)
		if _, err := a.Get(ctx, "x"); err != nil {
			t.Errorf("CacheMissing %v: Get after the TTL = %v", cacheMissing, err)
		}
	}
}

// Delete takes effect in its own process at once, whatever the cache
// held, and the object is gone.
func TestSealedDeleteInvalidatesTheCache(t *testing.T) {
	t.Parallel()
	a, b, st, c := newAccounts(t, time.Hour, true)
	ctx := context.Background()
	if err := a.Save(ctx, "x", account{ID: "x", Token: "t"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "x"); !errors.Is(err, bot.ErrNotStored) {
		t.Errorf("Get after Delete = %v, want ErrNotStored", err)
	}
	if _, err := st.Stat(ctx, a.Key("x")); !errors.Is(err, filing.ErrNotExist) {
		t.Errorf("object after Delete: %v", err)
	}
	// Another process sees it when its cache expires.
	c.Advance(time.Hour)
	if _, err := b.Get(ctx, "x"); !errors.Is(err, bot.ErrNotStored) {
		t.Errorf("the other process's Get after the TTL = %v, want ErrNotStored", err)
	}
	if err := a.Delete(ctx, "x"); err != nil {
		t.Errorf("deleting nothing = %v", err)
	}
}

func TestSealedIDs(t *testing.T) {
	t.Parallel()
	a, _, _, _ := newAccounts(t, 0, false)
	ctx := context.Background()
	for _, id := range []string{"t1-u1", "t1-u2", "t2-u1"} {
		if err := a.Save(ctx, id, account{ID: id, Token: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := a.IDs(ctx, "t1-")
	if err != nil || strings.Join(ids, ",") != "t1-u1,t1-u2" {
		t.Errorf("IDs(t1-) = %v, %v", ids, err)
	}
}
