package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// The disposal attacks of issue 21, against the command a records officer
// runs: objects planted by a writer holding the bot's keys (on MinIO, a
// user holding exactly the README's bot policy) make a routine `dispose
// destroy` destroy nothing, and it exits 1 naming them.
func TestDisposeIgnoresPlantedObjects(t *testing.T) {
	t.Parallel()
	envs, bucket := attackEnvs(t, nil)
	ctx := context.Background()
	for name, env := range envs {
		t.Run(name, func(t *testing.T) {
			st, writer := attackStores(t, name, env, bucket)
			minutes := fileAt(t, st, "100-30", "Permanent minutes", time.Now())
			decision := fileAt(t, st, "100-30", "Permanent decision", time.Now())
			had := map[string]int{minutes.Key: countObjects(t, st, minutes.Key), decision.Key: countObjects(t, st, decision.Key)}

			put := func(st filing.Store, key string, v any) error {
				data, _ := json.Marshal(v)
				_, err := st.Create(ctx, key, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{ContentType: "application/json"})
				return err
			}
			id, _ := uuid.NewV7()
			forged := id.String()
			if err := put(writer, filing.IndexPrefix+forged+".json", filing.IndexEntry{ID: forged, Key: decision.Key, Title: "Old junk",
				ClassCode: "100-01", DisposalDate: "2020-12-31", DisposalAction: filing.Destroy}); err != nil {
				t.Fatalf("plant an index entry with the bot's keys: %v", err)
			}
			marker := records.PendingPrefix + minutes.ID + ".json"
			if err := put(writer, marker, map[string]string{"id": minutes.ID, "key": "records/"}); name == "s3" && err == nil {
				t.Error("the bot's policy let its keys write a disposal marker")
			}
			if name == "s3" {
				// As with the policy of the first release, which let the
				// bot write requests/*: whoever can, plants one anyway.
				if err := put(st, marker, map[string]string{"id": minutes.ID, "key": "records/"}); err != nil {
					t.Fatal(err)
				}
			}

			args := []string{"records", "dispose", "destroy", "--authority", "Disposal authority 2027/03", "--approved-by", "Head of IG", "--by", "officer"}
			if name == "s3" {
				args = append(args, "--bypass-governance")
			}
			out, stderr, code := runBot(t, env, args...)
			if code != 1 {
				t.Errorf("dispose destroy with planted objects: exit %d, want 1; stdout %q stderr %q", code, out, stderr)
			}
			for _, want := range []string{"TAMPERED", marker, filing.IndexPrefix + forged + ".json", "nothing was done"} {
				if !strings.Contains(out, want) {
					t.Errorf("dispose destroy output does not name %q:\n%s", want, out)
				}
			}
			for key, n := range had {
				if got := countObjects(t, st, key); got != n {
					t.Errorf("%s holds %d objects after the run, had %d", key, got, n)
				}
			}
		})
	}
}

// countObjects counts the objects (every version, where the store keeps
// them) under prefix.
func countObjects(t *testing.T, st filing.Store, prefix string) int {
	t.Helper()
	n := 0
	if vs, ok := st.(filing.Versioner); ok {
		for _, err := range vs.Versions(context.Background(), prefix) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	for _, err := range st.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// attackEnvs are the bot's settings on a local store and on a new MinIO
// bucket, each signing with testSecretKey, with extra added to both.
func attackEnvs(t *testing.T, extra map[string]string) (envs map[string]map[string]string, bucket string) {
	t.Helper()
	c := miniotest.Config(t)
	bucket = miniotest.NewBucket(t, miniotest.Options{})
	envs = map[string]map[string]string{
		"local": {"RECORDS_DIR": filepath.Join(t.TempDir(), "store"), "RECORDBOT_SECRET_KEY": testSecretKey},
		"s3": {"S3_ENDPOINT": c.Endpoint, "S3_BUCKET": bucket, "S3_ACCESS_KEY": c.AccessKey, "S3_SECRET_KEY": c.SecretKey,
			"S3_INSECURE": "true", "S3_PATH_STYLE": "on", "S3_REGION": c.Region, "RECORDBOT_SECRET_KEY": testSecretKey},
	}
	for _, env := range envs {
		maps.Copy(env, extra)
	}
	return envs, bucket
}

// attackStores opens the store env names ("local" or "s3"), and a writer
// holding only the bot's keys: on MinIO a user with exactly the README's
// bot policy, locally the same directory.
func attackStores(t *testing.T, name string, env map[string]string, bucket string) (st, writer filing.Store) {
	t.Helper()
	if name == "s3" {
		return s3Of(t, env), miniotest.StoreAs(t, bucket, miniotest.READMEPolicy(t, "bot-iam-policy", bucket))
	}
	l, err := local.New(env["RECORDS_DIR"])
	if err != nil {
		t.Fatal(err)
	}
	return l, l
}
