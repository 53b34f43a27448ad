package filing

import (
	"context"
	"iter"
)

// AfterLister is implemented by stores that can start a listing after a
// given key, as S3's ListObjectsV2 StartAfter does, so that a reader that
// has seen every key up to some point (a derived index catching up) lists
// only what came after it rather than everything again.
type AfterLister interface {
	// ListAfter yields every object whose key starts with prefix and is
	// greater than after, in key order.
	ListAfter(ctx context.Context, prefix, after string) iter.Seq2[ObjectInfo, error]
}

// ListAfter lists the objects under prefix whose keys are greater than
// after, with the store's StartAfter when it has one and by skipping
// otherwise.
func ListAfter(ctx context.Context, st Store, prefix, after string) iter.Seq2[ObjectInfo, error] {
	if al, ok := st.(AfterLister); ok {
		return al.ListAfter(ctx, prefix, after)
	}
	return func(yield func(ObjectInfo, error) bool) {
		for info, err := range st.List(ctx, prefix) {
			if err == nil && info.Key <= after {
				continue
			}
			if !yield(info, err) || err != nil {
				return
			}
		}
	}
}
