package filing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"
)

// Store is object storage laid out as the file plan: the S3 store
// (filing/s3) and the local-directory store (filing/local) implement it
// with the same keys.
//
// Keys are slash-separated and never start with a slash; a store may put its
// own prefix in front of them.
type Store interface {
	// Create writes a new object at key, only if no object exists there
	// yet; otherwise it returns an error matching ErrExist and changes
	// nothing. The object appears whole or not at all. size is -1 when
	// unknown.
	Create(ctx context.Context, key string, r io.Reader, size int64, opts WriteOptions) (ObjectInfo, error)
	// Put writes the object at key whether or not one exists. It is for
	// mutable objects only (pending requests, registers, installations),
	// never for a record's objects. With opts.IfMatch set it writes only
	// if the current object has that ETag, else it fails with ErrConflict.
	Put(ctx context.Context, key string, r io.Reader, size int64, opts WriteOptions) (ObjectInfo, error)
	// Open streams the object at key, with the info of the very object
	// being read (so its ETag can make a later Put conditional on it);
	// ErrNotExist if there is none.
	Open(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)
	// Stat describes the object at key; ErrNotExist if there is none.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List yields every object whose key starts with prefix, in key order.
	List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error]
	// Delete removes the object at key (a delete marker on a versioned
	// bucket). Deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// Where tells a person where the object at key (or the folder, for a
	// key ending in "/") can be found: an s3:// URL or a local path.
	Where(key string) string
}

// WriteOptions are the properties of an object being written.
type WriteOptions struct {
	ContentType string
	// RetainUntil, when set and the store supports Object Lock, protects
	// the object from deletion and overwrite until then.
	RetainUntil time.Time
	// Tags are object tags (S3 tagging), usable by lifecycle rules.
	Tags map[string]string
	// IfMatch makes Put conditional on the current object's ETag.
	IfMatch string
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
	// RetainUntil is the Object Lock retain-until date, when known.
	RetainUntil time.Time
	// LegalHold reports an Object Lock legal hold, when known.
	LegalHold bool
}

// CheckKey reports whether key is a well-formed store key: slash-separated,
// relative, with no empty, "." or ".." segment and no control characters.
func CheckKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || len(key) > 1024 {
		return fmt.Errorf("bad key %q", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("bad key %q", key)
		}
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("bad key %q", key)
		}
	}
	return nil
}

// Errors stores return, matched with errors.Is.
var (
	ErrExist        = errors.New("object already exists")
	ErrNotExist     = errors.New("object does not exist")
	ErrConflict     = errors.New("object changed concurrently")
	ErrNotSupported = errors.New("not supported by this store")
)

// Locker is implemented by stores that support Object Lock.
type Locker interface {
	// Locking reports whether the bucket has Object Lock enabled.
	Locking(ctx context.Context) (bool, error)
	// SetLegalHold puts a legal hold on the object at key, or lifts it.
	SetLegalHold(ctx context.Context, key string, on bool) error
}

// Pinger is implemented by stores that can say whether they answer: for
// readiness.
type Pinger interface {
	Ping(ctx context.Context) error
}

// LockProver is implemented by stores with Object Lock that can show it is
// enforced rather than trust their configuration.
type LockProver interface {
	// ProveLock writes a canary under CanaryPrefix with a short retention
	// and requires that it can be neither created again, deleted nor
	// altered. It returns nil when all hold, or an error matching
	// ErrNotLocked that says which did not and what to do.
	ProveLock(ctx context.Context) error
	// LockMode is the Object Lock mode records are retained in:
	// "GOVERNANCE" or "COMPLIANCE".
	LockMode() string
}

// CanaryPrefix holds the small objects that ProveLock writes to show that
// the store enforces Object Lock. Each is retained for a few minutes and
// may be removed after that.
const CanaryPrefix = "check/canary/"

// ErrNotLocked says the store does not keep records unaltered: Object Lock
// is off, or on but not enforced.
var ErrNotLocked = errors.New("records are not protected by Object Lock")
