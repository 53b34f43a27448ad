package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
)

// UploadsPrefix holds the chat exports people send to the bot, kept until
// they are filed: each person's own, at UploadsPrefix+ID (see UploadID),
// create-only, and what it was read with beside it
// (UploadsPrefix+ID+".json"). Exports kept by earlier versions, under
// UploadsPrefix+SHA-256 alone, are still read, filed and deleted.
const UploadsPrefix = "uploads/whatsapp/"

// MaxUpload is the largest export the bot takes from a chat: Slack's
// own limit on a file (1 GB, https://slack.com/help/articles/201330736).
const MaxUpload = 1 << 30

// DefaultKeepFor is how long an export sent to the bot is kept while it
// is not filed.
const DefaultKeepFor = 7 * 24 * time.Hour

// expireEvery is how often Run removes the exports kept too long.
const expireEvery = time.Hour

// copyIdle is how long a local copy of a kept export is held open
// after it was last opened (see Open).
const copyIdle = time.Hour

// Uploads keeps the WhatsApp exports people send to the bot, so that the
// filing worker can read them again (whatsapp.Source), after a restart
// too. They hold personal data, so none is kept longer than it must be:
// an export is deleted, every version of it, once its record is filed
// (the record holds the export byte for byte), and one never filed when
// KeepFor has passed (Run, Expire).
type Uploads struct {
	Store filing.Store
	// Limits are those exports are read with.
	Limits whatsapp.Limits
	// TempDir holds a kept export while it is read; os.TempDir when
	// empty.
	TempDir string
	// KeepFor is how long an export not filed is kept after it was sent
	// (DefaultKeepFor when zero).
	KeepFor time.Duration
	// Clock decides when an export has been kept too long, when to look
	// for those, and how long one may take to read (the system clock
	// when nil).
	Clock filing.Clock
	// AtOnce is how many exports sent to the bot are downloaded and read
	// at once, each on disk up to MaxUpload, in every front end together
	// (DefaultAtOnce when zero).
	AtOnce int
	// Logger logs what Run and Filed could not delete; nil discards.
	Logger *slog.Logger

	mu sync.Mutex
	// slots hold one token an export being read (Intake.Take).
	slots chan struct{}
	// copies are local copies of exports kept in a remote store, by
	// SHA-256, read again by later attempts rather than copied again.
	copies map[string]*localCopy
}

// localCopy is a kept export copied to a temporary file (removed from
// its folder at once) and checked against its SHA-256.
type localCopy struct {
	f    *os.File
	size int64
	used time.Time
}

