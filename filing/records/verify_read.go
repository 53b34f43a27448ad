package records

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"

	"github.com/recordbot/recordbot/filing"
)

// keepLimit is the most verify holds of record.json or a manifest. A
// manifest of 100,000 files is about 10 MiB.
const keepLimit = 64 << 20

// capped holds at most keepLimit bytes of what is written to it and
// remembers whether there was more; it never fails a write, so the hash
// beside it sees everything.
type capped struct {
	bytes.Buffer
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := keepLimit - c.Len(); len(p) > room {
		c.over = true
		c.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return c.Buffer.Write(p)
}

// bufPool holds copy buffers: large enough that a GET streams in few reads.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// hashFirst streams the first version of h through SHA-256 and describes
// it as its GET did; keep, if set, receives a copy of the content.
func hashFirst(ctx context.Context, st filing.Store, h *filing.History, keep io.Writer) (string, int64, filing.ObjectInfo, error) {
	rc, info, err := h.Open(ctx, st)
	if err != nil {
		return "", 0, info, err
	}
	defer rc.Close()
	hash := sha256.New()
	var w io.Writer = hash
	if keep != nil {
		w = io.MultiWriter(hash, keep)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	n, err := io.CopyBuffer(onlyWriter{w}, rc, *bp)
	if err != nil {
		return "", n, info, fmt.Errorf("read %s: %w", h.Key, err)
	}
	return hex.EncodeToString(hash.Sum(nil)), n, info, nil
}

// onlyWriter hides a writer's ReadFrom so io.CopyBuffer uses our buffer.
type onlyWriter struct{ io.Writer }
