package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/capture"
)

// Progress goes to terminals only: a pipe, a file or a buffer gets none.
func TestTerminal(t *testing.T) {
	t.Parallel()
	if terminal(&bytes.Buffer{}) != nil {
		t.Errorf("terminal(a buffer) != nil")
	}
	f, err := os.Create(t.TempDir() + "/log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if terminal(f) != nil {
		t.Errorf("terminal(a file) != nil")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if terminal(w) != nil {
		t.Errorf("terminal(a pipe) != nil")
	}
	if tty, err := os.OpenFile("/dev/null", os.O_WRONLY, 0); err == nil {
		// /dev/null is a character device, as a terminal is.
		if terminal(tty) == nil {
			t.Errorf("terminal(a character device) = nil")
		}
		tty.Close()
	}
}

// A large filing shows how much of its files has been read, on one line
// that it clears at the end; a small one shows nothing.
func TestMeterFiles(t *testing.T) {
	t.Parallel()
	big := int64(minMetered + 1<<20)
	th := &capture.Thread{Messages: []capture.Message{{Files: []capture.File{
		{Name: "big.bin", Size: big, Open: func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(io.LimitReader(zeros{}, big)), nil
		}},
	}}}}
	var out bytes.Buffer
	pm := meterFiles(th, &out, "filing")
	rc, err := th.Files()[0].Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, rc); n != big || err != nil {
		t.Fatalf("read %d, %v; want %d", n, err, big)
	}
	pm.end()
	got := out.String()
	for _, w := range []string{"\rfiling:   1% (", "\rfiling: 100% (65.0 MiB of 65.0 MiB)", "\r\033[K"} {
		if !strings.Contains(got, w) {
			t.Errorf("progress = %q, want %q", got, w)
		}
	}
	if n := strings.Count(got, "\r"); n > 102 {
		t.Errorf("progress rewrote its line %d times, want at most once a percent", n)
	}
	small := &capture.Thread{Messages: []capture.Message{{Files: []capture.File{{Name: "a.txt", Size: 10}}}}}
	if meterFiles(small, &out, "filing") != nil || meterFiles(th, nil, "filing") != nil {
		t.Errorf("meterFiles of a small filing, or with no terminal, is not nil")
	}
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}
