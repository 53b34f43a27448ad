// Package ctxio stops long copies when their context ends.
package ctxio

import (
	"context"
	"io"
)

// Reader returns r, stopped when ctx is done: for copies (io.Copy, a hash
// of a file, an upload) that would otherwise not notice.
func Reader(ctx context.Context, r io.Reader) io.Reader { return reader{ctx, r} }

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (c reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
