package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/recordbot/recordbot/filing"
	s3store "github.com/recordbot/recordbot/filing/s3"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// TestReadyzNamesNoEndpointOrBucket: issue 21. A failing /readyz names
// the part that fails with a short reason, and shows none of the store's
// endpoint, bucket or directory, the platform's host name or a
// credential: whoever can reach /readyz learns no more than what fails.
func TestReadyzNamesNoEndpointOrBucket(t *testing.T) {
	t.Parallel()
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

// pingerStore is a store whose Ping fails with err.
type pingerStore struct {
	filing.Store
	err error
}

func (p pingerStore) Ping(context.Context) error { return p.err }

// Each kind of store failure has its reason, naming nothing of the store.
func TestPingStoreReasons(t *testing.T) {
	t.Parallel()
	reach := func(fields ...string) error {
		var hint *s3store.ConfigError
		if fields != nil {
			hint = &s3store.ConfigError{Fields: fields, Reason: "check %s"}
		}
		return &s3store.ReachError{Endpoint: "minio.internal:9000", Bucket: "council-records", Err: errors.New("minio says no"), Hint: hint}
	}
	for _, tt := range []struct {
		err  error
		want string
	}{
		{reach("AccessKey", "SecretKey"), "the credentials are refused"},
		{reach("Insecure", "Endpoint"), "the endpoint speaks another protocol (HTTP or HTTPS)"},
		{reach("Endpoint"), "nothing answers at the endpoint"},
		{reach(), "does not answer as it should"},
		{fmt.Errorf("s3 minio.internal:9000: %q: %w", "council-records", s3store.ErrNoBucket), "the bucket does not exist"},
		{fmt.Errorf("local store: %w", &fs.PathError{Op: "stat", Path: "/srv/council-records", Err: fs.ErrNotExist}), "the records directory does not exist"},
		{fmt.Errorf("s3: %w", context.DeadlineExceeded), "did not answer in time"},
	} {
		err := pingStore(context.Background(), pingerStore{err: tt.err})
		if got := readyReason(err); got != tt.want {
			t.Errorf("readyReason(pingStore() = %v) = %q, want %q", tt.err, got, tt.want)
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("pingStore() = %v, want it to wrap %v for the log", err, tt.err)
		}
	}
}
