package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/filing/s3"
)

const disposeUsage = `usage: bot records dispose ACTION [ID...] --authority TEXT --approved-by NAME [flags]

Carries out what "bot records due" lists, for every record due for ACTION
(or only the IDs given, each of which must be due), and writes a disposal
certificate (JSON, CSV and a PDF/A to print) under certificates/, whose
paths it prints.

  destroy    delete every object of each record (every version, on S3), after
             writing its residual entry under disposed/; a record on legal hold
             or whose Object Lock retention has not ended is refused
  transfer   write each record as a BagIt tar (with its .sha256 beside it) to
             --to DIR or --to s3://BUCKET/PREFIX, check the copy against the
             record's manifests, and with --destroy-after destroy the source
  review     record a review decision: --keep-until DATE (a new disposal date)
             or --destroy (due for destruction from now)

A destruction that was interrupted (or refused by the store part way) is
finished by the next run of destroy (a transferred record too).

Flags:
`

// recordsDispose runs `bot records dispose ACTION ...`.
func (m *Main) recordsDispose(ctx context.Context, args []string) error {
	fs, asJSON := recordsFlags("dispose", "dispose", "")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), disposeUsage)
		fs.PrintDefaults()
	}
	authority := fs.String("authority", "", "the disposal `authority` (schedule or decision reference), required")
	approved := fs.String("approved-by", "", "`name` of who approved the disposal, required")
	by := fs.String("by", "", "who carries it out (default: the current user)")
	dry := fs.Bool("dry-run", false, "show exactly what would be done, change nothing")
	bypass := fs.Bool("bypass-governance", false, "destroy records whose GOVERNANCE retention has not ended (needs s3:BypassGovernanceRetention); never COMPLIANCE")
	to := fs.String("to", "", "transfer: destination `DIR` or s3://BUCKET/PREFIX (same S3 service and credentials)")
	destroyAfter := fs.Bool("destroy-after", false, "transfer: destroy each record once its copy is checked")
	keepUntil := &dateFlag{}
	fs.Var(keepUntil, "keep-until", "review: keep until `DATE`, the new disposal date")
	markDestroy := fs.Bool("destroy", false, "review: mark for destruction")
	reason := fs.String("reason", "", "review: why, for the audit trail")
	allowUnsigned := fs.Bool("allow-unsigned", false, "also dispose of records filed before recordbot signed its records (check them with verify first)")
	pos, err := m.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return usageError(errors.New("records dispose: give an action: destroy, transfer or review"))
	}
	action, ids := pos[0], pos[1:]
	d := records.Disposal{Authority: strings.TrimSpace(*authority), ApprovedBy: strings.TrimSpace(*approved), By: officer(*by),
		DryRun: *dry, BypassGovernance: *bypass}
	switch action {
	case "destroy", "transfer", "review":
	default:
		fs.Usage()
		return usageError(fmt.Errorf("records dispose: unknown action %q: want destroy, transfer or review", action))
	}
	if action == "review" && keepUntil.t.IsZero() == !*markDestroy {
		return usageError(errors.New("records dispose review: give either --keep-until DATE or --destroy"))
	}
	if action == "transfer" && *to == "" {
		return usageError(errors.New("records dispose transfer: give --to DIR or --to s3://BUCKET/PREFIX"))
	}
	// A missing key is reported with the other missing settings, by the
	// run; a malformed one here.
	if d.Signer, err = m.signer(); err != nil {
		return usageError(err)
	}
	if d.Keys, err = m.trusted(); err != nil {
		return err
	}
	st, plan, err := m.openRecords(ctx, fs, *asJSON)
	if err != nil {
		return err
	}
	d.Plan, d.AllowUnsigned, d.SignedSince = plan, *allowUnsigned, m.Config.SignedSince
	// The one id rule of every records command: short ids and parts of
	// ids name records here too.
	if ids, err = m.resolveIDs(ctx, st, ids); err != nil {
		return err
	}
	if *bypass {
		if _, ok := st.(*s3.Store); !ok {
			return errors.New("records dispose: --bypass-governance is for an S3 bucket with Object Lock; the local store has no retention to bypass")
		}
		if m.Config.S3.LockMode == "COMPLIANCE" {
			return errors.New("records dispose: records here are retained in COMPLIANCE mode (RECORD_LOCK_MODE): nobody, not even the account root, can delete them before their retention ends, so --bypass-governance cannot apply; dispose of them when it has")
		}
	}
	var rep *records.Report
	switch action {
	case "destroy":
		rep, err = records.Destroy(ctx, st, d, ids)
	case "transfer":
		dst, derr := m.destination(ctx, *to, st)
		if derr != nil {
			return derr
		}
		rep, err = records.Transfer(ctx, st, d, dst, *destroyAfter, ids)
	case "review":
		rep, err = records.Review(ctx, st, d, ids, keepUntil.t, *reason)
	}
	if rep != nil && !rep.DryRun && action != "review" {
		// Destroyed records stay in their class's register, marked.
		// Index entries that do not check (signatures) are left out.
		_, left, werr := records.Trust{Keys: d.Keys, SignedSince: d.SignedSince}.WriteRegisters(ctx, st, false, d.Clock)
		if werr != nil {
			fmt.Fprintf(m.Stderr, "warning: the class registers were not updated (run `bot records register`): %v\n", werr)
		}
		if len(left) > 0 {
			fmt.Fprintf(m.Stderr, "warning: %s left out of the class registers: NOT TRUSTED (see `bot records register`)\n",
				plural(len(left), "index entry that does not check was", "index entries that do not check were"))
		}
	}
	if rep != nil {
		if *asJSON {
			if jerr := m.printJSON(rep); jerr != nil {
				return jerr
			}
		} else {
			m.printDisposal(st, rep)
		}
	}
	if err != nil {
		return err
	}
	if n := rep.Problems(); n > 0 {
		return fmt.Errorf("records dispose: %d of %d records refused, failed or found tampered with", n, len(rep.Records))
	}
	return nil
}

