package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/filing/s3"
)

// finding is one line of `bot check`: what was checked, how it went, and
// what to do when it did not pass.
type finding struct {
	Name   string
	Status string // "ok", "warn" or "FAIL"
	Detail string
}

// findings collects the lines of a check run.
type findings []finding

func (f *findings) ok(name, format string, a ...any) {
	*f = append(*f, finding{name, "ok", fmt.Sprintf(format, a...)})
}

func (f *findings) warn(name, format string, a ...any) {
	*f = append(*f, finding{name, "warn", fmt.Sprintf(format, a...)})
}

func (f *findings) fail(name, format string, a ...any) {
	*f = append(*f, finding{name, "FAIL", fmt.Sprintf(format, a...)})
}

// failed reports whether any check failed.
func (f findings) failed() bool {
	for _, x := range f {
		if x.Status == "FAIL" {
			return true
		}
	}
	return false
}

func (f findings) print(w io.Writer) {
	for _, x := range f {
		fmt.Fprintf(w, "%-4s  %-22s %s\n", x.Status, x.Name, x.Detail)
	}
}

// lockState is what is known of the store's protection of records.
type lockState struct {
	// Protected is true when Object Lock was proven to be enforced.
	Protected bool
	// Describe is a short phrase for banners and /readyz.
	Describe string
	// Err says why records are not protected, with advice.
	Err error
}

// proveLock checks how the store protects records: for S3, a canary
// shows Object Lock enforced; the local store has no Object Lock.
func (m *Main) proveLock(ctx context.Context, st filing.Store) lockState {
	switch s := st.(type) {
	case filing.LockProver:
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := s.ProveLock(ctx); err != nil {
			return lockState{Describe: "NOT protected: Object Lock not enforced", Err: err}
		}
		return lockState{Protected: true, Describe: "Object Lock " + s.LockMode() + ", enforced (proven with a canary)"}
	case *local.Store:
		return lockState{Describe: "local directory: files made read-only, no Object Lock (for trials and single machines)"}
	}
	return lockState{Describe: "unknown store"}
}

// allowUnlocked reports whether the admin chose to run against an S3
// bucket whose Object Lock is not enforced (RECORDBOT_ALLOW_UNLOCKED).
func (m *Main) allowUnlocked() bool {
	v := strings.ToLower(strings.TrimSpace(m.Getenv("RECORDBOT_ALLOW_UNLOCKED")))
	return v == "true" || v == "1" || v == "yes"
}

// requireLock runs, before a command files a record into st, the proof
// that `check` and `serve` run: an S3 bucket whose Object Lock is not
// proven enforced is refused, unless RECORDBOT_ALLOW_UNLOCKED=true, and
// then a warning goes to standard error. The local store has no Object
// Lock to prove.
func (m *Main) requireLock(ctx context.Context, st filing.Store) error {
	if _, lockable := st.(filing.LockProver); !lockable {
		return nil
	}
	ls := m.proveLock(ctx, st)
	if ls.Protected {
		return nil
	}
	if !m.allowUnlocked() {
		return fmt.Errorf("nothing filed: %w\nrecordbot will not file records that can be altered; to file anyway (a trial), set RECORDBOT_ALLOW_UNLOCKED=true", ls.Err)
	}
	fmt.Fprintf(m.Stderr, "warning: records are NOT protected: %v\n  (filing anyway: RECORDBOT_ALLOW_UNLOCKED=true)\n", ls.Err)
	return nil
}

// runCheck runs `bot check`: every check an admin needs before staff use
// the bot, a line each with what to fix. It exits 1 when any fails.
func (m *Main) runCheck(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bot check", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: bot check [flags]\n\nChecks the store (reachable, bucket, Object Lock enforced), the file plan,\nthe secret key, the fonts for PDF transcripts and each configured chat platform;\nexits 1 if any check fails.")
		fs.PrintDefaults()
	}
	var f findings
	if err := m.parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		f.fail("configuration", "%v", err)
		f.print(m.Stdout)
		return &exitError{code: 2, err: errors.New("the configuration is not valid")}
	}
	f.ok("configuration", "read from the environment and flags")
	m.checkAll(ctx, &f)
	f.print(m.Stdout)
	if f.failed() {
		return &exitError{code: 1, err: errors.New("some checks failed; fix them and run `bot check` again")}
	}
	fmt.Fprintln(m.Stdout, "all checks passed")
	return nil
}

