package bot_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
)

// An export is kept once, for the person who sent it; read back whole
// with the options it was kept with; and its date order, when its dates
// fit both, is chosen once.
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
	if _, err := k.Keep(ctx, bytes.NewReader(data), int64(len(data)), u); err != nil {
		t.Errorf("Keep() again by the same person = %v, want nil", err)
	}
	other := u
	other.SuppliedBy.ID = "U2"
	if _, err := k.Keep(ctx, bytes.NewReader(data), int64(len(data)), other); !errors.Is(err, bot.ErrOtherSupplier) {
		t.Errorf("Keep() by another person = %v, want ErrOtherSupplier", err)
	}

	e, err := k.Open(ctx, capture.Ref{Platform: capture.WhatsApp, ThreadID: sum})
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	got, _ := io.ReadAll(io.NewSectionReader(e.R, 0, e.Size))
	if !bytes.Equal(got, data) || e.Name != u.Name || e.Options.SuppliedBy.ID != "U1" || e.Options.Location.String() != "Europe/London" || !e.Options.SuppliedAt.Equal(at) {
		t.Errorf("Open() = %q %q %+v, want the export as kept", got, e.Name, e.Options)
	}

	if c, err := k.ChooseDateOrder(ctx, sum, whatsapp.MDY, "chosen"); err != nil || c.DateOrder != whatsapp.MDY {
		t.Fatalf("ChooseDateOrder(mdy) = %+v, %v", c, err)
	}
	if c, err := k.ChooseDateOrder(ctx, sum, whatsapp.DMY, "chosen"); err != nil || c.DateOrder != whatsapp.MDY {
		t.Errorf("ChooseDateOrder(dmy) after mdy = %q, %v, want mdy kept", c.DateOrder, err)
	}
	if e, err = k.Open(ctx, capture.Ref{Platform: capture.WhatsApp, ThreadID: sum}); err != nil || e.Options.DateOrder != whatsapp.MDY {
		t.Errorf("Open() after the choice: date order %q, %v, want mdy", e.Options.DateOrder, err)
	}
	// The filing worker reads it as the source.
	th, err := whatsapp.Source{Open: k.Open}.Capture(ctx, capture.Ref{Platform: capture.WhatsApp, ThreadID: sum}, capture.Person{ID: "U1"})
	if err != nil || th.ThreadID != sum || th.Messages[0].Time.Month() != time.May {
		t.Errorf("Capture() = %v, want the export read as month/day", err)
	}
	if _, err := (whatsapp.Source{Open: k.Open}).Capture(ctx, capture.Ref{Platform: capture.WhatsApp, ThreadID: sum}, capture.Person{ID: "U2"}); !errors.Is(err, capture.ErrAccess) {
		t.Errorf("Capture() by another person = %v, want ErrAccess", err)
	}

	for _, ref := range []string{"../../secrets", "ab", sum[:63] + "0"} {
		if _, err := k.Open(ctx, capture.Ref{Platform: capture.WhatsApp, ThreadID: ref}); !errors.Is(err, capture.ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", ref, err)
		}
	}
}

// keepOne keeps a small export for U1 and returns its SHA-256.
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
	return sum
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
	k.Now = func() time.Time { return time.Now().Add(49 * time.Hour) }
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
