package records

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/recordbot/recordbot/filing"
)

// RegisterSchema identifies the JSON form of a class register.
const RegisterSchema = "recordbot.register/1"

// Register is the list of records filed in one class: stored as JSON
// (registers/<code>.json, the register itself) and as CSV for spreadsheets
// (registers/<code>.csv, derived from the JSON).
type Register struct {
	Schema    string    `json:"schema"`
	ClassCode string    `json:"class_code"`
	ClassPath string    `json:"class_path"`
	UpdatedAt time.Time `json:"updated_at"`
	Records   []Row     `json:"records"`
}

// Row is one record of a register.
type Row struct {
	filing.IndexEntry
	// Where is the record package's s3:// URL or local path.
	Where string `json:"where"`
	// Disposed says what became of a disposed record ("destroyed on …
	// under …"); empty while the record is kept.
	Disposed string `json:"disposed,omitempty"`
}

// RegisterKey returns the key of class code's register; ext is "json" or
// "csv". Distinct codes get distinct keys ("1-2" and "1.2" do not share a
// register): letters, digits, "-", "_" and "." are kept, any other byte
// is written %XX (a "/" as %2F, a "%" as %25), and so is a leading ".".
func RegisterKey(code, ext string) string {
	return filing.RegistersPrefix + registerName(code) + "." + ext
}

