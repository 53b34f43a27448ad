package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/filing/s3"
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

// testSecretKey is the deployment's RECORDBOT_SECRET_KEY in these tests:
// records are filed signed, and verify checks with its public key.
const testSecretKey = "7265636f7264626f7420636d642f626f74207465737420736563726574206b79"

// recordEnvs returns the environment of a local store and of an S3 store.
func recordEnvs(t *testing.T) map[string]map[string]string {
	c := miniotest.Config(t)
	return map[string]map[string]string{
		"local": {"RECORDS_DIR": t.TempDir(), "RECORDBOT_SECRET_KEY": testSecretKey, "RECORDS_INDEX": filepath.Join(t.TempDir(), "index.sqlite")},
		"s3": {"RECORDS_INDEX": filepath.Join(t.TempDir(), "index.sqlite"), "S3_ENDPOINT": c.Endpoint, "S3_BUCKET": miniotest.NewBucket(t, miniotest.Options{}), "S3_ACCESS_KEY": c.AccessKey,
			"S3_SECRET_KEY": c.SecretKey, "S3_INSECURE": "true", "S3_PATH_STYLE": "on", "S3_REGION": c.Region, "RECORDBOT_SECRET_KEY": testSecretKey},
	}
}

// testSigner is the signing key derived from testSecretKey, as the bot
// derives it.
func testSigner(t testing.TB) *filing.Signer {
	t.Helper()
	m := &Main{Config: Config{SecretKey: testSecretKey}}
	s, err := m.signer()
	if err != nil || s == nil {
		t.Fatalf("signer: %v", err)
	}
	return s
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
				{[]string{"records", "ls", "100-20", "--since", year, "--until", year}, 0, []string{"store: ", sum.ID, "Roads budget decision", "OFFICIAL", "carol", "\n1 record\n"}},
				{[]string{"records", "ls", "100", "--until", "2000"}, 0, []string{"No records match."}},
				{[]string{"records", "ls", "--since", "yesterday"}, 2, nil},
				{[]string{"records", "show", sum.ID}, 0, []string{"Roads budget decision", "100 Administration > 100-20", "data/files/001_minutes.txt", "alice (Alice Smith) [U001]", sum.Where, "Legal hold:        off", "History (1 event):", "filed  by carol"}},
				{[]string{"records", "show", filing.ShortID(sum.ID)}, 0, []string{"Record:            " + sum.ID, "data/transcript.pdf"}},
				{[]string{"records", "show", "nope"}, 1, nil},
				{[]string{"records", "verify", sum.ID}, 0, []string{"ok", "1 record checked: 1 intact, 0 failed"}},
				{[]string{"records", "verify"}, 2, nil},
				{[]string{"records", "register"}, 0, []string{"100-20.csv", "1 register written"}},
				{[]string{"records", "due", "--before", "2999"}, 0, []string{"REVIEW (1):", sum.ID}},
				{[]string{"records", "due"}, 0, []string{"No records are due"}},
				{[]string{"records", "find", "option", "B", "--class", "100"}, 0, []string{sum.ID, "found in: transcript", "\n1 record\n"}},
				{[]string{"records", "find", "bob"}, 0, []string{"participant"}},
				{[]string{"records", "find", "bob jones"}, 0, []string{sum.ID, "found in: participant, transcript", "Bob Jones"}},
				{[]string{"records", "classes"}, 0, []string{"file plan: the sample plan", "100-20  Committees and working groups", "retention: review 7 years", "markings:  OFFICIAL (default)"}},
				{[]string{"records", "find", "zebra"}, 0, []string{"No records contain"}},
				{[]string{"records", "verify", "--help"}, 0, []string{"usage: bot records verify"}},
				{[]string{"records", "hold", sum.ID, "--on"}, 2, nil},
				{[]string{"records", "show", sum.ID}, 0, []string{"Read it:           ", "data/transcript.pdf (A4 PDF, for reading and printing)"}},
			}
			for _, c := range checks {
				out, stderr, code := runBot(t, env, c.args...)
				if code != c.wantCode {
					t.Errorf("bot %q: exit %d, want %d; stderr: %s", c.args, code, c.wantCode, stderr)
				}
				if len(c.args) > 1 && c.args[1] != "classes" && !slices.Contains(c.args, "--help") && code != 2 && !strings.HasPrefix(out, "store: ") {
					t.Errorf("bot %q output = %q, want the store named on its first line", c.args, out)
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
				// A second --on says so and writes nothing.
				out, _, code = runBot(t, env, "records", "hold", filing.ShortID(sum.ID), "--on", "--reason", "FOI 2025/18")
				if code != 0 || !strings.Contains(out, "already on legal hold: nothing was changed or recorded") {
					t.Errorf("bot records hold --on twice: exit %d, out %q; want already on hold", code, out)
				}
				out, _, _ = runBot(t, env, "records", "show", sum.ID)
				for _, want := range []string{"LEGAL HOLD", "Legal hold:        ON", "History (3 events):", "fixity check: pass", "legal hold ON (applied)", "reason: FOI 2025/17"} {
					if !strings.Contains(out, want) {
						t.Errorf("bot records show after hold = %q, want %q", out, want)
					}
				}
				if strings.Contains(out, "FOI 2025/18") {
					t.Errorf("bot records show after a second hold --on = %q: the second hold was recorded", out)
				}
				if out, _, _ := runBot(t, env, "records", "hold", sum.ID, "--off"); !strings.Contains(out, "lifted") {
					t.Errorf("bot records hold --off = %q", out)
				}
				out, _, _ = runBot(t, env, "records", "show", "--json", sum.ID)
				var d records.Detail
				if err := json.Unmarshal([]byte(out), &d); err != nil || d.OnHold || len(d.History) != 4 || d.History[3].Type != "legal-hold-off" {
					t.Errorf("bot records show --json after hold off: %v, on hold %v, history %+v; want off and filed, fixity check, on, off", err, d.OnHold, d.History)
				}
			}

			// A record altered behind the bot's back fails verify, with
			// exit status 1, in human and JSON form.
			alterObject(t, env, sum.Key+"data/files/001_minutes.txt")
			out, _, code = runBot(t, env, "records", "verify", "--all")
			// S3 keeps the version filed: the new one is tampering.
			kind := map[string]string{"local": "altered ", "s3": "tampered"}[name]
			if code != 1 || !strings.Contains(out, "FAILED") || !strings.Contains(out, kind+" data/files/001_minutes.txt") {
				t.Errorf("bot records verify --all after tampering: exit %d, output %q; want 1 and the %s file", code, out, kind)
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
	st, err := s3.Open(context.Background(), s3.Config{Endpoint: env["S3_ENDPOINT"], Bucket: env["S3_BUCKET"],
		AccessKey: env["S3_ACCESS_KEY"], SecretKey: env["S3_SECRET_KEY"], Insecure: true, PathStyle: "on", Region: env["S3_REGION"]})
	if err != nil {
		t.Fatal(err)
	}
	// A new version over the key: what reads return from now on.
	if _, err := st.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{}); err != nil && !errors.Is(err, filing.ErrExist) {
		t.Fatalf("overwrite %s: %v", key, err)
	}
}

