package storetest

import (
	"context"
	"io"
	"iter"
	"sync/atomic"

	"github.com/recordbot/recordbot/filing"
)

// Counting is a store that counts the reads made of it: objects opened or
// described, and listings.
type Counting struct {
	filing.Store
	opens, lists atomic.Int64
}

// Open counts a read.
func (s *Counting) Open(ctx context.Context, key string) (io.ReadCloser, filing.ObjectInfo, error) {
	s.opens.Add(1)
	return s.Store.Open(ctx, key)
}

// Stat counts a read.
func (s *Counting) Stat(ctx context.Context, key string) (filing.ObjectInfo, error) {
	s.opens.Add(1)
	return s.Store.Stat(ctx, key)
}

// List counts a listing.
func (s *Counting) List(ctx context.Context, prefix string) iter.Seq2[filing.ObjectInfo, error] {
	s.lists.Add(1)
	return s.Store.List(ctx, prefix)
}

// Reads is how many reads and listings were made so far.
func (s *Counting) Reads() int64 { return s.opens.Load() + s.lists.Load() }
