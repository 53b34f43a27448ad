package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

const recordsUsage = `usage: bot records COMMAND [flags] [args]

Commands for records officers. Each takes --help, and --json for scripts.

  ls [CLASS] [--since DATE] [--until DATE]   list records (CLASS includes its sub-classes); --check checks each in full
  show ID                                    a record's metadata, hold state and history (ID or short id)
  verify ID... | --all                       check every object as filed, and that nothing was written over it
  register                                   write the class registers (CSV and JSON) under registers/
  due [--before DATE]                        records past their disposal date, by disposal action
  hold ID --on --reason TEXT | --off         legal hold through S3 Object Lock
  find TEXT [--class CLASS] [--from DATE]... search titles, participants (display and real names) and transcripts
  index status|sync|rebuild                  the search index find uses: how current it is, catch up, rebuild
  classes                                    the file plan: codes, titles, retention, disposal, markings
  dispose destroy|transfer|review [ID...]    carry out what due lists, with --authority and --approved-by; writes a certificate
  export ID... --out FILE.tar|DIR            a record's complete package with its audit events, for FOI or migration
  ls --disposed                              the residual entries of destroyed records
  key                                        the deployment's public signing key, for RECORDBOT_TRUSTED_KEYS

ID is a record's full id, the short id ls shows (the 8 characters that end
its folder's name), or 8 or more characters from the start or end of its id
that no other record shares.

DATE is YYYY-MM-DD, YYYY-MM or YYYY (--since takes its first day, --until
its last). The store is the one the bot uses: S3_* or RECORDS_DIR; each
command names it on its first line ("store: ...", on standard error with
--json) and refuses a store that is not there or holds no records.

Exit status: 0 all good; 1 a record failed a check, could not be searched
or was not found, or the store failed part way; 2 a usage or configuration
error (including a store that is not there).
`

// runRecords runs `bot records ...`, the records team's commands.
func (m *Main) runRecords(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(m.Stdout, recordsUsage)
		return nil
	}
	cmd, args := args[0], args[1:]
	err := m.recordsCommand(ctx, cmd, args)
	if errors.Is(err, records.ErrNoRecord) && !strings.Contains(err.Error(), records.IDRule) {
		err = fmt.Errorf("%w (%s)", err, records.IDRule)
	}
	return err
}

// resolveIDs turns the record ids people typed (full ids, short ids, or
// parts of ids) into full ids, by records.Resolve; a part that is too
// short or names more than one record stops the command.
func (m *Main) resolveIDs(ctx context.Context, st filing.Store, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return ids, nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		full, err := records.Resolve(ctx, st, id)
		if err != nil {
			return nil, err
		}
		out[i] = full
	}
	return out, nil
}

// recordsCommand runs the records command cmd with its args.
func (m *Main) recordsCommand(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "ls", "list":
		return m.recordsList(ctx, args)
	case "show":
		return m.recordsShow(ctx, args)
	case "verify":
		return m.recordsVerify(ctx, args)
	case "register", "registers":
		return m.recordsRegister(ctx, args)
	case "due":
		return m.recordsDue(ctx, args)
	case "hold":
		return m.recordsHold(ctx, args)
	case "find":
		return m.recordsFindIndexed(ctx, args)
	case "index":
		return m.recordsIndex(ctx, args)
	case "classes", "plan":
		return m.recordsClasses(ctx, args)
	case "dispose":
		return m.recordsDispose(ctx, args)
	case "key":
		return m.recordsKey(args)
	case "export":
		return m.recordsExport(ctx, args)
	}
	fmt.Fprint(m.Stderr, recordsUsage)
	return usageError(fmt.Errorf("records: unknown command %q", cmd))
}

// usageError gives err exit status 2: the command line or the
// configuration is wrong, and nothing was looked at.
func usageError(err error) error {
	var ee *exitError
	if err == nil || errors.As(err, &ee) || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &exitError{code: 2, err: err}
}

