package main

import (
	"strings"
	"testing"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// `bot file` and `bot import whatsapp` run the proof of Object Lock that
// `check` and `serve` run: a bucket without it is refused and nothing is
// filed, unless RECORDBOT_ALLOW_UNLOCKED=true, and then they warn.
func TestFilingCommandsRefuseUnlockedBucket(t *testing.T) {
	t.Parallel()
	zipName, _ := exportZip(t, t.TempDir())
	commands := map[string][]string{
		"file":   {"file", "--snapshot", "testdata/thread.json", "--class", "100-20", "--title", "Roads budget decision", "--by", "carol"},
		"import": {"import", "whatsapp", zipName, "--class", "100-20", "--title", "Roads team chat", "--timezone", "Europe/London", "--by", "carol"},
	}
	for name, args := range commands {
		t.Run(name, func(t *testing.T) {
			env := s3Env(t, miniotest.Options{NoLock: true})
			env["RECORDBOT_SECRET_KEY"] = testSecretKey
			out, stderr, code := runBot(t, env, args...)
			if code == 0 || strings.Contains(out, "Filed as") || !strings.Contains(stderr, "RECORDBOT_ALLOW_UNLOCKED=true") || !strings.Contains(stderr, "Object Lock") {
				t.Errorf("bot %s into a bucket without Object Lock: exit %d, out %q, stderr %q; want a refusal naming Object Lock and RECORDBOT_ALLOW_UNLOCKED", name, code, out, stderr)
			}
			for info, err := range s3Of(t, env).List(t.Context(), filing.RecordsPrefix) {
				if err != nil {
					t.Fatal(err)
				}
				t.Errorf("bot %s refused, but stored %s", name, info.Key)
			}
			env["RECORDBOT_ALLOW_UNLOCKED"] = "true"
			out, stderr, code = runBot(t, env, args...)
			if code != 0 || !strings.Contains(out, "Filed as") || !strings.Contains(stderr, "NOT protected") {
				t.Errorf("bot %s with RECORDBOT_ALLOW_UNLOCKED=true: exit %d, out %q, stderr %q; want it filed with a warning that records are not protected", name, code, out, stderr)
			}
		})
	}
}
