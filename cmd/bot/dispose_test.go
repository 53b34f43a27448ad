package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// fileAt files a small thread in class at a past date straight through the
// filing service, so that it is due now. (An S3 bucket with Object Lock
// refuses retention dates in the past: the S3 store here has none; the
// records package tests disposal under Object Lock.)
func fileAt(t *testing.T, st filing.Store, class, title string, at time.Time) *filing.Summary {
	t.Helper()
	svc, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan(), Organisation: "Example Council", Signer: testSigner(t)})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	th := &capture.Thread{Platform: capture.Slack, Workspace: capture.Workspace{ID: "T1"}, Channel: capture.Channel{ID: "C1", Name: "general"},
		ThreadID: "1", CapturedAt: t0, Messages: []capture.Message{{ID: "1", Author: capture.Person{ID: "U1", DisplayName: "alice"}, Time: t0, Text: "Agreed.", ReadableText: "Agreed."}}}
	sum, err := svc.FileThread(context.Background(), filing.Request{RequestedBy: capture.Person{ID: "U-carol", DisplayName: "carol"},
		Thread: capture.Ref{Platform: capture.Slack, WorkspaceID: "T1", ChannelID: "C1", ThreadID: "1"}, Title: title, ClassCode: class,
		Marking: "OFFICIAL", Via: "test", RequestedAt: at}, th)
	if err != nil {
		t.Fatalf("file %q: %v", title, err)
	}
	return sum
}