// destination opens where transferred records go: a folder, or a bucket of
// the configured S3 service (s3://BUCKET/PREFIX). A folder inside src, the
// record store, is refused before it is made (and records.Transfer
// refuses a bucket prefix inside src).
func (m *Main) destination(ctx context.Context, to string, src filing.Store) (records.Destination, error) {
	if rest, ok := strings.CutPrefix(to, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return records.Destination{}, fmt.Errorf("--to %q: no bucket", to)
		}
		c := m.Config.S3
		c.Bucket, c.Prefix = bucket, ""
		st, err := s3.Open(ctx, c)
		if err != nil {
			return records.Destination{}, fmt.Errorf("--to %s: %w", to, s3Setting(err))
		}
		return records.Destination{Store: st, Prefix: strings.Trim(prefix, "/")}, nil
	}
	if err := records.CheckFolder(src, to); err != nil {
		return records.Destination{}, err
	}
	st, err := local.New(to)
	if err != nil {
		return records.Destination{}, fmt.Errorf("--to %s: %w", to, err)
	}
	return records.Destination{Store: st}, nil
}

func (m *Main) printDisposal(st filing.Store, rep *records.Report) {
	w := m.Stdout
	if len(rep.Records) == 0 {
		fmt.Fprintln(w, "No records to dispose of.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCLASS\tTITLE\tOUTCOME\tDETAIL")
	for _, o := range rep.Records {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", tty(o.ID), tty(o.ClassCode), short(o.Title, 50), strings.ToUpper(o.Outcome), tty(o.Detail))
	}
	tw.Flush()
	if rep.DryRun {
		n := 0
		for _, o := range rep.Records {
			n += len(o.Objects)
		}
		if n == 0 {
			fmt.Fprintln(w, "\nDry run: nothing was changed, and no object would be deleted.")
			return
		}
		fmt.Fprintf(w, "\nDry run: nothing was changed. What would go (%s):\n", plural(n, "object", "objects"))
		for _, o := range rep.Records {
			if len(o.Objects) > 0 {
				fmt.Fprintf(w, "%s %s:\n", tty(o.ID), short(o.Title, 60))
			}
			for _, obj := range o.Objects {
				fmt.Fprintf(w, "  %s\n", tty(st.Where(obj)))
			}
		}
		return
	}
	tampered := 0
	for _, o := range rep.Records {
		if o.Outcome == records.Tampered {
			tampered++
		}
	}
	fmt.Fprintf(w, "\n%s, %d refused or failed.\n", plural(len(rep.Records), "record", "records"), rep.Problems()-tampered)
	if tampered > 0 {
		fmt.Fprintf(w, "%s TAMPERED: objects recordbot did not write name them (see DETAIL); nothing was done to them. "+
			"Tell whoever administers the store, and run `bot records verify` on them.\n", plural(tampered, "record", "records"))
	}
	if rep.CertificateJSON != "" {
		fmt.Fprintf(w, "Disposal certificate: %s\n                      %s\n", tty(st.Where(rep.CertificateJSON)), tty(st.Where(rep.CertificateCSV)))
		if rep.CertificatePDF != "" {
			fmt.Fprintf(w, "                      %s\n", tty(st.Where(rep.CertificatePDF)))
		}
	}
}

// recordsExport runs `bot records export ID... --out FILE.tar|DIR`.
func (m *Main) recordsExport(ctx context.Context, args []string) error {
	fs, asJSON := recordsFlags("export", "export ID... --out FILE.tar|DIR [--by NAME] [--json]",
		"Copies each record's complete BagIt package as filed, with its audit events as the tag\n"+
			"file audit-events.json, into FILE.tar (with FILE.tar.sha256 beside it) or into one folder\n"+
			"per record under DIR: for a Freedom of Information disclosure or a migration. Every file is\n"+
			"checked against the record's manifests on the way out and in the copy; nothing is overwritten.")
	out := fs.String("out", "", "the `FILE.tar` or DIR to write, required")
	by := fs.String("by", "", "who is exporting, for the audit trail (default: the current user)")
	ids, err := m.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(ids) == 0 || *out == "" {
		fs.Usage()
		return usageError(errors.New("records export: give record IDs and --out FILE.tar or DIR"))
	}
	st, _, err := m.openRecords(ctx, fs, *asJSON)
	if err != nil {
		return err
	}
	signer, err := m.mustSigner()
	if err != nil {
		return err
	}
	res, err := records.Export(ctx, st, signer, ids, *out, officer(*by))
	if err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(res)
	}
	for _, r := range res.Records {
		fmt.Fprintf(m.Stdout, "%s\t%s/ (%s, %s)\n", tty(r.ID), tty(r.Folder), plural(r.Files, "file", "files"), plural(r.Events, "audit event", "audit events"))
	}
	fmt.Fprintf(m.Stdout, "Exported %s to %s", plural(len(res.Records), "record", "records"), tty(res.Out))
	if res.SHA256 != "" {
		fmt.Fprintf(m.Stdout, " (SHA-256 %s, also in %s.sha256)", res.SHA256, tty(res.Out))
	}
	fmt.Fprintln(m.Stdout)
	return nil
}

