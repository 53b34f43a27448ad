// Package whatsapptest gives front-end tests WhatsApp chat exports made
// from capture/whatsapp's own fixtures.
package whatsapptest

import (
	"archive/zip"
	"bytes"
	"fmt"
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
