package filing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// Lock is the Object Lock state of one object version.
type Lock struct {
	// Mode is "GOVERNANCE", "COMPLIANCE" or "" (no retention).
	Mode        string    `json:"mode,omitempty"`
	RetainUntil time.Time `json:"retain_until,omitzero"`
	LegalHold   bool      `json:"legal_hold,omitempty"`
}

// ErrLocked is returned when the store refuses to remove an object version
// that Object Lock protects (retention not yet over, or a legal hold).
var ErrLocked = errors.New("object is protected by object lock")

// Remover is implemented by stores that keep versions and can remove one
// of them for good: disposal of a record, which must leave no version (and
// no delete marker) behind.
type Remover interface {
	// LockOf reads the Object Lock state of one version of the object at
	// key.
	LockOf(ctx context.Context, key, versionID string) (Lock, error)
	// RemoveVersion removes one version (or delete marker) of the object
	// at key for good. bypassGovernance sends
	// x-amz-bypass-governance-retention, which lets a principal holding
	// s3:BypassGovernanceRetention remove a version whose GOVERNANCE
	// retention has not ended; nothing removes one in COMPLIANCE mode
	// early. A refusal because of the lock matches ErrLocked.
	RemoveVersion(ctx context.Context, key, versionID string, bypassGovernance bool) error
}

var _ Remover = (*S3)(nil)

// LockOf implements Remover.
func (s *S3) LockOf(ctx context.Context, key, versionID string) (Lock, error) {
	oi, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{VersionID: versionID})
	if err != nil {
		return Lock{}, s.mapErr("stat", key, err)
	}
	l := Lock{Mode: strings.ToUpper(oi.Metadata.Get("X-Amz-Object-Lock-Mode"))}
	if v := oi.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date"); v != "" {
		l.RetainUntil, _ = time.Parse(time.RFC3339, v)
	}
	l.LegalHold = oi.Metadata.Get("X-Amz-Object-Lock-Legal-Hold") == "ON"
	return l, nil
}

// RemoveVersion implements Remover.
func (s *S3) RemoveVersion(ctx context.Context, key, versionID string, bypassGovernance bool) error {
	if versionID == "" {
		return fmt.Errorf("remove %s: no version id", key)
	}
	err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{VersionID: versionID, GovernanceBypass: bypassGovernance})
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	if resp.Code == "AccessDenied" && strings.Contains(strings.ToLower(resp.Message), "worm") {
		return fmt.Errorf("remove %s (version %s): %s: %w", key, versionID, resp.Message, ErrLocked)
	}
	if err = s.mapErr("remove", key, err); errors.Is(err, ErrNotExist) {
		return nil
	}
	return err
}
