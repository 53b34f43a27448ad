package local

import (
	"context"
	"iter"

	"github.com/recordbot/recordbot/filing"
)

// ListAfter implements filing.AfterLister by skipping: a local listing
// costs directory reads, not requests.
func (l *Store) ListAfter(ctx context.Context, prefix, after string) iter.Seq2[filing.ObjectInfo, error] {
	return func(yield func(filing.ObjectInfo, error) bool) {
		for info, err := range l.List(ctx, prefix) {
			if err == nil && info.Key <= after {
				continue
			}
			if !yield(info, err) || err != nil {
				return
			}
		}
	}
}
