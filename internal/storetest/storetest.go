// Package storetest holds what tests of every layer do with a record store:
// make a fresh local one, and read an object whole.
package storetest

import (
	"context"
	"io"
	"testing"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
)

// Local returns a fresh local store in a temporary directory: the tests
// that need no MinIO (the S3 store has its own, in internal/miniotest).
func Local(t testing.TB) *local.Store {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Read returns the object at key, failing t if it cannot be read.
func Read(t testing.TB, st filing.Store, key string) []byte {
	t.Helper()
	rc, _, err := st.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}
