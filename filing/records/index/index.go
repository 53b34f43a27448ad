// Package index is a derived search index of the records in a store: what
// `bot records find`, `ls` and `due` need (each record's index entry, its
// disposal state and the words of its transcript), built from the locked
// records and rebuildable from the bucket at any time. It is never the
// source of truth: every answer says how current it is, and `verify --all`
// reports records it misses.
//
// Two engines keep it: an SQLite file with FTS5 on the officer's machine
// (the default), or PostgreSQL's full-text search shared by a team. Both
// are given the same words, made here (see tokens), and only narrow the
// candidates: which records match, their order and their snippets are
// decided here, so both give the same answers.
package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

// maxText is how much of a transcript the index keeps: its words for the
// search and its text for snippets. A longer transcript is marked Partial,
// and a search says that such records were searched in part.
const maxText = 4 << 20

// lag is how far back catching up looks again before the newest entry it
// has seen: an index entry is written when its record is filed, which can
// be after records with later ids were filed (a queued request), and an
// event's key carries the day of its writer's clock.
const lag = 7 * 24 * time.Hour

// fresh is how long after its request (its id's time) the filing service
// has written a record's index entry, as a rule: a current entry written
// later, by a queued request or over the one filed, is read as its first
// version (one more listing and GET). Its transcript is then taken as
// written no later than that first version. Only within fresh of the
// request, while the bot is still filing, is an entry written over the
// filed one taken as filed.
const fresh = 10 * time.Minute

// batch is how many records are written to the index in one transaction.
const batch = 500

// The meta keys.
const (
	metaLastEntry = "last_entry"
	metaLastEvent = "last_event"
	metaSyncedAt  = "synced_at"
	metaStore     = "store"
)

// Index is a derived index of one store's records.
type Index struct {
	b     backend
	st    filing.Store
	where string
	clock filing.Clock
	keys  *filing.Keyring
	since time.Time
}

// Options configure Open.
type Options struct {
	// Clock is the time source; the system's when nil.
	Clock filing.Clock
	// Keys are the keys the deployment signs with. When set, an index
	// entry signed by no key of them is not indexed (a catch-up reports
	// it), nor is an unsigned one of a record made after SignedSince:
	// the store's keys alone made it, not recordbot.
	Keys *filing.Keyring
	// SignedSince is when the deployment began signing every record.
	SignedSince time.Time
}

// Open opens, or creates, the index at dsn for the records in st: a
// postgres:// or postgresql:// URL for PostgreSQL, anything else a file
// path for SQLite. An index made for another store is refused.
func Open(ctx context.Context, dsn string, st filing.Store, o Options) (*Index, error) {
	var (
		b   backend
		err error
	)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		b, err = openPostgres(ctx, dsn)
	} else {
		b, err = openSQLite(ctx, dsn)
	}
	if err != nil {
		return nil, err
	}
	ix := &Index{b: b, st: st, where: st.Where(""), clock: filing.ClockOr(o.Clock), keys: o.Keys, since: o.SignedSince}
	have, err := b.meta(ctx, metaStore)
	if err != nil {
		b.close()
		return nil, err
	}
	switch have {
	case "":
		err = b.write(ctx, func(w writer) error { return w.setMeta(metaStore, ix.where) })
	case ix.where:
	default:
		err = fmt.Errorf("the index at %s is of the records in %s, not %s: give another index", redact(dsn), have, ix.where)
	}
	if err != nil {
		b.close()
		return nil, err
	}
	return ix, nil
}

// Close closes the index.
func (ix *Index) Close() error { return ix.b.close() }

// redact removes a password from a URL for messages.
func redact(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			if colon := strings.Index(dsn[i+3:at], ":"); colon >= 0 {
				return dsn[:i+3+colon] + ":***" + dsn[at:]
			}
		}
	}
	return dsn
}

// Status is how current an index is.
type Status struct {
	// Records is how many records it holds.
	Records int `json:"records"`
	// SyncedAt is when it last caught up with the store; zero if never.
	SyncedAt time.Time `json:"synced_at"`
	// LastEntry is the newest index entry it has read.
	LastEntry string `json:"last_entry,omitempty"`
	// Behind is how many index entries the store has after LastEntry, up
	// to BehindCap; BehindCap or more is reported as BehindCap.
	Behind int `json:"behind"`
}

