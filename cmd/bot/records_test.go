package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// runBot runs the bot with args against env and returns stdout, stderr and
// the exit code main would use.
func runBot(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	err := m.Run(context.Background(), args)
	code := 0
	if err != nil {
		code = exitCode(err)
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

// recordEnvs returns the environment of a local store and of an S3 store.
func recordEnvs(t *testing.T) map[string]map[string]string {
	c := miniotest.Config(t)
	return map[string]map[string]string{
		"local": {"RECORDS_DIR": t.TempDir()},
		"s3": {"S3_ENDPOINT": c.Endpoint, "S3_BUCKET": miniotest.NewBucket(t, miniotest.Options{}), "S3_ACCESS_KEY": c.AccessKey,
			"S3_SECRET_KEY": c.SecretKey, "S3_INSECURE": "true", "S3_PATH_STYLE": "on", "S3_REGION": c.Region},
	}
}

func TestRecordsCommands(t *testing.T) {
	for name, env := range recordEnvs(t) {
		t.Run(name, func(t *testing.T) {
			out, stderr, code := runBot(t, env, "file", "--snapshot", "testdata/thread.json", "--class", "100-20",
				"--title", "Roads budget decision", "--by", "carol", "--json")
			if code != 0 {
				t.Fatalf("bot file: exit %d: %s", code, stderr)
			}
			var sum filing.Summary
			if err := json.Unmarshal([]byte(out), &sum); err != nil {
				t.Fatalf("bot file --json: %v", err)
			}
			year := sum.FiledAt.Format("2006")

			checks := []struct {
				args     []string
				wantCode int
				want     []string // in stdout
			}{
				{[]string{"records"}, 0, []string{"verify ID... | --all"}},
				{[]string{"records", "ls", "100-20", "--since", year, "--until", year}, 0, []string{sum.ID, "Roads budget decision", "OFFICIAL", "carol", "1 records"}},
				{[]string{"records", "ls", "100", "--until", "2000"}, 0, []string{"No records match."}},
				{[]string{"records", "ls", "--since", "yesterday"}, 1, nil},
				{[]string{"records", "show", sum.ID}, 0, []string{"Roads budget decision", "100 Administration > 100-20", "data/files/001_minutes.txt", "alice (U001)", sum.Where}},
				{[]string{"records", "show", "nope"}, 1, nil},
				{[]string{"records", "verify", sum.ID}, 0, []string{"ok", "1 records checked: 1 intact, 0 failed"}},
				{[]string{"records", "verify"}, 1, nil},
				{[]string{"records", "register"}, 0, []string{"100-20.csv", "1 registers written"}},
				{[]string{"records", "due", "--before", "2999"}, 0, []string{"REVIEW (1):", sum.ID}},
				{[]string{"records", "due"}, 0, []string{"No records are due"}},
				{[]string{"records", "find", "option", "B", "--class", "100"}, 0, []string{sum.ID, "found in: transcript", "1 records"}},
				{[]string{"records", "find", "bob"}, 0, []string{"participant"}},
				{[]string{"records", "find", "zebra"}, 0, []string{"No records contain"}},
				{[]string{"records", "verify", "--help"}, 2, nil},
			}
			for _, c := range checks {
				out, stderr, code := runBot(t, env, c.args...)
				if code != c.wantCode {
					t.Errorf("bot %q: exit %d, want %d; stderr: %s", c.args, code, c.wantCode, stderr)
				}
				for _, w := range c.want {
					if !strings.Contains(out, w) {
						t.Errorf("bot %q output = %q, want it to contain %q", c.args, out, w)
					}
				}
			}

			// Legal hold: Object Lock on S3, a clear refusal locally.
			out, stderr, code = runBot(t, env, "records", "hold", sum.ID, "--on", "--reason", "FOI 2025/17")
			if name == "local" {
				if code != 1 || !strings.Contains(stderr, "Object Lock") {
					t.Errorf("bot records hold on the local store: exit %d, stderr %q; want 1 and an Object Lock explanation", code, stderr)
				}
			} else {
				if code != 0 || !strings.Contains(out, "Legal hold put on") {
					t.Errorf("bot records hold --on: exit %d, out %q, stderr %q", code, out, stderr)
				}
				if out, _, _ := runBot(t, env, "records", "show", sum.ID); !strings.Contains(out, "LEGAL HOLD") {
					t.Errorf("bot records show after hold = %q, want LEGAL HOLD marks", out)
				}
				if out, _, _ := runBot(t, env, "records", "hold", sum.ID, "--off"); !strings.Contains(out, "lifted") {
					t.Errorf("bot records hold --off = %q", out)
				}
			}

			// A record altered behind the bot's back fails verify, with
			// exit status 1, in human and JSON form.
			alterObject(t, env, sum.Key+"data/files/001_minutes.txt")
			out, _, code = runBot(t, env, "records", "verify", "--all")
			if code != 1 || !strings.Contains(out, "FAILED") || !strings.Contains(out, "altered  data/files/001_minutes.txt") {
				t.Errorf("bot records verify --all after tampering: exit %d, output %q; want 1 and the altered file", code, out)
			}
			out, _, code = runBot(t, env, "records", "verify", "--json", sum.ID)
			var res []records.Result
			if err := json.Unmarshal([]byte(out), &res); err != nil || code != 1 || len(res) != 1 || res[0].OK() {
				t.Errorf("bot records verify --json: exit %d, %v, results %+v", code, err, res)
			}
		})
	}
}

// alterObject overwrites the object at key behind the bot's back.
func alterObject(t *testing.T, env map[string]string, key string) {
	t.Helper()
	data := []byte("forged")
	if dir := env["RECORDS_DIR"]; dir != "" {
		p := filepath.Join(dir, filepath.FromSlash(key))
		os.Chmod(p, 0o644)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	st, err := filing.OpenS3(context.Background(), filing.S3Config{Endpoint: env["S3_ENDPOINT"], Bucket: env["S3_BUCKET"],
		AccessKey: env["S3_ACCESS_KEY"], SecretKey: env["S3_SECRET_KEY"], Insecure: true, PathStyle: "on", Region: env["S3_REGION"]})
	if err != nil {
		t.Fatal(err)
	}
	// A new version over the key: what reads return from now on.
	if _, err := st.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{}); err != nil && !errors.Is(err, filing.ErrExist) {
		t.Fatalf("overwrite %s: %v", key, err)
	}
}
