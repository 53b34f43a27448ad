package filing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"
)

// Version is one stored version of an object, or a delete marker.
type Version struct {
	Key string `json:"key"`
	// ID is the store's version id ("null" for an object written while
	// the bucket had no versioning).
	ID           string    `json:"version_id"`
	LastModified time.Time `json:"last_modified"`
	Size         int64     `json:"size"`
	ETag         string    `json:"etag,omitempty"`
	// Latest is set on the current version (or delete marker) of the key.
	Latest bool `json:"latest,omitempty"`
	// DeleteMarker is set when this "version" is a delete marker: a
	// DELETE without a version id, which hides the versions below it.
	DeleteMarker bool `json:"delete_marker,omitempty"`
}

// Versioner is implemented by stores that keep every version of an object
// (S3 with versioning, which Object Lock turns on). A record is the first
// version of each of its objects: anything written on top is a later
// version or a delete marker, and the first version stays readable.
type Versioner interface {
	// Versioning reports whether the bucket keeps versions.
	Versioning(ctx context.Context) (bool, error)
	// Versions yields every version and delete marker of the objects whose
	// key starts with prefix: keys in order, and for each key its versions
	// oldest first (the first one yielded is the one written first).
	Versions(ctx context.Context, prefix string) iter.Seq2[Version, error]
	// OpenVersion streams one version of the object at key and describes
	// it, with its Object Lock state, from the read itself; ErrNotExist if
	// there is no such version.
	OpenVersion(ctx context.Context, key, versionID string) (io.ReadCloser, ObjectInfo, error)
	// StatVersion describes one version, with its Object Lock state.
	StatVersion(ctx context.Context, key, versionID string) (ObjectInfo, error)
	// SetLegalHoldVersion puts a legal hold on one version, or lifts it.
	SetLegalHoldVersion(ctx context.Context, key, versionID string, on bool) error
}

// History is what a store holds at one key: the first version, which is
// the one the bot wrote, and whatever came after it.
type History struct {
	Key string
	// First is the version written first (never a delete marker); its ID
	// is "" on a store that keeps no versions (it is then simply the
	// object as it is now).
	First Version
	// Later are the versions and delete markers written on top of First,
	// oldest first. On a record object, index entry or audit event any of
	// them is tampering: those are written once.
	Later []Version
}

// Deleted reports whether the key's current state is a delete marker.
func (h *History) Deleted() bool {
	return len(h.Later) > 0 && h.Later[len(h.Later)-1].DeleteMarker
}

// Histories yields the history of every key under prefix, in key order. On
// a store that keeps no versions (a local store, or a bucket without versioning)
// each key has its current object as First and nothing Later.
func Histories(ctx context.Context, st Store, prefix string) iter.Seq2[*History, error] {
	return func(yield func(*History, error) bool) {
		vs, ok := st.(Versioner)
		if ok {
			on, err := vs.Versioning(ctx)
			if err != nil {
				yield(nil, err)
				return
			}
			ok = on
		}
		if !ok {
			for oi, err := range st.List(ctx, prefix) {
				if err != nil {
					yield(nil, err)
					return
				}
				h := &History{Key: oi.Key, First: Version{Key: oi.Key, LastModified: oi.LastModified, Size: oi.Size, ETag: oi.ETag, Latest: true}}
				if !yield(h, nil) {
					return
				}
			}
			return
		}
		// Delete markers before a key's first version hide nothing (S3
		// writes one even for a key that does not exist); a key with
		// nothing but delete markers never held anything.
		var h *History
		for v, err := range vs.Versions(ctx, prefix) {
			if err != nil {
				yield(nil, err)
				return
			}
			if h != nil && h.Key == v.Key {
				if h.First.DeleteMarker {
					h.First = v
				} else {
					h.Later = append(h.Later, v)
				}
				continue
			}
			if h != nil && !h.First.DeleteMarker && !yield(h, nil) {
				return
			}
			h = &History{Key: v.Key, First: v}
		}
		if h != nil && !h.First.DeleteMarker {
			yield(h, nil)
		}
	}
}

// OpenFirst streams the first version of the object at key: the one the
// bot wrote, whatever was written over it since. On a store that keeps no
// versions it is the object as it is now. ErrNotExist if there is none.
func OpenFirst(ctx context.Context, st Store, key string) (io.ReadCloser, *History, error) {
	h, err := HistoryOf(ctx, st, key)
	if err != nil {
		return nil, nil, err
	}
	rc, _, err := h.Open(ctx, st)
	return rc, h, err
}

// HistoryOf returns the history of the object at exactly key; ErrNotExist
// if nothing was ever stored there.
func HistoryOf(ctx context.Context, st Store, key string) (*History, error) {
	for h, err := range Histories(ctx, st, key) {
		if err != nil {
			return nil, err
		}
		if h.Key == key {
			return h, nil
		}
	}
	return nil, fmt.Errorf("history of %s: %w", key, ErrNotExist)
}

// Open streams h's first version and describes it from the read itself:
// on S3 with Object Lock that includes its retention and legal hold, so a
// reader that also needs the lock asks no second question.
func (h *History) Open(ctx context.Context, st Store) (io.ReadCloser, ObjectInfo, error) {
	if vs, ok := st.(Versioner); ok && h.First.ID != "" {
		return vs.OpenVersion(ctx, h.Key, h.First.ID)
	}
	return st.Open(ctx, h.Key)
}

// Stat describes h's first version, with its Object Lock state.
func (h *History) Stat(ctx context.Context, st Store) (ObjectInfo, error) {
	if vs, ok := st.(Versioner); ok && h.First.ID != "" {
		return vs.StatVersion(ctx, h.Key, h.First.ID)
	}
	return st.Stat(ctx, h.Key)
}

// KeepsVersions reports whether st keeps every version of an object, so a
// record's first versions can be told from what was written over them.
func KeepsVersions(ctx context.Context, st Store) (bool, error) {
	vs, ok := st.(Versioner)
	if !ok {
		return false, nil
	}
	on, err := vs.Versioning(ctx)
	if errors.Is(err, ErrNotSupported) {
		return false, nil
	}
	return on, err
}
