package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/filing/records/index"
)

// indexLocation is where the search index of st is: RECORDS_INDEX (a file,
// or a postgres:// URL shared by a team), or a file of the store's own in
// the user's cache folder. "" when neither can be found.
func (m *Main) indexLocation(st filing.Store) string {
	if v := strings.TrimSpace(m.Getenv("RECORDS_INDEX")); v != "" {
		return v
	}
	cache := m.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home := m.Getenv("HOME")
		if home == "" {
			return ""
		}
		cache = filepath.Join(home, ".cache")
	}
	sum := sha256.Sum256([]byte(st.Where("")))
	return filepath.Join(cache, "recordbot", "index-"+hex.EncodeToString(sum[:8])+".sqlite")
}

// openIndex opens the search index of st.
func (m *Main) openIndex(ctx context.Context, st filing.Store) (*index.Index, error) {
	loc := m.indexLocation(st)
	if loc == "" {
		return nil, errors.New("no place for the search index: set RECORDS_INDEX to a file or a postgres:// URL")
	}
	o, err := m.indexOptions()
	if err != nil {
		return nil, err
	}
	return index.Open(ctx, loc, st, o)
}

// indexOptions are the search index's options: the keys an index entry
// must be signed with, so that entries the store's keys alone made are
// not indexed (none checked when no key is configured).
func (m *Main) indexOptions() (index.Options, error) {
	keys, err := m.trusted()
	if err != nil {
		return index.Options{}, err
	}
	return index.Options{Keys: keys, SignedSince: m.Config.SignedSince}, nil
}

// indexProgress shows how many records a catch-up has read, on a
// terminal only.
func (m *Main) indexProgress() (index.Progress, func()) {
	w := terminal(m.Stderr)
	if w == nil {
		return nil, func() {}
	}
	shown := false
	return func(done int) {
			shown = true
			fmt.Fprintf(w, "\rindexing: %d records read", done)
		}, func() {
			if shown {
				fmt.Fprint(w, "\r\033[K")
			}
		}
}

const indexAbout = "The search index holds what find needs (each record's index entry, its hold or\n" +
	"disposal state, and the words of its transcript), read from the store. It is\n" +
	"never the source of truth: rebuild it from the store at any time. It is kept in\n" +
	"RECORDS_INDEX (a file, or postgres://... for a team), else in a file of this\n" +
	"store's own under ~/.cache/recordbot. It holds transcripts' text: keep it where\n" +
	"the records may be read.\n\n" +
	"  status    how current it is\n" +
	"  sync      catch up with what was filed, held or disposed of since\n" +
	"  rebuild   empty it and read the whole store again"

// recordsIndex runs `bot records index status|sync|rebuild`.
func (m *Main) recordsIndex(ctx context.Context, args []string) error {
	fs, asJSON := recordsFlags("index", "index status|sync|rebuild [--json]", indexAbout)
	pos, err := m.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || (pos[0] != "status" && pos[0] != "sync" && pos[0] != "rebuild") {
		fs.Usage()
		return usageError(errors.New("records index: say status, sync or rebuild"))
	}
	st, _, err := m.openRecords(ctx, fs, *asJSON)
	if err != nil {
		return err
	}
	ix, err := m.openIndex(ctx, st)
	if err != nil {
		return usageError(err)
	}
	defer ix.Close()
	var res *index.SyncResult
	if pos[0] != "status" {
		progress, done := m.indexProgress()
		start := time.Now()
		r, err := ix.Sync(ctx, progress)
		if pos[0] == "rebuild" {
			r, err = ix.Rebuild(ctx, progress)
		}
		done()
		if err != nil {
			return err
		}
		res = &r
		if !*asJSON {
			fmt.Fprintf(m.Stdout, "Read %s and %s in %s.\n", plural(r.Added, "record", "records"), plural(r.Events, "event", "events"), time.Since(start).Round(time.Millisecond))
			for _, u := range r.Unreadable {
				fmt.Fprintf(m.Stdout, "NOT INDEXED: %s\n", tty(u))
			}
		}
	}
	s, err := ix.Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return m.printJSON(struct {
			Status index.Status      `json:"index"`
			Sync   *index.SyncResult `json:"sync,omitempty"`
		}{s, res})
	}
	fmt.Fprintln(m.Stdout, s.String())
	if res != nil && len(res.Unreadable) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%s could not be indexed", plural(len(res.Unreadable), "index entry", "index entries"))}
	}
	return nil
}

