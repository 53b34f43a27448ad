// Package miniotest gives tests a fresh bucket on a real MinIO server.
//
// The server is the one `.ci/test` starts (or finds running) and describes in
// RECORDBOT_TEST_S3_ENDPOINT, RECORDBOT_TEST_S3_ACCESS_KEY and
// RECORDBOT_TEST_S3_SECRET_KEY. Without it the tests fail rather than skip:
// an integration test that did not run has not passed.
package miniotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/recordbot/recordbot/filing/s3"
)

// Options shape the test bucket.
type Options struct {
	// NoLock creates the bucket without Object Lock (and versioning).
	NoLock bool
	// Prefix is the store's key prefix.
	Prefix string
	// LockMode is the store's Object Lock mode; GOVERNANCE when empty.
	LockMode string
}

// Config returns the S3 configuration of the test MinIO, or fails t.
func Config(t testing.TB) s3.Config {
	t.Helper()
	ep := os.Getenv("RECORDBOT_TEST_S3_ENDPOINT")
	if ep == "" {
		t.Fatal("no test MinIO: run the tests with `bash .ci/test`, which starts one, " +
			"or set RECORDBOT_TEST_S3_ENDPOINT, RECORDBOT_TEST_S3_ACCESS_KEY and RECORDBOT_TEST_S3_SECRET_KEY")
	}
	return s3.Config{
		Endpoint: ep, Insecure: true, PathStyle: "on", Region: "us-east-1",
		AccessKey: os.Getenv("RECORDBOT_TEST_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("RECORDBOT_TEST_S3_SECRET_KEY"),
	}
}

// Client returns a minio-go client for the test MinIO.
func Client(t testing.TB) *minio.Client {
	t.Helper()
	c := Config(t)
	cl, err := minio.New(c.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""), Region: c.Region})
	if err != nil {
		t.Fatalf("minio client: %v", err)
	}
	return cl
}

// NewBucket creates a fresh bucket (with Object Lock unless o.NoLock) and
// returns its name. Buckets are left for the server's temporary data
// directory to take away: locked objects cannot be deleted anyway.
func NewBucket(t testing.TB, o Options) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "t-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := Client(t).MakeBucket(ctx, name, minio.MakeBucketOptions{ObjectLocking: !o.NoLock}); err != nil {
		t.Fatalf("make test bucket on %s: %v", Config(t).Endpoint, err)
	}
	if os.Getenv("RECORDBOT_TEST_S3_THROWAWAY") == "" {
		t.Cleanup(func() { removeBucket(t, name) })
	}
	return name
}

// removeBucket removes a test bucket from a MinIO the developer runs (the
// one .ci/test starts is thrown away whole): every version, with the
// governance bypass the tests' root credentials hold, legal holds lifted
// first. Objects locked in COMPLIANCE mode cannot be removed by anyone
// before their date; the bucket is then left, and the test log says so.
func removeBucket(t testing.TB, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl := Client(t)
	left := 0
	for oi := range cl.ListObjects(ctx, name, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
		if oi.Err != nil {
			t.Logf("clean up test bucket %s: %v", name, oi.Err)
			return
		}
		off := minio.LegalHoldDisabled
		if !oi.IsDeleteMarker {
			cl.PutObjectLegalHold(ctx, name, oi.Key, minio.PutObjectLegalHoldOptions{VersionID: oi.VersionID, Status: &off})
		}
		if err := cl.RemoveObject(ctx, name, oi.Key, minio.RemoveObjectOptions{VersionID: oi.VersionID, GovernanceBypass: true}); err != nil {
			left++
		}
	}
	if left > 0 {
		t.Logf("test bucket %s left on %s: %d object versions are locked in COMPLIANCE mode until their retention ends", name, Config(t).Endpoint, left)
		return
	}
	if err := cl.RemoveBucket(ctx, name); err != nil {
		t.Logf("remove test bucket %s: %v", name, err)
	}
}

// NewStore returns an S3 store on a fresh bucket with Object Lock.
func NewStore(t testing.TB) *s3.Store { return NewStoreWith(t, Options{}) }

// NewStoreWith returns an S3 store on a fresh bucket shaped by o.
func NewStoreWith(t testing.TB, o Options) *s3.Store {
	t.Helper()
	c := Config(t)
	c.Bucket = NewBucket(t, o)
	c.Prefix, c.LockMode = o.Prefix, o.LockMode
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := s3.Open(ctx, c)
	if err != nil {
		t.Fatalf("open test store: %v", err)
	}
	return st
}