// BehindCap is where Status stops counting the entries an index is behind.
const BehindCap = 1000

// String says how current the index is, for people.
func (s Status) String() string {
	if s.SyncedAt.IsZero() {
		return "the index has never caught up with the store: run `bot records index sync`"
	}
	msg := fmt.Sprintf("index of %d records, caught up %s", s.Records, s.SyncedAt.UTC().Format("2006-01-02 15:04 UTC"))
	switch {
	case s.Behind >= BehindCap:
		msg += fmt.Sprintf("; it is at least %d records behind the store: run `bot records index sync`", BehindCap)
	case s.Behind > 0:
		msg += fmt.Sprintf("; it is %d record(s) behind the store: run `bot records index sync`", s.Behind)
	default:
		msg += "; current"
	}
	return msg
}

// Status reports how current the index is: it lists the store's index
// entries after the newest one read (one short listing with S3's
// StartAfter).
func (ix *Index) Status(ctx context.Context) (Status, error) {
	var s Status
	var err error
	if s.Records, err = ix.b.count(ctx); err != nil {
		return s, err
	}
	if s.LastEntry, err = ix.b.meta(ctx, metaLastEntry); err != nil {
		return s, err
	}
	at, err := ix.b.meta(ctx, metaSyncedAt)
	if err != nil {
		return s, err
	}
	if at != "" {
		s.SyncedAt, _ = time.Parse(time.RFC3339Nano, at)
	}
	for info, err := range filing.ListAfter(ctx, ix.st, filing.IndexPrefix, s.LastEntry) {
		if err != nil {
			return s, fmt.Errorf("list the store's index: %w", err)
		}
		if _, ok := entryID(info.Key); ok {
			if s.Behind++; s.Behind >= BehindCap {
				break
			}
		}
	}
	return s, nil
}

// Progress is told how catching up goes: records read so far.
type Progress func(done int)

// SyncResult says what a catch-up did.
type SyncResult struct {
	// Added is how many records were read into the index.
	Added int `json:"added"`
	// Events is how many audit events were applied.
	Events int `json:"events"`
	// Unreadable lists the index entries that could not be read, with why.
	Unreadable []string `json:"unreadable,omitempty"`
}

// Sync catches the index up with the store: it reads the index entries
// after the newest it has seen (less lag) and their transcripts, and the
// audit events after the newest it has seen (less lag) for holds,
// transfers and destructions.
func (ix *Index) Sync(ctx context.Context, progress Progress) (SyncResult, error) {
	var res SyncResult
	last, err := ix.b.meta(ctx, metaLastEntry)
	if err != nil {
		return res, err
	}
	if err := ix.syncEntries(ctx, last, &res, progress); err != nil {
		return res, err
	}
	lastEvent, err := ix.b.meta(ctx, metaLastEvent)
	if err != nil {
		return res, err
	}
	if err := ix.syncEvents(ctx, lastEvent, &res); err != nil {
		return res, err
	}
	now := ix.clock.Now().UTC().Format(time.RFC3339Nano)
	return res, ix.b.write(ctx, func(w writer) error { return w.setMeta(metaSyncedAt, now) })
}

// Rebuild empties the index and reads the whole store again.
func (ix *Index) Rebuild(ctx context.Context, progress Progress) (SyncResult, error) {
	if err := ix.b.reset(ctx); err != nil {
		return SyncResult{}, err
	}
	if err := ix.b.write(ctx, func(w writer) error { return w.setMeta(metaStore, ix.where) }); err != nil {
		return SyncResult{}, err
	}
	return ix.Sync(ctx, progress)
}

// entryKeyBefore is the index key from which to look again for entries
// written late: that of an id made lag before the id in key.
func entryKeyBefore(key string) string {
	id := strings.TrimSuffix(strings.TrimPrefix(key, filing.IndexPrefix), ".json")
	t, ok := uuidTime(id)
	if !ok {
		return key
	}
	ms := t.Add(-lag).UnixMilli()
	if ms < 0 {
		return ""
	}
	return fmt.Sprintf("%s%08x-%04x", filing.IndexPrefix, uint64(ms)>>16, uint64(ms)&0xffff)
}