// checkAll runs the checks after the configuration was read.
func (m *Main) checkAll(ctx context.Context, f *findings) {
	plan := filing.SamplePlan()
	if m.Config.FilePlan != "" {
		p, err := filing.LoadPlan(m.Config.FilePlan)
		if err != nil {
			// The bot would not start with this plan: the sample plan
			// is not what it would file under.
			f.fail("file plan", "%v", err)
		}
		plan = p
	}
	if plan != nil {
		f.ok("file plan", "%s: %d classes to file in", plan.Name, len(plan.Leaves()))
	}
	m.checkStore(ctx, f)
	m.checkSecret(f)
	m.checkFonts(f) // check_fonts.go
	m.checkSlack(ctx, f)
	m.checkMattermost(ctx, f)
	m.checkTeams(ctx, f)
}

func (m *Main) checkStore(ctx context.Context, f *findings) {
	if !m.Config.useS3() {
		dir := m.Config.RecordsDir
		fi, err := os.Stat(dir)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if werr := canWriteIn(nearestDir(dir)); werr != nil {
				f.fail("store", "local directory %s does not exist, and `bot serve` could not create it: %v; create it for the bot's user, or mount a volume there", dir, werr)
				return
			}
			f.warn("store", "local directory %s does not exist yet; `bot serve` creates it", dir)
			return
		case err != nil:
			f.fail("store", "local directory %s: %v", dir, err)
			return
		case !fi.IsDir():
			f.fail("store", "%s is not a directory: set RECORDS_DIR to a directory", dir)
			return
		}
		if werr := canWriteIn(dir); werr != nil {
			f.fail("store", "local directory %s: %v; give the bot's user write access to it", dir, werr)
			return
		}
		f.ok("store", "local directory %s", dir)
		f.warn("object lock", "the local store has no Object Lock: records are made read-only, and anyone with write access to %s can still change them; use S3 with Object Lock for records that must stay unaltered", dir)
		return
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := s3.Open(octx, m.Config.S3)
	if err != nil {
		f.fail("store", "%v", s3Setting(err))
		return
	}
	f.ok("store", "%s reachable with these credentials", st.Where(""))
	ls := m.proveLock(ctx, st)
	switch {
	case ls.Protected:
		f.ok("object lock", "%s", ls.Describe)
	case m.allowUnlocked():
		f.warn("object lock", "%v; RECORDBOT_ALLOW_UNLOCKED=true lets the bot run anyway, and records are NOT protected", ls.Err)
	default:
		f.fail("object lock", "%v", ls.Err)
	}
}

// nearestDir returns dir, or the nearest folder above it that exists.
func nearestDir(dir string) string {
	for {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return dir
		}
		dir = up
	}
}

// canWriteIn proves that this process can create files in the folder dir,
// by creating and removing an empty folder there: what `bot serve` does
// to a local store. The error says as whom.
func canWriteIn(dir string) error {
	tmp, err := os.MkdirTemp(dir, ".recordbot-check-")
	if err != nil {
		who := "this user"
		if u, uerr := user.Current(); uerr == nil {
			who = fmt.Sprintf("user %s (uid %s)", u.Username, u.Uid)
		}
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("%s may not create anything in %s", who, dir)
		}
		return fmt.Errorf("%s cannot create anything in %s (%w)", who, dir, errors.Unwrap(err))
	}
	return os.Remove(tmp)
}

func (m *Main) checkSecret(f *findings) {
	need := m.Config.Mattermost.URL != "" || m.Config.Slack.ClientID != ""
	if m.Config.SecretKey == "" {
		if need {
			f.fail("secret key", "%v (needed to seal installation tokens)", withSetting(bot.ErrNoKey))
		} else {
			f.warn("secret key", "RECORDBOT_SECRET_KEY is not set: records will be filed unsigned, and verify cannot tell them from records made with the bucket's keys alone")
		}
		return
	}
	if _, err := bot.NewVault(m.Config.SecretKey); err != nil {
		f.fail("secret key", "%v", withSetting(err))
		return
	}
	f.ok("secret key", "RECORDBOT_SECRET_KEY is a valid 32-byte key")
	s, err := m.signer()
	if err != nil {
		f.fail("signing key", "%v", err)
		return
	}
	f.ok("signing key", "records are signed with %s (`bot records key` prints its public key for RECORDBOT_TRUSTED_KEYS)", s.KeyID())
}
