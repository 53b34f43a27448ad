package filing

import (
	"context"
	"errors"
	"time"
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
