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

	"github.com/jonboulle/clockwork"

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

// keepOneS3 keeps text as an export sent by U1 and returns the id it is
// kept as.
func keepOneS3(t *testing.T, k *bot.Uploads, text string) string {
	t.Helper()
	h := sha256.Sum256([]byte(text))
	u := bot.Upload{SHA256: hex.EncodeToString(h[:]), Name: "WhatsApp Chat with Alice.txt", Team: "T1",
		SuppliedBy: capture.Person{ID: "U1"}, SuppliedAt: time.Now(), Via: "test", TimeZone: "UTC", Ambiguous: true}
	if _, err := k.Keep(context.Background(), bytes.NewReader([]byte(text)), int64(len(text)), u); err != nil {
		t.Fatalf("Keep() = %v", err)
	}
	return u.ID()
}

// With nothing but the README's bot policy, the bot forgets the exports
// it keeps: one filed, one discarded, one kept too long and one hidden
// behind delete markers leave no version of any of their objects in a
// versioned bucket. The same
// credentials still cannot delete a version of a record object, an index
// entry or an audit event, even an unlocked one.
func TestUploadsBotPolicy(t *testing.T) {
	ctx := context.Background()
	root := miniotest.NewStore(t)
	bucket := root.Bucket()
	st := miniotest.StoreAs(t, bucket, miniotest.READMEPolicy(t, "<!-- bot-iam-policy", bucket))
	k := &bot.Uploads{Store: st, TempDir: t.TempDir(), Clock: clockwork.NewFakeClockAt(time.Now())}
	gone := func(what, sum string) {
		t.Helper()
		for v, err := range root.Versions(ctx, bot.UploadsPrefix+sum) {
			t.Errorf("%s: left in the store: %s version %s, delete marker %v (%v)", what, v.Key, v.ID, v.DeleteMarker, err)
		}
	}

	// Filed: the notifier deletes it.
	filed := keepOneS3(t, k, "05/06/2023, 10:00 - Alice: Filed\n")
	if _, err := k.ChooseDateOrder(ctx, filed, whatsapp.DMY, "chosen"); err != nil {
		t.Fatal(err) // a second version of what it was kept with
	}
	if _, err := k.Open(ctx, capture.Ref{Platform: capture.WhatsApp, ThreadID: filed}); err != nil {
		t.Fatal(err)
	}
	k.Filed(nil).Notify(ctx, filing.Outcome{Record: &filing.Summary{ID: "r1"},
		Request: filing.Request{Thread: capture.Ref{Platform: capture.WhatsApp, ThreadID: filed}}})
	gone("a filed export", filed)

	// Discarded.
	discarded := keepOneS3(t, k, "05/06/2023, 10:00 - Alice: Discarded\n")
	if err := k.Delete(ctx, discarded); err != nil {
		t.Fatalf("Delete() with the bot policy = %v", err)
	}
	gone("a discarded export", discarded)

	// Kept too long.
	old := keepOneS3(t, k, "05/06/2023, 10:00 - Alice: Old\n")
	k.Clock.(*clockwork.FakeClock).Advance(bot.DefaultKeepFor + time.Hour)
	if n, err := k.Expire(ctx); n != 1 || err != nil {
		t.Fatalf("Expire() with the bot policy = %d, %v; want 1, nil", n, err)
	}
	gone("an expired export", old)

	// Hidden behind delete markers (a plain delete, as an older bot
	// made): its versions go at once, however recent. The same export
	// sent again afterwards is kept.
	k.Clock = clockwork.NewFakeClockAt(time.Now())
	hidden := keepOneS3(t, k, "05/06/2023, 10:00 - Alice: Hidden\n")
	again := keepOneS3(t, k, "05/06/2023, 10:00 - Alice: Sent again\n")
	for _, key := range []string{bot.UploadsPrefix + hidden, bot.UploadsPrefix + hidden + ".json", bot.UploadsPrefix + again, bot.UploadsPrefix + again + ".json"} {
		if err := root.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	keepOneS3(t, k, "05/06/2023, 10:00 - Alice: Sent again\n")
	if n, err := k.Expire(ctx); n != 1 || err != nil {
		t.Fatalf("Expire() of an export behind delete markers = %d, %v; want 1, nil", n, err)
	}
	gone("an export behind delete markers", hidden)
	if _, err := k.Get(ctx, again); err != nil {
		t.Errorf("Get() of an export sent again after delete markers = %v, want it kept", err)
	}

	// And nothing of a record.
	for _, key := range []string{filing.RecordsPrefix + "x/unlocked.txt", filing.IndexPrefix + "unlocked.json", filing.AuditPrefix + "2026/01/01/unlocked.json"} {
		info, err := root.Put(ctx, key, strings.NewReader("x"), 1, filing.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var id string
		for v, err := range root.Versions(ctx, key) {
			if err != nil {
				t.Fatal(err)
			}
			id = v.ID
		}
		if err := st.RemoveVersion(ctx, key, id, false); err == nil {
			t.Errorf("RemoveVersion(%s) with the bot policy succeeded, want it refused", key)
		}
		if _, err := root.StatVersion(ctx, key, id); err != nil {
			t.Errorf("%s (%s) after the bot tried to delete it: %v, want it kept", key, info.ETag, err)
		}
	}
}
