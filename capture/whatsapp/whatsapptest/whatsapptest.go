// Package whatsapptest gives front-end tests WhatsApp chat exports made
// from capture/whatsapp's own fixtures.
package whatsapptest

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
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