// Upload is what a kept export was first read with: the same on every
// later reading.
type Upload struct {
	SHA256 string `json:"sha256"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	// Team is the workspace (or server) the person sent it in.
	Team       string         `json:"team,omitempty"`
	SuppliedBy capture.Person `json:"supplied_by"`
	SuppliedAt time.Time      `json:"supplied_at"`
	Via        string         `json:"via"`
	// TimeZone is a zone name such as Europe/London.
	TimeZone       string             `json:"time_zone"`
	TimeZoneBasis  string             `json:"time_zone_basis,omitempty"`
	DateOrder      whatsapp.DateOrder `json:"date_order,omitempty"`
	DateOrderBasis string             `json:"date_order_basis,omitempty"`
	// ChatName is the chat's name as read, for the form's title.
	ChatName string `json:"chat_name"`
	// Ambiguous: every date of the export fits both orders of day and
	// month, and the person who sent it chooses DateOrder (once, with
	// ChooseDateOrder) before it can be filed.
	Ambiguous bool `json:"ambiguous,omitempty"`
	// Corrects is the id of a record filed of the same export before,
	// read otherwise (another time zone or date order), when there is
	// one: the record filed of this export names it as the record it
	// corrects.
	Corrects string `json:"corrects,omitempty"`
	// SameAs is a record filed of the same export before and read as
	// this one is (but for the date order, still to be chosen, of an
	// Ambiguous export), and SameClass the class it was filed under:
	// filing this export under another class makes a record that
	// corrects it. For an Ambiguous export SameDateOrder is how that
	// record read its dates ("day/month/year"): choosing another order
	// makes the record filed of this export one that corrects it too.
	// Exports kept before SameClass was have SameAs only when Ambiguous.
	SameAs        string `json:"same_as,omitempty"`
	SameDateOrder string `json:"same_date_order,omitempty"`
	SameClass     string `json:"same_class,omitempty"`
}

// Related is what the record filed of u under the class chosen in the
// form relates to: the record it corrects, if any
// (filing.Request.Related). That is the record filed of the same export
// before and read otherwise; else the one read the same way, when the
// person chose another date order for it or another class.
func (u Upload) Related(class string) []filing.Related {
	class = strings.TrimSpace(class)
	switch {
	case u.Corrects != "":
		return []filing.Related{{ID: u.Corrects, Relation: filing.Corrects}}
	case u.SameAs != "" && u.DateOrder != "" && u.DateOrder.String() != u.SameDateOrder:
		return []filing.Related{{ID: u.SameAs, Relation: filing.Corrects}}
	case u.SameAs != "" && u.SameClass != "" && class != "" && class != u.SameClass:
		return []filing.Related{{ID: u.SameAs, Relation: filing.Corrects}}
	}
	return nil
}

// Options are the whatsapp.Options u was read with.
func (u Upload) Options(l whatsapp.Limits) (whatsapp.Options, error) {
	loc, err := time.LoadLocation(u.TimeZone)
	if err != nil || u.TimeZone == "" || u.TimeZone == "Local" {
		return whatsapp.Options{}, fmt.Errorf("the kept export's time zone %q is not a zone name", u.TimeZone)
	}
	return whatsapp.Options{
		Location: loc, LocationBasis: u.TimeZoneBasis, DateOrder: u.DateOrder, DateOrderBasis: u.DateOrderBasis,
		SuppliedBy: u.SuppliedBy, SuppliedAt: u.SuppliedAt, Via: u.Via, Limits: l,
	}, nil
}

// UploadID names the export with SHA-256 sum as kept for the person user
// of team (workspace or server): the SHA-256, "-", and 32 hex digits
// derived from team and user. Each person who sends an export keeps their
// own copy under their own ID, so two people sending the same export do
// not meet: neither can read, file or delete the other's.
func UploadID(sum, team, user string) string {
	h := sha256.Sum256([]byte("recordbot whatsapp upload\x00" + team + "\x00" + user))
	return sum + "-" + hex.EncodeToString(h[:16])
}

// ID is the ID u is kept under (UploadID).
func (u Upload) ID() string { return UploadID(u.SHA256, u.Team, u.SuppliedBy.ID) }

// isHex reports whether s is n lower-case hex digits.
func isHex(s string, n int) bool {
	return len(s) == n && strings.Trim(s, "0123456789abcdef") == ""
}

// uploadKey returns the key of the export kept as id, and the export's
// SHA-256. An id of a SHA-256 alone names an export kept before exports
// were kept per person.
func uploadKey(id string) (key, sum string, err error) {
	sum, sender, perPerson := strings.Cut(id, "-")
	if !isHex(sum, 64) || perPerson && !isHex(sender, 32) {
		return "", "", fmt.Errorf("%q is not a kept export's id: %w", id, capture.ErrNotFound)
	}
	return UploadsPrefix + id, sum, nil
}

// Keep stores the export r (size bytes, whose SHA-256 is u.SHA256, as
// whatsapp.Read found) and u, create-only, for its sender: under u.ID().
// The same person sending an export again gets the first Upload back;
// someone else sending the same export keeps their own.
func (k *Uploads) Keep(ctx context.Context, r io.ReaderAt, size int64, u Upload) (Upload, error) {
	if !isHex(u.SHA256, 64) {
		return u, fmt.Errorf("%q is not a SHA-256", u.SHA256)
	}
	if u.SuppliedBy.ID == "" {
		return u, errors.New("an export with no sender")
	}
	id := u.ID()
	key, _, err := uploadKey(id)
	if err != nil {
		return u, err
	}
	if size > MaxUpload {
		return u, fmt.Errorf("export of %d bytes, over %d", size, MaxUpload)
	}
	u.Size = size
	if _, err := k.Store.Create(ctx, key, io.NewSectionReader(r, 0, size), size,
		filing.WriteOptions{ContentType: "application/octet-stream"}); err != nil && !errors.Is(err, filing.ErrExist) {
		return u, fmt.Errorf("keep the export: %w", err)
	}
	meta, err := json.MarshalIndent(u, "", "  ")
	if err != nil {
		return u, err
	}
	_, err = k.Store.Create(ctx, key+".json", strings.NewReader(string(meta)), int64(len(meta)), filing.WriteOptions{ContentType: "application/json"})
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, filing.ErrExist) {
		return u, fmt.Errorf("keep the export: %w", err)
	}
	return k.Get(ctx, id)
}

// ChooseDateOrder sets the order of day and month of the export kept as
// id whose dates fit both (Upload.Ambiguous), as its sender chose it. It
// is set once: an export whose order is already set keeps it, and is
// returned as it is.
func (k *Uploads) ChooseDateOrder(ctx context.Context, id string, o whatsapp.DateOrder, basis string) (Upload, error) {
	key, _, err := uploadKey(id)
	if err != nil {
		return Upload{}, err
	}
	if o != whatsapp.DMY && o != whatsapp.MDY {
		return Upload{}, fmt.Errorf("date order %q: want dmy or mdy", o)
	}
	info, err := k.Store.Stat(ctx, key+".json")
	if errors.Is(err, filing.ErrNotExist) {
		return Upload{}, fmt.Errorf("export %s is not kept: %w", id, capture.ErrNotFound)
	}
	if err != nil {
		return Upload{}, err
	}
	u, err := k.Get(ctx, id)
	if err != nil || !u.Ambiguous || u.DateOrder != "" {
		return u, err
	}
	u.DateOrder, u.DateOrderBasis = o, basis
	meta, err := json.MarshalIndent(u, "", "  ")
	if err != nil {
		return u, err
	}
	// Only over the meta just read: a choice made meanwhile stands.
	if _, err := k.Store.Put(ctx, key+".json", strings.NewReader(string(meta)), int64(len(meta)),
		filing.WriteOptions{ContentType: "application/json", IfMatch: info.ETag}); err != nil {
		if errors.Is(err, filing.ErrConflict) {
			return k.Get(ctx, id)
		}
		return u, fmt.Errorf("keep the date order: %w", err)
	}
	return u, nil
}

// Get returns what the export kept as id was kept with; an error
// matching capture.ErrNotFound when it is not kept.
func (k *Uploads) Get(ctx context.Context, id string) (Upload, error) {
	var u Upload
	key, sum, err := uploadKey(id)
	if err != nil {
		return u, err
	}
	rc, _, err := k.Store.Open(ctx, key+".json")
	if errors.Is(err, filing.ErrNotExist) {
		return u, fmt.Errorf("export %s is not kept: %w", id, capture.ErrNotFound)
	}
	if err != nil {
		return u, err
	}
	defer rc.Close()
	if err := json.NewDecoder(io.LimitReader(rc, 64<<10)).Decode(&u); err != nil {
		return u, fmt.Errorf("read what export %s was kept with: %w", id, err)
	}
	// Kept as its sender's own, or (before exports were kept per person)
	// as the export's alone.
	if u.SHA256 != sum || id != sum && u.ID() != id {
		return u, fmt.Errorf("export %s was kept with another export's options: %w", id, capture.ErrNotFound)
	}
	return u, nil
}

// Open implements whatsapp.Source's Open: ref.ThreadID is the id the
// export is kept as (Upload.ID).
//
// An export in a local store is read where it is kept. One in a remote
// store (S3 has no reads at an offset through filing.Store) is copied to
// a temporary file, removed from its folder at once, and checked against
// its SHA-256 on the way; the copy is held for later attempts at the same
// export, until the export is deleted or the copy was not opened for
// copyIdle, so a retried filing does not copy it again.
func (k *Uploads) Open(ctx context.Context, ref capture.Ref) (whatsapp.Export, error) {
	id := ref.ThreadID
	u, err := k.Get(ctx, id)
	if err != nil {
		return whatsapp.Export{}, err
	}
	o, err := u.Options(k.Limits)
	if err != nil {
		return whatsapp.Export{}, err
	}
	key, _, _ := uploadKey(id)
	export := func(r io.ReaderAt, size int64) whatsapp.Export {
		return whatsapp.Export{R: r, Size: size, Name: u.Name, SHA256: u.SHA256, Options: o}
	}
	notKept := fmt.Errorf("export %s is not kept: %w", u.SHA256, capture.ErrNotFound)
	if l, ok := k.Store.(*local.Store); ok {
		// Closed by the runtime once unreachable; the reading checks its
		// SHA-256 (whatsapp.Source).
		f, err := os.Open(l.Where(key))
		if errors.Is(err, fs.ErrNotExist) {
			return whatsapp.Export{}, notKept
		}
		if err != nil {
			return whatsapp.Export{}, err
		}
		info, err := f.Stat()
		if err != nil {
			f.Close()
			return whatsapp.Export{}, err
		}
		return export(f, info.Size()), nil
	}
	if c := k.copyOf(id); c != nil {
		return export(c.f, c.size), nil
	}
	rc, _, err := k.Store.Open(ctx, key)
	if errors.Is(err, filing.ErrNotExist) {
		return whatsapp.Export{}, notKept
	}
	if err != nil {
		return whatsapp.Export{}, err
	}
	defer rc.Close()
	f, err := os.CreateTemp(k.TempDir, "recordbot-export-*")
	if err != nil {
		return whatsapp.Export{}, err
	}
	// Removed at once: the open file is read until it is closed, and its
	// space is freed then.
	os.Remove(f.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rc, MaxUpload+1))
	if err != nil {
		f.Close()
		return whatsapp.Export{}, fmt.Errorf("read the kept export %s: %w", u.SHA256, err)
	}
	if n > MaxUpload {
		f.Close()
		return whatsapp.Export{}, fmt.Errorf("the kept export %s is over %d bytes: %w", u.SHA256, MaxUpload, capture.ErrNotFound)
	}
	if hex.EncodeToString(h.Sum(nil)) != u.SHA256 {
		f.Close()
		return whatsapp.Export{}, fmt.Errorf("the export kept as %s has changed: %w", u.SHA256, capture.ErrNotFound)
	}
	return export(k.remember(id, f, n), n), nil
}

// copyOf returns the local copy of the export kept as id, if one is
// held, and closes the copies not opened for copyIdle.
func (k *Uploads) copyOf(id string) *localCopy {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	for s, c := range k.copies {
		if now.Sub(c.used) > copyIdle {
			c.f.Close()
			delete(k.copies, s)
		}
	}
	c := k.copies[id]
	if c != nil {
		c.used = now
	}
	return c
}

// remember holds f, a checked copy of the export kept as id, for later
// attempts, and returns the copy to read: f, or one another attempt made
// meanwhile.
func (k *Uploads) remember(id string, f *os.File, size int64) *os.File {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c := k.copies[id]; c != nil {
		f.Close()
		c.used = k.now()
		return c.f
	}
	if k.copies == nil {
		k.copies = make(map[string]*localCopy)
	}
	k.copies[id] = &localCopy{f: f, size: size, used: k.now()}
	return f
}

// forget closes the local copy of the export kept as id, if one is held.
func (k *Uploads) forget(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c := k.copies[id]; c != nil {
		c.f.Close()
		delete(k.copies, id)
	}
}

func (k *Uploads) now() time.Time { return k.clock().Now() }

func (k *Uploads) clock() filing.Clock { return filing.ClockOr(k.Clock) }

func (k *Uploads) log() *slog.Logger {
	if k.Logger != nil {
		return k.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Delete deletes the export kept as id and what it was kept with, for
// good: in a store that keeps versions, every version of them. Deleting
// an export not kept is not an error.
func (k *Uploads) Delete(ctx context.Context, id string) error {
	key, _, err := uploadKey(id)
	if err != nil {
		return err
	}
	k.forget(id)
	on, err := k.versioned(ctx)
	if err != nil {
		return fmt.Errorf("delete the kept export %s: %w", id, err)
	}
	if on {
		// The key's prefix holds the export and its .json alone.
		vs, rm := k.Store.(filing.Versioner), k.Store.(filing.Remover)
		var errs []error
		for v, err := range vs.Versions(ctx, key) {
			if err != nil {
				return fmt.Errorf("delete the kept export %s: %w", id, err)
			}
			if v.Key != key && v.Key != key+".json" {
				continue
			}
			if err := rm.RemoveVersion(ctx, v.Key, v.ID, false); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("delete the kept export %s: %w", id, err)
		}
		return nil
	}
	if err := k.Store.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete the kept export %s: %w", id, err)
	}
	if err := k.Store.Delete(ctx, key+".json"); err != nil {
		return fmt.Errorf("delete the kept export %s: %w", id, err)
	}
	return nil
}

// Expire deletes the exports sent longer than KeepFor ago (by when the
// export was stored) and returns how many. In a store that keeps
// versions it also deletes every version left of an export no longer
// kept (hidden behind a delete marker, say by a plain delete), whenever it
// was sent: nobody can file it, and its bytes are personal data.
func (k *Uploads) Expire(ctx context.Context) (int, error) {
	keep := k.KeepFor
	if keep <= 0 {
		keep = DefaultKeepFor
	}
	cutoff := k.now().Add(-keep)
	// When each object was stored, and whether it is only versions
	// behind a delete marker.
	type stored struct {
		at     time.Time
		hidden bool
	}
	objects := make(map[string]stored)
	versioned, err := k.versioned(ctx)
	if err != nil {
		return 0, fmt.Errorf("list the kept exports: %w", err)
	}
	if versioned {
		// Each key's versions come oldest first: it was stored when the
		// first version after its last delete marker was written.
		for v, err := range k.Store.(filing.Versioner).Versions(ctx, UploadsPrefix) {
			if err != nil {
				return 0, fmt.Errorf("list the kept exports: %w", err)
			}
			o := objects[v.Key]
			switch {
			case v.DeleteMarker:
				o = stored{hidden: true}
			case o.hidden || o.at.IsZero():
				o = stored{at: v.LastModified}
			}
			objects[v.Key] = o
		}
	} else {
		for o, err := range k.Store.List(ctx, UploadsPrefix) {
			if err != nil {
				return 0, fmt.Errorf("list the kept exports: %w", err)
			}
			objects[o.Key] = stored{at: o.LastModified}
		}
	}
	// When an export was sent: when it was stored, or, for what was
	// kept with one whose storing failed, when that was.
	type export struct{ export, meta *stored }
	kept := make(map[string]export)
	for key, o := range objects {
		id, meta := strings.CutSuffix(strings.TrimPrefix(key, UploadsPrefix), ".json")
		if _, _, err := uploadKey(id); err != nil {
			continue
		}
		e := kept[id]
		if meta {
			e.meta = &o
		} else {
			e.export = &o
		}
		kept[id] = e
	}
	n := 0
	var errs []error
	for id, e := range kept {
		var at time.Time // zero: only hidden versions are left
		switch {
		case e.export != nil && !e.export.hidden:
			at = e.export.at
		case e.meta != nil && !e.meta.hidden:
			at = e.meta.at
		}
		if !at.Before(cutoff) {
			continue
		}
		if err := k.Delete(ctx, id); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// versioned reports whether the store keeps versions that Delete removes
// one by one.
func (k *Uploads) versioned(ctx context.Context) (bool, error) {
	vs, versioned := k.Store.(filing.Versioner)
	_, removes := k.Store.(filing.Remover)
	if !versioned || !removes {
		return false, nil
	}
	return vs.Versioning(ctx)
}

// Run deletes the exports kept too long (Expire) now and every hour,
// until ctx is done. Failures are logged and tried again.
func (k *Uploads) Run(ctx context.Context) error {
	t := k.clock().NewTicker(expireEvery)
	defer t.Stop()
	for {
		n, err := k.Expire(ctx)
		if err != nil && ctx.Err() == nil {
			k.log().Warn("could not delete every WhatsApp export kept too long", "err", err)
		}
		if n > 0 {
			k.log().Info("deleted WhatsApp exports kept unfiled too long", "exports", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
		}
	}
}

// Filed returns a Notifier that tells next of each outcome, and then
// deletes the kept export of a WhatsApp request whose record is filed:
// the record holds the export byte for byte.
func (k *Uploads) Filed(next filing.Notifier) filing.Notifier {
	return filing.NotifierFunc(func(ctx context.Context, o filing.Outcome) {
		if next != nil {
			next.Notify(ctx, o)
		}
		if o.Record == nil || o.Request.Thread.Platform != capture.WhatsApp {
			return
		}
		if err := k.Delete(ctx, o.Request.Thread.ThreadID); err != nil {
			k.log().Warn("could not delete a filed WhatsApp export; it is deleted when it expires", "record", o.Record.ID, "err", err)
		}
	})
}
