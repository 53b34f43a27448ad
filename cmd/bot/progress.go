package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/recordbot/recordbot/capture"
)

// terminal returns w when it is a terminal, nil otherwise: progress is for
// a person watching, never for a pipe, a file or a log.
func terminal(w io.Writer) io.Writer {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return w
}

// minMetered is the least a filing must read before it shows progress.
const minMetered = 64 << 20

// meter shows how much of a known amount has been read, as a percentage on
// one line that rewrites itself, each time the percentage changes.
type meter struct {
	w     io.Writer
	what  string
	total int64

	mu    sync.Mutex
	done  int64
	shown int64 // the percentage shown last; -1 before the first
}

func (p *meter) add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	pct := min(p.done*100/p.total, 100)
	if pct == p.shown {
		return
	}
	p.shown = pct
	fmt.Fprintf(p.w, "\r%s: %3d%% (%s of %s)", p.what, pct, mebibytes(min(p.done, p.total)), mebibytes(p.total))
}

// end clears the progress line, if one was shown. A nil meter does nothing.
func (p *meter) end() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown >= 0 {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func mebibytes(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// meteredReader counts what is read through it into a meter.
type meteredReader struct {
	io.ReadCloser
	m *meter
}

func (r meteredReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	r.m.add(int64(n))
	return n, err
}

// meterFiles makes the reading of t's attached files show progress on w,
// when w is not nil and the files hold at least minMetered bytes. It
// returns the meter to end once filing is over (nil when none).
func meterFiles(t *capture.Thread, w io.Writer, what string) *meter {
	if w == nil {
		return nil
	}
	files, err := t.FilesOf(context.Background())
	if err != nil {
		return nil // filing fails on it, and says why
	}
	var total int64
	for _, f := range files {
		if f.Open != nil {
			total += f.Size
		}
	}
	if total < minMetered {
		return nil
	}
	m := &meter{w: w, what: what, total: total, shown: -1}
	metered := func(f *capture.File) {
		if open := f.Open; open != nil {
			f.Open = func(ctx context.Context) (io.ReadCloser, error) {
				rc, err := open(ctx)
				if err != nil {
					return nil, err
				}
				return meteredReader{rc, m}, nil
			}
		}
	}
	if t.Stream == nil {
		for _, f := range files {
			metered(f)
		}
		return m
	}
	// A stream gives its files afresh at each pass: they are metered as
	// they pass.
	if p := t.Provenance; p != nil && p.Original != nil {
		metered(p.Original)
	}
	t.Stream = meteredStream{t.Stream, metered}
	return m
}

// meteredStream gives the messages of a stream with their files metered.
type meteredStream struct {
	capture.MessageStream
	metered func(f *capture.File)
}

func (s meteredStream) Each(ctx context.Context, fn func(m *capture.Message) error) error {
	return s.MessageStream.Each(ctx, func(m *capture.Message) error {
		if len(m.Files) > 0 {
			m.Files = append([]capture.File(nil), m.Files...)
			for j := range m.Files {
				s.metered(&m.Files[j])
			}
		}
		return fn(m)
	})
}
