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
// they are filed: the export at UploadsPrefix+SHA-256, create-only, and
// what it was read with beside it (UploadsPrefix+SHA-256+".json").
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
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger logs what Run and Filed could not delete; nil discards.
	Logger *slog.Logger

	mu sync.Mutex
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

// ErrOtherSupplier is returned by Keep when the same export was sent
// before by someone else, who alone may file it.
var ErrOtherSupplier = errors.New("the same export was sent to recordbot by someone else")

func uploadKey(sum string) (string, error) {
	if len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%q is not a SHA-256: %w", sum, capture.ErrNotFound)
	}
	return UploadsPrefix + sum, nil
}

// Keep stores the export r (size bytes, whose SHA-256 is u.SHA256, as
// whatsapp.Read found) and u, create-only. An export kept before is kept
// once: the same person sending it again gets the first Upload back;
// anyone else ErrOtherSupplier.
func (k *Uploads) Keep(ctx context.Context, r io.ReaderAt, size int64, u Upload) (Upload, error) {
	key, err := uploadKey(u.SHA256)
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
	was, err := k.Get(ctx, u.SHA256)
	if err != nil {
		return u, err
	}
	if was.SuppliedBy.ID != u.SuppliedBy.ID || was.Team != u.Team {
		return was, ErrOtherSupplier
	}
	return was, nil
}

// ChooseDateOrder sets the order of day and month of a kept export whose
// dates fit both (Upload.Ambiguous), as its sender chose it. It is set
// once: an export whose order is already set keeps it, and is returned
// as it is.
func (k *Uploads) ChooseDateOrder(ctx context.Context, sum string, o whatsapp.DateOrder, basis string) (Upload, error) {
	key, err := uploadKey(sum)
	if err != nil {
		return Upload{}, err
	}
	if o != whatsapp.DMY && o != whatsapp.MDY {
		return Upload{}, fmt.Errorf("date order %q: want dmy or mdy", o)
	}
	info, err := k.Store.Stat(ctx, key+".json")
	if errors.Is(err, filing.ErrNotExist) {
		return Upload{}, fmt.Errorf("export %s is not kept: %w", sum, capture.ErrNotFound)
	}
	if err != nil {
		return Upload{}, err
	}
	u, err := k.Get(ctx, sum)
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
			return k.Get(ctx, sum)
		}
		return u, fmt.Errorf("keep the date order: %w", err)
	}
	return u, nil
}

// Get returns what the export with SHA-256 sum was kept with; an error
// matching capture.ErrNotFound when it is not kept.
func (k *Uploads) Get(ctx context.Context, sum string) (Upload, error) {
	var u Upload
	key, err := uploadKey(sum)
	if err != nil {
		return u, err
	}
	rc, _, err := k.Store.Open(ctx, key+".json")
	if errors.Is(err, filing.ErrNotExist) {
		return u, fmt.Errorf("export %s is not kept: %w", sum, capture.ErrNotFound)
	}
	if err != nil {
		return u, err
	}
	defer rc.Close()
	if err := json.NewDecoder(io.LimitReader(rc, 64<<10)).Decode(&u); err != nil {
		return u, fmt.Errorf("read what export %s was kept with: %w", sum, err)
	}
	if u.SHA256 != sum {
		return u, fmt.Errorf("export %s was kept with another export's options: %w", sum, capture.ErrNotFound)
	}
	return u, nil
}

// Open implements whatsapp.Source's Open: ref.ThreadID is the export's
// SHA-256.
//
// An export in a local store is read where it is kept. One in a remote
// store (S3 has no reads at an offset through filing.Store) is copied to
// a temporary file, removed from its folder at once, and checked against
// its SHA-256 on the way; the copy is held for later attempts at the same
// export, until the export is deleted or the copy was not opened for
// copyIdle, so a retried filing does not copy it again.
func (k *Uploads) Open(ctx context.Context, ref capture.Ref) (whatsapp.Export, error) {
	u, err := k.Get(ctx, ref.ThreadID)
	if err != nil {
		return whatsapp.Export{}, err
	}
	o, err := u.Options(k.Limits)
	if err != nil {
		return whatsapp.Export{}, err
	}
	key, _ := uploadKey(u.SHA256)
	export := func(r io.ReaderAt, size int64) whatsapp.Export {
		return whatsapp.Export{R: r, Size: size, Name: u.Name, Options: o}
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
	if c := k.copyOf(u.SHA256); c != nil {
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
	return export(k.remember(u.SHA256, f, n), n), nil
}

// copyOf returns the local copy of the export sum, if one is held, and
// closes the copies not opened for copyIdle.
func (k *Uploads) copyOf(sum string) *localCopy {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	for s, c := range k.copies {
		if now.Sub(c.used) > copyIdle {
			c.f.Close()
			delete(k.copies, s)
		}
	}
	c := k.copies[sum]
	if c != nil {
		c.used = now
	}
	return c
}

// remember holds f, a checked copy of the export sum, for later
// attempts, and returns the copy to read: f, or one another attempt made
// meanwhile.
func (k *Uploads) remember(sum string, f *os.File, size int64) *os.File {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c := k.copies[sum]; c != nil {
		f.Close()
		c.used = k.now()
		return c.f
	}
	if k.copies == nil {
		k.copies = make(map[string]*localCopy)
	}
	k.copies[sum] = &localCopy{f: f, size: size, used: k.now()}
	return f
}

// forget closes the local copy of the export sum, if one is held.
func (k *Uploads) forget(sum string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c := k.copies[sum]; c != nil {
		c.f.Close()
		delete(k.copies, sum)
	}
}

func (k *Uploads) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

func (k *Uploads) log() *slog.Logger {
	if k.Logger != nil {
		return k.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Delete deletes the export with SHA-256 sum and what it was kept with,
// for good: in a store that keeps versions, every version of them.
// Deleting an export not kept is not an error.
func (k *Uploads) Delete(ctx context.Context, sum string) error {
	key, err := uploadKey(sum)
	if err != nil {
		return err
	}
	k.forget(sum)
	on, err := k.versioned(ctx)
	if err != nil {
		return fmt.Errorf("delete the kept export %s: %w", sum, err)
	}
	if on {
		// The key's prefix holds the export and its .json alone.
		vs, rm := k.Store.(filing.Versioner), k.Store.(filing.Remover)
		var errs []error
		for v, err := range vs.Versions(ctx, key) {
			if err != nil {
				return fmt.Errorf("delete the kept export %s: %w", sum, err)
			}
			if v.Key != key && v.Key != key+".json" {
				continue
			}
			if err := rm.RemoveVersion(ctx, v.Key, v.ID, false); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("delete the kept export %s: %w", sum, err)
		}
		return nil
	}
	if err := k.Store.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete the kept export %s: %w", sum, err)
	}
	if err := k.Store.Delete(ctx, key+".json"); err != nil {
		return fmt.Errorf("delete the kept export %s: %w", sum, err)
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
		sum, meta := strings.CutSuffix(strings.TrimPrefix(key, UploadsPrefix), ".json")
		if _, err := uploadKey(sum); err != nil {
			continue
		}
		e := kept[sum]
		if meta {
			e.meta = &o
		} else {
			e.export = &o
		}
		kept[sum] = e
	}
	n := 0
	var errs []error
	for sum, e := range kept {
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
		if err := k.Delete(ctx, sum); err != nil {
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
	t := time.NewTicker(expireEvery)
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
		case <-t.C:
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