// recordsDisposed prints the residual entries of destroyed records: `bot
// records ls --disposed`.
func (m *Main) recordsDisposed(ctx context.Context, st filing.Store, asJSON bool) error {
	keys, err := m.trusted()
	if err != nil {
		return err
	}
	rs, err := records.Residuals(ctx, st, keys)
	if err != nil {
		return err
	}
	if asJSON {
		if rs == nil {
			rs = []records.DisposedRecord{}
		}
		return m.printJSON(rs)
	}
	if len(rs) == 0 {
		fmt.Fprintln(m.Stdout, "No records have been destroyed.")
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFILED\tCLASS\tTITLE\tDISPOSAL")
	untrusted := 0
	for _, r := range rs {
		what := r.String()
		if r.Pending {
			what = "DESTRUCTION UNFINISHED (begun " + r.At.UTC().Format(time.DateOnly) + "): rerun records dispose destroy"
		}
		if r.Problem != "" {
			what = "NOT TRUSTED: " + r.Problem
			untrusted++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", tty(r.ID), r.FiledAt.UTC().Format(time.DateOnly), tty(r.ClassCode), short(r.Title, 50), tty(what))
	}
	tw.Flush()
	fmt.Fprintf(m.Stdout, "%s destroyed\n", plural(len(rs)-untrusted, "record", "records"))
	if untrusted > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%s not written by this deployment: someone with write access to the store made them; the records they name were not destroyed by recordbot", plural(untrusted, "residual entry", "residual entries"))}
	}
	return nil
}

// showDisposed prints the residual entry of a destroyed record for `bot
// records show ID`; shown is false when the record was never destroyed.
func (m *Main) showDisposed(ctx context.Context, st filing.Store, id string, asJSON bool) (shown bool, err error) {
	keys, err := m.trusted()
	if err != nil {
		return false, err
	}
	r, err := records.ResidualOf(ctx, st, keys, id)
	if errors.Is(err, filing.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if asJSON {
		return true, m.printJSON(r)
	}
	w := m.Stdout
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-18s %s\n", k+":", tty(v))
		}
	}
	state := r.String()
	if r.Pending {
		state = "DESTRUCTION UNFINISHED, begun " + r.At.UTC().Format(time.DateOnly) + " under " + r.Authority + ": rerun records dispose destroy"
	}
	if r.Problem != "" {
		state = "NOT TRUSTED (" + r.Problem + "): this residual entry does not prove the record was destroyed"
	}
	field("Record", r.ID)
	field("Title", r.Title)
	field("Class", r.ClassPath)
	field("Security marking", r.Marking)
	field("Filed by", withID(r.FiledBy))
	field("Filed", r.FiledAt.UTC().Format(time.RFC3339))
	field("Retention", r.Rule)
	field("Disposal", state)
	field("Approved by", r.ApprovedBy)
	field("Carried out by", r.By.Name())
	field("Certificate", r.Certificate)
	field("Was sealed with", "tag manifest sha256 "+r.TagManifestSHA256)
	field("Residual entry", st.Where(records.ResidualKey(r.ID)))
	return true, nil
}