// registerName writes a class code as one safe, reversible key segment.
func registerName(code string) string {
	var b strings.Builder
	for i := 0; i < len(code); {
		r, n := utf8.DecodeRuneInString(code[i:])
		keep := r != utf8.RuneError && (r == '-' || r == '_' || r == '.' && i > 0 || unicode.IsLetter(r) || unicode.IsDigit(r))
		if keep {
			b.WriteString(code[i : i+n])
		} else {
			for _, c := range []byte(code[i : i+n]) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
		i += n
	}
	if b.Len() == 0 {
		return "%00"
	}
	return b.String()
}

// WriteRegisters writes the register of every class that has records, from
// the index, and returns the keys written. Records already in a register
// and not in the index are kept: a register only grows (records filed
// meanwhile are not lost).
//
// With keys set, an index entry not signed by a trusted key is left out
// (Trust.WriteRegisters, signatures only), and a residual entry not
// signed by one (or written over) marks nothing: the record is not shown
// as destroyed on its word. A register changed is stamped (UpdatedAt)
// with clock's time, the system's when clock is nil.
func WriteRegisters(ctx context.Context, st filing.Store, trusted *filing.Keyring, clock filing.Clock) ([]string, error) {
	keys, _, err := Trust{Keys: trusted}.WriteRegisters(ctx, st, false, clock)
	return keys, err
}

// WriteRegisters is WriteRegisters with each index entry checked as ls
// checks it (ListChecked; full as ls --check): an entry that does not
// check is left out of the registers, and returned with why. A row an
// earlier run took from such an entry (the same record, folder, class
// and disposal as the entry claims) is taken out of its register; a row
// that says otherwise, such as the record's own row written at filing
// before its entry was written over, is kept. With no trusted key
// nothing is checked.
func (t Trust) WriteRegisters(ctx context.Context, st filing.Store, full bool, clock filing.Clock) ([]string, []Listed, error) {
	ls, err := t.ListChecked(ctx, st, Filter{}, full)
	if err != nil {
		return nil, nil, err
	}
	var all []filing.IndexEntry
	var left []Listed
	for _, l := range ls {
		if l.NotTrusted != "" {
			left = append(left, l)
			continue
		}
		all = append(all, l.IndexEntry)
	}
	// Destroyed records stay in their class's register, marked as such.
	residuals, err := Residuals(ctx, st, t.Keys)
	if err != nil {
		return nil, left, err
	}
	marks := make(map[string]string, len(residuals))
	for _, r := range residuals {
		if r.Problem != "" {
			continue
		}
		marks[r.ID] = r.String()
		if r.Pending {
			marks[r.ID] = "destruction begun " + r.At.UTC().Format(time.DateOnly) + " under " + r.Authority + ", not finished"
		}
		all = append(all, r.IndexEntry)
	}
	byClass := make(map[string][]filing.IndexEntry)
	var codes []string
	seen := make(map[string]bool, len(all))
	for _, e := range all {
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		if byClass[e.ClassCode] == nil {
			codes = append(codes, e.ClassCode)
		}
		byClass[e.ClassCode] = append(byClass[e.ClassCode], e)
	}
	// The rows to take out, by class; a class with no record left is
	// visited too when it has a register.
	drop := make(map[string]map[string]filing.IndexEntry)
	for _, l := range left {
		code := l.ClassCode
		if drop[code] == nil {
			drop[code] = make(map[string]filing.IndexEntry)
			if byClass[code] == nil {
				if _, err := st.Stat(ctx, RegisterKey(code, "json")); err == nil {
					codes = append(codes, code)
				} else if !errors.Is(err, filing.ErrNotExist) {
					return nil, left, fmt.Errorf("register %s: %w", code, err)
				}
			}
		}
		drop[code][l.ID] = l.IndexEntry
	}
	sort.Strings(codes)
	var keys []string
	for _, code := range codes {
		if err := addToRegister(ctx, st, filing.ClockOr(clock), code, byClass[code], marks, drop[code]); err != nil {
			return keys, left, err
		}
		keys = append(keys, RegisterKey(code, "json"), RegisterKey(code, "csv"))
	}
	return keys, left, nil
}

// RegisterUpdater returns the function to run after each filing
// (filing.Options.AfterFiling): it adds the record to its class's register
// without rewriting any record. It is safe when several filings, in one
// process or several, land at once: each register is changed by
// compare-and-swap (If-Match) and retried on conflict. The register is
// stamped (UpdatedAt) with clock's time, the system's when clock is nil:
// give it the filing service's clock. Nothing is checked: see
// Trust.RegisterUpdater.
func RegisterUpdater(st filing.Store, clock filing.Clock) func(ctx context.Context, s filing.Summary) error {
	return Trust{}.RegisterUpdater(st, clock, nil)
}

// RegisterUpdater is RegisterUpdater with the record's index entry
// checked in full, as show checks it (about six requests more per
// filing): an entry that does not check (planted or written over between
// filing and now) is left out of the register, and log (when not nil)
// says so with the record's id, the class the entry claims and which
// check failed, never the reason's text, which can name the record's
// folder and so words of its title. With no trusted key nothing is
// checked.
func (t Trust) RegisterUpdater(st filing.Store, clock filing.Clock, log *slog.Logger) func(ctx context.Context, s filing.Summary) error {
	clock = filing.ClockOr(clock)
	return func(ctx context.Context, s filing.Summary) error {
		e, h, err := entry(ctx, st, s.ID)
		if errors.Is(err, ErrNoRecord) {
			// Not indexed yet: the entry is made from record.json as
			// filed, as filing makes the index entry (filing.IndexEntryOf).
			_, rec, rerr := recordAt(ctx, st, s.ID, s.Key)
			if rerr != nil {
				return fmt.Errorf("register %s: %w", s.ID, rerr)
			}
			e = filing.IndexEntryOf(rec)
		} else if err != nil {
			return fmt.Errorf("register %s: %w", s.ID, err)
		} else if t.Checks() {
			check := "signature"
			why := t.signedEntry(e, h.First.LastModified)
			if why == "" {
				check = "against the record as filed"
				why, _ = t.check(ctx, st, e)
			}
			if why != "" {
				if log != nil {
					log.Warn("register: index entry left out, it does not check (see bot records ls --check)",
						"record", s.ID, "claimed_class", e.ClassCode, "check", check)
				}
				return nil
			}
		}
		return addToRegister(ctx, st, clock, e.ClassCode, []filing.IndexEntry{e}, nil, nil)
	}
}

// maxAttempts bounds the compare-and-swap retries of one register update.
const maxAttempts = 50

// addToRegister adds entries (all of class code) to the class's JSON
// register by compare-and-swap, marks the disposed records in marks (id →
// what became of it), takes out the rows drop names (id → the index entry
// that does not check) that say what it claims, then brings the CSV in
// line with it.
func addToRegister(ctx context.Context, st filing.Store, clock filing.Clock, code string, entries []filing.IndexEntry, marks map[string]string, drop map[string]filing.IndexEntry) error {
	jsonKey := RegisterKey(code, "json")
	for attempt := 0; ; attempt++ {
		if attempt == maxAttempts {
			return fmt.Errorf("register %s: gave up after %d concurrent changes: %w", code, attempt, filing.ErrConflict)
		}
		reg, etag, err := readRegister(ctx, st, code)
		var changed *changedError
		if errors.As(err, &changed) && attempt < maxAttempts-1 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if !merge(st, reg, entries, marks, drop) && etag != "" {
			return syncCSV(ctx, st, code, reg, etag)
		}
		reg.UpdatedAt = clock.Now().UTC()
		data, err := json.MarshalIndent(reg, "", "  ")
		if err != nil {
			return err
		}
		opts := filing.WriteOptions{ContentType: "application/json", IfMatch: etag}
		var info filing.ObjectInfo
		if etag == "" {
			info, err = st.Create(ctx, jsonKey, bytes.NewReader(data), int64(len(data)), opts)
		} else {
			info, err = st.Put(ctx, jsonKey, bytes.NewReader(data), int64(len(data)), opts)
		}
		if errors.Is(err, filing.ErrExist) || errors.Is(err, filing.ErrConflict) {
			// Another filing changed the register first: merge again.
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("register %s: %w", code, err)
		}
		return syncCSV(ctx, st, code, reg, info.ETag)
	}
}

// readRegister reads class code's JSON register and the ETag it had before
// the read ("" when there is none yet). If the register changes between the
// two, the ETag is the older one, so a compare-and-swap on it fails safely.
func readRegister(ctx context.Context, st filing.Store, code string) (*Register, string, error) {
	key := RegisterKey(code, "json")
	reg := &Register{Schema: RegisterSchema, ClassCode: code}
	info, err := st.Stat(ctx, key)
	if errors.Is(err, filing.ErrNotExist) {
		return reg, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("register %s: %w", code, err)
	}
	if err := readJSON(ctx, st, key, reg); err != nil {
		// Most likely it changed while being read (S3 answers a ranged
		// read of a changed object with 412): the caller reads it again.
		return nil, "", &changedError{fmt.Errorf("register %s: %w", code, err)}
	}
	return reg, info.ETag, nil
}

// merge adds the entries missing from reg, sets the disposal marks, takes
// out the rows that say what an entry of drop claims, and reports whether
// it changed.
func merge(st filing.Store, reg *Register, entries []filing.IndexEntry, marks map[string]string, drop map[string]filing.IndexEntry) bool {
	changed := false
	if len(drop) > 0 {
		kept := reg.Records[:0]
		for _, r := range reg.Records {
			if d, ok := drop[r.ID]; ok && sameFacts(r.IndexEntry, d) {
				changed = true
				continue
			}
			kept = append(kept, r)
		}
		reg.Records = kept
	}
	have := make(map[string]bool, len(reg.Records))
	for _, r := range reg.Records {
		have[r.ID] = true
	}
	for _, e := range entries {
		if have[e.ID] {
			continue
		}
		have[e.ID] = true
		reg.Records = append(reg.Records, Row{IndexEntry: e, Where: st.Where(e.Key)})
		changed = true
		reg.ClassPath = e.ClassPath
	}
	for i := range reg.Records {
		if m, ok := marks[reg.Records[i].ID]; ok && reg.Records[i].Disposed != m {
			reg.Records[i].Disposed = m
			changed = true
		}
	}
	sort.Slice(reg.Records, func(i, j int) bool {
		a, b := reg.Records[i], reg.Records[j]
		if !a.FiledAt.Equal(b.FiledAt) {
			return a.FiledAt.Before(b.FiledAt)
		}
		return a.ID < b.ID
	})
	return changed
}

// syncCSV writes the CSV from reg, the JSON register as of etag, then checks
// the JSON did not move on meanwhile; if it did, it writes the CSV again
// from the newer JSON. Whoever writes the CSV last has seen the latest JSON
// after writing it, so the CSV ends up matching the JSON.
func syncCSV(ctx context.Context, st filing.Store, code string, reg *Register, etag string) error {
	key := RegisterKey(code, "csv")
	for attempt := 0; attempt < maxAttempts; attempt++ {
		data := RegisterCSV(reg)
		if _, err := st.Put(ctx, key, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{ContentType: "text/csv; charset=utf-8"}); err != nil {
			return fmt.Errorf("register %s: %w", code, err)
		}
		info, err := st.Stat(ctx, RegisterKey(code, "json"))
		if err != nil {
			return fmt.Errorf("register %s: %w", code, err)
		}
		if info.ETag == etag {
			return nil
		}
		reg, etag, err = readRegister(ctx, st, code)
		var changed *changedError
		for errors.As(err, &changed) && attempt < maxAttempts {
			attempt++
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
			reg, etag, err = readRegister(ctx, st, code)
		}
		if err != nil {
			return err
		}
	}
	return fmt.Errorf("register %s: CSV kept changing: %w", code, filing.ErrConflict)
}

// changedError is a register that could not be read, most likely because
// it changed during the read; reading again usually succeeds.
type changedError struct{ err error }

func (e *changedError) Error() string { return e.err.Error() }
func (e *changedError) Unwrap() error { return e.err }

func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(1+rand.IntN(5*(1+min(attempt, 10)))) * time.Millisecond
	// Jitter between contending writers, not a time anything is decided
	// by: always the real clock, so a test's fake clock cannot stall it.
	t := filing.SystemClock().NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.Chan():
		return nil
	}
}

