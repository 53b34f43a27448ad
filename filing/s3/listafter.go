package s3

import (
	"context"
	"iter"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/recordbot/recordbot/filing"
)

// ListAfter implements filing.AfterLister with S3's StartAfter: the store
// sends only the keys after after.
func (s *Store) ListAfter(ctx context.Context, prefix, after string) iter.Seq2[filing.ObjectInfo, error] {
	return func(yield func(filing.ObjectInfo, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		opts := minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}
		if after != "" {
			opts.StartAfter = s.prefix + after
		}
		for oi := range s.client.ListObjects(ctx, s.bucket, opts) {
			if oi.Err != nil {
				yield(filing.ObjectInfo{}, s.mapErr("list", prefix, oi.Err))
				return
			}
			key := strings.TrimPrefix(oi.Key, s.prefix)
			if key <= after {
				continue // a store that ignores StartAfter
			}
			if !yield(filing.ObjectInfo{Key: key, Size: oi.Size, ETag: oi.ETag, LastModified: oi.LastModified}, nil) {
				return
			}
		}
	}
}
