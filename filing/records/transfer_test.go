package records_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/filing/s3"
	"github.com/recordbot/recordbot/internal/miniotest"
	"github.com/recordbot/recordbot/internal/storetest"
)

// TestTransferRefusesTheSourceStore: issue 21. A transfer whose
// destination lies inside the record store it transfers from is refused
// before anything is written: with --destroy-after it could destroy the
// only copy, and it would leave the copy where whoever can destroy the
// record can destroy it too.
func TestTransferRefusesTheSourceStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	refused := func(t *testing.T, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "inside the record store") {
			t.Errorf("Transfer into its own store: error = %v, want a refusal saying the destination is inside the record store", err)
		}
	}

	t.Run("local", func(t *testing.T) {
		src := storetest.Local(t)
		s := file(t, service(t, src, nil), spec{title: "Executive decision", class: "100-40"})
		before := remaining(t, src, "")
		link := filepath.Join(t.TempDir(), "link")
		if err := os.Symlink(src.Root(), link); err != nil {
			t.Fatal(err)
		}
		for _, dir := range []string{src.Root(), filepath.Join(link, "archive"), src.Where(s.Key)} {
			dst, err := local.New(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = records.Transfer(ctx, src, authority(25), records.Destination{Store: dst}, true, nil)
			refused(t, err)
		}
		if after := remaining(t, src, ""); !slices.Equal(after, before) {
			t.Errorf("Got(objects in the store after refused transfers) = %q, want %q as before", after, before)
		}
	})

	t.Run("s3 same bucket", func(t *testing.T) {
		src := miniotest.NewStoreWith(t, miniotest.Options{NoLock: true})
		s := file(t, service(t, src, nil), spec{title: "Executive decision", class: "100-40"})
		before := remaining(t, src, "")
		c := miniotest.Config(t)
		c.Bucket = src.Bucket()
		same, err := s3.Open(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		for _, prefix := range []string{"accession-2027-01", "records", strings.TrimSuffix(s.Key, "/"), ""} {
			_, err := records.Transfer(ctx, src, authority(25), records.Destination{Store: same, Prefix: prefix}, true, nil)
			refused(t, err)
		}
		if after := remaining(t, src, ""); !slices.Equal(after, before) {
			t.Errorf("Got(objects in the bucket after refused transfers) = %q, want %q as before", after, before)
		}
		if types := eventTypes(t, src, s.ID); slices.Contains(types, "transferred") || slices.Contains(types, "destroyed") {
			t.Errorf("events = %q after refused transfers, want neither transferred nor destroyed", types)
		}
	})
}

// CheckFolder finds a folder inside the store however the path is
// written, and whether or not it exists yet.
func TestCheckFolder(t *testing.T) {
	src := storetest.Local(t)
	base := t.TempDir()
	link := filepath.Join(base, "link")
	if err := os.Symlink(src.Root(), link); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Dir(src.Root()))
	for _, tt := range []struct {
		dir    string
		inside bool
	}{
		{src.Root(), true},
		{filepath.Join(src.Root(), "archive"), true},
		{filepath.Join(src.Root(), "a", "b", "c"), true},
		{filepath.Join(link, "archive"), true},
		{filepath.Join(src.Root(), "x", "..", "archive"), true},
		{filepath.Join(filepath.Base(src.Root()), "archive"), true}, // relative
		{".", false},
		{filepath.Join(base, "archive"), false},
		{filepath.Join(src.Root()+"-archive", "x"), false},
	} {
		err := records.CheckFolder(src, tt.dir)
		if got := errors.Is(err, records.ErrInsideSource); got != tt.inside || (!tt.inside && err != nil) {
			t.Errorf("CheckFolder(%s) = %v, want inside %v", tt.dir, err, tt.inside)
		}
	}
	// Another kind of store has no folder to be inside.
	if err := records.CheckFolder(miniotest.NewStore(t), src.Root()); err != nil {
		t.Errorf("CheckFolder(an S3 store) = %v, want nil", err)
	}
}

// CheckDestination tells the same bucket from another.
func TestCheckDestination(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := miniotest.Config(t)
	c.Bucket, c.Prefix = miniotest.NewBucket(t, miniotest.Options{NoLock: true}), "deployment-a"
	src, err := s3.Open(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	c.Prefix = ""
	bucket, err := s3.Open(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	c.Bucket = miniotest.NewBucket(t, miniotest.Options{NoLock: true})
	other, err := s3.Open(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		dst    records.Destination
		inside bool
	}{
		{records.Destination{Store: bucket, Prefix: "deployment-a/archive"}, true},
		{records.Destination{Store: bucket, Prefix: "deployment-a/records"}, true},
		{records.Destination{Store: bucket, Prefix: "deployment-a"}, true},
		{records.Destination{Store: src, Prefix: ""}, true},
		{records.Destination{Store: bucket, Prefix: "deployment-b"}, false},
		{records.Destination{Store: bucket, Prefix: "deployment-ab"}, false},
		{records.Destination{Store: other, Prefix: "deployment-a/records"}, false},
		{records.Destination{Store: storetest.Local(t)}, false},
	} {
		err := records.CheckDestination(src, tt.dst)
		if got := errors.Is(err, records.ErrInsideSource); got != tt.inside || (!tt.inside && err != nil) {
			t.Errorf("CheckDestination(%s) = %v, want inside %v", tt.dst.Store.Where(tt.dst.Prefix), err, tt.inside)
		}
	}
}
