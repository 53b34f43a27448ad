package s3

import (
	"context"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/recordbot/recordbot/filing"
)

var _ filing.Versioner = (*Store)(nil)

// Versioning implements filing.Versioner.
func (s *Store) Versioning(ctx context.Context) (bool, error) {
	if s.locking {
		return true, nil // Object Lock cannot be on without versioning
	}
	cfg, err := s.client.GetBucketVersioning(ctx, s.bucket)
	if err != nil {
		return false, s.mapErr("versioning of", s.bucket, err)
	}
	return cfg.Enabled(), nil
}

// Versions implements filing.Versioner. S3 lists a key's versions newest first;
// they are yielded oldest first, so the record comes first.
func (s *Store) Versions(ctx context.Context, prefix string) iter.Seq2[filing.Version, error] {
	return func(yield func(filing.Version, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var run []filing.Version // the versions of one key, newest first
		flush := func() bool {
			for i := len(run) - 1; i >= 0; i-- {
				if !yield(run[i], nil) {
					return false
				}
			}
			run = run[:0]
			return true
		}
		opts := minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true, WithVersions: true}
		for oi := range s.client.ListObjects(ctx, s.bucket, opts) {
			if oi.Err != nil {
				yield(filing.Version{}, s.mapErr("list versions", prefix, oi.Err))
				return
			}
			v := filing.Version{Key: strings.TrimPrefix(oi.Key, s.prefix), ID: oi.VersionID, LastModified: oi.LastModified,
				Size: oi.Size, ETag: oi.ETag, Latest: oi.IsLatest, DeleteMarker: oi.IsDeleteMarker}
			if len(run) > 0 && run[0].Key != v.Key && !flush() {
				return
			}
			run = append(run, v)
		}
		flush()
	}
}

// OpenVersion implements filing.Versioner.
func (s *Store) OpenVersion(ctx context.Context, key, versionID string) (io.ReadCloser, filing.ObjectInfo, error) {
	if versionID == "" {
		return nil, filing.ObjectInfo{}, fmt.Errorf("open %s: no version id", key)
	}
	return s.get(ctx, key, minio.GetObjectOptions{VersionID: versionID})
}

// StatVersion implements filing.Versioner.
func (s *Store) StatVersion(ctx context.Context, key, versionID string) (filing.ObjectInfo, error) {
	if versionID == "" {
		return filing.ObjectInfo{}, fmt.Errorf("stat %s: no version id", key)
	}
	oi, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{VersionID: versionID})
	if err != nil {
		return filing.ObjectInfo{}, s.mapErr("stat", key, err)
	}
	return s3Info(key, oi), nil
}

// SetLegalHoldVersion implements filing.Versioner.
func (s *Store) SetLegalHoldVersion(ctx context.Context, key, versionID string, on bool) error {
	if !s.locking {
		return fmt.Errorf("legal hold on %s: bucket %q has no Object Lock: %w", key, s.bucket, filing.ErrNotSupported)
	}
	st := minio.LegalHoldDisabled
	if on {
		st = minio.LegalHoldEnabled
	}
	err := s.client.PutObjectLegalHold(ctx, s.bucket, s.prefix+key, minio.PutObjectLegalHoldOptions{VersionID: versionID, Status: &st})
	return s.mapErr("legal hold", key, err)
}
