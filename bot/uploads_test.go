package bot_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"iter"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
)

// An export is kept once for the person who sent it, under their own id;
// read back whole with the options it was kept with; and its date order,
// when its dates fit both, is chosen once.
func TestUploads(t *testing.T) {
	ctx := context.Background()
	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := &bot.Uploads{Store: store, TempDir: t.TempDir()}
	data := []byte("05/06/2023, 10:00 - Alice: Morning\n")
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	at := time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)
	u := bot.Upload{SHA256: sum, Name: "WhatsApp Chat with Alice.txt", Team: "T1", SuppliedBy: capture.Person{ID: "U1"},
		SuppliedAt: at, Via: "test", TimeZone: "Europe/London", ChatName: "Alice", Ambiguous: true}
	if _, err := k.Keep(ctx, bytes.NewReader(data), int64(len(data)), u); err != nil {
		t.Fatalf("Keep() = %v", err)
	}
	id := u.ID()
	if !strings.HasPrefix(id, sum+"-") || id != bot.UploadID(sum, "T1", "U1") {
		t.Errorf("ID() = %q, want the SHA-256 and the sender's part", id)
	}
	again := u
	again.SuppliedAt = at.Add(time.Hour)
	if got, err := k.Keep(ctx, bytes.NewReader(data), int64(len(data)), again); err != nil || !got.SuppliedAt.Equal(at) {
		t.Errorf("Keep() again by the same person = %+v, %v, want the first kept", got, err)
	}

	e, err := k.Open(ctx, capture.Ref{Platform: capture.WhatsApp, ThreadID: id})
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	got, _ := io.ReadAll(io.NewSectionReader(e.R, 0, e.Size))
	if !bytes.Equal(got, data) || e.Name != u.Name || e.Options.SuppliedBy.ID != "U1" || e.Options.Location.String() != "Europe/London" || !e.Options.SuppliedAt.Equal(at) {
		t.Errorf("Open() = %q %q %+v, want the export as kept", got, e.Name, e.Options)
	}

	if c, err := k.ChooseDateOrder(ctx, id, whatsapp.MDY, "chosen"); err != nil || c.DateOrder != whatsapp.MDY {
		t.Fatalf("ChooseDateOrder(mdy) = %+v, %v", c, err)
	}
	if c, err := k.ChooseDateOrder(ctx, id, whatsapp.DMY, "chosen"); err != nil || c.DateOrder != whatsapp.MDY {
		t.Errorf("ChooseDateOrder(dmy) after mdy = %q, %v, want mdy kept", c.DateOrder, err)
	}
	if e, err = k.Open(ctx, capture.Ref{Platform: capture.WhatsApp, ThreadID: id}); err != nil || e.Options.DateOrder != whatsapp.MDY {
		t.Errorf("Open() after the choice: date order %q, %v, want mdy", e.Options.DateOrder, err)
	}
	// The filing worker reads it as the source.
	th, err := whatsapp.Source{Open: k.Open}.Capture(ctx, capture.Ref{Platform: capture.WhatsApp, ThreadID: id}, capture.Person{ID: "U1"})
	if err != nil || th.ThreadID != sum || th.Messages[0].Time.Month() != time.May {
		t.Errorf("Capture() = %v, want the export read as month/day", err)
	}
	if _, err := (whatsapp.Source{Open: k.Open}).Capture(ctx, capture.Ref{Platform: capture.WhatsApp, ThreadID: id}, capture.Person{ID: "U2"}); !errors.Is(err, capture.ErrAccess) {
		t.Errorf("Capture() by another person = %v, want ErrAccess", err)
	}

	for _, ref := range []string{"../../secrets", "ab", sum[:63] + "0", sum, sum + "-../../x", id[:len(id)-1] + "0", id + "0"} {
		if _, err := k.Open(ctx, capture.Ref{Platform: capture.WhatsApp, ThreadID: ref}); !errors.Is(err, capture.ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", ref, err)
		}
	}
}

