package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"
	"github.com/recordbot/recordbot/filing"
)

// canaryRetention is how long a canary is locked: long enough to try to
// delete and overwrite it, short enough not to matter.
const canaryRetention = 2 * time.Minute

// LockMode returns the Object Lock mode records are retained in.
func (s *Store) LockMode() string { return string(s.lockMode) }

// ProveLock shows that the bucket enforces what records rely on, rather than
// trusting its configuration: some "S3-compatible" stores accept Object
// Lock headers and do not enforce them. It writes a canary object under
// filing.CanaryPrefix with a short retention, then requires that
//   - a second create-only write of the same key is refused,
//   - deleting the canary's version is refused, and
//   - a plain write over the key leaves that version as it was.
//
// It returns nil when all hold, or an error matching filing.ErrNotLocked that says
// which did not and what to do.
func (s *Store) ProveLock(ctx context.Context) error {
	if !s.locking {
		return fmt.Errorf("%w: bucket %q has Object Lock off; create a bucket with object locking "+
			"(`mc mb --with-lock`, `aws s3api create-bucket --object-lock-enabled-for-bucket`) and move to it", filing.ErrNotLocked, s.bucket)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	key := s.prefix + filing.CanaryPrefix + id.String()
	// The bucket judges a retention date by its own clock, which a test's
	// fake one cannot move: the canary's is always from the real clock.
	now := filing.SystemClock().Now()
	body := []byte("recordbot object lock canary " + id.String() + "\n")
	po := minio.PutObjectOptions{
		ContentType: "text/plain; charset=utf-8", Mode: s.lockMode,
		RetainUntilDate: now.Add(canaryRetention).UTC(),
	}
	po.SetMatchETagExcept("*")
	first, err := s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(body), int64(len(body)), po)
	if err != nil {
		return fmt.Errorf("write lock canary %s: %w", key, err)
	}
	if first.VersionID == "" {
		return fmt.Errorf("%w: bucket %q gave the canary no version id: versioning is off", filing.ErrNotLocked, s.bucket)
	}
	mode, until, err := s.client.GetObjectRetention(ctx, s.bucket, key, first.VersionID)
	if err != nil || mode == nil || until == nil || *mode != s.lockMode || until.Before(now) {
		return fmt.Errorf("%w: the store did not keep the canary's retention (%v)", filing.ErrNotLocked, err)
	}
	if _, err := s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(body), int64(len(body)), po); err == nil {
		return fmt.Errorf("%w: the store accepted a second create-only write of %s (If-None-Match: * is ignored), so records could be overwritten", filing.ErrNotLocked, key)
	} else if !errors.Is(s.mapErr("create", key, err), filing.ErrExist) {
		return fmt.Errorf("write lock canary again: %w", err)
	}
	// With a bot policy that denies deleting versions (docs/security.md#the-bots-s3-policy) this refusal may come from the policy
	// rather than the lock: run `bot check` once with the records
	// administrator's credentials to prove the lock itself.
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{VersionID: first.VersionID}); err == nil {
		return fmt.Errorf("%w: the store deleted a retained version of %s; its Object Lock is not enforced", filing.ErrNotLocked, key)
	}
	over := []byte("overwritten\n")
	if _, err := s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(over), int64(len(over)), minio.PutObjectOptions{}); err != nil {
		return fmt.Errorf("write over lock canary: %w", err)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{VersionID: first.VersionID})
	if err != nil {
		return fmt.Errorf("read lock canary version: %w", err)
	}
	defer obj.Close()
	got, err := io.ReadAll(io.LimitReader(obj, 1<<10))
	if err != nil {
		return fmt.Errorf("%w: the canary's first version is gone after a write over it: %v", filing.ErrNotLocked, err)
	}
	if !bytes.Equal(got, body) {
		return fmt.Errorf("%w: a write over %s changed its retained version", filing.ErrNotLocked, key)
	}
	return nil
}

// ErrNoBucket matches Ping's error when the bucket is gone.
var ErrNoBucket = errors.New("bucket does not exist")

// Ping checks that the store answers with these credentials: for
// readiness. A bucket that cannot be reached is a *ReachError (with a Hint
// when the reason is a usual one); one that is gone matches ErrNoBucket.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		u := s.client.EndpointURL()
		return &ReachError{Endpoint: u.Host, Bucket: s.bucket, Err: err, Hint: reachHint(err, u.Scheme == "http")}
	}
	if !ok {
		return fmt.Errorf("s3 %s: %q: %w", s.client.EndpointURL().Host, s.bucket, ErrNoBucket)
	}
	return nil
}
