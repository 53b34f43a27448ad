package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/filing/s3"
	"github.com/recordbot/recordbot/internal/bagcheck"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// exportZip zips the Android export fixture of capture/whatsapp into dir,
// as the phone names it.
func exportZip(t *testing.T, dir string) (string, []byte) {
	t.Helper()
	src := "../../capture/whatsapp/testdata/android-dmy"
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create(e.Name())
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "WhatsApp Chat with Roads Team.zip")
	if err := os.WriteFile(name, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return name, buf.Bytes()
}

func minioEnv(t *testing.T) (map[string]string, *s3.Store) {
	st := miniotest.NewStore(t)
	c := miniotest.Config(t)
	return map[string]string{
		"S3_ENDPOINT": c.Endpoint, "S3_BUCKET": st.Bucket(), "S3_ACCESS_KEY": c.AccessKey,
		"S3_SECRET_KEY": c.SecretKey, "S3_INSECURE": "true", "S3_PATH_STYLE": "on",
	}, st
}

// recordKey returns the folder of the only record in st.
func onlyRecord(t *testing.T, st filing.Store) string {
	t.Helper()
	var keys []string
	for info, err := range st.List(context.Background(), filing.RecordsPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		if k, ok := strings.CutSuffix(info.Key, filing.TagManifestFile); ok {
			keys = append(keys, k)
		}
	}
	if len(keys) != 1 {
		t.Fatalf("records = %q, want one", keys)
	}
	return keys[0]
}