// entryID is the id of the record whose index entry is at key, if key is
// where the filing service writes one: directly under index/, named by
// the record's id, a version 7 UUID.
func entryID(key string) (string, bool) {
	id, ok := strings.CutPrefix(key, filing.IndexPrefix)
	if !ok {
		return "", false
	}
	if id, ok = strings.CutSuffix(id, ".json"); !ok || strings.Contains(id, "/") {
		return "", false
	}
	_, ok = uuidTime(id)
	return id, ok
}

// uuidTime is the time a version 7 UUID was made, from its first 48 bits.
func uuidTime(id string) (time.Time, bool) {
	hex := strings.ReplaceAll(id, "-", "")
	if len(hex) != 32 || hex[12] != '7' {
		return time.Time{}, false
	}
	var ms uint64
	for _, c := range hex[:12] {
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		default:
			return time.Time{}, false
		}
		ms = ms<<4 | d
	}
	return time.UnixMilli(int64(ms)), true
}

func (ix *Index) syncEntries(ctx context.Context, last string, res *SyncResult, progress Progress) error {
	from := ""
	if last != "" {
		from = entryKeyBefore(last)
	}
	var keys []string
	newest := last
	// flush reads the batch's records in parallel (each is a few small
	// GETs: on S3 the round trips, not the bytes, take the time) and
	// writes them with the newest key seen, in one transaction, so an
	// interrupted catch-up starts again after the last batch written.
	checked, unversioned := false, false
	flush := func() error {
		if !checked && len(keys) > 0 {
			keeps, err := filing.KeepsVersions(ctx, ix.st)
			if err != nil {
				return err
			}
			checked, unversioned = true, !keeps
		}
		rows := make([]row, len(keys))
		bad := make([]error, len(keys))
		var wg sync.WaitGroup
		next := make(chan int)
		for range min(readers, len(keys)) {
			wg.Go(func() {
				for i := range next {
					rows[i], bad[i] = ix.read(ctx, keys[i], unversioned)
				}
			})
		}
		for i := range keys {
			next <- i
		}
		close(next)
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return err
		}
		var good []row
		for i, r := range rows {
			if bad[i] != nil {
				res.Unreadable = append(res.Unreadable, fmt.Sprintf("%s: %v", keys[i], bad[i]))
				continue
			}
			good = append(good, r)
		}
		top := newest
		err := ix.b.write(ctx, func(w writer) error {
			if err := putAll(w, good); err != nil {
				return err
			}
			return w.setMeta(metaLastEntry, top)
		})
		if err != nil {
			return err
		}
		res.Added += len(good)
		keys = keys[:0]
		if progress != nil {
			progress(res.Added)
		}
		return nil
	}
	for info, err := range filing.ListAfter(ctx, ix.st, filing.IndexPrefix, from) {
		if err != nil {
			return fmt.Errorf("list the store's index: %w", err)
		}
		if !strings.HasSuffix(info.Key, ".json") {
			continue
		}
		id, ok := entryID(info.Key)
		if !ok {
			// Not where the filing service writes an entry: a copy of one
			// below index/ would be read as filed now, with whatever
			// transcript was planted before it; and a key sorting after
			// every id would, as the newest seen, hide all later ones.
			res.Unreadable = append(res.Unreadable, fmt.Sprintf("%s: not indexed: an index entry is %s<record id>.json", info.Key, filing.IndexPrefix))
			continue
		}
		if info.Key <= last {
			if has, err := ix.b.has(ctx, id); err != nil {
				return err
			} else if has {
				continue
			}
		}
		keys = append(keys, info.Key)
		newest = max(newest, info.Key)
		if len(keys) >= batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(keys) > 0 || newest != last {
		return flush()
	}
	return nil
}

// readers is how many records a catch-up reads at once.
const readers = 32