func TestRecordsDispose(t *testing.T) {
	t.Parallel()
	c := miniotest.Config(t)
	dir := t.TempDir()
	envs := map[string]map[string]string{
		"local": {"RECORDS_DIR": filepath.Join(dir, "store"), "RECORDBOT_SECRET_KEY": testSecretKey},
		"s3": {"S3_ENDPOINT": c.Endpoint, "S3_BUCKET": miniotest.NewBucket(t, miniotest.Options{NoLock: true}), "S3_ACCESS_KEY": c.AccessKey,
			"S3_SECRET_KEY": c.SecretKey, "S3_INSECURE": "true", "S3_PATH_STYLE": "on", "S3_REGION": c.Region, "RECORDBOT_SECRET_KEY": testSecretKey},
	}
	for name, env := range envs {
		t.Run(name, func(t *testing.T) {
			var st filing.Store
			if name == "s3" {
				st = s3Of(t, env)
			} else {
				l, err := local.New(env["RECORDS_DIR"])
				if err != nil {
					t.Fatal(err)
				}
				st = l
			}
			old := fileAt(t, st, "100-01", "Old letter", time.Date(2015, 3, 1, 9, 0, 0, 0, time.UTC))
			decision := fileAt(t, st, "100-40", "Executive decision", time.Date(2000, 6, 1, 9, 0, 0, 0, time.UTC))
			minutes := fileAt(t, st, "100-20", "Committee minutes", time.Date(2010, 1, 1, 9, 0, 0, 0, time.UTC))
			auth := []string{"--authority", "Disposal authority 2027/03", "--approved-by", "Head of IG", "--by", "officer"}
			out := t.TempDir()

			checks := []struct {
				args     []string
				wantCode int
				want     []string // in stdout, or stderr when the exit code is not 0
				notWant  string
			}{
				{[]string{"records", "dispose", "destroy"}, 1, []string{"--authority", "--approved-by"}, ""},
				{[]string{"records", "dispose", "shred"}, 2, []string{"unknown action"}, ""},
				{append([]string{"records", "dispose", "destroy", "--dry-run"}, auth...), 0, []string{"WOULD DESTROY", "Dry run: nothing was changed", "data/thread.json", old.ID}, ""},
				{[]string{"records", "ls"}, 0, []string{old.ID}, ""},
				{append([]string{"records", "dispose", "destroy"}, auth...), 0, []string{"DESTROYED", old.ID, "Disposal certificate:", ".csv\n", ".pdf\n"}, ""},
				{[]string{"records", "ls"}, 0, []string{minutes.ID}, old.ID},
				{[]string{"records", "show", old.ID}, 0, []string{"Old letter", "destroyed on ", "under Disposal authority 2027/03", "Head of IG", "tag manifest sha256 "}, ""},
				{[]string{"records", "ls", "--disposed"}, 0, []string{old.ID, "Old letter", "destroyed on ", "under Disposal authority 2027/03", "1 record destroyed"}, ""},
				{append([]string{"records", "dispose", "destroy", minutes.ID}, auth...), 1, []string{"due for review, not destroy"}, ""},
				{append([]string{"records", "dispose", "review", minutes.ID, "--keep-until", "2999-01-01"}, auth...), 0, []string{"KEPT", "new disposal date 2999-01-01"}, ""},
				{append([]string{"records", "dispose", "review", minutes.ID}, auth...), 2, []string{"--keep-until DATE or --destroy"}, ""},
				// --json: the report names the certificate's PDF beside its JSON and CSV.
				{append([]string{"records", "dispose", "transfer", "--to", out, "--destroy-after", "--json"}, auth...), 0,
					[]string{decision.ID, `"outcome": "transferred and destroyed"`, `"certificate_csv": "certificates/`, `"certificate_pdf": "certificates/`, `.pdf"`}, ""},
				{[]string{"records", "export", minutes.ID, "--out", filepath.Join(out, "foi.tar")}, 0, []string{"Exported 1 record to", "SHA-256"}, ""},
				{[]string{"records", "export", old.ID, "--out", filepath.Join(out, "old.tar")}, 1, []string{"destroyed on"}, ""},
			}
			for _, c := range checks {
				stdout, stderr, code := runBot(t, env, c.args...)
				if code != c.wantCode {
					t.Errorf("bot %q: exit %d, want %d; stdout %q, stderr %q", c.args, code, c.wantCode, stdout, stderr)
				}
				got := stdout
				if code != 0 {
					got += stderr
				}
				for _, w := range c.want {
					if !strings.Contains(got, w) {
						t.Errorf("bot %q output = %q, want it to contain %q", c.args, got, w)
					}
				}
				if c.notWant != "" && strings.Contains(stdout, c.notWant) {
					t.Errorf("bot %q output = %q, want it without %q", c.args, stdout, c.notWant)
				}
			}
			// The destroyed record stays in its class's register, marked.
			rc, _, err := st.Open(context.Background(), records.RegisterKey("100-01", "csv"))
			if err != nil {
				t.Fatalf("register of 100-01 after destruction: %v", err)
			}
			csv, _ := io.ReadAll(rc)
			rc.Close()
			if !strings.Contains(string(csv), old.ID) || !strings.Contains(string(csv), "destroyed on ") || !strings.Contains(string(csv), "Disposal authority 2027/03") {
				t.Errorf("register of 100-01 after destruction = %q, want the record marked destroyed under its authority", csv)
			}
			tarName := filepath.Base(strings.TrimSuffix(decision.Key, "/")) + ".tar"
			for _, f := range []string{tarName, tarName + ".sha256", "foi.tar", "foi.tar.sha256"} {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Errorf("after transfer and export: %v", err)
				}
			}
			if name == "local" {
				stdout, stderr, code := runBot(t, env, append([]string{"records", "dispose", "destroy", "--bypass-governance"}, auth...)...)
				if code != 1 || !strings.Contains(stderr, "no retention to bypass") {
					t.Errorf("--bypass-governance on the local store: exit %d, %q %q", code, stdout, stderr)
				}
				stdout, _, _ = runBot(t, env, append([]string{"records", "dispose", "destroy", "--json"}, auth...)...)
				if !regexp.MustCompile(`"records": \[\]`).MatchString(stdout) {
					t.Errorf("a second destroy run = %s, want no records", stdout)
				}
			}
		})
	}
}