// registerColumns are the CSV register's columns.
var registerColumns = []string{"Record ID", "Title", "Class code", "Class path", "Filed (UTC)", "Filed by",
	"Security marking", "Thread start (UTC)", "Disposal date", "Disposal action", "Platform", "Channel",
	"Participants", "Location", "Disposed"}

// RegisterCSV renders a register as CSV that opens cleanly in a
// spreadsheet: UTF-8 with a byte order mark, CRLF line ends, every field
// quoted, and cells that a spreadsheet would run as a formula (starting
// with =, +, -, @, tab or CR) prefixed with an apostrophe.
func RegisterCSV(reg *Register) []byte {
	var b bytes.Buffer
	b.WriteString("\uFEFF")
	row := func(cells ...string) {
		for i, c := range cells {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(csvCell(c))
		}
		b.WriteString("\r\n")
	}
	row(registerColumns...)
	for _, r := range reg.Records {
		row(r.ID, r.Title, r.ClassCode, r.ClassPath, r.FiledAt.UTC().Format("2006-01-02 15:04:05"),
			fmt.Sprintf("%s (%s)", filing.Label(r.FiledBy), r.FiledBy.ID), r.Marking, dateTime(r.ThreadStart),
			r.DisposalDate, string(r.DisposalAction), string(r.Platform), r.Channel,
			strings.Join(r.Participants, "; "), r.Where, r.Disposed)
	}
	return b.Bytes()
}

func dateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// csvCell quotes one CSV field and defuses formula injection.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		s = "'" + s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