// fileSnapshot files a snapshot with the bot and returns its summary.
func fileSnapshot(t *testing.T, env map[string]string, snapshot, title string) filing.Summary {
	t.Helper()
	out, stderr, code := runBot(t, env, "file", "--snapshot", snapshot, "--class", "100-20", "--title", title, "--by", "carol", "--json")
	if code != 0 {
		t.Fatalf("bot file: exit %d: %s", code, stderr)
	}
	var sum filing.Summary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("bot file --json: %v", err)
	}
	return sum
}

// s3Of opens the S3 store of env.
func s3Of(t *testing.T, env map[string]string) *s3.Store {
	t.Helper()
	st, err := s3.Open(context.Background(), s3.Config{Endpoint: env["S3_ENDPOINT"], Bucket: env["S3_BUCKET"],
		AccessKey: env["S3_ACCESS_KEY"], SecretKey: env["S3_SECRET_KEY"], Insecure: true, PathStyle: "on", Region: env["S3_REGION"]})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A forged record (transcript, both manifests and the filing event each
// rewritten as a new version) and a record whose index entry was deleted
// make `records verify` exit 1, naming what was written over.
func TestRecordsVerifyReportsTampering(t *testing.T) {
	ctx := context.Background()
	env := recordEnvs(t)["s3"]
	st := s3Of(t, env)
	cl := miniotest.Client(t)
	put := func(key string, data []byte) {
		t.Helper()
		if _, err := cl.PutObject(ctx, st.Bucket(), key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(key string) []byte {
		t.Helper()
		rc, _, err := st.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sha := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	reseal := func(manifest []byte, path, sum string) []byte {
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(manifest)), "\n") {
			if strings.HasSuffix(l, " "+path) {
				l = sum + "  " + path
			}
			lines = append(lines, l)
		}
		return []byte(strings.Join(lines, "\n") + "\n")
	}

	forged := fileSnapshot(t, env, "testdata/thread.json", "Roads budget decision")
	hidden := fileSnapshot(t, env, "testdata/thread.json", "Roads budget follow-up")
	if _, stderr, code := runBot(t, env, "records", "verify", "--all"); code != 0 {
		t.Fatalf("bot records verify --all before tampering: exit %d: %s", code, stderr)
	}

	txt := bytes.Replace(get(forged.Key+filing.TextFile), []byte("Option B"), []byte("Option A"), 1)
	put(forged.Key+filing.TextFile, txt)
	man := reseal(get(forged.Key+filing.ManifestFile), filing.TextFile, sha(txt))
	put(forged.Key+filing.ManifestFile, man)
	tag := reseal(get(forged.Key+filing.TagManifestFile), filing.ManifestFile, sha(man))
	put(forged.Key+filing.TagManifestFile, tag)
	evKey := filing.EventKey(filing.Event{ID: forged.ID, Type: "filed"}, forged.FiledAt)
	var ev filing.Event
	if err := json.Unmarshal(get(evKey), &ev); err != nil {
		t.Fatal(err)
	}
	ev.TagManifestSHA256 = sha(tag)
	evJSON, _ := json.Marshal(ev)
	put(evKey, evJSON)
	idxKey := filing.IndexPrefix + hidden.ID + ".json"
	if err := cl.RemoveObject(ctx, st.Bucket(), idxKey, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	out, _, code := runBot(t, env, "records", "verify", forged.ID)
	for _, want := range []string{"FAILED", "tampered data/transcript.txt", "tampered manifest-sha256.txt", "tampered tagmanifest-sha256.txt", "tampered " + evKey} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("bot records verify (forged record): exit %d, output %q; want 1 and %q", code, out, want)
		}
	}
	out, _, code = runBot(t, env, "records", "verify", "--all")
	if code != 1 || !strings.Contains(out, "tampered "+idxKey+" (deleted since filing") || !strings.Contains(out, "2 records checked: 0 intact, 2 failed") {
		t.Errorf("bot records verify --all (hidden index entry): exit %d, output %q; want 1, the deleted index entry, 2 failed", code, out)
	}
	// --all --json streams its results as one JSON array.
	out, _, code = runBot(t, env, "records", "verify", "--all", "--json")
	var res []records.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 1 || len(res) != 2 || res[0].OK() || res[1].OK() ||
		!slices.ContainsFunc(res, func(r records.Result) bool { return r.ID == hidden.ID }) {
		t.Errorf("bot records verify --all --json: exit %d, %v, results %+v; want the two records, failed", code, err, res)
	}
	if out, _, code := runBot(t, env, "records", "ls"); code != 0 || !strings.Contains(out, hidden.ID) {
		t.Errorf("bot records ls with a hidden index entry: exit %d, output %q; want the record listed", code, out)
	}
	if out, _, code := runBot(t, env, "records", "show", forged.ID); code != 0 || !strings.Contains(out, "TAMPERED: a new version written over it") {
		t.Errorf("bot records show (forged): exit %d, output %q; want the later versions marked", code, out)
	}
}

// On the local store, a record without an index entry is still verified
// and shown, and verify says what it cannot detect there.
func TestRecordsUnindexedLocal(t *testing.T) {
	env := map[string]string{"RECORDS_DIR": t.TempDir(), "RECORDBOT_SECRET_KEY": testSecretKey}
	sum := fileSnapshot(t, env, "testdata/thread.json", "Roads budget decision")
	if _, stderr, _ := runBot(t, env, "records", "ls"); stderr != "" {
		t.Errorf("bot records ls with every record indexed: stderr %q, want none", stderr)
	}
	if err := os.Remove(filepath.Join(env["RECORDS_DIR"], "index", sum.ID+".json")); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runBot(t, env, "records", "verify", "--all")
	if code != 1 || !strings.Contains(out, "missing  index/"+sum.ID+".json") {
		t.Errorf("bot records verify --all (no index entry): exit %d, output %q; want 1 and the missing entry", code, out)
	}
	if !strings.Contains(stderr, "keeps no versions") {
		t.Errorf("bot records verify on the local store: stderr %q, want a note on what it cannot detect", stderr)
	}
	for _, cmd := range [][]string{{"ls"}, {"due", "--before", "2999"}, {"find", "option"}} {
		_, stderr, code := runBot(t, env, append([]string{"records"}, cmd...)...)
		if code != 0 || !strings.Contains(stderr, "1 record folder has no index entry") || !strings.Contains(stderr, filing.ShortID(sum.ID)) {
			t.Errorf("bot records %s (no index entry): exit %d, stderr %q; want a warning naming the folder", cmd[0], code, stderr)
		}
	}
	if out, stderr, code := runBot(t, env, "records", "show", sum.ID); code != 0 || !strings.Contains(out, "Index entry:") || !strings.Contains(out, "MISSING") {
		t.Errorf("bot records show (no index entry): exit %d, output %q, stderr %q; want the record, index entry MISSING", code, out, stderr)
	}
}

// Chat text printed by the records commands cannot drive the officer's
// terminal: escape sequences, control characters and bidi overrides are
// shown as visible escapes.
func TestRecordsOutputEscapesChatText(t *testing.T) {
	env := map[string]string{"RECORDS_DIR": t.TempDir(), "RECORDBOT_SECRET_KEY": testSecretKey}
	sum := fileSnapshot(t, env, "testdata/hostile.json", "Refund \u202Ednufer")
	for _, args := range [][]string{
		{"records", "find", "wire the refund"},
		{"records", "find", "mallory"},
		{"records", "ls"},
		{"records", "show", sum.ID},
		{"records", "verify", sum.ID},
		{"records", "due", "--before", "2999"},
	} {
		out, stderr, code := runBot(t, env, args...)
		if code != 0 {
			t.Errorf("bot %q: exit %d: %s", args, code, stderr)
		}
		for _, bad := range []string{"\x1b", "\x07", "\x00", "\u202E", "\u202C"} {
			if strings.Contains(out, bad) {
				t.Errorf("bot %q printed %q raw: %q", args, bad, out)
			}
		}
		if args[1] == "find" && args[2] == "wire the refund" && !strings.Contains(out, `Wire the refund\x1b]0;owned\x07\x1b[2J to account \u202E0987654321\u202C today\x00`) {
			t.Errorf("bot %q = %q, want the snippet with visible escapes", args, out)
		}
	}
}

// A wrong or forgotten store is an error with exit status 2, never an
// empty answer, and a read-only command creates no directory.
func TestRecordsRefuseMissingStore(t *testing.T) {
	envs := recordEnvs(t)
	for name, env := range envs {
		t.Run(name, func(t *testing.T) {
			// Nothing filed yet: no recordbot layout.
			for _, cmd := range [][]string{{"records", "ls"}, {"records", "find", "x"}, {"records", "due"}, {"records", "show", "0123abcd"}, {"records", "verify", "--all"}} {
				out, stderr, code := runBot(t, env, cmd...)
				if code != 2 || !strings.Contains(stderr, "no recordbot records here") || strings.Contains(out, "No records") {
					t.Errorf("bot %q on an empty store: exit %d, out %q, stderr %q; want 2 and no recordbot records", cmd, code, out, stderr)
				}
				if !strings.HasPrefix(out, "store: ") {
					t.Errorf("bot %q output = %q, want the store named first", cmd, out)
				}
			}
			fileSnapshot(t, env, "testdata/thread.json", "Roads budget decision")
			if _, stderr, code := runBot(t, env, "records", "ls"); code != 0 {
				t.Fatalf("bot records ls on the filled store: exit %d: %s", code, stderr)
			}
			wrong := maps.Clone(env)
			if name == "local" {
				wrong["RECORDS_DIR"] = filepath.Join(t.TempDir(), "mistyped")
			} else {
				wrong["S3_PREFIX"] = "mistyped"
			}
			out, stderr, code := runBot(t, wrong, "records", "ls")
			if code != 2 || strings.Contains(out, "No records") {
				t.Errorf("bot records ls on a wrong store: exit %d, out %q, stderr %q; want 2", code, out, stderr)
			}
			if name == "local" {
				if _, err := os.Stat(wrong["RECORDS_DIR"]); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("bot records ls created %s: %v", wrong["RECORDS_DIR"], err)
				}
			} else {
				wrong = maps.Clone(env)
				wrong["S3_BUCKET"] = "no-such-bucket-here"
				if out, stderr, code := runBot(t, wrong, "records", "ls"); code != 2 {
					t.Errorf("bot records ls on a missing bucket: exit %d, out %q, stderr %q; want 2", code, out, stderr)
				}
			}
		})
	}
	// No store configured at all (the S3_* variables forgotten, no
	// RECORDS_DIR): the default ./records is not used by records commands.
	dir := t.TempDir()
	t.Chdir(dir)
	out, stderr, code := runBot(t, map[string]string{}, "records", "ls")
	if code != 2 || !strings.Contains(stderr, "no record store is configured") {
		t.Errorf("bot records ls without configuration: exit %d, out %q, stderr %q; want 2", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "records")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bot records ls without configuration created ./records: %v", err)
	}
}

// JSON output keeps ">" as it is, and `bot --help` is the bot's usage.
func TestRecordsJSONAndHelp(t *testing.T) {
	env := recordEnvs(t)["local"]
	fileSnapshot(t, env, "testdata/thread.json", "Roads > budget")
	out, stderr, code := runBot(t, env, "records", "ls", "--json")
	if code != 0 || strings.Contains(out, `\u003e`) || !strings.Contains(out, "100 Administration > 100-20") {
		t.Errorf("bot records ls --json: exit %d, stderr %q, out %q; want > unescaped", code, stderr, out)
	}
	if !strings.HasPrefix(stderr, "store: ") {
		t.Errorf("bot records ls --json stderr = %q, want the store named there", stderr)
	}
	var es []filing.IndexEntry
	if err := json.Unmarshal([]byte(out), &es); err != nil || len(es) != 1 || es[0].Participants[0] != "alice (Alice Smith)" {
		t.Errorf("bot records ls --json: %v, %+v; want one entry with real names", err, es)
	}
	out, _, code = runBot(t, env, "records", "classes", "--json")
	var plan struct {
		Classes []struct {
			Code    string `json:"code"`
			Classes []struct {
				Code      string   `json:"code"`
				Retention string   `json:"retention"`
				Disposal  string   `json:"disposal_action"`
				Markings  []string `json:"markings"`
			} `json:"classes"`
		} `json:"classes"`
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil || code != 0 || len(plan.Classes) == 0 || len(plan.Classes[0].Classes) == 0 ||
		plan.Classes[0].Classes[0].Retention == "" || plan.Classes[0].Classes[0].Disposal == "" || len(plan.Classes[0].Classes[0].Markings) == 0 {
		t.Errorf("bot records classes --json: exit %d, %v, %+v", code, err, plan)
	}
	for _, args := range [][]string{{"--help"}, {"-h"}} {
		out, stderr, code := runBot(t, env, args...)
		if code != 0 || strings.Contains(out+stderr, "Usage of bot serve") || !strings.Contains(out, "bot records COMMAND") {
			t.Errorf("bot %q: exit %d, out %q, stderr %q; want the bot's usage", args, code, out, stderr)
		}
	}
}

// find lists the records whose transcript it could not read, and exits 1:
// "no records contain" would be a false answer.
func TestRecordsFindReportsUnsearched(t *testing.T) {
	for name, env := range recordEnvs(t) {
		t.Run(name, func(t *testing.T) {
			sum := fileSnapshot(t, env, "testdata/thread.json", "Roads budget decision")
			removeFiled(t, env, sum.Key+filing.TextFile)
			out, stderr, code := runBot(t, env, "records", "find", "zebra")
			if code != 1 || strings.Contains(out, "No records contain") || !strings.Contains(out, "NOT SEARCHED: 1 record") || !strings.Contains(out, sum.ID) {
				t.Errorf("bot records find with a transcript gone: exit %d, out %q, stderr %q; want 1 and the record not searched", code, out, stderr)
			}
		})
	}
}

// removeFiled removes every version of the object at key, as only someone
// able to bypass governance-mode Object Lock could.
func removeFiled(t *testing.T, env map[string]string, key string) {
	t.Helper()
	if dir := env["RECORDS_DIR"]; dir != "" {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(key))); err != nil {
			t.Fatal(err)
		}
		return
	}
	ctx := context.Background()
	cl := miniotest.Client(t)
	for v := range cl.ListObjects(ctx, env["S3_BUCKET"], minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
		if v.Err != nil {
			t.Fatal(v.Err)
		}
		if err := cl.RemoveObject(ctx, env["S3_BUCKET"], v.Key, minio.RemoveObjectOptions{VersionID: v.VersionID, GovernanceBypass: true}); err != nil {
			t.Fatalf("remove %s version %s: %v", v.Key, v.VersionID, err)
		}
	}
}

// An unknown class in `bot file` gives the class error alone: the marking
// would default from the class, so "choose a security marking" misleads.
func TestFileUnknownClassOnlyClassError(t *testing.T) {
	env := recordEnvs(t)["local"]
	_, stderr, code := runBot(t, env, "file", "--snapshot", "testdata/thread.json", "--class", "999-99", "--title", "Roads")
	if code == 0 || !strings.Contains(stderr, `no class "999-99"`) || strings.Contains(strings.ToLower(stderr), "marking") {
		t.Errorf("bot file --class 999-99: exit %d, stderr %q; want only the class error", code, stderr)
	}
}