// recordsFind runs `bot records find`: through the search index, caught
// up first, or with --scan by reading every record.
func (m *Main) recordsFindIndexed(ctx context.Context, args []string) error {
	for _, a := range args {
		if a == "--scan" || a == "-scan" {
			return m.recordsFind(ctx, without(args, a))
		}
	}
	fs, asJSON := recordsFlags("find", `find TEXT [--class CLASS] [--from DATE] [--to DATE] [--person NAME] [--platform P] [--limit N] [--no-sync | --scan] [--json]`,
		"Finds records whose title, channel, participants (display or real name), filer or\n"+
			"transcript hold TEXT, for Freedom of Information requests: each word as the start\n"+
			"of a word, \"a phrase\" in quotes as written, ignoring case, accents and width; a\n"+
			"phone number however it is spaced or prefixed. Records whose title, channel or\n"+
			"people hold it come first, then newest first. It searches the search index (see\n"+
			"bot records index --help), caught up with the store first unless --no-sync, and\n"+
			"says how current it is. --scan reads every record's transcript instead.")
	class := fs.String("class", "", "only records in class `CODE` and the classes below it")
	from := &dateFlag{}
	to := &dateFlag{end: true}
	fs.Var(from, "from", "only records filed on or after `DATE`")
	fs.Var(to, "to", "only records filed on or before `DATE`")
	person := fs.String("person", "", "only records with `NAME` among the participants or the filer")
	platform := fs.String("platform", "", "only records from `PLATFORM` (slack, mattermost, whatsapp, teams)")
	limit := fs.Int("limit", 50, "show at most `N` records")
	noSync := fs.Bool("no-sync", false, "search the index as it is, without catching up first")
	fs.Bool("scan", false, "read every record instead of the index")
	pos, err := m.parseArgs(fs, args)
	if err != nil {
		return err
	}
	text := strings.Join(pos, " ")
	if strings.TrimSpace(text) == "" {
		fs.Usage()
		return usageError(errors.New("records find: give the text to find"))
	}
	if *limit < 1 {
		return usageError(errors.New("records find: --limit must be 1 or more"))
	}
	st, plan, err := m.openRecords(ctx, fs, *asJSON)
	if err != nil {
		return err
	}
	if *class != "" && plan.Class(*class) == nil {
		fmt.Fprintf(m.Stderr, "note: %q is not a class of the current file plan; searching records filed under it earlier\n", *class)
	}
	var ix *index.Index
	if m.indexLocation(st) == "" {
		// No home for an index: one for this search only, read from the
		// whole store and thrown away after, which costs what --scan does.
		fmt.Fprintln(m.Stderr, "note: no place to keep the search index (set RECORDS_INDEX, or HOME): reading every record for this search")
		tmp, err := os.MkdirTemp("", "recordbot-index-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		o, err := m.indexOptions()
		if err != nil {
			return err
		}
		ix, err = index.Open(ctx, filepath.Join(tmp, "index.sqlite"), st, o)
		if err != nil {
			return err
		}
	} else if ix, err = m.openIndex(ctx, st); err != nil {
		return usageError(err)
	}
	defer ix.Close()
	note := m.Stdout
	if *asJSON {
		note = m.Stderr
	}
	var unread []string
	if !*noSync {
		progress, done := m.indexProgress()
		res, err := ix.Sync(ctx, progress)
		done()
		if err != nil {
			return fmt.Errorf("catch the search index up: %w (--scan searches without it)", err)
		}
		unread = res.Unreadable
	}
	ans, err := ix.Find(ctx, index.Search{Text: text, Class: *class, From: from.t, To: to.t, Person: *person, Platform: *platform, Limit: *limit})
	if errors.Is(err, index.ErrNothingToFind) {
		return usageError(fmt.Errorf("records find: %w", err))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(note, "%s\n", ans.Status)
	m.warnUnindexed(ctx, st, "find")
	var incomplete error
	if n := len(unread) + len(ans.Unsearched); n > 0 {
		incomplete = &exitError{code: 1, err: fmt.Errorf("%s could not be searched: the answer is incomplete", plural(n, "record", "records"))}
		for _, u := range unread {
			fmt.Fprintf(m.Stderr, "not searched: %s\n", tty(u))
		}
	}
	if *asJSON {
		for _, u := range ans.Unsearched {
			fmt.Fprintf(m.Stderr, "not searched: %s %s: %s\n", tty(u.ID), tty(u.Where), tty(u.Reason))
		}
		hits := ans.Hits
		if hits == nil {
			hits = []index.Hit{}
		}
		if err := m.printJSON(hits); err != nil {
			return err
		}
		return incomplete
	}
	defer func() {
		if len(ans.Unsearched) == 0 {
			return
		}
		fmt.Fprintf(m.Stdout, "\nNOT SEARCHED: %s whose transcript could not be read (title, names and channel only were searched):\n", plural(len(ans.Unsearched), "record", "records"))
		for _, u := range ans.Unsearched {
			fmt.Fprintf(m.Stdout, "%s  %s\n    %s\n    %s\n", tty(u.ID), short(u.Title, 60), tty(u.Reason), tty(u.Where))
		}
	}()
	if len(ans.Hits) == 0 {
		if len(ans.Unsearched) > 0 {
			fmt.Fprintf(m.Stdout, "No record searched contains %q.\n", text)
		} else {
			fmt.Fprintf(m.Stdout, "No records contain %q.\n", text)
		}
		return incomplete
	}
	for _, h := range ans.Hits {
		state := ""
		if h.State != "" {
			state = "  [" + strings.ToUpper(h.State) + "]"
		}
		fmt.Fprintf(m.Stdout, "%s  %s  %s  %s%s\n", tty(h.ID), h.FiledAt.UTC().Format(time.DateOnly), tty(h.ClassCode), tty(h.Title), state)
		fmt.Fprintf(m.Stdout, "    found in: %s\n", strings.Join(h.Matched, ", "))
		if h.Snippet != "" {
			fmt.Fprintf(m.Stdout, "    %s\n", tty(h.Snippet))
		}
		if h.Partial {
			fmt.Fprintf(m.Stdout, "    (its transcript is long: only its start was searched; --scan reads it all)\n")
		}
		fmt.Fprintf(m.Stdout, "    %s\n", tty(h.Where))
	}
	if ans.More {
		fmt.Fprintf(m.Stdout, "%s shown; more match: narrow the search or raise --limit\n", plural(len(ans.Hits), "record", "records"))
	} else {
		fmt.Fprintln(m.Stdout, plural(len(ans.Hits), "record", "records"))
	}
	return incomplete
}

// without returns args without every a.
func without(args []string, a string) []string {
	var out []string
	for _, x := range args {
		if x != a {
			out = append(out, x)
		}
	}
	return out
}

// verifyIndex is what verify --all adds about the search index, when
// there is one: it catches it up, then reports the records it misses
// (it could not read them) and its rows whose record is gone from the
// store with no destruction in the audit trail: a record removed outside
// recordbot, which makes the exit status 1.
func (m *Main) verifyIndex(ctx context.Context, st filing.Store, asJSON bool) error {
	loc := m.indexLocation(st)
	if loc == "" {
		return nil
	}
	if !strings.Contains(loc, "://") {
		if _, err := os.Stat(loc); err != nil {
			return nil // no index made yet: nothing to compare
		}
	}
	out := m.Stdout
	if asJSON {
		out = m.Stderr
	}
	ix, err := m.openIndex(ctx, st)
	if err != nil {
		return err
	}
	defer ix.Close()
	if _, err := ix.Sync(ctx, nil); err != nil {
		return fmt.Errorf("catch the search index up: %w", err)
	}
	entries, err := records.Index(ctx, st)
	if err != nil {
		return err
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	missing, orphans, err := ix.Compare(ctx, ids)
	if err != nil {
		return err
	}
	for _, id := range missing {
		fmt.Fprintf(out, "NOT IN THE SEARCH INDEX: record %s (its index entry or transcript could not be read; find does not see it)\n", tty(id))
	}
	for _, id := range orphans {
		fmt.Fprintf(out, "GONE: record %s is in the search index but not in the store, and no destruction of it is in the audit trail\n", tty(id))
	}
	if len(orphans) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%s gone from the store without a recorded destruction", plural(len(orphans), "record", "records"))}
	}
	return nil
}

// indexFeeder opens the team's search index for the bot to keep current,
// when RECORDS_INDEX names a PostgreSQL database (an index file is an
// officer's own, kept by their commands). An index that cannot be opened
// is logged and left: the index is derived, and filing goes on.
func (m *Main) indexFeeder(ctx context.Context, st filing.Store, clock filing.Clock, log *slog.Logger) *index.Feeder {
	loc := strings.TrimSpace(m.Getenv("RECORDS_INDEX"))
	if !strings.HasPrefix(loc, "postgres://") && !strings.HasPrefix(loc, "postgresql://") {
		return nil
	}
	o, err := m.indexOptions()
	if err != nil {
		log.Error("search index: no signing keys to check entries with", "err", err)
		return nil
	}
	o.Clock = clock
	ix, err := index.Open(ctx, loc, st, o)
	if err != nil {
		log.Error("search index: cannot open it; records are filed, and find catches up later", "err", err)
		return nil
	}
	return index.NewFeeder(ix, 5*time.Minute, log)
}