func TestImportWhatsAppIntoMinIO(t *testing.T) {
	env, st := minioEnv(t)
	file, data := exportZip(t, t.TempDir())
	m, errb := testMain(env)
	var out strings.Builder
	m.Stdout = &out
	// Flags after the file as well as before it.
	err := m.Run(context.Background(), []string{"import", "whatsapp", "--class", "100-20", file,
		"--title", "Roads team: junction agreed", "--timezone", "Europe/London", "--by", "rita"})
	if err != nil {
		t.Fatalf("bot import whatsapp: %v\n%s", err, errb)
	}
	for _, want := range []string{"Filed as ", "s3://" + st.Bucket() + "/records/100_Administration/", "Roads Team, 6 messages, 2 media files",
		"kept as data/original/WhatsApp-Chat-with-Roads-Team.zip", "date order: day/month/year (inferred", "time zone: Europe/London (", "--timezone"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	key := onlyRecord(t, st)
	if _, err := bagcheck.Check(context.Background(), st, key); err != nil {
		t.Fatalf("bag at %q: %v", key, err)
	}
	if got := readObject(t, st, key+"data/original/WhatsApp-Chat-with-Roads-Team.zip"); got != string(data) {
		t.Errorf("original export in the bag: %d bytes, want the %d supplied, byte for byte", len(got), len(data))
	}
	want, _ := os.ReadFile("../../capture/whatsapp/testdata/android-dmy/IMG-20191031-WA0005.jpg")
	if got := readObject(t, st, key+"data/files/001_IMG-20191031-WA0005.jpg"); got != string(want) {
		t.Errorf("media in the bag = %q, want %q", got, want)
	}
	var rec filing.Record
	if err := json.Unmarshal([]byte(readObject(t, st, key+filing.RecordFile)), &rec); err != nil {
		t.Fatal(err)
	}
	p := rec.Provenance
	switch {
	case rec.Source.Platform != capture.WhatsApp:
		t.Errorf("record source platform = %q, want whatsapp", rec.Source.Platform)
	case p == nil || p.Kind != capture.UserExport || p.SuppliedBy.ID != "rita" || p.FileName != filepath.Base(file):
		t.Errorf("record provenance = %+v, want a user export supplied by rita", p)
	case p.Original == nil || p.Original.Path != "data/original/WhatsApp-Chat-with-Roads-Team.zip":
		t.Errorf("record provenance original = %+v, want it kept in data/original/", p.Original)
	}
	info := readObject(t, st, key+filing.BagInfoFile)
	for _, want := range []string{"Source-Kind: user-made export", "Supplied-By: rita (rita)", "Supplied-File-SHA256: " + p.FileSHA256, "Assumption: time zone: Europe/London"} {
		if !strings.Contains(info, want) {
			t.Errorf("bag-info.txt lacks %q:\n%s", want, info)
		}
	}

	// The same import again finds the record rather than making another.
	m, _ = testMain(env)
	out.Reset()
	m.Stdout = &out
	if err := m.Run(context.Background(), []string{"import", "whatsapp", file, "--class", "100-20", "--title", "Roads team: junction agreed", "--timezone", "Europe/London"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "filed before") || onlyRecord(t, st) != key {
		t.Errorf("second import: %q; want it to find the record filed before", out.String())
	}
}

// A hostile or broken export is refused with a clear error, and nothing
// of it is stored.
func TestImportRefusesHostileExports(t *testing.T) {
	env, st := minioEnv(t)
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("_chat.txt")
	w.Write([]byte("[31/12/2022, 11:40:26] Alice: Hello\n"))
	w, _ = zw.Create("../../../etc/cron.d/evil")
	w.Write([]byte("* * * * * root true\n"))
	zw.Close()
	slip := filepath.Join(dir, "slip.zip")
	os.WriteFile(slip, buf.Bytes(), 0o600)
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, nil, 0o600)
	truncated := filepath.Join(dir, "truncated.zip")
	_, good := exportZip(t, dir)
	os.WriteFile(truncated, good[:len(good)/2], 0o600)
	latin1 := filepath.Join(dir, "latin1.txt")
	os.WriteFile(latin1, []byte("31/12/2022, 11:40 - Alice: caf\xe9\n"), 0o600)

	for _, tt := range []struct{ file, says string }{
		{slip, "would leave its folder"},
		{empty, "the file is empty"},
		{truncated, "damaged or incomplete"},
		{latin1, "not UTF-8"},
	} {
		m, _ := testMain(env)
		err := m.Run(context.Background(), []string{"import", "whatsapp", tt.file, "--class", "100-20", "--title", "x", "--timezone", "UTC"})
		if err == nil || !strings.Contains(err.Error(), tt.says) || !strings.HasPrefix(err.Error(), "nothing filed: ") {
			t.Errorf("import %s: err = %v, want \"nothing filed: ...%s...\"", filepath.Base(tt.file), err, tt.says)
		}
	}
	for info, err := range st.List(context.Background(), "") {
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(info.Key, "lockproof") {
			t.Errorf("object %q stored by a refused import", info.Key)
		}
	}
	// No time zone: asked for, not guessed.
	m, _ := testMain(env)
	err := m.Run(context.Background(), []string{"import", "whatsapp", slip, "--class", "100-20", "--title", "x"})
	if err == nil || !strings.Contains(err.Error(), "--timezone") {
		t.Errorf("import without a time zone: err = %v, want one asking for --timezone", err)
	}
}

// An import interrupted before its record was complete is completed by
// running it again: into the same record, not a second one.
func TestImportResumes(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"RECORDS_DIR": filepath.Join(dir, "records")}
	file, _ := exportZip(t, dir)
	args := []string{"import", "whatsapp", file, "--class", "100-20", "--title", "Roads", "--timezone", "UTC"}
	m, errb := testMain(env)
	if err := m.Run(context.Background(), args); err != nil {
		t.Fatalf("import: %v\n%s", err, errb)
	}
	st, err := local.New(filepath.Join(dir, "records"))
	if err != nil {
		t.Fatal(err)
	}
	key := onlyRecord(t, st)
	// Take away what an interruption while the media were uploaded would
	// not have written: a media file, the original, the transcripts, the
	// tag files, the index. The snapshot and the first media file stay.
	root := st.Root()
	var id string
	for info, err := range st.List(context.Background(), filing.IndexPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		id = strings.TrimSuffix(strings.TrimPrefix(info.Key, filing.IndexPrefix), ".json")
	}
	for _, k := range []string{key + "data/files/002_Minutes.pdf", key + "data/original/WhatsApp-Chat-with-Roads-Team.zip",
		key + filing.HTMLFile, key + filing.TextFile, key + filing.BagInfoFile, key + filing.BagItFile,
		key + filing.TagManifestFile, key + filing.ManifestFile, key + filing.RecordFile, filing.IndexPrefix + id + ".json"} {
		if err := os.Remove(filepath.Join(root, filepath.FromSlash(k))); err != nil {
			t.Fatal(err)
		}
	}
	m, errb = testMain(env)
	var out strings.Builder
	m.Stdout = &out
	if err := m.Run(context.Background(), args); err != nil {
		t.Fatalf("import again: %v\n%s", err, errb)
	}
	if !strings.Contains(errb.String(), "Completing the import of this export begun") {
		t.Errorf("stderr = %q, want it to say the import is completed", errb)
	}
	if got := onlyRecord(t, st); got != key {
		t.Errorf("resumed import filed %q, want the record begun, %q", got, key)
	}
	bag, err := bagcheck.Check(context.Background(), st, key)
	if err != nil {
		t.Fatalf("resumed record: %v", err)
	}
	for _, p := range []string{"data/files/002_Minutes.pdf", "data/original/WhatsApp-Chat-with-Roads-Team.zip"} {
		if bag.Payload[p] == "" {
			t.Errorf("resumed record lacks %s: %v", p, bag.Payload)
		}
	}
}
