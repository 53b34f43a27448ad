package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

func (m *Main) recordsRegister(ctx context.Context, args []string) error {
	fs, asJSON := recordsFlags("register", "register [--json]",
		"Writes the register of each class that has records, from the index: registers/CODE.csv\n"+
			"(for spreadsheets) and registers/CODE.json. The bot also adds each record to its\n"+
			"register as it is filed; run this to rebuild them. No record is changed.\n"+
			"Each index entry is checked against its record as filed, as dispose checks it: one\n"+
			"that does not check is left out (and taken out of a register an earlier run put it\n"+
			"in), named on standard error, and the exit status is 1.")
	if _, err := m.parseArgs(fs, args); err != nil {
		return err
	}
	st, _, err := m.openRecords(ctx, fs, *asJSON)
	if err != nil {
		return err
	}
	trust, err := m.trust("register")
	if err != nil {
		return err
	}
	// In full: a register run is rare, and the register is the
	// organisation's official list of its records (about 5 ms a record
	// more on MinIO nearby; BenchmarkWriteRegistersChecked).
	keys, left, err := trust.WriteRegisters(ctx, st, true, nil)
	for _, l := range left {
		fmt.Fprintf(m.Stderr, "not trusted: %s: %s\n", tty(l.ID), tty(l.NotTrusted))
	}
	if err != nil {
		return err
	}
	var notTrusted error
	if len(left) > 0 {
		notTrusted = &exitError{code: 1, err: fmt.Errorf("%s against the record named: NOT TRUSTED, left out of the registers",
			plural(len(left), "index entry does not check", "index entries do not check"))}
	}
	if *asJSON {
		where := make([]string, 0, len(keys))
		for _, k := range keys {
			where = append(where, st.Where(k))
		}
		if err := m.printJSON(where); err != nil {
			return err
		}
		return notTrusted
	}
	for _, k := range keys {
		fmt.Fprintln(m.Stdout, tty(st.Where(k)))
	}
	fmt.Fprintln(m.Stdout, plural(len(keys)/2, "register", "registers")+" written")
	if len(left) > 0 {
		fmt.Fprintf(m.Stdout, "%s left out: NOT TRUSTED (see standard error)\n", plural(len(left), "index entry", "index entries"))
	}
	return notTrusted
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
	trust, err := m.trust("due")
	if err != nil {
		return err
	}
	gs, bad, err := records.DueChecked(ctx, st, trust, before.t)
	if err != nil {
		return err
	}
	m.warnUnindexed(ctx, st, "due")
	// Entries that do not check are no records due: they are listed
	// apart, and make the exit status 1, as dispose reports tampering.
	var notTrusted error
	if len(bad) > 0 {
		notTrusted = &exitError{code: 1, err: fmt.Errorf("%s against the record named: NOT TRUSTED, not listed as due (see `bot records verify`)",
			plural(len(bad), "index entry does not check", "index entries do not check"))}
	}
	if *asJSON {
		// The array of groups stays as it was for scripts; the entries
		// that do not check go to standard error, with the exit status.
		if gs == nil {
			gs = []records.DueGroup{}
		}
		if err := m.printJSON(gs); err != nil {
			return err
		}
		for _, r := range bad {
			fmt.Fprintf(m.Stderr, "not trusted: %s: %s\n", tty(r.ID), tty(r.NotTrusted))
		}
		return notTrusted
	}
	defer m.printNotTrusted(st, bad, len(gs) > 0)
	if len(gs) == 0 {
		fmt.Fprintf(m.Stdout, "No records are due for disposal before %s.\n", before.t.Format(time.DateOnly))
		return notTrusted
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
	return notTrusted
}

// printNotTrusted lists the index entries due found not to check: what
// each claims, why it is not trusted, and what the record as filed says
// when it could be read.
func (m *Main) printNotTrusted(st filing.Store, bad []records.DueRecord, gap bool) {
	if len(bad) == 0 {
		return
	}
	if gap {
		fmt.Fprintln(m.Stdout)
	}
	fmt.Fprintf(m.Stdout, "NOT TRUSTED (%d): index entries that do not check against the record they name; not due, not records as they claim:\n", len(bad))
	for _, r := range bad {
		fmt.Fprintf(m.Stdout, "  %s  claims class %s, %s on %s: %s\n", tty(r.ID), tty(r.ClassCode), tty(string(r.DisposalAction)), tty(firstOf(r.DisposalDate, "no date")), short(r.Title, 60))
		fmt.Fprintf(m.Stdout, "    %s\n", tty(r.NotTrusted))
		if f := r.Filed; f != nil {
			fmt.Fprintf(m.Stdout, "    the record as filed says: class %s, %s on %s\n", tty(f.ClassCode), tty(string(f.DisposalAction)), tty(firstOf(f.DisposalDate, "no date")))
		}
	}
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
