package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/bagcheck"
	"github.com/recordbot/recordbot/internal/miniotest"
	"github.com/recordbot/recordbot/internal/storetest"
)

func testMain(env map[string]string) (*Main, *strings.Builder) {
	var errb strings.Builder
	return &Main{
		Stdout: io.Discard, Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
	}, &errb
}

// With no configuration at all the bot starts on the local store and the
// sample plan, serves /healthz and says which platforms need configuring.
func TestServeWithoutConfiguration(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr, text, stop := startServe(t, map[string]string{"LISTEN_ADDR": "127.0.0.1:0", "RECORDS_DIR": filepath.Join(dir, "records")})
	defer stop()
	for _, want := range []string{"records: " + filepath.Join(dir, "records"), "Example public body file plan", "Slack", "Mattermost"} {
		if !strings.Contains(text, want) {
			t.Errorf("banner lacks %q:\n%s", want, text)
		}
	}
	if code, body := get(t, "http://"+addr+"/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}
}

func TestFileCommandIntoMinIO(t *testing.T) {
	t.Parallel()
	st := miniotest.NewStore(t)
	c := miniotest.Config(t)
	env := map[string]string{
		"S3_ENDPOINT": c.Endpoint, "S3_BUCKET": st.Bucket(), "S3_ACCESS_KEY": c.AccessKey,
		"S3_SECRET_KEY": c.SecretKey, "S3_INSECURE": "true", "S3_PATH_STYLE": "on",
	}
	m, errb := testMain(env)
	var out strings.Builder
	m.Stdout = &out
	err := m.Run(context.Background(), []string{"file", "--snapshot", "testdata/thread.json", "--class", "100-20",
		"--title", "Roads budget: option B agreed", "--by", "alice"})
	if err != nil {
		t.Fatalf("bot file: %v\n%s", err, errb)
	}
	if !strings.Contains(out.String(), "Filed as ") || !strings.Contains(out.String(), "s3://"+st.Bucket()+"/records/100_Administration/") {
		t.Errorf("output = %q, want the record id and its s3:// place", out.String())
	}
	var key string
	for info, err := range st.List(context.Background(), filing.RecordsPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		if k, ok := strings.CutSuffix(info.Key, "bagit.txt"); ok {
			key = k
		}
	}
	bag, err := bagcheck.Check(context.Background(), st, key)
	if err != nil {
		t.Fatalf("bag at %q: %v", key, err)
	}
	want, _ := os.ReadFile("testdata/files/minutes.txt")
	if got := readObject(t, st, key+"data/files/001_minutes.txt"); got != string(want) {
		t.Errorf("filed minutes.txt = %q, want %q", got, want)
	}
	if len(bag.Payload) != 6 {
		t.Errorf("payload = %d files, want 6 (2 files, thread.json, 3 transcripts)", len(bag.Payload))
	}
	// Filing keeps the class register current.
	if csv := readObject(t, st, filing.RegistersPrefix+"100-20.csv"); !strings.Contains(csv, "Roads budget: option B agreed") {
		t.Errorf("register 100-20.csv lacks the record filed:\n%s", csv)
	}

	// Bad input: a clear error and nothing filed.
	m, errb = testMain(env)
	m.Stdout = io.Discard
	err = m.Run(context.Background(), []string{"file", "--snapshot", "testdata/thread.json", "--class", "200-20-01",
		"--title", "x", "--marking", "SECRET"})
	if err == nil || !strings.Contains(errb.String(), "SECRET is not allowed in 200-20-01") {
		t.Errorf("bot file with a disallowed marking: err %v, stderr %q", err, errb)
	}
	n := 0
	for _, err := range st.List(context.Background(), filing.IndexPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("index entries = %d, want 1: the bad request must file nothing", n)
	}
}

func readObject(t *testing.T, st filing.Store, key string) string {
	t.Helper()
	return string(storetest.Read(t, st, key))
}