// keepOne keeps a small export for U1 and returns the id it is kept as.
func keepOne(t *testing.T, k *bot.Uploads, text string) string {
	t.Helper()
	data := []byte(text)
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	u := bot.Upload{SHA256: sum, Name: "WhatsApp Chat with Alice.txt", Team: "T1", SuppliedBy: capture.Person{ID: "U1"},
		SuppliedAt: time.Now(), Via: "test", TimeZone: "Europe/London", ChatName: "Alice", Ambiguous: true}
	if _, err := k.Keep(context.Background(), bytes.NewReader(data), int64(len(data)), u); err != nil {
		t.Fatalf("Keep() = %v", err)
	}
	return u.ID()
}

func kept(t *testing.T, k *bot.Uploads, sum string) bool {
	t.Helper()
	_, err := k.Get(context.Background(), sum)
	if err != nil && !errors.Is(err, capture.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// An export is deleted once its record is filed, and not before; the
// front end is told the outcome first.
func TestUploadsDeletedWhenFiled(t *testing.T) {
	ctx := context.Background()
	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := &bot.Uploads{Store: store}
	sum := keepOne(t, k, "05/06/2023, 10:00 - Alice: Morning\n")
	var told []filing.Outcome
	n := k.Filed(filing.NotifierFunc(func(_ context.Context, o filing.Outcome) {
		told = append(told, o)
		if !kept(t, k, sum) {
			t.Error("the export was deleted before the front end was told")
		}
	}))
	ref := capture.Ref{Platform: capture.WhatsApp, ThreadID: sum}
	n.Notify(ctx, filing.Outcome{Request: filing.Request{Thread: ref, LastError: "the store failed"}})
	if !kept(t, k, sum) {
		t.Fatal("the export was deleted when its filing failed")
	}
	n.Notify(ctx, filing.Outcome{Request: filing.Request{Thread: capture.Ref{Platform: capture.Slack, ThreadID: sum}}, Record: &filing.Summary{ID: "r0"}})
	if !kept(t, k, sum) {
		t.Fatal("the export was deleted when a Slack thread was filed")
	}
	n.Notify(ctx, filing.Outcome{Request: filing.Request{Thread: ref}, Record: &filing.Summary{ID: "r1"}})
	if kept(t, k, sum) {
		t.Error("the export is still kept after its record was filed")
	}
	if len(told) != 3 {
		t.Errorf("the front end was told %d outcomes, want 3", len(told))
	}
	for o, err := range store.List(ctx, bot.UploadsPrefix) {
		t.Errorf("left in the store: %s (%v)", o.Key, err)
	}
}

// An export not filed is deleted once KeepFor has passed since it was
// sent; a newer one stays.
func TestUploadsExpire(t *testing.T) {
	ctx := context.Background()
	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := &bot.Uploads{Store: store, KeepFor: 48 * time.Hour}
	old := keepOne(t, k, "05/06/2023, 10:00 - Alice: Old\n")
	recent := keepOne(t, k, "05/06/2023, 10:00 - Alice: Recent\n")
	then := time.Now().Add(-49 * time.Hour)
	for _, key := range []string{bot.UploadsPrefix + old, bot.UploadsPrefix + old + ".json"} {
		if err := os.Chtimes(store.Where(key), then, then); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := k.Expire(ctx); err != nil || n != 1 {
		t.Errorf("Expire() = %d, %v, want 1 export deleted", n, err)
	}
	if kept(t, k, old) || !kept(t, k, recent) {
		t.Errorf("after Expire(): old kept %v, recent kept %v; want only the recent one", kept(t, k, old), kept(t, k, recent))
	}
	k.Clock = clockwork.NewFakeClockAt(time.Now().Add(49 * time.Hour))
	if n, err := k.Expire(ctx); err != nil || n != 1 || kept(t, k, recent) {
		t.Errorf("Expire() two days on = %d, %v, want the recent one deleted too", n, err)
	}
}

// In a local store a kept export is read where it is, not copied.
func TestUploadsOpenLocalInPlace(t *testing.T) {
	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := &bot.Uploads{Store: store}
	sum := keepOne(t, k, "05/06/2023, 10:00 - Alice: Morning\n")
	e, err := k.Open(context.Background(), capture.Ref{Platform: capture.WhatsApp, ThreadID: sum})
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := e.R.(*os.File); !ok || f.Name() != store.Where(bot.UploadsPrefix+sum) {
		t.Errorf("Open() reads %T, want the kept file itself", e.R)
	}
}

// Two people who send the same export each keep their own: neither's
// Keep meets the other's, each reads and files only their own, a date
// order one chooses is not the other's, and filing (deleting) one leaves
// the other.
func TestUploadsSameExportTwoSenders(t *testing.T) {
	ctx := context.Background()
	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := &bot.Uploads{Store: store, TempDir: t.TempDir()}
	data := []byte("05/06/2023, 10:00 - Alice: Morning\n")
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	keep := func(team, user string) bot.Upload {
		t.Helper()
		u, err := k.Keep(ctx, bytes.NewReader(data), int64(len(data)), bot.Upload{SHA256: sum, Name: "WhatsApp Chat with Alice.txt",
			Team: team, SuppliedBy: capture.Person{ID: user}, SuppliedAt: time.Now(), Via: "test", TimeZone: "UTC", Ambiguous: true})
		if err != nil {
			t.Fatalf("Keep() by %s of %s = %v, want their own kept", user, team, err)
		}
		return u
	}
	first, second, elsewhere := keep("T1", "U1"), keep("T1", "U2"), keep("T2", "U1")
	if first.ID() == second.ID() || first.ID() == elsewhere.ID() || second.ID() == elsewhere.ID() {
		t.Fatalf("ids %q, %q, %q: want one each", first.ID(), second.ID(), elsewhere.ID())
	}
	for _, u := range []bot.Upload{first, second, elsewhere} {
		got, err := k.Get(ctx, u.ID())
		if err != nil || got.SuppliedBy.ID != u.SuppliedBy.ID || got.Team != u.Team {
			t.Errorf("Get(%s's) = %+v, %v; want theirs", u.SuppliedBy.ID, got, err)
		}
	}
	src := whatsapp.Source{Open: k.Open}
	if _, err := src.Capture(ctx, capture.Ref{Platform: capture.WhatsApp, ThreadID: first.ID()}, capture.Person{ID: "U2"}); !errors.Is(err, capture.ErrAccess) {
		t.Errorf("Capture() of U1's export by U2 = %v, want ErrAccess", err)
	}
	if _, err := k.ChooseDateOrder(ctx, first.ID(), whatsapp.MDY, "chosen"); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Get(ctx, second.ID()); err != nil || got.DateOrder != "" {
		t.Errorf("U2's date order after U1 chose = %q, %v; want none yet", got.DateOrder, err)
	}
	if _, err := k.ChooseDateOrder(ctx, second.ID(), whatsapp.DMY, "chosen"); err != nil {
		t.Fatal(err)
	}
	th, err := src.Capture(ctx, capture.Ref{Platform: capture.WhatsApp, ThreadID: second.ID()}, capture.Person{ID: "U2"})
	if err != nil || th.ThreadID != sum || th.Provenance.SuppliedBy.ID != "U2" || th.Messages[0].Time.Month() != time.June {
		t.Errorf("Capture() of U2's own = %v, want it read as U2 chose, supplied by U2", err)
	}
	if err := k.Delete(ctx, first.ID()); err != nil {
		t.Fatal(err)
	}
	if kept(t, k, first.ID()) || !kept(t, k, second.ID()) || !kept(t, k, elsewhere.ID()) {
		t.Errorf("after deleting U1's: kept %v, %v, %v; want only the others'", kept(t, k, first.ID()), kept(t, k, second.ID()), kept(t, k, elsewhere.ID()))
	}
}

// An export kept before exports were kept per person (under its SHA-256
// alone) is still read and filed by its sender, and deleted when filed or
// kept too long.
func TestUploadsKeptBeforePerPerson(t *testing.T) {
	ctx := context.Background()
	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := &bot.Uploads{Store: store, TempDir: t.TempDir()}
	legacy := func(text string) string {
		t.Helper()
		h := sha256.Sum256([]byte(text))
		sum := hex.EncodeToString(h[:])
		meta := `{"sha256": "` + sum + `", "name": "WhatsApp Chat with Alice.txt", "team": "T1", "supplied_by": {"id": "U1"},` +
			` "supplied_at": "2026-11-24T05:00:00Z", "via": "test", "time_zone": "UTC", "chat_name": "Alice"}`
		for key, body := range map[string]string{bot.UploadsPrefix + sum: text, bot.UploadsPrefix + sum + ".json": meta} {
			if _, err := store.Create(ctx, key, strings.NewReader(body), int64(len(body)), filing.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		return sum
	}
	filed := legacy("31/12/2022, 10:00 - Alice: Filed\n")
	ref := capture.Ref{Platform: capture.WhatsApp, ThreadID: filed}
	if th, err := (whatsapp.Source{Open: k.Open}).Capture(ctx, ref, capture.Person{ID: "U1"}); err != nil || th.ThreadID != filed {
		t.Fatalf("Capture() of an export kept under its SHA-256 = %v, want it read", err)
	}
	k.Filed(nil).Notify(ctx, filing.Outcome{Request: filing.Request{Thread: ref}, Record: &filing.Summary{ID: "r1"}})
	old := legacy("31/12/2022, 10:00 - Alice: Old\n")
	k.Clock = clockwork.NewFakeClockAt(time.Now().Add(bot.DefaultKeepFor + time.Hour))
	if n, err := k.Expire(ctx); n != 1 || err != nil {
		t.Errorf("Expire() = %d, %v; want the old export deleted", n, err)
	}
	if kept(t, k, filed) || kept(t, k, old) {
		t.Errorf("after filing and expiry: kept %v, %v; want neither", kept(t, k, filed), kept(t, k, old))
	}
	for o, err := range store.List(ctx, bot.UploadsPrefix) {
		t.Errorf("left in the store: %s (%v)", o.Key, err)
	}
}

// Run deletes the exports kept too long when it starts and then every
// hour of its clock, until it is stopped.
func TestUploadsRunHourly(t *testing.T) {
	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := gated{Store: store, lists: make(chan chan struct{})}
	fc := clockwork.NewFakeClockAt(time.Now())
	k := &bot.Uploads{Store: st, KeepFor: 90 * time.Minute, Clock: fc}
	id := keepOne(t, k, "05/06/2023, 10:00 - Alice: Morning\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- k.Run(ctx) }()
	// pass waits for Run's next look at the kept exports, which begins
	// once the one before it is done, and holds it until goOn is called.
	pass := func() (goOn func()) {
		t.Helper()
		select {
		case g := <-st.lists:
			return func() { close(g) }
		case <-time.After(10 * time.Second):
			t.Fatal("Run() did not look at the kept exports")
			return nil
		}
	}
	pass()() // when it starts
	for h := 1; h <= 2; h++ {
		if err := fc.BlockUntilContext(ctx, 1); err != nil { // its ticker
			t.Fatal(err)
		}
		fc.Advance(time.Hour)
		goOn := pass() // the look an hour before is done
		if !kept(t, k, id) {
			t.Errorf("Run() deleted an export %d hour(s) old, kept for 90 minutes", h-1)
		}
		goOn()
	}
	if err := fc.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	fc.Advance(time.Hour)
	pass()()
	if kept(t, k, id) {
		t.Error("Run() kept an export two hours old past KeepFor")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v", err)
	}
}

// gated is a store whose every listing of the kept exports waits for the
// test to let it go on.
type gated struct {
	filing.Store
	lists chan chan struct{}
}

func (s gated) List(ctx context.Context, prefix string) iter.Seq2[filing.ObjectInfo, error] {
	if prefix == bot.UploadsPrefix {
		goOn := make(chan struct{})
		s.lists <- goOn
		<-goOn
	}
	return s.Store.List(ctx, prefix)
}
