package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

func (m *Main) recordsList(ctx context.Context, args []string) error {
	fs, asJSON := recordsFlags("ls", "ls [CLASS] [--since DATE] [--until DATE] [--check] [--json]",
		"Lists filed records, oldest first: id, date filed, class, title, security marking and\n"+
			"who filed it. CLASS (a code such as 100-20) includes the classes below it.\n"+
			"Each index entry's signature is checked; --check also checks each against its record\n"+
			"as filed, as dispose does (about 6 more requests a record). An entry that does not\n"+
			"check is marked NOT TRUSTED, is not counted as a record, and makes the exit status 1.")
	since, until := &dateFlag{}, &dateFlag{end: true}
	fs.Var(since, "since", "only records filed on or after `DATE`")
	fs.Var(until, "until", "only records filed on or before `DATE`")
	disposed := fs.Bool("disposed", false, "list the destroyed records (their residual entries) instead")
	check := fs.Bool("check", false, "also check each entry against its record as filed, as dispose does (about 6 more requests a record)")
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
	trust, err := m.trust("ls")
	if err != nil {
		return err
	}
	es, err := trust.ListChecked(ctx, st, f, *check)
	if err != nil {
		return err
	}
	m.warnUnindexed(ctx, st, "ls")
	bad := 0
	for _, e := range es {
		if e.NotTrusted != "" {
			bad++
		}
	}
	// Entries that do not check are listed, marked, and make the exit
	// status 1, as dispose reports tampering: hiding them would hide the
	// tampering, and listing them plain would present them as records.
	var notTrusted error
	if bad > 0 {
		notTrusted = &exitError{code: 1, err: fmt.Errorf("%s against the record named: NOT TRUSTED, not to be taken for records",
			plural(bad, "index entry does not check", "index entries do not check"))}
		defer func() {
			for _, e := range es {
				if e.NotTrusted != "" {
					fmt.Fprintf(m.Stderr, "not trusted: %s: %s\n", tty(e.ID), tty(e.NotTrusted))
				}
			}
		}()
	}
	if *asJSON {
		if es == nil {
			es = []records.Listed{}
		}
		if err := m.printJSON(es); err != nil {
			return err
		}
		return notTrusted
	}
	if len(es) == 0 {
		fmt.Fprintln(m.Stdout, "No records match.")
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSHORT ID\tFILED\tCLASS\tTITLE\tMARKING\tFILED BY\t")
	for _, e := range es {
		mark := ""
		if e.NotTrusted != "" {
			mark = "NOT TRUSTED: index entry does not check"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", tty(e.ID), tty(filing.ShortID(e.ID)), e.FiledAt.UTC().Format(time.DateOnly), tty(e.ClassCode),
			short(e.Title, 60), tty(e.Marking), tty(e.FiledBy.Name()), mark)
	}
	tw.Flush()
	if bad > 0 {
		fmt.Fprintf(m.Stdout, "%s, and %s\n", plural(len(es)-bad, "record", "records"), plural(bad, "index entry that does not check (NOT TRUSTED)", "index entries that do not check (NOT TRUSTED)"))
	} else {
		fmt.Fprintln(m.Stdout, plural(len(es), "record", "records"))
	}
	if !*check && trust.Checks() {
		fmt.Fprintln(m.Stdout, "(signatures of the index entries checked; --check also checks each against its record as filed)")
	}
	return notTrusted
}

// trust is what ls, due and show check index entries with: the trusted
// keys and when signing began. With no key configured nothing can be
// checked, and cmd says so on standard error.
func (m *Main) trust(cmd string) (records.Trust, error) {
	keys, err := m.trusted()
	if err != nil {
		return records.Trust{}, err
	}
	t := records.Trust{Keys: keys, SignedSince: m.Config.SignedSince}
	if !t.Checks() {
		fmt.Fprintf(m.Stderr, "warning: no key to check the index entries with (set RECORDBOT_SECRET_KEY as the bot has it, or RECORDBOT_TRUSTED_KEYS): %s shows each entry as it claims, and a planted one would look like a record\n", cmd)
	}
	return t, nil
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
	trust, err := m.trust("show")
	if err != nil {
		return err
	}
	d, err := trust.Show(ctx, st, pos[0])
	if errors.Is(err, records.ErrNoRecord) {
		if shown, derr := m.showDisposed(ctx, st, pos[0], *asJSON); shown || derr != nil {
			return derr
		}
	}
	var nte *records.NotTrustedError
	if errors.As(err, &nte) {
		c := nte.Claimed
		fmt.Fprintf(m.Stdout, "NOT TRUSTED: the index entry of record %s does not check against the record it names:\n  %s\n", tty(c.ID), tty(nte.Reason))
		fmt.Fprintf(m.Stdout, "It claims (not to be taken as a record): %q, class %s, filed %s, disposal %s on %s, at %s\n",
			tty(c.Title), tty(c.ClassCode), c.FiledAt.UTC().Format(time.DateOnly), tty(string(c.DisposalAction)), tty(firstOf(c.DisposalDate, "no date")), tty(st.Where(c.Key)))
		fmt.Fprintln(m.Stdout, "No record as filed is there to show.")
		return &exitError{code: 1, err: fmt.Errorf("record %s: its index entry is not trusted", tty(c.ID))}
	}
	if err != nil {
		return err
	}
	var notTrusted error
	if d.NotTrusted != "" {
		notTrusted = &exitError{code: 1, err: fmt.Errorf("record %s: its index entry is not trusted: what is shown is the record as filed", tty(d.Record.ID))}
	}
	if *asJSON {
		if err := m.printJSON(d); err != nil {
			return err
		}
		return notTrusted
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
	if c := d.Claimed; d.NotTrusted != "" {
		field("Index entry", "NOT TRUSTED: "+d.NotTrusted)
		field("It claims", fmt.Sprintf("class %s, filed %s, disposal %s on %s; the facts above are the record's as filed",
			c.ClassCode, c.FiledAt.UTC().Format(time.DateOnly), c.DisposalAction, firstOf(c.DisposalDate, "no date")))
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
	return notTrusted
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

func (m *Main) recordsFind(ctx context.Context, args []string) error {
	fs, asJSON := recordsFlags("find", "find TEXT [--class CLASS] [--json]",
		"Finds records whose title, participants (display or real name), filer, channel or\n"+
			"transcript contain TEXT (ignoring case, accents and width; a phone number however it\n"+
			"is spaced or prefixed), for Freedom of Information requests. It\n"+
			"reads every record's transcript: see docs/search-index.md for how far that scales. Records\n"+
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
