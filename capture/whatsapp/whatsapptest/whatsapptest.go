// Package whatsapptest gives front-end tests WhatsApp chat exports made
// from capture/whatsapp's own fixtures.
package whatsapptest

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// CorpusExport returns the export of capture/whatsapp's corpus case name
// (testdata/corpus/NAME) as it is sent: its files zipped as a phone zips
// them, or its chat text alone.
func CorpusExport(t testing.TB, name string) []byte {
	t.Helper()
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("whatsapptest: cannot find its own source")
	}
	dir := filepath.Join(filepath.Dir(here), "..", "testdata", "corpus", name)
	if b, err := os.ReadFile(filepath.Join(dir, "export.txt")); err == nil {
		return b
	}
	return zipDir(t, filepath.Join(dir, "export"))
}

// IOSExport zips capture/whatsapp's iOS fixture (testdata/ios-dmy: the
// chat and its media) as an iPhone exports a chat with its media.
func IOSExport(t testing.TB) []byte {
	t.Helper()
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("whatsapptest: cannot find its own source")
	}
	return zipDir(t, filepath.Join(filepath.Dir(here), "..", "testdata", "ios-dmy"))
}

// zipDir zips the files of dir, flat and deflated, as a phone does.
func zipDir(t testing.TB, dir string) []byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// OnePhotoExport is an iPhone export zip of n messages that each name the
// one photo it holds, of size bytes (deflated, so the zip is small), and
// the photo's name: a file a record must store once.
func OnePhotoExport(t testing.TB, n, size int) ([]byte, string) {
	t.Helper()
	const photo = "00000001-PHOTO-2024-01-13-09-00-00.jpg"
	var chat bytes.Buffer
	start := time.Date(2024, 1, 13, 9, 0, 0, 0, time.UTC)
	for i := range n {
		fmt.Fprintf(&chat, "[%s] Alice: <attached: %s>\n", start.Add(time.Duration(i)*time.Second).Format("02/01/2006, 15:04:05"), photo)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{"_chat.txt", chat.Bytes()}, {photo, bytes.Repeat([]byte("photo bytes "), size/12+1)[:size]}} {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), photo
}

// TinyMessagesExport writes to path an Android export zip whose chat text
// is as long as it can be within size bytes, of tiny messages (three
// random letters, and "<Media omitted>" every 1,000th), streaming: nothing
// of it is held whole in memory. It returns the number of messages. 64
// MiB makes about 2.5 million messages, some 10 MB zipped.
func TinyMessagesExport(t testing.TB, path string, size int64) int {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw := zip.NewWriter(bw)
	w, err := zw.Create("WhatsApp Chat with Roads Board.txt")
	if err != nil {
		t.Fatal(err)
	}
	cw := bufio.NewWriterSize(w, 1<<20)
	start := time.Date(2024, 1, 13, 9, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	var written int64
	n := 0
	for ; ; n++ {
		x := rng.Uint32()
		text := string([]byte{'a' + byte(x%26), 'a' + byte(x/26%26), 'a' + byte(x/676%26)})
		if n%1000 == 999 {
			text = "<Media omitted>"
		}
		line := start.Add(time.Duration(n)*time.Second).Format("02/01/2006, 15:04") + " - A: " + text + "\n"
		if written+int64(len(line)) > size {
			break
		}
		cw.WriteString(line)
		written += int64(len(line))
	}
	if err := cw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return n
}
