package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"strings"
	"time"
	_ "time/tzdata" // zone names work in the container image too, which has no zoneinfo

	"github.com/google/uuid"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

// importNamespace makes the ids of imported records: a version 5 UUID of
// the export's SHA-256, the class and the title, so that running the same
// import again (after an interruption) completes the same record.
var importNamespace = uuid.MustParse("6f1b3c2e-8d4a-5b7e-9c1f-2a3b4c5d6e7f")

// importsPrefix holds one claim per import begun: the request it files,
// with the time that fixes the record's folder, so a resumed import
// writes into the record the first run began.
const importsPrefix = filing.RequestsPrefix + "imports/"

// importClaim is stored under importsPrefix.
type importClaim struct {
	Request filing.Request `json:"request"`
}

// runImport files a chat export as a record: `bot import whatsapp FILE`.
func (m *Main) runImport(ctx context.Context, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprintln(m.Stdout, "usage: bot import whatsapp EXPORT.zip|EXPORT.txt --class CODE --title TITLE [flags]\n\nFiles a WhatsApp chat export as a record. \"bot import whatsapp --help\" lists the flags.")
		return nil
	}
	if len(args) == 0 || args[0] != "whatsapp" {
		fmt.Fprintln(m.Stderr, "usage: bot import whatsapp EXPORT.zip|EXPORT.txt --class CODE --title TITLE [flags]")
		if len(args) == 0 {
			return errors.New("say what to import: whatsapp")
		}
		return fmt.Errorf("cannot import from %q: recordbot imports WhatsApp exports (bot import whatsapp FILE)", args[0])
	}
	fs := flag.NewFlagSet("bot import whatsapp", flag.ContinueOnError)
	class, title, marking, desc, by, asJSON := filingFlags(fs, "who supplied the export, for the record (default: the current user)")
	tz := fs.String("timezone", "", "`zone` the phone was in, such as Europe/London (default: $TZ); export times carry no zone")
	order := fs.String("date-order", "", "`dmy` (31/12/2022) or mdy (12/31/2022), for an export whose dates fit both")
	chat := fs.String("chat", "", "the chat's `name`, when the file names do not give it")
	corrects := fs.String("corrects", "", "the `id` of a record of the same export that this import files again with a corrected reading (date order, time zone, class or title); the new record names it")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: bot import whatsapp EXPORT.zip|EXPORT.txt --class CODE --title TITLE [--marking M] [--timezone Europe/London] [--date-order dmy|mdy] [--by NAME] [--corrects RECORD_ID]")
		fs.PrintDefaults()
	}
	files, err := m.parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	var missing []string
	if len(files) != 1 {
		missing = append(missing, "the export file")
	}
	for _, f := range []struct{ name, v string }{{"--class", *class}, {"--title", *title}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(files) > 1 {
		fs.Usage()
		return fmt.Errorf("import one export at a time (got %d files)", len(files))
	}
	if len(missing) > 0 {
		fs.Usage()
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	dateOrder, err := whatsapp.ParseDateOrder(*order)
	if err != nil {
		return err
	}
	zoneName, zoneBasis := *tz, "given with --timezone by the person importing"
	if zoneName == "" {
		zoneName, zoneBasis = m.Getenv("TZ"), "the TZ setting of the computer the import was run on"
	}
	if zoneName == "" {
		return errors.New("say which time zone the phone was in with --timezone (for example Europe/London): WhatsApp exports give times without one")
	}
	loc, err := time.LoadLocation(zoneName)
	if err != nil || zoneName == "Local" {
		return fmt.Errorf("--timezone %q: not a time zone name such as Europe/London", zoneName)
	}
	who := *by
	if who == "" {
		if u, err := user.Current(); err == nil {
			who = u.Username
		}
	}
	supplier := capture.Person{ID: who, DisplayName: who}

	store, plan, err := m.open(ctx)
	if err != nil {
		return err
	}
	signer, err := m.signer()
	if err != nil {
		return usageError(err)
	}
	svc, err := filing.NewService(filing.Options{Store: store, Plan: plan, Logger: m.commandLogger(),
		Organisation: m.Config.Organisation, TimeZone: m.Config.TimeZone,
		AfterFiling: records.RegisterUpdater(store, nil), Signer: signer})
	if err != nil {
		return err
	}
	markingBasis := "given with --marking"
	if *marking == "" {
		if c := plan.Class(*class); c != nil {
			*marking, markingBasis = c.Default, "the class's default"
		}
	}
	req := filing.Request{
		RequestedBy: supplier, Title: strings.TrimSpace(*title), ClassCode: strings.TrimSpace(*class),
		Marking: *marking, Description: strings.TrimSpace(*desc), Via: "import whatsapp",
	}
	if fe := svc.Check(req); fe != nil {
		for k, v := range fe {
			fmt.Fprintf(m.Stderr, "--%s: %s\n", k, v)
		}
		return errors.New("nothing filed")
	}

	// Read and check the whole export before anything is stored: a
	// damaged or hostile file leaves no trace.
	th, closer, err := whatsapp.Open(ctx, files[0], whatsapp.Options{
		Location: loc, LocationBasis: zoneBasis,
		DateOrder: dateOrder, DateOrderBasis: "--date-order " + string(dateOrder) + ", given by the person importing",
		SuppliedBy: supplier, SuppliedAt: time.Now(), Via: "command line (bot import whatsapp)", ChatName: *chat,
	})
	if err != nil {
		var we *whatsapp.Error
		if errors.As(err, &we) && errors.Is(err, whatsapp.ErrDateOrder) {
			err = fmt.Errorf("%w; run it again with --date-order", err)
		}
		return fmt.Errorf("nothing filed: %w", err)
	}
	defer closer.Close()
	// The store is proven only now, so that a refused export leaves
	// nothing in it, not even the proof's canary.
	if err := m.requireLock(ctx, store); err != nil {
		return err
	}

	req.ID = uuid.NewSHA1(importNamespace, []byte(th.Provenance.FileSHA256+"\n"+req.ClassCode+"\n"+req.Title)).String()
	req.Thread = capture.Ref{Platform: th.Platform, WorkspaceID: th.Workspace.ID, ChannelID: th.Channel.ID, ThreadID: th.ThreadID}
	// A record of this export filed before with another reading is not
	// filed again silently: the person is told what differs, and files
	// the new reading with --corrects as a record that names the first.
	earlier, err := filing.RecordsOf(ctx, store, th.Platform, th.ThreadID)
	if err != nil {
		return fmt.Errorf("nothing filed: look for records of this export: %w", err)
	}
	if *corrects != "" {
		var first *filing.Record
		for i := range earlier {
			if earlier[i].ID == strings.TrimSpace(*corrects) {
				first = &earlier[i]
			}
		}
		if first == nil {
			return fmt.Errorf("nothing filed: --corrects %s: no record of this export has that id%s", *corrects, recordIDs(earlier))
		}
		diffs := filing.Differences(first, th, req.ClassCode, req.Title)
		if len(diffs) == 0 {
			return fmt.Errorf("nothing filed: --corrects %s: this import reads the export as that record does, under the same class and title: there is nothing to correct", first.ID)
		}
		req.Related = []filing.Related{{ID: first.ID, Relation: filing.Corrects, Key: first.Key}}
		reading := first.ID
		for _, a := range th.Provenance.Assumptions {
			reading += "\n" + a.Subject + ": " + a.Value
		}
		req.ID = uuid.NewSHA1(importNamespace, []byte(th.Provenance.FileSHA256+"\n"+req.ClassCode+"\n"+req.Title+"\ncorrects "+reading)).String()
	} else if len(earlier) > 0 {
		same := -1
		for i := range earlier {
			if len(filing.Differences(&earlier[i], th, req.ClassCode, req.Title)) == 0 {
				same = i
			}
		}
		if same < 0 {
			m.printDifferences(earlier, th, req)
			return errors.New("nothing filed: this export was filed before, read otherwise (see above)")
		}
	}
	if entry, err := readIndex(ctx, store, req.ID); err == nil {
		fmt.Fprintf(m.Stdout, "This export was filed before, with the same class and title, as %s in %s\n", entry.ID, entry.ClassPath)
		fmt.Fprintf(m.Stdout, "  where: %s\n", store.Where(entry.Key))
		return nil
	} else if !errors.Is(err, filing.ErrNotExist) {
		return err
	}
	req, resumed, err := claimImport(ctx, store, req, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("nothing filed: %w", err)
	}
	if resumed {
		fmt.Fprintf(m.Stderr, "Completing the import of this export begun %s.\n", req.RequestedAt.Format(time.RFC3339))
	}
	pm := meterFiles(th, terminal(m.Stderr), "filing")
	sum, err := svc.FileThread(ctx, req, th)
	pm.end()
	if err != nil {
		if ferr := m.flagErrors(err); ferr != nil {
			return ferr
		}
		return fmt.Errorf("the record is not complete (run the same command again to complete it): %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	notIn := 0
	thFiles, err := th.FilesOf(ctx)
	if err != nil {
		return fmt.Errorf("the record is filed as %s, but the export can no longer be read to sum it up: %w", sum.ID, err)
	}
	for _, f := range thFiles {
		if f.Error != "" {
			notIn++
		}
	}
	p := th.Provenance
	fmt.Fprintf(m.Stdout, "Filed as %s in %s\n", sum.ID, sum.ClassPath)
	fmt.Fprintf(m.Stdout, "  where:    %s\n", sum.Where)
	fmt.Fprintf(m.Stdout, "  chat:     %s, %s, %s", tty(th.Channel.Name), plural(sum.Messages, "message", "messages"), plural(sum.Files, "media file", "media files"))
	if notIn > 0 {
		fmt.Fprintf(m.Stdout, " (%d more listed as not in the export)", notIn)
	}
	fmt.Fprintln(m.Stdout)
	if resumed && req.Marking != *marking {
		markingBasis = "as the import begun earlier chose"
	}
	fmt.Fprintf(m.Stdout, "  marking:  %s (%s)\n", tty(sum.Marking), markingBasis)
	if l := p.Ledger; l != nil {
		if l.NotUnderstood == 0 {
			fmt.Fprintf(m.Stdout, "  lines:    %d, every one understood\n", l.Lines)
		} else {
			fmt.Fprintf(m.Stdout, "  lines:    %d, of which %d not understood: part of no message, listed in the record (data/thread.json) and kept in the export\n", l.Lines, l.NotUnderstood)
			for i, u := range l.Unread {
				if i == 5 {
					fmt.Fprintf(m.Stdout, "            and %d more\n", l.NotUnderstood-i)
					break
				}
				fmt.Fprintf(m.Stdout, "            line %d: %s\n", u.Line, u.Why)
			}
		}
		if l.MayBeCut > 0 {
			fmt.Fprintf(m.Stdout, "  warning:  the export holds %d messages, about as many as WhatsApp puts in one (%d) before it stops without saying so: the chat may be longer than this export\n", th.Len(), l.MayBeCut)
		}
	}
	fmt.Fprintf(m.Stdout, "  export:   %s, SHA-256 %s, kept as %s\n", p.FileName, p.FileSHA256, filing.OriginalPath(p.FileName))
	for _, r := range req.Related {
		fmt.Fprintf(m.Stdout, "  %-9s %s (filed before from the same export, read otherwise; it stays as it was filed, and this record names it)\n", r.Relation+":", r.ID)
	}
	for _, a := range p.Assumptions {
		fmt.Fprintf(m.Stdout, "  %-9s %s (%s)\n", a.Subject+":", a.Value, a.Basis)
	}
	for _, n := range p.Notes { // such as media in the export that no message names
		fmt.Fprintf(m.Stdout, "  note:     %s\n", tty(n))
	}
	if sum.DisposalDate.IsZero() {
		fmt.Fprintf(m.Stdout, "  retention: kept permanently\n")
	} else {
		fmt.Fprintf(m.Stdout, "  retention: %s on %s\n", sum.DisposalAction, sum.DisposalDate.Format("2006-01-02"))
	}
	return nil
}

// parseInterleaved parses flags that may come before or after the
// positional arguments, which it returns.
func (m *Main) parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := m.parse(fs, args); err != nil {
		return nil, err
	}
	var pos []string
	rest := fs.Args()
	for len(rest) > 0 {
		if a := rest[0]; len(a) > 1 && a[0] == '-' && a != "--" {
			if err := m.parseFlags(fs, rest); err != nil {
				return nil, err
			}
			rest = fs.Args()
			continue
		}
		if rest[0] == "--" {
			pos = append(pos, rest[1:]...)
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	return pos, nil
}

// claimImport stores the import's request under importsPrefix, or reads
// the one an earlier run of the same import stored: its time fixes the
// record's folder, so a second run completes the record the first began.
func claimImport(ctx context.Context, st filing.Store, req filing.Request, now time.Time) (filing.Request, bool, error) {
	key := importsPrefix + req.ID + ".json"
	req.RequestedAt = now
	data, err := json.MarshalIndent(importClaim{Request: req}, "", "  ")
	if err != nil {
		return req, false, err
	}
	_, err = st.Create(ctx, key, strings.NewReader(string(data)), int64(len(data)), filing.WriteOptions{ContentType: "application/json"})
	if err == nil {
		return req, false, nil
	}
	if !errors.Is(err, filing.ErrExist) {
		return req, false, fmt.Errorf("store the import: %w", err)
	}
	rc, _, err := st.Open(ctx, key)
	if err != nil {
		return req, false, err
	}
	defer rc.Close()
	var c importClaim
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&c); err != nil {
		return req, false, fmt.Errorf("read the import begun earlier: %w", err)
	}
	if c.Request.ID != req.ID || c.Request.RequestedAt.IsZero() {
		return req, false, fmt.Errorf("the import begun earlier (%s) is not this one", key)
	}
	// The earlier run's request is the record's: its marking and who
	// supplied it stand.
	return c.Request, true, nil
}

// readIndex reads the index entry of record id.
func readIndex(ctx context.Context, st filing.Store, id string) (filing.IndexEntry, error) {
	var e filing.IndexEntry
	rc, _, err := st.Open(ctx, filing.IndexPrefix+id+".json")
	if err != nil {
		return e, err
	}
	defer rc.Close()
	err = json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&e)
	return e, err
}

// printDifferences tells the person that the export was filed before,
// how each record of it differs from this import, and how to file this
// reading as a record that corrects the latest.
func (m *Main) printDifferences(earlier []filing.Record, th *capture.Thread, req filing.Request) {
	fmt.Fprintf(m.Stdout, "This export was filed before, read otherwise than now:\n")
	for i := range earlier {
		rec := &earlier[i]
		fmt.Fprintf(m.Stdout, "  %s %q in %s, filed %s\n", rec.ID, rec.Title, rec.Class.Code, rec.FiledAt.Format(time.DateOnly))
		for _, d := range filing.Differences(rec, th, req.ClassCode, req.Title) {
			fmt.Fprintf(m.Stdout, "    %-11s %s there, %s now\n", d.Subject+":", d.Filed, d.Now)
		}
	}
	last := earlier[len(earlier)-1]
	fmt.Fprintf(m.Stdout, "Nothing filed. A record, once filed, is never changed. To file this reading as a new record that names %s as the record it corrects, run the same command with --corrects %s\n", last.ID, last.ID)
}

// recordIDs lists the ids of recs for an error, or says there are none.
func recordIDs(recs []filing.Record) string {
	if len(recs) == 0 {
		return " (none is filed)"
	}
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	return " (those filed are " + strings.Join(ids, ", ") + ")"
}
