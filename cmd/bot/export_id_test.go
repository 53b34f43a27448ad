package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

// tarFile returns the file of the tar at path whose name ends in suffix.
func tarFile(t *testing.T, path, suffix string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s has no file ending in %s", path, suffix)
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(h.Name, suffix) {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
}

// copyStore copies the local store in env to a new directory and returns
// the environment naming the copy.
func copyStore(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "records")
	if err := os.CopyFS(dir, os.DirFS(env["RECORDS_DIR"])); err != nil {
		t.Fatal(err)
	}
	c := map[string]string{}
	for k, v := range env {
		c[k] = v
	}
	c["RECORDS_DIR"] = dir
	return c
}

// An export named by the short id, or by a prefix of the id, carries the
// same audit history, byte for byte, as one named by the full id.
func TestExportByShortIDKeepsHistory(t *testing.T) {
	t.Parallel()
	env := localEnv(t)
	sum := fileSnapshot(t, env, "testdata/thread.json", "Roads budget decision")
	if _, stderr, code := runBot(t, env, "records", "verify", sum.ID); code != 0 {
		t.Fatalf("bot records verify: exit %d: %s", code, stderr)
	}
	names := map[string]string{"full id": sum.ID, "short id": filing.ShortID(sum.ID), "prefix": sum.ID[:8], "upper-case short id": strings.ToUpper(filing.ShortID(sum.ID))}
	var want []byte
	for _, name := range []string{"full id", "short id", "prefix", "upper-case short id"} {
		id := names[name]
		e := copyStore(t, env)
		out := filepath.Join(t.TempDir(), "x.tar")
		stdout, stderr, code := runBot(t, e, "records", "export", id, "--out", out)
		if code != 0 {
			t.Fatalf("bot records export %s (%s): exit %d: %s", id, name, code, stderr)
		}
		if !strings.Contains(stdout, "(13 files, 2 audit events)") && !strings.Contains(stdout, "2 audit events)") {
			t.Errorf("bot records export %s (%s) = %q, want 2 audit events (filed, fixity check)", id, name, stdout)
		}
		got := tarFile(t, out, "/"+records.EventsFile)
		if want == nil {
			want = got
			continue
		}
		if string(got) != string(want) {
			t.Errorf("audit history exported by %s (%s) = %s\nwant, as by the full id: %s", name, id, got, want)
		}
	}
}

// A record whose filing event cannot be read is not exported with an
// empty history: the export fails and writes nothing.
func TestExportRefusesMissingHistory(t *testing.T) {
	t.Parallel()
	for name, env := range recordEnvs(t) {
		t.Run(name, func(t *testing.T) {
			sum := fileSnapshot(t, env, "testdata/thread.json", "Roads budget decision")
			removeFiled(t, env, records.FiledEventKey(filing.IndexEntry{ID: sum.ID, FiledAt: sum.FiledAt}))
			out := filepath.Join(t.TempDir(), "x.tar")
			_, stderr, code := runBot(t, env, "records", "export", filing.ShortID(sum.ID), "--out", out)
			if code == 0 || !strings.Contains(stderr, "filing event") {
				t.Errorf("bot records export of a record without its filing event: exit %d, stderr %q; want a failure naming the filing event", code, stderr)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("export left %s behind: %v", out, err)
			}
		})
	}
}
