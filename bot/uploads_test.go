package bot_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
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
