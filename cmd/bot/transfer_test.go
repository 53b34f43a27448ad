package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// allKeys lists every object in st.
func allKeys(t *testing.T, st filing.Store) []string {
	t.Helper()
	var out []string
	for info, err := range st.List(context.Background(), "") {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, info.Key)
	}
	return out
}

// TestTransferIntoTheStoreRefused: issue 21. `bot records dispose
// transfer --to DEST --destroy-after` with DEST inside the record store
// itself (a folder under RECORDS_DIR however it is written, or a prefix of
// the same bucket) is refused before anything is written or destroyed.
func TestTransferIntoTheStoreRefused(t *testing.T) {
	auth := []string{"--authority", "Disposal authority 2027/03", "--approved-by", "Head of IG", "--by", "officer", "--destroy-after"}
	refused := func(t *testing.T, env map[string]string, to string) {
		t.Helper()
		stdout, stderr, code := runBot(t, env, append([]string{"records", "dispose", "transfer", "--to", to}, auth...)...)
		if code == 0 || !strings.Contains(stderr, "inside the record store") || strings.Contains(stdout, "TRANSFERRED") {
			t.Errorf("transfer --to %s: exit %d, stdout %q, stderr %q; want it refused as inside the record store", to, code, stdout, stderr)
		}
	}

	t.Run("local", func(t *testing.T) {
		dir := t.TempDir()
		store := filepath.Join(dir, "store")
		env := map[string]string{"RECORDS_DIR": store, "RECORDBOT_SECRET_KEY": testSecretKey}
		st, err := local.New(store)
		if err != nil {
			t.Fatal(err)
		}
		decision := fileAt(t, st, "100-40", "Executive decision", time.Date(2000, 6, 1, 9, 0, 0, 0, time.UTC))
		before := allKeys(t, st)
		if err := os.Symlink(store, filepath.Join(dir, "link")); err != nil {
			t.Fatal(err)
		}
		t.Chdir(dir)
		for _, to := range []string{
			filepath.Join(store, "archive"),
			filepath.Join(dir, "link", "archive"),
			"store/archive",
			"elsewhere/../store/archive",
			st.Where(decision.Key),
		} {
			refused(t, env, to)
		}
		if after := allKeys(t, st); !slices.Equal(after, before) {
			t.Errorf("Got(objects after refused transfers) = %q, want %q as before", after, before)
		}
		if _, err := os.Stat(filepath.Join(store, "archive")); !os.IsNotExist(err) {
			t.Errorf("Stat(the refused destination) = %v, want it never made", err)
		}
		// A folder beside the store is where records go.
		stdout, stderr, code := runBot(t, env, append([]string{"records", "dispose", "transfer", "--to", "archive"}, auth...)...)
		if code != 0 || !strings.Contains(stdout, "TRANSFERRED AND DESTROYED") {
			t.Errorf("transfer --to archive: exit %d, stdout %q, stderr %q; want transferred and destroyed", code, stdout, stderr)
		}
	})

	t.Run("s3 same bucket", func(t *testing.T) {
		c := miniotest.Config(t)
		bucket := miniotest.NewBucket(t, miniotest.Options{NoLock: true})
		env := map[string]string{"S3_ENDPOINT": c.Endpoint, "S3_BUCKET": bucket, "S3_ACCESS_KEY": c.AccessKey,
			"S3_SECRET_KEY": c.SecretKey, "S3_INSECURE": "true", "S3_PATH_STYLE": "on", "S3_REGION": c.Region, "RECORDBOT_SECRET_KEY": testSecretKey}
		st := s3Of(t, env)
		fileAt(t, st, "100-40", "Executive decision", time.Date(2000, 6, 1, 9, 0, 0, 0, time.UTC))
		before := allKeys(t, st)
		for _, to := range []string{"s3://" + bucket + "/accession-2027-01", "s3://" + bucket + "/records/archive", "s3://" + bucket} {
			refused(t, env, to)
		}
		if after := allKeys(t, st); !slices.Equal(after, before) {
			t.Errorf("Got(objects after refused transfers) = %q, want %q as before", after, before)
		}
	})
}
