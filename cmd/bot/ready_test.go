package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/recordbot/recordbot/internal/miniotest"
)

// TestReadyzNamesNoEndpointOrBucket: issue 21. A failing /readyz names
// the part that fails with a short reason, and shows none of the store's
// endpoint, bucket or directory, the platform's host name or a
// credential: whoever can reach /readyz learns no more than what fails.
func TestReadyzNamesNoEndpointOrBucket(t *testing.T) {
	t.Run("s3 bucket gone", func(t *testing.T) {
		env := s3Env(t, miniotest.Options{NoLock: true})
		env["LISTEN_ADDR"], env["RECORDBOT_ALLOW_UNLOCKED"] = "127.0.0.1:0", "true"
		addr, _, stop := startServe(t, env)
		defer stop()
		bucket := env["S3_BUCKET"]
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := miniotest.Client(t).RemoveBucketWithOptions(ctx, bucket, minio.RemoveBucketOptions{ForceDelete: true}); err != nil {
			t.Fatalf("remove the bucket under the bot: %v", err)
		}
		code, body := get(t, "http://"+addr+"/readyz")
		t.Logf("/readyz = %d:\n%s", code, body)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "FAIL store: ") {
			t.Errorf("/readyz with the bucket gone = %d %q, want 503 naming the store", code, body)
		}
		if !strings.Contains(body, "warn object lock: ") {
			t.Errorf("/readyz = %q, want a warning naming the object lock", body)
		}
		endpoint := strings.TrimPrefix(env["S3_ENDPOINT"], "http://")
		host, _, _ := strings.Cut(endpoint, ":")
		for _, leak := range []string{endpoint, host, bucket, env["S3_ACCESS_KEY"], env["S3_SECRET_KEY"]} {
			if strings.Contains(body, leak) {
				t.Errorf("/readyz = %q, which shows %q", body, leak)
			}
		}
	})
	t.Run("local directory gone and mattermost unreachable", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "records-of-the-council")
		addr, _, stop := startServe(t, map[string]string{
			"LISTEN_ADDR": "127.0.0.1:0", "RECORDS_DIR": dir,
			"MATTERMOST_URL": "http://127.0.0.1:1", "PUBLIC_URL": "https://rb.example.org",
			"RECORDBOT_SECRET_KEY": strings.Repeat("00", 32),
		})
		defer stop()
		if err := removeAll(dir); err != nil {
			t.Fatal(err)
		}
		code, body := get(t, "http://"+addr+"/readyz")
		t.Logf("/readyz = %d:\n%s", code, body)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "FAIL store: ") || !strings.Contains(body, "FAIL mattermost: ") {
			t.Errorf("/readyz = %d %q, want 503 naming the store and mattermost", code, body)
		}
		for _, leak := range []string{"records-of-the-council", "127.0.0.1", strings.Repeat("00", 32)} {
			if strings.Contains(body, leak) {
				t.Errorf("/readyz = %q, which shows %q", body, leak)
			}
		}
	})
}
