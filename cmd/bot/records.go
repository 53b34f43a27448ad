package main

import (
	"bytes"
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
	"text/tabwriter"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

const recordsUsage = `usage: bot records COMMAND [flags] [args]

Commands for records officers. Each takes --help, and --json for scripts.

  ls [CLASS] [--since DATE] [--until DATE]   list records (CLASS includes its sub-classes)
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

func (m *Main) recordsList(ctx context.Context, args []string) error {
	fs, asJSON := recordsFlags("ls", "ls [CLASS] [--since DATE] [--until DATE] [--json]",
		"Lists filed records, oldest first: id, date filed, class, title, security marking and\n"+
			"who filed it. CLASS (a code such as 100-20) includes the classes below it.")
	since, until := &dateFlag{}, &dateFlag{end: true}
	fs.Var(since, "since", "only records filed on or after `DATE`")
	fs.Var(until, "until", "only records filed on or before `DATE`")
	disposed := fs.Bool("disposed", false, "list the destroyed records (their residual entries) instead")
	pos, err := m.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageError(fmt.Errorf("records ls: one CLASS at most, got %q", pos))
	}
	if *disposed {
		st, _, err := m.openRecords(ctx, fs, *asJSON)
		if err != nil {
			return err
		}
		return m.recordsDisposed(ctx, st, *asJSON)
	}
	f := records.Filter{Since: since.t, Until: until.t}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Since.After(f.Until) {
		return usageError(fmt.Errorf("records ls: --since %s is after --until %s: no date is in that range (swap them?)",
			f.Since.Format(time.DateOnly), f.Until.Format(time.DateOnly)))
	}
	if len(pos) == 1 {
		f.Class = pos[0]
	}
	st, plan, err := m.openRecords(ctx, fs, *asJSON)
	if err != nil {
		return err
	}
	if f.Class != "" && plan.Class(f.Class) == nil {
		fmt.Fprintf(m.Stderr, "note: %q is not a class of the current file plan; matching records filed under it earlier\n", f.Class)
	}
	es, err := records.List(ctx, st, f)
	if err != nil {
		return err
	}
	m.warnUnindexed(ctx, st, "ls")
	if *asJSON {
		if es == nil {
			es = []filing.IndexEntry{}
		}
		return m.printJSON(es)
	}
	if len(es) == 0 {
		fmt.Fprintln(m.Stdout, "No records match.")
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSHORT ID\tFILED\tCLASS\tTITLE\tMARKING\tFILED BY")
	for _, e := range es {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", tty(e.ID), tty(filing.ShortID(e.ID)), e.FiledAt.UTC().Format(time.DateOnly), tty(e.ClassCode),
			short(e.Title, 60), tty(e.Marking), tty(e.FiledBy.Name()))
	}
	tw.Flush()
	fmt.Fprintln(m.Stdout, plural(len(es), "record", "records"))
	return nil
}

func (m *Main) recordsShow(ctx context.Context, args []string) error {
	fs, asJSON := recordsFlags("show", "show ID|SHORT-ID [--json]",
		"Shows a record's metadata, where each of its objects is stored, whether it is on legal\n"+
			"hold now, and its history: every audit event of the record, oldest first (filed,\n"+
			"fixity checks with their outcome, holds put on and lifted with who and why).\n"+
			"SHORT-ID is the 8 characters that end the record's folder name.")
	pos, err := m.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageError(errors.New("records show: give one record ID"))
	}
	st, _, err := m.openRecords(ctx, fs, *asJSON)
	if err != nil {
		return err
	}
	d, err := records.Show(ctx, st, pos[0])
	if errors.Is(err, records.ErrNoRecord) {
		if shown, derr := m.showDisposed(ctx, st, pos[0], *asJSON); shown || derr != nil {
			return derr
		}
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(d)
	}
	r := d.Record
	w := m.Stdout
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-18s %s\n", k+":", tty(v))
		}
	}
	field("Record", r.ID)
	field("Title", r.Title)
	field("Description", r.Description)
	field("Class", r.Class.String())
	field("Security marking", r.Marking)
	field("Filed by", withID(r.FiledBy))
	field("Filed", r.FiledAt.UTC().Format(time.RFC3339))
	field("Thread", fmt.Sprintf("%s to %s, %s", r.ThreadStart.UTC().Format(time.RFC3339), r.ThreadEnd.UTC().Format(time.RFC3339), plural(r.Messages, "message", "messages")))
	var people []string
	for _, p := range r.Participants {
		people = append(people, fmt.Sprintf("%s [%s]", filing.Label(p), p.ID))
	}
	field("Participants", strings.Join(people, ", "))
	channel := firstOf(r.Source.Channel.Name, r.Source.Channel.ID)
	if r.Source.Platform != capture.WhatsApp {
		channel = "#" + channel // a WhatsApp chat is not a channel
	}
	field("Source", strings.Join(nonEmpty(string(r.Source.Platform), firstOf(r.Source.Workspace.Name, r.Source.Workspace.ID), channel), ", "))
	field("Permalink", r.Source.Permalink)
	field("Retention", r.Retention.Rule)
	if r.Retention.DisposalDate != "" {
		field("Disposal", fmt.Sprintf("%s on %s", r.Retention.Action, r.Retention.DisposalDate))
	} else {
		field("Disposal", "none: kept permanently")
	}
	switch {
	case d.OnHold:
		field("Legal hold", "ON: every object is under legal hold; it must not be disposed of")
	case d.PartialHold:
		field("Legal hold", "PARTIAL: some objects are under legal hold, some not (see below; run hold --on again)")
	default:
		field("Legal hold", "off")
	}
	field("Stored at", d.Where)
	for _, o := range d.Objects {
		if o.Path == filing.PDFFile {
			field("Read it", o.Where+" (A4 PDF, for reading and printing)")
		}
	}
	if d.Unindexed {
		field("Index entry", "MISSING: found by walking "+filing.RecordsPrefix+"; ls, due and find do not list it (see records verify)")
	}
	if d.Filed != nil {
		field("Filing event", d.FiledEventWhere)
		field("Sealed with", "tag manifest sha256 "+d.Filed.TagManifestSHA256)
	} else {
		field("Filing event", "MISSING from the audit trail ("+d.FiledEventWhere+")")
	}
	fmt.Fprintf(w, "\nObjects (%d):\n", len(d.Objects))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, o := range d.Objects {
		lock := ""
		if !o.RetainUntil.IsZero() {
			lock = "locked until " + o.RetainUntil.UTC().Format(time.DateOnly)
		}
		if o.LegalHold {
			lock = strings.TrimSpace(lock + " LEGAL HOLD")
		}
		fmt.Fprintf(tw, "  %s\t%d bytes\t%s\n", tty(o.Path), o.Size, lock)
		for _, v := range o.Later {
			what := "a new version"
			if v.DeleteMarker {
				what = "a delete marker"
			}
			fmt.Fprintf(tw, "  \t\tTAMPERED: %s written over it (version %s, %s)\n", what, tty(v.ID), v.LastModified.UTC().Format(time.RFC3339))
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nHistory (%s):\n", plural(len(d.History), "event", "events"))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, ev := range d.History {
		what := ev.Type
		switch ev.Type {
		case "filed":
			what = "filed"
		case "fixity-check":
			what = "fixity check: " + firstOf(ev.Outcome, "?")
		case "legal-hold-on":
			what = "legal hold ON (" + firstOf(ev.Outcome, "?") + ")"
		case "legal-hold-off":
			what = "legal hold OFF (" + firstOf(ev.Outcome, "?") + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\tby %s\t%s\n", ev.At.UTC().Format(time.RFC3339), tty(what), tty(filing.Label(ev.By)), tty(ev.Detail))
	}
	tw.Flush()
	return nil
}

// withID labels a person with their id, unless the id is the name itself
// (as for people named with --by): "carol (U-carol)", "Rita Records".
func withID(p capture.Person) string {
	l := filing.Label(p)
	if p.ID == "" || strings.EqualFold(p.ID, l) || strings.EqualFold(p.ID, p.Name()) {
		return l
	}
	return l + " (" + p.ID + ")"
}

// nonEmpty returns the strings of s that are not empty.
func nonEmpty(s ...string) []string {
	var out []string
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func (m *Main) recordsVerify(ctx context.Context, args []string) error {
	fs, asJSON := recordsFlags("verify", "verify ID... | --all [--by NAME] [--json]",
		"Re-reads every object of each record as filed (on S3, its first version), checks its\n"+
			"SHA-256 against the bag's manifests and the tag manifest against the checksum in the\n"+
			"filing event of the audit trail. Reports each missing, altered or extra object, and\n"+
			"as tampered any record object, index entry or audit event that was written over\n"+
			"or deleted after filing (a later version or delete marker), or whose Object Lock\n"+
			"retention was shortened. Reports as forged a filing event, index entry, later audit\n"+
			"event, review decision or residual entry that no trusted key signed, and checks that\n"+
			"each audit event names the one before it. --all walks records/\n"+
			"itself: records without an index entry, and index entries without a record, are\n"+
			"reported; each record is printed as soon as it is checked (--all: in no set order).\n"+
			"Records a fixity-check event per record in audit/, and exits with status 1\n"+
			"if any record fails. The local store keeps no versions: see the README.")
	all := fs.Bool("all", false, "check every record in the store")
	by := fs.String("by", "", "who is checking, for the audit trail (default: the current user)")
	ids, err := m.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *all == (len(ids) > 0) {
		fs.Usage()
		return usageError(errors.New("records verify: give record IDs or --all"))
	}
	signer, keys, err := m.keyring()
	if err != nil {
		return err
	}
	st, _, err := m.openRecords(ctx, fs, *asJSON)
	if err != nil {
		return err
	}
	if ids, err = m.resolveIDs(ctx, st, ids); err != nil {
		return err
	}
	limits, err := records.Limitation(ctx, st)
	if err != nil {
		return err
	}
	if limits != "" {
		fmt.Fprintln(m.Stderr, "note: "+limits)
	}
	v := &records.Verifier{Store: st, By: officer(*by), Signer: signer, Keys: keys, SignedSince: m.Config.SignedSince}
	if signer == nil {
		fmt.Fprintln(m.Stderr, "note: no RECORDBOT_SECRET_KEY, so this check is not added to the records' audit trails (signatures are checked with RECORDBOT_TRUSTED_KEYS)")
	}
	start := time.Now()
	last := start
	printed := false
	progress := terminal(m.Stderr) // quiet when piped or logged
	v.Progress = func(p records.Progress) {
		if progress == nil {
			return
		}
		if now := time.Now(); now.Sub(last) >= 2*time.Second || (printed && p.Done == p.Total) {
			last, printed = now, true
			fmt.Fprintf(progress, "verify: %d/%d records, %.1f MB read, %d failed, %s\n",
				p.Done, p.Total, float64(p.Bytes)/1e6, p.Failed, now.Sub(start).Round(time.Second))
		}
	}
	// Each result is shown as soon as its record is checked, so neither
	// the output nor the heap waits for the whole store.
	var checked, failed, tampered, forged int
	show := &verifyPrinter{w: m.Stdout, asJSON: *asJSON}
	each := func(r records.Result) error {
		checked++
		if !r.OK() {
			failed++
		}
		tampered += countKind(r, records.Tampered)
		forged += countKind(r, records.Forged)
		return show.result(r)
	}
	if *all {
		err = v.VerifyEach(ctx, each)
	} else {
		var res []records.Result
		if res, err = v.Verify(ctx, ids); err == nil {
			for _, r := range res {
				if err = each(r); err != nil {
					break
				}
			}
		}
	}
	if err != nil {
		show.abort()
		return fmt.Errorf("verify could not finish (%s reported above; nothing is known about the others): %w",
			plural(checked, "record was", "records were"), err)
	}
	if err := show.end(); err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(m.Stdout, "%s checked: %d intact, %d failed. Fixity-check events recorded under %s\n",
			plural(checked, "record", "records"), checked-failed, failed, st.Where(filing.AuditPrefix))
		if tampered > 0 {
			fmt.Fprintf(m.Stdout, "%s written over, deleted or unlocked after filing (tampered): the versions filed were checked, and are the records.\n", plural(tampered, "object was", "objects were"))
		}
		if forged > 0 {
			fmt.Fprintf(m.Stdout, "FORGED: %s not signed by this deployment's key: made with the store's keys, not by recordbot. "+
				"Do not act on what they say (a record, an event, a review, a destruction) until it is investigated.\n",
				plural(forged, "object is", "objects are"))
		}
	}
	if *all {
		if err := m.verifyIndex(ctx, st, *asJSON); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d records failed the fixity check", failed, checked)}
	}
	return nil
}

// verifyPrinter shows verify's results one at a time: as lines, or as the
// elements of one JSON array.
type verifyPrinter struct {
	w      io.Writer
	asJSON bool
	n      int
}

func (vp *verifyPrinter) result(r records.Result) error {
	w := vp.w
	vp.n++
	if vp.asJSON {
		var buf bytes.Buffer
		if err := jsonEncoder(&buf, "  ").Encode(r); err != nil {
			return err
		}
		sep := ",\n  "
		if vp.n == 1 {
			sep = "[\n  "
		}
		_, err := fmt.Fprintf(w, "%s%s", sep, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		return err
	}
	status := "ok    "
	if !r.OK() {
		status = "FAILED"
	}
	id, title := r.ID, short(r.Title, 50)
	if id == "" {
		id, title = "(no record id)", tty(r.Where)
	}
	fmt.Fprintf(w, "%s  %s  %s  %s  (%d objects, %.1f MB)\n", status, tty(id), tty(r.ClassCode), title, r.Objects, float64(r.Bytes)/1e6)
	for _, p := range r.Problems {
		fmt.Fprintf(w, "        %-8s %s", p.Kind, tty(p.Path))
		if p.Detail != "" {
			fmt.Fprintf(w, " (%s)", tty(p.Detail))
		}
		fmt.Fprintln(w)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "        note     %s\n", tty(n))
	}
	return nil
}

// end closes the JSON array ([] when there were no results).
func (vp *verifyPrinter) end() error {
	if !vp.asJSON {
		return nil
	}
	var err error
	if vp.n == 0 {
		_, err = fmt.Fprintln(vp.w, "[]")
	} else {
		_, err = fmt.Fprint(vp.w, "\n]\n")
	}
	return err
}

// abort closes a JSON array cut short, so what was printed still parses;
// the error says the check did not finish.
func (vp *verifyPrinter) abort() {
	if vp.asJSON && vp.n > 0 {
		fmt.Fprint(vp.w, "\n]\n")
	}
}

// warnUnindexed tells the officer on standard error about record folders
// that the index, which cmd goes by, does not know.
func (m *Main) warnUnindexed(ctx context.Context, st filing.Store, cmd string) {
	folders, err := records.Unindexed(ctx, st)
	if err != nil {
		fmt.Fprintf(m.Stderr, "warning: could not check for records missing from the index: %v\n", err)
		return
	}
	if len(folders) == 0 {
		return
	}
	fmt.Fprintf(m.Stderr, "warning: %s no index entry, so %s does not see them; run `bot records verify --all`:\n", plural(len(folders), "record folder has", "record folders have"), cmd)
	for i, f := range folders {
		if i == 10 {
			fmt.Fprintf(m.Stderr, "  … and %d more\n", len(folders)-i)
			break
		}
		fmt.Fprintf(m.Stderr, "  %s\n", tty(st.Where(f)))
	}
}

// countKind counts the problems of kind in r.
func countKind(r records.Result, kind string) int {
	n := 0
	for _, p := range r.Problems {
		if p.Kind == kind {
			n++
		}
	}
	return n
}

func (m *Main) recordsRegister(ctx context.Context, args []string) error {
	fs, asJSON := recordsFlags("register", "register [--json]",
		"Writes the register of each class that has records, from the index: registers/CODE.csv\n"+
			"(for spreadsheets) and registers/CODE.json. The bot also adds each record to its\n"+
			"register as it is filed; run this to rebuild them. No record is changed.")
	if _, err := m.parseArgs(fs, args); err != nil {
		return err
	}
	st, _, err := m.openRecords(ctx, fs, *asJSON)
	if err != nil {
		return err
	}
	trusted, err := m.trusted()
	if err != nil {
		return err
	}
	keys, err := records.WriteRegisters(ctx, st, trusted)
	if err != nil {
		return err
	}
	if *asJSON {
		where := make([]string, 0, len(keys))
		for _, k := range keys {
			where = append(where, st.Where(k))
		}
		return m.printJSON(where)
	}
	for _, k := range keys {
		fmt.Fprintln(m.Stdout, tty(st.Where(k)))
	}
	fmt.Fprintln(m.Stdout, plural(len(keys)/2, "register", "registers")+" written")
	return nil
}

func (m *Main) recordsDue(ctx context.Context, args []string) error {
	fs, asJSON := recordsFlags("due", "due [--before DATE] [--json]",
		"Lists the records whose disposal date is before DATE (default: tomorrow, so every\n"+
			"record due today or earlier), grouped by disposal action, for a disposal review.\n"+
			"Records under legal hold are marked: they must not be disposed of.")
	before := &dateFlag{}
	fs.Var(before, "before", "disposal dates before `DATE`")
	if _, err := m.parseArgs(fs, args); err != nil {
		return err
	}
	if before.t.IsZero() {
		before.t = time.Now().UTC().AddDate(0, 0, 1)
	}
	st, _, err := m.openRecords(ctx, fs, *asJSON)
	if err != nil {
		return err
	}
	trusted, err := m.trusted()
	if err != nil {
		return err
	}
	gs, err := records.Due(ctx, st, trusted, before.t)
	if err != nil {
		return err
	}
	m.warnUnindexed(ctx, st, "due")
	if *asJSON {
		if gs == nil {
			gs = []records.DueGroup{}
		}
		return m.printJSON(gs)
	}
	if len(gs) == 0 {
		fmt.Fprintf(m.Stdout, "No records are due for disposal before %s.\n", before.t.Format(time.DateOnly))
		return nil
	}
	for i, g := range gs {
		if i > 0 {
			fmt.Fprintln(m.Stdout)
		}
		fmt.Fprintf(m.Stdout, "%s (%d):\n", strings.ToUpper(string(g.Action)), len(g.Records))
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  DUE\tID\tCLASS\tTITLE\tHOLD")
		for _, r := range g.Records {
			hold := ""
			if r.LegalHold {
				hold = "LEGAL HOLD: do not dispose"
			}
			if r.Problem != "" {
				hold = strings.TrimPrefix(hold+"; ", "; ") + "REVIEW NOT TRUSTED: " + r.Problem
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", tty(r.DisposalDate), tty(r.ID), tty(r.ClassCode), short(r.Title, 60), hold)
		}
		tw.Flush()
	}
	return nil
}

func (m *Main) recordsHold(ctx context.Context, args []string) error {
	fs, asJSON := recordsFlags("hold", "hold ID|SHORT-ID --on --reason TEXT | --off [--reason TEXT] [--by NAME] [--json]",
		"Puts a legal hold on every object of the record (--on), or lifts it (--off), through\n"+
			"S3 Object Lock, and records it in the audit trail. Needs an S3 bucket created with\n"+
			"Object Lock; the local store has none.")
	on := fs.Bool("on", false, "put the legal hold on")
	off := fs.Bool("off", false, "lift the legal hold")
	reason := fs.String("reason", "", "why (an FOI or litigation reference), for the audit trail; required with --on")
	by := fs.String("by", "", "who is acting, for the audit trail (default: the current user)")
	pos, err := m.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *on == *off {
		fs.Usage()
		return usageError(errors.New("records hold: give one record ID and either --on or --off"))
	}
	if *on && strings.TrimSpace(*reason) == "" {
		fs.Usage()
		return usageError(fmt.Errorf("records hold: %w: give --reason", records.ErrNoReason))
	}
	st, _, err := m.openRecords(ctx, fs, *asJSON)
	if err != nil {
		return err
	}
	signer, err := m.mustSigner()
	if err != nil {
		return err
	}
	res, err := records.Hold(ctx, st, signer, pos[0], *on, *reason, officer(*by))
	if err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(res)
	}
	if res.Unchanged {
		if res.On {
			fmt.Fprintf(m.Stdout, "Record %s is already on legal hold: nothing was changed or recorded.\n", tty(res.ID))
		} else {
			fmt.Fprintf(m.Stdout, "Record %s is not on legal hold: nothing was changed or recorded.\n", tty(res.ID))
		}
		return nil
	}
	state := "lifted from"
	if res.On {
		state = "put on"
	}
	fmt.Fprintf(m.Stdout, "Legal hold %s %d object versions of record %s.\nRecorded in the audit trail: %s\n", state, res.Objects, tty(res.ID), tty(st.Where(res.Event)))
	return nil
}

func (m *Main) recordsFind(ctx context.Context, args []string) error {
	fs, asJSON := recordsFlags("find", "find TEXT [--class CLASS] [--json]",
		"Finds records whose title, participants (display or real name), filer, channel or\n"+
			"transcript contain TEXT (ignoring case, accents and width; a phone number however it\n"+
			"is spaced or prefixed), for Freedom of Information requests. It\n"+
			"reads every record's transcript: see the README for how far that scales. Records\n"+
			"whose transcript could not be read are listed, and make the exit status 1.")
	class := fs.String("class", "", "only records in class `CODE` and the classes below it")
	pos, err := m.parseArgs(fs, args)
	if err != nil {
		return err
	}
	text := strings.Join(pos, " ")
	if strings.TrimSpace(text) == "" {
		fs.Usage()
		return usageError(errors.New("records find: give the text to find"))
	}
	st, plan, err := m.openRecords(ctx, fs, *asJSON)
	if err != nil {
		return err
	}
	if *class != "" && plan.Class(*class) == nil {
		fmt.Fprintf(m.Stderr, "note: %q is not a class of the current file plan; searching records filed under it earlier\n", *class)
	}
	hits, not, err := records.Find(ctx, st, text, records.Filter{Class: *class})
	if err != nil {
		return err
	}
	m.warnUnindexed(ctx, st, "find")
	var incomplete error
	if len(not) > 0 {
		incomplete = &exitError{code: 1, err: fmt.Errorf("%s could not be searched: the answer is incomplete", plural(len(not), "record", "records"))}
	}
	if *asJSON {
		if hits == nil {
			hits = []records.Hit{}
		}
		if err := m.printJSON(hits); err != nil {
			return err
		}
		for _, u := range not {
			fmt.Fprintf(m.Stderr, "not searched: %s %s: %s\n", tty(u.ID), tty(u.Where), tty(u.Reason))
		}
		return incomplete
	}
	defer func() {
		if len(not) == 0 {
			return
		}
		fmt.Fprintf(m.Stdout, "\nNOT SEARCHED: %s whose transcript could not be read (title, names and channel only were searched):\n", plural(len(not), "record", "records"))
		for _, u := range not {
			fmt.Fprintf(m.Stdout, "%s  %s\n    %s\n    %s\n", tty(u.ID), short(u.Title, 60), tty(u.Reason), tty(u.Where))
		}
	}()
	if len(hits) == 0 {
		if len(not) > 0 {
			fmt.Fprintf(m.Stdout, "No record searched contains %q.\n", text)
		} else {
			fmt.Fprintf(m.Stdout, "No records contain %q.\n", text)
		}
		return incomplete
	}
	for _, h := range hits {
		fmt.Fprintf(m.Stdout, "%s  %s  %s  %s\n", tty(h.ID), h.FiledAt.UTC().Format(time.DateOnly), tty(h.ClassCode), tty(h.Title))
		fmt.Fprintf(m.Stdout, "    found in: %s\n", strings.Join(h.Matched, ", "))
		if h.Snippet != "" {
			fmt.Fprintf(m.Stdout, "    %s\n", tty(h.Snippet))
		}
		fmt.Fprintf(m.Stdout, "    %s\n", tty(h.Where))
	}
	fmt.Fprintln(m.Stdout, plural(len(hits), "record", "records"))
	return incomplete
}

// planClass is one class of the file plan, for `records classes --json`.
type planClass struct {
	Code        string      `json:"code"`
	Title       string      `json:"title"`
	Description string      `json:"description,omitempty"`
	Retention   string      `json:"retention,omitempty"`
	Period      string      `json:"retention_period,omitempty"`
	Disposal    string      `json:"disposal_action,omitempty"`
	Markings    []string    `json:"markings"`
	Default     string      `json:"default_marking,omitempty"`
	FilesHere   bool        `json:"takes_records"`
	Children    []planClass `json:"classes,omitempty"`
}

func toPlanClass(c *filing.Class) planClass {
	pc := planClass{Code: c.Code, Title: c.Title, Description: c.Description, Markings: c.Markings, Default: c.Default, FilesHere: c.Leaf()}
	if c.Retention != nil {
		pc.Retention, pc.Period, pc.Disposal = c.Retention.String(), c.Retention.Period(), string(c.Retention.Action)
	}
	for _, ch := range c.Children {
		pc.Children = append(pc.Children, toPlanClass(ch))
	}
	return pc
}

func (m *Main) recordsClasses(_ context.Context, args []string) error {
	fs, asJSON := recordsFlags("classes", "classes [--json]",
		"Prints the file plan the bot files under (FILE_PLAN, or the sample plan) as a tree:\n"+
			"each class's code and title, its retention rule and disposal action, and the\n"+
			"security markings allowed in it (the default first). Records are filed only in\n"+
			"classes without sub-classes. It reads no store.")
	if _, err := m.parseArgs(fs, args); err != nil {
		return err
	}
	plan := filing.SamplePlan()
	source := "the sample plan built into the bot (set FILE_PLAN for your own)"
	if m.Config.FilePlan != "" {
		p, err := filing.LoadPlan(m.Config.FilePlan)
		if err != nil {
			return usageError(err)
		}
		plan, source = p, m.Config.FilePlan
	}
	out := m.Stdout
	if *asJSON {
		out = m.Stderr
	}
	fmt.Fprintf(out, "file plan: %s\n", tty(source))
	if *asJSON {
		cs := []planClass{}
		for _, c := range plan.Classes {
			cs = append(cs, toPlanClass(c))
		}
		return m.printJSON(struct {
			Name     string      `json:"name,omitempty"`
			Markings []string    `json:"markings"`
			Default  string      `json:"default_marking,omitempty"`
			Classes  []planClass `json:"classes"`
		}{plan.Name, plan.Markings, plan.Default, cs})
	}
	if plan.Name != "" {
		fmt.Fprintf(m.Stdout, "%s\n", tty(plan.Name))
	}
	var walk func(cs []*filing.Class, indent string)
	walk = func(cs []*filing.Class, indent string) {
		for _, c := range cs {
			fmt.Fprintf(m.Stdout, "%s%s  %s\n", indent, tty(c.Code), tty(c.Title))
			if c.Leaf() {
				rule := "no retention rule"
				if c.Retention != nil {
					rule = c.Retention.String()
				}
				marks := make([]string, 0, len(c.Markings))
				for _, mk := range c.Markings {
					if mk == c.Default {
						mk += " (default)"
					}
					marks = append(marks, mk)
				}
				fmt.Fprintf(m.Stdout, "%s    retention: %s\n", indent, tty(rule))
				fmt.Fprintf(m.Stdout, "%s    markings:  %s\n", indent, tty(strings.Join(marks, ", ")))
			}
			walk(c.Children, indent+"  ")
		}
	}
	walk(plan.Classes, "")
	fmt.Fprintf(m.Stdout, "%s; records are filed in the %d without sub-classes\n", plural(len(plan.All()), "class", "classes"), len(plan.Leaves()))
	return nil
}

// recordsKey prints the deployment's public signing key: what a checker
// without the secret sets RECORDBOT_TRUSTED_KEYS to.
func (m *Main) recordsKey(args []string) error {
	fs, asJSON := recordsFlags("key", "key", "Prints the public half of the key recordbot signs evidence with (derived from\nRECORDBOT_SECRET_KEY): set RECORDBOT_TRUSTED_KEYS to it where verify runs without the secret.")
	if _, err := m.parseArgs(fs, args); err != nil {
		return err
	}
	s, err := m.mustSigner()
	if err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(map[string]string{"public_key": s.Public(), "key_id": s.KeyID()})
	}
	fmt.Fprintf(m.Stdout, "%s\t%s\n", s.Public(), s.KeyID())
	return nil
}