// read makes the index row of the record whose index entry is at key: the
// entry and the transcript, each as filed.
func (ix *Index) read(ctx context.Context, key string, unversioned bool) (row, error) {
	id := strings.TrimSuffix(path.Base(key), ".json")
	made, ok := uuidTime(id)
	if !ok {
		return row{}, errors.New("not a record id")
	}
	var e filing.IndexEntry
	raw, written, err := ix.openAsFiled(ctx, key, made.Add(fresh), 1<<20, nil)
	if err != nil {
		return row{}, err
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return row{}, fmt.Errorf("not an index entry: %w", err)
	}
	if e.ID != id {
		return row{}, errors.New("the entry does not name its own record")
	}
	if err := records.CheckRecordFolder(id, e.Key); err != nil {
		return row{}, fmt.Errorf("not indexed: %w", err)
	}
	if ix.keys != nil {
		switch err := ix.keys.Check(filing.KindIndex, &e, &e.Signature); {
		case errors.Is(err, filing.ErrUnsigned) && !ix.since.IsZero() && !made.Before(ix.since):
			return row{}, fmt.Errorf("not indexed: its index entry is not signed, and records made since %s are: it was not written by recordbot", ix.since.UTC().Format(time.DateOnly))
		case err != nil && !errors.Is(err, filing.ErrUnsigned):
			return row{}, fmt.Errorf("not indexed: its index entry is not signed by this deployment (%v): it was not written by recordbot", err)
		}
	}
	r := rowOf(e, raw)
	// The transcript was written before the entry that names it.
	var sum hash.Hash
	if unversioned {
		sum = sha256.New()
	}
	data, _, err := ix.openAsFiled(ctx, e.Key+filing.TextFile, written, maxText+1, sum)
	switch {
	case errors.Is(err, filing.ErrNotExist):
		r.NoText = true
	case err != nil:
		return row{}, fmt.Errorf("its transcript: %w", err)
	case unversioned:
		if err := ix.checkManifest(ctx, e.Key, hex.EncodeToString(sum.Sum(nil))); err != nil {
			return row{}, err
		}
	}
	text, partial := string(data), false
	if len(text) > maxText {
		text, partial = text[:strings.LastIndexByte(text[:maxText], '\n')+1], true
	}
	r.setText(text, partial)
	return r, nil
}

