package filing_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/internal/miniotest"
	"github.com/recordbot/recordbot/internal/storetest"
)

// stores returns each kind of store, fresh, for tests that must hold for all.
func stores(t *testing.T) map[string]filing.Store {
	loc, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return map[string]filing.Store{
		"local":       loc,
		"s3-locked":   miniotest.NewStore(t),
		"s3-unlocked": miniotest.NewStoreWith(t, miniotest.Options{NoLock: true, Prefix: "deploy-a"}),
	}
}

func readAll(t *testing.T, st filing.Store, key string) string {
	t.Helper()
	return string(storetest.Read(t, st, key))
}

func TestStoreCreateNeverOverwrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			key := "records/a/b/data/x.txt"
			if _, err := st.Create(ctx, key, strings.NewReader("first"), 5, filing.WriteOptions{}); err != nil {
				t.Fatalf("Create: %v", err)
			}
			_, err := st.Create(ctx, key, strings.NewReader("second!"), 7, filing.WriteOptions{})
			if !errors.Is(err, filing.ErrExist) {
				t.Fatalf("second Create error = %v, want ErrExist", err)
			}
			if got := readAll(t, st, key); got != "first" {
				t.Errorf("content after conflicting Create = %q, want %q", got, "first")
			}
			if _, _, err := st.Open(ctx, "records/missing"); !errors.Is(err, filing.ErrNotExist) {
				t.Errorf("Open(missing) error = %v, want ErrNotExist", err)
			}
			if _, err := st.Stat(ctx, "records/missing"); !errors.Is(err, filing.ErrNotExist) {
				t.Errorf("Stat(missing) error = %v, want ErrNotExist", err)
			}
		})
	}
}

// Open describes the object it reads: the same size, ETag and time as
// Stat, and the ETag makes a Put conditional on what was read.
func TestStoreOpenReturnsInfo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			key := "pending/x.json"
			put, err := st.Put(ctx, key, strings.NewReader("one"), 3, filing.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rc, info, err := st.Open(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			rc.Close()
			stat, err := st.Stat(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if info.Key != key || info.Size != 3 || info.ETag == "" || info.ETag != stat.ETag || info.ETag != put.ETag ||
				info.LastModified.IsZero() || !info.LastModified.Equal(stat.LastModified) {
				t.Fatalf("Open info = %+v, want key %s, size 3 and Stat's ETag and time %+v", info, key, stat)
			}
			if _, err := st.Put(ctx, key, strings.NewReader("two!"), 4, filing.WriteOptions{IfMatch: info.ETag}); err != nil {
				t.Fatalf("Put if-match Open's ETag: %v", err)
			}
			if _, err := st.Put(ctx, key, strings.NewReader("three"), 5, filing.WriteOptions{IfMatch: info.ETag}); !errors.Is(err, filing.ErrConflict) {
				t.Fatalf("Put if-match a stale ETag = %v, want ErrConflict", err)
			}
		})
	}
}

// A file larger than one part goes up in several parts; the conditional
// create must hold for it too.
func TestStoreCreateLargeNeverOverwrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), (20<<20)/16) // 20 MiB: three parts
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			key := "records/big.bin"
			if _, err := st.Create(ctx, key, strings.NewReader("small"), -1, filing.WriteOptions{}); err != nil {
				t.Fatalf("Create: %v", err)
			}
			_, err := st.Create(ctx, key, bytes.NewReader(big), -1, filing.WriteOptions{})
			if !errors.Is(err, filing.ErrExist) {
				t.Fatalf("multipart Create over an object: error = %v, want ErrExist", err)
			}
			if got := readAll(t, st, key); got != "small" {
				t.Errorf("object overwritten by a multipart create: %d bytes", len(got))
			}
		})
	}
}

func TestStorePutIfMatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			key := "requests/pending/x.json"
			info, err := st.Create(ctx, key, strings.NewReader("v1"), 2, filing.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			info2, err := st.Put(ctx, key, strings.NewReader("v2"), 2, filing.WriteOptions{IfMatch: info.ETag})
			if err != nil {
				t.Fatalf("Put with current ETag: %v", err)
			}
			_, err = st.Put(ctx, key, strings.NewReader("v3"), 2, filing.WriteOptions{IfMatch: info.ETag})
			if !errors.Is(err, filing.ErrConflict) {
				t.Fatalf("Put with stale ETag: error = %v, want ErrConflict", err)
			}
			if got := readAll(t, st, key); got != "v2" {
				t.Errorf("content = %q, want v2", got)
			}
			if _, err := st.Put(ctx, key, strings.NewReader("v4"), 2, filing.WriteOptions{IfMatch: info2.ETag}); err != nil {
				t.Errorf("Put with ETag returned by Put: %v", err)
			}
			if err := st.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			if err := st.Delete(ctx, key); err != nil {
				t.Errorf("Delete of a missing object: %v", err)
			}
		})
	}
}

// List yields keys in S3's order (bytewise) on every store: "a/b.txt"
// before "a/b/1", as '.' sorts before '/', though a directory walk meets
// the folder a/b first.
func TestStoreList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keys := []string{"a/b/1", "a/b/2", "a/b.txt", "a/b-x", "a/c", "a-d", "b/1"}
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			for _, k := range keys {
				if _, err := st.Create(ctx, k, strings.NewReader(k), int64(len(k)), filing.WriteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			list := func(prefix string, most int) string {
				var got []string
				for info, err := range st.List(ctx, prefix) {
					if err != nil {
						t.Fatal(err)
					}
					if info.Size != int64(len(info.Key)) {
						t.Errorf("List(%q): %s has size %d, want %d", prefix, info.Key, info.Size, len(info.Key))
					}
					got = append(got, info.Key)
					if len(got) == most {
						break
					}
				}
				return strings.Join(got, " ")
			}
			for _, c := range []struct {
				prefix string
				most   int
				want   string
			}{
				{"a/", 0, "a/b-x a/b.txt a/b/1 a/b/2 a/c"},
				{"a/b", 0, "a/b-x a/b.txt a/b/1 a/b/2"},
				{"a/b/", 0, "a/b/1 a/b/2"},
				{"a", 0, "a-d a/b-x a/b.txt a/b/1 a/b/2 a/c"},
				{"", 0, "a-d a/b-x a/b.txt a/b/1 a/b/2 a/c b/1"},
				{"a/", 2, "a/b-x a/b.txt"},
				{"c/", 0, ""},
			} {
				if got := list(c.prefix, c.most); got != c.want {
					t.Errorf("List(%q) = %q, want %q", c.prefix, got, c.want)
				}
			}
		})
	}
}

func TestS3RetentionAndTags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := miniotest.NewStore(t)
	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	key := "records/r/bagit.txt"
	_, err := st.Create(ctx, key, strings.NewReader("x"), 1, filing.WriteOptions{RetainUntil: until, Tags: map[string]string{"record-id": "r1", "class-code": "100-20"}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Stat(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !info.RetainUntil.Equal(until) {
		t.Errorf("RetainUntil = %v, want %v", info.RetainUntil, until)
	}
	tags, err := st.Client().GetObjectTagging(ctx, st.Bucket(), key, minioGetTagging())
	if err != nil {
		t.Fatal(err)
	}
	if got := tags.ToMap()["class-code"]; got != "100-20" {
		t.Errorf("tag class-code = %q, want 100-20", got)
	}
	// Object Lock refuses deletion of the locked version.
	objs := st.Client().ListObjects(ctx, st.Bucket(), minioListVersions(key))
	for o := range objs {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if err := st.Client().RemoveObject(ctx, st.Bucket(), o.Key, minioRemoveVersion(o.VersionID)); err == nil {
			t.Errorf("deleting a locked object version succeeded; Object Lock not applied")
		}
	}
	if err := st.SetLegalHold(ctx, key, true); err != nil {
		t.Fatalf("SetLegalHold: %v", err)
	}
	if info, _ := st.Stat(ctx, key); !info.LegalHold {
		t.Errorf("LegalHold not reported after SetLegalHold(true)")
	}

	unlocked := miniotest.NewStoreWith(t, miniotest.Options{NoLock: true})
	if err := unlocked.SetLegalHold(ctx, key, true); !errors.Is(err, filing.ErrNotSupported) {
		t.Errorf("SetLegalHold on a bucket without Object Lock: error = %v, want ErrNotSupported", err)
	}
}
