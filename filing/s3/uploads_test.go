package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// The WhatsApp exports the bot keeps (bot.Uploads), on S3: the bot's own
// tests use the local store, which reads a kept export in place.

// In S3 (versioned, as Object Lock makes it), a kept export is copied
// once per process and checked; deleting it leaves no version behind.
func TestUploadsS3(t *testing.T) {
	ctx := context.Background()
	store := miniotest.NewStore(t)
	k := &bot.Uploads{Store: store, TempDir: t.TempDir()}
	sum := keepOneS3(t, k, "05/06/2023, 10:00 - Alice: Morning\n")
	if _, err := k.ChooseDateOrder(ctx, sum, whatsapp.DMY, "chosen"); err != nil {
		t.Fatal(err) // a second version of what it was kept with
	}
	ref := capture.Ref{Platform: capture.WhatsApp, ThreadID: sum}
	e1, err := k.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	// The second reads the local copy, not the store.
	if err := store.Delete(ctx, bot.UploadsPrefix+sum); err != nil {
		t.Fatal(err)
	}
	e2, err := k.Open(ctx, ref)
	if err != nil {
		t.Fatalf("Open() again = %v, want the local copy", err)
	}
	if e1.R != e2.R {
		t.Error("the second Open() copied the export again")
	}

	// A kept export that no longer has its SHA-256 is not read.
	other := keepOneS3(t, k, "05/06/2023, 10:00 - Alice: Other\n")
	if _, err := store.Put(ctx, bot.UploadsPrefix+other, strings.NewReader("changed"), 7, filing.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Open(ctx, capture.Ref{Platform: capture.WhatsApp, ThreadID: other}); !errors.Is(err, capture.ErrNotFound) {
		t.Errorf("Open() of a changed export = %v, want ErrNotFound", err)
	}

	for _, s := range []string{sum, other} {
		if err := k.Delete(ctx, s); err != nil {
			t.Fatalf("Delete() = %v", err)
		}
	}
	if _, err := k.Open(ctx, ref); !errors.Is(err, capture.ErrNotFound) {
		t.Errorf("Open() after Delete() = %v, want ErrNotFound", err)
	}
	for v, err := range store.Versions(ctx, bot.UploadsPrefix) {
		t.Errorf("left in the store: %s version %s, delete marker %v (%v)", v.Key, v.ID, v.DeleteMarker, err)
	}
}

// keepOneS3 keeps text as an export sent by U1 and returns its SHA-256.
func keepOneS3(t *testing.T, k *bot.Uploads, text string) string {
	t.Helper()
	h := sha256.Sum256([]byte(text))
	u := bot.Upload{SHA256: hex.EncodeToString(h[:]), Name: "WhatsApp Chat with Alice.txt", Team: "T1",
		SuppliedBy: capture.Person{ID: "U1"}, SuppliedAt: time.Now(), Via: "test", TimeZone: "UTC", Ambiguous: true}
	if _, err := k.Keep(context.Background(), bytes.NewReader([]byte(text)), int64(len(text)), u); err != nil {
		t.Fatalf("Keep() = %v", err)
	}
	return u.SHA256
}
