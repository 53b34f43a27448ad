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

// IOSExport zips capture/whatsapp's iOS fixture (testdata/ios-dmy: the
// chat and its media) as an iPhone exports a chat with its media.
func IOSExport(t testing.TB) []byte {
	t.Helper()
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("whatsapptest: cannot find its own source")
	}
	dir := filepath.Join(filepath.Dir(here), "..", "testdata", "ios-dmy")
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
