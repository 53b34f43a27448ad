package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/recordbot/recordbot/filing"
)

var _ filing.Remover = (*Store)(nil)

// LockOf implements filing.Remover.
func (s *Store) LockOf(ctx context.Context, key, versionID string) (filing.Lock, error) {
	oi, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{VersionID: versionID})
	if err != nil {
		return filing.Lock{}, s.mapErr("stat", key, err)
	}
	l := filing.Lock{Mode: strings.ToUpper(oi.Metadata.Get("X-Amz-Object-Lock-Mode"))}
	if v := oi.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date"); v != "" {
		l.RetainUntil, _ = time.Parse(time.RFC3339, v)
	}
	l.LegalHold = oi.Metadata.Get("X-Amz-Object-Lock-Legal-Hold") == "ON"
	return l, nil
}

// RemoveVersion implements filing.Remover.
func (s *Store) RemoveVersion(ctx context.Context, key, versionID string, bypassGovernance bool) error {
	if versionID == "" {
		return fmt.Errorf("remove %s: no version id", key)
	}
	err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{VersionID: versionID, GovernanceBypass: bypassGovernance})
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	if resp.Code == "AccessDenied" && strings.Contains(strings.ToLower(resp.Message), "worm") {
		return fmt.Errorf("remove %s (version %s): %s: %w", key, versionID, resp.Message, filing.ErrLocked)
	}
	if err = s.mapErr("remove", key, err); errors.Is(err, filing.ErrNotExist) {
		return nil
	}
	return err
}
