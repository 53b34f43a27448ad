package records_test

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/storetest"
)

// TestExportDecodesManifestPaths: a file whose name holds "%", CR or LF is
// listed in the record's manifest percent-encoded ("%25", "%0D", "%0A"),
// as BagIt requires (RFC 8493 section 2.1.3,
// https://www.rfc-editor.org/rfc/rfc8493#section-2.1.3). recordbot's own
// file names never hold them, but a package may (filed by another BagIt
// tool): export reads the manifests with the parser verify uses, so the
// file is found under its real name and exported, in a tar and in a folder.
func TestExportDecodesManifestPaths(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Local(t)
	svc := service(t, st, nil)
	const body = "ward,turnout\nnorth,100%\n"
	rec := file(t, svc, spec{title: "Turnout", files: map[string][]byte{"turnout.csv": []byte(body)}})
	officer := capture.Person{ID: "officer"}

	// The payload file renamed to a name BagIt percent-encodes, its
	// manifest line and the manifest's tag-manifest line rewritten to match.
	const name = "100% turnout.csv"
	man := readFile(t, st.Where(rec.Key+filing.ManifestFile))
	var old string
	for _, line := range strings.Split(man, "\n") {
		if _, p, ok := strings.Cut(line, "  "); ok && strings.HasPrefix(p, "data/files/") && strings.HasSuffix(p, ".csv") {
			old = p
		}
	}
	if old == "" {
		t.Fatalf("no .csv file in the manifest:\n%s", man)
	}
	renamed := "data/files/" + name
	if err := os.Rename(st.Where(rec.Key+old), st.Where(rec.Key+renamed)); err != nil {
		t.Fatal(err)
	}
	man = strings.Replace(man, "  "+old+"\n", "  "+filing.EncodeBagPath(renamed)+"\n", 1)
	rewrite(t, st.Where(rec.Key+filing.ManifestFile), man)
	sum := sha256.Sum256([]byte(man))
	tags := readFile(t, st.Where(rec.Key+filing.TagManifestFile))
	var lines []string
	for _, line := range strings.Split(strings.TrimSuffix(tags, "\n"), "\n") {
		if strings.HasSuffix(line, "  "+filing.ManifestFile) {
			line = hex.EncodeToString(sum[:]) + "  " + filing.ManifestFile
		}
		lines = append(lines, line)
	}
	rewrite(t, st.Where(rec.Key+filing.TagManifestFile), strings.Join(lines, "\n")+"\n")

	// verify finds the file under its real name: nothing missing, extra
	// or altered but the tag manifest (which the filing event sealed).
	v := &records.Verifier{Store: st, Keys: testKeys}
	res, err := v.Verify(ctx, []string{rec.ID})
	if err != nil || len(res) != 1 {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	for _, p := range res[0].Problems {
		if p.Path != filing.TagManifestFile {
			t.Errorf("Verify: %+v, want only the tag manifest reported", p)
		}
	}

	out := filepath.Join(t.TempDir(), "turnout.tar")
	if _, err := records.Export(ctx, st, testSigner, []string{rec.ID}, out, officer); err != nil {
		t.Fatalf("Export of a record with %q = %v", name, err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var found bool
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(hdr.Name, "/"+renamed) {
			b, _ := io.ReadAll(tr)
			if string(b) != body {
				t.Errorf("%q in the tar = %q, want %q", hdr.Name, b, body)
			}
			found = true
		}
	}
	if !found {
		t.Errorf("no file named %q in the exported tar", renamed)
	}

	dir := filepath.Join(t.TempDir(), "copy")
	exp, err := records.Export(ctx, st, testSigner, []string{rec.ID}, dir, officer)
	if err != nil {
		t.Fatalf("Export to a folder = %v", err)
	}
	if got := readFile(t, filepath.Join(dir, exp.Records[0].Folder, filepath.FromSlash(renamed))); got != body {
		t.Errorf("%q in the exported folder = %q, want %q", renamed, got, body)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rewrite replaces the (read-only) file at p with data.
func rewrite(t *testing.T, p, data string) {
	t.Helper()
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
