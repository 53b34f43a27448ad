package records_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/storetest"
)

// TestExportNeverOverwritesTheChecksumFile: issue 21. An export to X.tar
// never writes over X.tar.sha256, nor through a symlink placed there, and
// a failed export removes only what it created.
func TestExportNeverOverwritesTheChecksumFile(t *testing.T) {
	ctx := context.Background()
	st := storetest.Local(t)
	svc := service(t, st, nil)
	rec := file(t, svc, spec{title: "FOI minutes", files: map[string][]byte{"x.csv": []byte("1,2\n")}})
	officer := capture.Person{ID: "officer"}

	t.Run("a file there", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "foi.tar")
		if err := os.WriteFile(out+".sha256", []byte("someone else's checksum\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := records.Export(ctx, st, testSigner, []string{rec.ID}, out, officer)
		if err == nil || !errors.Is(err, os.ErrExist) || !strings.Contains(err.Error(), "foi.tar.sha256") {
			t.Errorf("Export with %s.sha256 there = %v, want an error naming it as existing", out, err)
		}
		if b, _ := os.ReadFile(out + ".sha256"); string(b) != "someone else's checksum\n" {
			t.Errorf("Got(%s.sha256) = %q after the export, want it untouched", out, b)
		}
		if _, err := os.Lstat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Lstat(%s) = %v after a failed export, want it not there", out, err)
		}
	})

	t.Run("a symlink there", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "foi.tar")
		target := filepath.Join(dir, "precious.txt")
		if err := os.WriteFile(target, []byte("precious\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, out+".sha256"); err != nil {
			t.Fatal(err)
		}
		if _, err := records.Export(ctx, st, testSigner, []string{rec.ID}, out, officer); err == nil || !errors.Is(err, os.ErrExist) {
			t.Errorf("Export with a symlink at %s.sha256 = %v, want an error", out, err)
		}
		if b, _ := os.ReadFile(target); string(b) != "precious\n" {
			t.Errorf("Got(the symlink's target) = %q after the export, want it untouched", b)
		}
		if to, err := os.Readlink(out + ".sha256"); err != nil || to != target {
			t.Errorf("Readlink(%s.sha256) = %q, %v; want the symlink left as it was", out, to, err)
		}
	})

	// A record whose file no longer matches its manifest cannot be
	// exported: the run removes the tar and checksum file it created, and
	// nothing it did not create.
	key := rec.Key + "data/transcript.txt"
	p := st.Where(key)
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("altered"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("a failed export", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "foi.tar")
		if _, err := records.Export(ctx, st, testSigner, []string{rec.ID}, out, officer); !errors.Is(err, records.ErrCopy) {
			t.Errorf("Export of an altered record = %v, want ErrCopy", err)
		}
		for _, p := range []string{out, out + ".sha256"} {
			if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Lstat(%s) = %v after a failed export, want it removed", p, err)
			}
		}
	})
	t.Run("a failed export with a file there", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "foi.tar")
		if err := os.WriteFile(out+".sha256", []byte("someone else's checksum\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := records.Export(ctx, st, testSigner, []string{rec.ID}, out, officer); err == nil {
			t.Error("Export of an altered record = nil, want an error")
		}
		if b, _ := os.ReadFile(out + ".sha256"); string(b) != "someone else's checksum\n" {
			t.Errorf("Got(%s.sha256) = %q after a failed export, want it untouched", out, b)
		}
	})
}
