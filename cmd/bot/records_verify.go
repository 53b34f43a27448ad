package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

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
			"if any record fails. The local store keeps no versions: see docs/security.md#the-bots-s3-policy.")
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