// openAsFiled reads up to max bytes of the object at key as filed, and
// when it was written. It reads the current object, one GET, and takes it
// when the store wrote it no later than notAfter (S3 sets LastModified
// itself: a writer cannot backdate it); an object written later, over the
// one filed, makes it read the first version instead, as records.Find
// does. `records verify` reports any such object. A store that keeps no
// versions (a local one) has only the object as it is now, whatever its
// time says: there checkManifest checks the transcript.
// With sum, the whole object is read into it.
func (ix *Index) openAsFiled(ctx context.Context, key string, notAfter time.Time, max int64, sum hash.Hash) ([]byte, time.Time, error) {
	rc, info, err := ix.st.Open(ctx, key)
	written := info.LastModified
	if err == nil && !written.IsZero() && written.After(notAfter) {
		rc.Close()
		var h *filing.History
		if rc, h, err = filing.OpenFirst(ctx, ix.st, key); err == nil {
			written = h.First.LastModified
		}
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	defer rc.Close()
	var r io.Reader = rc
	if sum != nil {
		r = io.TeeReader(rc, sum)
	}
	data, err := io.ReadAll(io.LimitReader(r, max))
	if sum != nil && err == nil {
		_, err = io.Copy(sum, rc)
	}
	return data, written, err
}

// checkManifest checks, on a store that keeps no versions, the transcript
// of the record at folder against the record's payload manifest: there
// the transcript is only what it is now, and a file's time proves
// nothing. A transcript written over on its own is then not indexed (the
// manifest itself, and the tag manifest and filing event that seal it,
// are for `records verify`).
func (ix *Index) checkManifest(ctx context.Context, folder, got string) error {
	rc, _, err := ix.st.Open(ctx, folder+filing.ManifestFile)
	if err != nil {
		return fmt.Errorf("not indexed: its manifest %s: %w", filing.ManifestFile, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return fmt.Errorf("not indexed: its manifest %s: %w", filing.ManifestFile, err)
	}
	if want := records.ManifestSum(data, filing.TextFile); want != got {
		return fmt.Errorf("not indexed: its transcript %s has sha256 %s, but its manifest says %q: altered since filing (`bot records verify` checks the record)", filing.TextFile, got, want)
	}
	return nil
}

// rowOf makes the row of an index entry, without its transcript.
func rowOf(e filing.IndexEntry, raw []byte) row {
	var classes []string
	if e.ClassCode != "" {
		classes = append(classes, strings.ToUpper(e.ClassCode))
	}
	for _, step := range strings.Split(e.ClassPath, " > ") {
		if c, _, _ := strings.Cut(strings.TrimSpace(step), " "); c != "" && !slices.Contains(classes, strings.ToUpper(c)) {
			classes = append(classes, strings.ToUpper(c))
		}
	}
	people := peopleText(e)
	return row{
		ID: e.ID, Key: e.Key, FiledAt: e.FiledAt.UTC(), Platform: string(e.Platform),
		Classes: " " + strings.Join(classes, " ") + " ",
		Entry:   raw,
		Meta:    strings.Join(tokens(metaText(e)), " "),
		People:  strings.Join(append(tokens(people), phoneTokens(people)...), " "),
	}
}

// setText adds a transcript's words and text to r.
func (r *row) setText(text string, partial bool) {
	// NUL cannot be stored in PostgreSQL's text, nor can invalid UTF-8:
	// both engines keep the same cleaned text.
	text = strings.ReplaceAll(strings.ToValidUTF8(text, "\uFFFD"), "\x00", "\uFFFD")
	r.Body = strings.Join(bodyWords(text), " ")
	r.Text = text
	r.Partial = partial
}

// syncEvents applies the audit events after last (less lag) that change a
// record's state: legal holds on and off, transfers, destructions. The
// event's type and record are read from its key (filing.EventKey), so no
// event is read: the index only says what the trail says, and `records
// show` and `verify` check the events themselves.
func (ix *Index) syncEvents(ctx context.Context, last string, res *SyncResult) error {
	from := ""
	if last != "" {
		from = eventKeyBefore(last)
	}
	type change struct{ id, state string }
	var changes []change
	newest := last
	for info, err := range filing.ListAfter(ctx, ix.st, filing.AuditPrefix, from) {
		if err != nil {
			return fmt.Errorf("list the audit trail: %w", err)
		}
		typ, id := eventOf(info.Key)
		newest = max(newest, info.Key)
		state, ok := stateOf[typ]
		if !ok || id == "" {
			continue
		}
		if state == Destroyed {
			// An audit key alone, which the bot's keys could write, must
			// not take a record's words out of FOI searches: a record
			// whose index entry still stands is not destroyed.
			if _, err := ix.st.Stat(ctx, filing.IndexPrefix+id+".json"); !errors.Is(err, filing.ErrNotExist) {
				continue
			}
		}
		changes = append(changes, change{id, state})
		res.Events++
	}
	return ix.b.write(ctx, func(w writer) error {
		for _, c := range changes {
			if err := w.setState(c.id, c.state); err != nil {
				return err
			}
		}
		return w.setMeta(metaLastEvent, newest)
	})
}

// stateOf is the state each event type leaves a record in. A destroyed
// record stays destroyed whatever comes after (setState keeps it).
var stateOf = map[string]string{
	"legal-hold-on":  Held,
	"legal-hold-off": "",
	"transferred":    Transferred,
	"destroyed":      Destroyed,
}

// The states of a record in the index.
const (
	Held        = "held"
	Transferred = "transferred"
	Destroyed   = "destroyed"
)

// eventOf reads an event's type and record from its key:
// audit/YYYY/MM/DD/<event id>_<type>[_<record id>].json.
func eventOf(key string) (typ, id string) {
	name := strings.TrimSuffix(path.Base(key), ".json")
	parts := strings.Split(name, "_")
	switch len(parts) {
	case 2:
		return parts[1], parts[0]
	case 3:
		return parts[1], parts[2]
	}
	return "", ""
}

// eventKeyBefore is the audit key from which to look again for events:
// the day lag before that of key.
func eventKeyBefore(key string) string {
	rest := strings.TrimPrefix(key, filing.AuditPrefix)
	if len(rest) < 10 {
		return ""
	}
	day, err := time.Parse("2006/01/02", rest[:10])
	if err != nil {
		return ""
	}
	return filing.AuditPrefix + day.Add(-lag).Format("2006/01/02") + "/"
}

// Compare checks the index against the ids of the records the store
// indexes: those the index misses, and the index's rows that name no
// record of the store (a destroyed record's row stays, marked).
func (ix *Index) Compare(ctx context.Context, ids []string) (missing, orphans []string, err error) {
	have, err := ix.b.states(ctx)
	if err != nil {
		return nil, nil, err
	}
	in := make(map[string]bool, len(ids))
	for _, id := range ids {
		in[id] = true
		if _, ok := have[id]; !ok {
			missing = append(missing, id)
		}
	}
	for id, state := range have {
		if !in[id] && state != Destroyed {
			orphans = append(orphans, id)
		}
	}
	slices.Sort(missing)
	slices.Sort(orphans)
	return missing, orphans, nil
}