// openRecords opens the store for a records command, names it on the
// first line of output (on standard error when asJSON, so the JSON stays
// whole), and refuses, with exit status 2, a store that is not there: no
// store configured, a local directory that does not exist (none is
// created), a bucket that cannot be opened, or a bucket, prefix or folder
// with nothing recordbot wrote in it. A wrong store must never look like
// an empty one.
func (m *Main) openRecords(ctx context.Context, fs *flag.FlagSet, asJSON bool) (filing.Store, *filing.Plan, error) {
	dirSet := m.Getenv("RECORDS_DIR") != ""
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "records-dir" {
			dirSet = true
		}
	})
	if !m.Config.useS3() {
		if !dirSet {
			return nil, nil, usageError(errors.New("no record store is configured: set S3_ENDPOINT and S3_BUCKET (and S3_PREFIX if the bot uses one), or RECORDS_DIR, as the bot has them"))
		}
		fi, err := os.Stat(m.Config.RecordsDir)
		switch {
		case errors.Is(err, iofs.ErrNotExist):
			return nil, nil, usageError(fmt.Errorf("record store %s: no such directory (check RECORDS_DIR or --records-dir; nothing was created)", m.Config.RecordsDir))
		case err != nil:
			return nil, nil, usageError(fmt.Errorf("record store: %w", err))
		case !fi.IsDir():
			return nil, nil, usageError(fmt.Errorf("record store %s: not a directory", m.Config.RecordsDir))
		}
	}
	st, plan, err := m.open(ctx)
	if err != nil {
		return nil, nil, usageError(fmt.Errorf("record store: %w", err))
	}
	out := m.Stdout
	if asJSON {
		out = m.Stderr
	}
	fmt.Fprintf(out, "store: %s\n", tty(strings.TrimSuffix(st.Where(""), "/")))
	if err := records.CheckLayout(ctx, st); err != nil {
		if errors.Is(err, records.ErrNoLayout) {
			return nil, nil, usageError(fmt.Errorf("record store: %w (check S3_BUCKET, S3_PREFIX or RECORDS_DIR)", err))
		}
		return nil, nil, usageError(fmt.Errorf("record store: %w", err))
	}
	return st, plan, nil
}

// plural writes "1 record", "2 records".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// recordsFlags is a command's flag set with its usage text.
func recordsFlags(name, synopsis, about string) (*flag.FlagSet, *bool) {
	fs := flag.NewFlagSet("bot records "+name, flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: bot records %s\n\n%s\n\nFlags:\n", synopsis, about)
		fs.PrintDefaults()
	}
	return fs, asJSON
}

// parseArgs parses flags placed before, between or after the positional
// arguments, and returns the positional ones.
func (m *Main) parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := m.parse(fs, args); err != nil {
		return nil, usageError(err)
	}
	var pos []string
	rest := fs.Args()
	for len(rest) > 0 {
		if a := rest[0]; len(a) > 1 && a[0] == '-' {
			if err := m.parseFlags(fs, rest); err != nil {
				return nil, usageError(err)
			}
			rest = fs.Args()
			continue
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	return pos, nil
}

// parseDate reads YYYY-MM-DD, YYYY-MM or YYYY; end picks the last day of a
// month or year rather than the first.
func parseDate(s string, end bool) (time.Time, error) {
	for _, f := range []struct {
		layout string
		years  int
		months int
	}{{time.DateOnly, 0, 0}, {"2006-01", 0, 1}, {"2006", 1, 0}} {
		t, err := time.Parse(f.layout, s)
		if err != nil {
			continue
		}
		if end && (f.years > 0 || f.months > 0) {
			t = t.AddDate(f.years, f.months, -1)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD, YYYY-MM or YYYY", s)
}

// dateFlag is a flag holding a date; end as for parseDate.
type dateFlag struct {
	t   time.Time
	end bool
}

func (d *dateFlag) String() string {
	if d == nil || d.t.IsZero() {
		return ""
	}
	return d.t.Format(time.DateOnly)
}

func (d *dateFlag) Set(s string) error {
	t, err := parseDate(s, d.end)
	d.t = t
	return err
}

func (m *Main) printJSON(v any) error { return jsonEncoder(m.Stdout, "").Encode(v) }

// jsonEncoder writes indented JSON, each line after the first starting
// with prefix, as every --json output does.
func jsonEncoder(w io.Writer, prefix string) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false) // "a > b" stays readable in titles and text
	return enc
}

// officer is who runs a command, for the audit trail.
func officer(by string) capture.Person {
	if by == "" {
		if u, err := user.Current(); err == nil {
			by = u.Username
		}
	}
	return capture.Person{ID: by, DisplayName: by}
}

// tty makes stored text safe to print on one terminal line: chat text,
// names and titles can hold escape sequences, control characters and bidi
// overrides, which filing.Visible writes as visible escapes.
func tty(s string) string {
	return strings.NewReplacer("\n", `\n`, "\t", " ").Replace(filing.Visible(s))
}

func short(s string, n int) string {
	s = tty(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
