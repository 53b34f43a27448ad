package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/filing"
)

// The search index through the CLI: status, catching up, a search that
// says the index is behind, find catching up by itself, and verify --all
// reporting a record gone from the store without a recorded destruction.
func TestRecordsIndexCommands(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"RECORDS_DIR": dir, "RECORDBOT_SECRET_KEY": testSecretKey, "RECORDS_INDEX": filepath.Join(t.TempDir(), "index.sqlite")}
	first := fileSnapshot(t, env, "testdata/thread.json", "Roads budget decision")

	run := func(wantCode int, args ...string) string {
		t.Helper()
		out, stderr, code := runBot(t, env, args...)
		if code != wantCode {
			t.Fatalf("bot %q: exit %d, want %d; out %q, stderr %q", args, code, wantCode, out, stderr)
		}
		return out + stderr
	}
	if out := run(0, "records", "index", "status"); !strings.Contains(out, "never caught up") {
		t.Errorf("index status before any sync = %q, want never caught up", out)
	}
	if out := run(0, "records", "index", "sync"); !strings.Contains(out, "Read 1 record") || !strings.Contains(out, "current") {
		t.Errorf("index sync = %q, want 1 record read, current", out)
	}
	second := fileSnapshot(t, env, "testdata/thread.json", "Bridge repairs zanzibar")
	if out := run(0, "records", "find", "zanzibar", "--no-sync"); !strings.Contains(out, "1 record(s) behind") || !strings.Contains(out, "No records contain") {
		t.Errorf("find --no-sync with the index behind = %q; want it to say so", out)
	}
	out := run(0, "records", "find", "zanzibar")
	if !strings.Contains(out, second.ID) || !strings.Contains(out, "found in: title") || !strings.Contains(out, "; current") {
		t.Errorf("find (catching up) = %q; want the second record, and the index current", out)
	}
	if out := run(0, "records", "find", "budget", "--from", "2000", "--to", "2001"); !strings.Contains(out, "No records contain") {
		t.Errorf("find --from/--to outside the filing dates = %q; want nothing", out)
	}
	if out := run(2, "records", "find", "--limit", "0", "x"); !strings.Contains(out, "--limit") {
		t.Errorf("find --limit 0 = %q", out)
	}
	if out := run(0, "records", "find", "--scan", "zanzibar"); !strings.Contains(out, second.ID) {
		t.Errorf("find --scan = %q; want the record", out)
	}

	// Removed by hand, outside recordbot.
	if err := os.Remove(filepath.Join(dir, filing.IndexPrefix+first.ID+".json")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, filepath.FromSlash(first.Key))); err != nil {
		t.Fatal(err)
	}
	if out := run(1, "records", "verify", "--all"); !strings.Contains(out, "GONE: record "+first.ID) {
		t.Errorf("verify --all with a record removed by hand = %q; want it reported gone", out)
	}
	if out := run(0, "records", "index", "rebuild", "--json"); !strings.Contains(out, `"records": 1`) {
		t.Errorf("index rebuild --json = %q; want 1 record", out)
	}
}
