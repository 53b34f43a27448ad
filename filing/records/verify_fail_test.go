package records_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"slices"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/storetest"
)

// errUnreachable is a store failing the way a network does: not "there is
// no such object", which verify reports as missing.
var errUnreachable = errors.New("connection reset by peer")

// failingStore fails reads of the keys fail picks, and a listing of
// records/ after after keys (0: never).
type failingStore struct {
	filing.Store
	fail  func(key string) bool
	after int
}

func (f failingStore) Open(ctx context.Context, key string) (io.ReadCloser, filing.ObjectInfo, error) {
	if f.fail != nil && f.fail(key) {
		return nil, filing.ObjectInfo{}, errUnreachable
	}
	return f.Store.Open(ctx, key)
}

func (f failingStore) List(ctx context.Context, prefix string) iter.Seq2[filing.ObjectInfo, error] {
	return func(yield func(filing.ObjectInfo, error) bool) {
		n := 0
		for oi, err := range f.Store.List(ctx, prefix) {
			if n++; f.after > 0 && n > f.after && strings.HasPrefix(prefix, filing.RecordsPrefix) {
				yield(filing.ObjectInfo{}, errUnreachable)
				return
			}
			if !yield(oi, err) {
				return
			}
		}
	}
}

// A store that fails part-way stops the check with its error: no record
// it could not read is reported, intact or otherwise, and `verify` never
// turns "could not read" into "missing".
func TestVerifyStoreFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Local(t)
	svc := service(t, st, nil)
	var ids []string
	for _, title := range []string{"Budget", "Roads", "Parks"} {
		ids = append(ids, file(t, svc, spec{title: title}).ID)
	}
	transcripts := func(key string) bool { return strings.HasSuffix(key, "/"+filing.TextFile) }
	for _, c := range []struct {
		name  string
		store failingStore
	}{
		{"every transcript unreadable", failingStore{Store: st, fail: transcripts}},
		{"listing of records/ breaks off", failingStore{Store: st, after: 5}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []records.Result
			err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: c.store}).VerifyEach(ctx, func(r records.Result) error {
				got = append(got, r)
				return nil
			})
			if !errors.Is(err, errUnreachable) {
				t.Errorf("VerifyEach = %v, want the store's error", err)
			}
			for _, r := range got {
				if c.store.fail != nil || !r.OK() {
					t.Errorf("VerifyEach reported %s (%q) although the store failed", r.ID, r.Problems)
				}
			}
		})
	}
	t.Run("by id", func(t *testing.T) {
		res, err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: failingStore{Store: st, fail: transcripts}}).Verify(ctx, ids)
		if !errors.Is(err, errUnreachable) || res != nil {
			t.Errorf("Verify = %v, %v; want no results and the store's error", res, err)
		}
	})
}

// Whoever can write to the store could swap a manifest for something
// huge: verify hashes it whole, holds no more of it than its limit, and
// reports it.
func TestVerifyHugeManifest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Local(t)
	s := file(t, service(t, st, nil), spec{title: "Budget"})
	tamper(t, st, s.Key+filing.ManifestFile, bytes.Repeat([]byte("0"), 65<<20))
	res, err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}).Verify(ctx, []string{s.ID})
	if err != nil {
		t.Fatal(err)
	}
	got := problems(res[0])
	for _, want := range []string{records.Malformed + " " + filing.ManifestFile, records.Altered + " " + filing.ManifestFile} {
		if !slices.ContainsFunc(got, func(p string) bool { return strings.HasPrefix(p, want) }) {
			t.Errorf("Verify with a 65 MiB manifest = %q, want %q", got, want)
		}
	}
	if res[0].Bytes < 65<<20 {
		t.Errorf("Verify read %d bytes, want the whole manifest hashed", res[0].Bytes)
	}
}

// Records named by id are looked up several at once, but their results
// come back in the order asked, an unknown id in its place.
func TestVerifyByIDKeepsOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Local(t)
	svc := service(t, st, nil)
	var ids []string
	for _, title := range []string{"Budget", "Roads", "Parks", "Harbour", "Library"} {
		ids = append(ids, file(t, svc, spec{title: title}).ID)
	}
	ask := []string{ids[4], ids[2], "no-such-record", ids[0], ids[3], ids[1]}
	res, err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: st, Parallel: 3}).Verify(ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ask {
		if res[i].ID != id || res[i].OK() != (id != "no-such-record") {
			t.Errorf("result %d = %s (ok %v), want %s", i, res[i].ID, res[i].OK(), id)
		}
	}
}

// A record named by its short id is the same record: its index entry is
// found, not reported missing.
func TestVerifyByShortID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Local(t)
	s := file(t, service(t, st, nil), spec{title: "Budget"})
	res, err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}).Verify(ctx, []string{filing.ShortID(s.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].ID != s.ID || !res[0].OK() {
		t.Errorf("Verify(short id) = %s, problems %q; want record %s intact", res[0].ID, problems(res[0]), s.ID)
	}
}
