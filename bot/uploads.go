package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
	"github.com/recordbot/recordbot/filing"
)

// UploadsPrefix holds the chat exports people send to the bot, kept until
// they are filed: the export at UploadsPrefix+SHA-256, create-only, and
// what it was read with beside it (UploadsPrefix+SHA-256+".json").
const UploadsPrefix = "uploads/whatsapp/"

// MaxUpload is the largest export the bot takes from a chat: Slack's
// own limit on a file (1 GB, https://slack.com/help/articles/201330736).
const MaxUpload = 1 << 30

// Uploads keeps the WhatsApp exports people send to the bot, so that the
// filing worker can read them again (whatsapp.Source), after a restart
// too.
type Uploads struct {
	Store filing.Store
	// Limits are those exports are read with.
	Limits whatsapp.Limits
	// TempDir holds a kept export while it is read; os.TempDir when
	// empty.
	TempDir string
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
// SHA-256. The kept object is copied to a temporary file, removed at
// once, that the returned reader reads until it is no longer used.
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
	rc, _, err := k.Store.Open(ctx, key)
	if errors.Is(err, filing.ErrNotExist) {
		return whatsapp.Export{}, fmt.Errorf("export %s is not kept: %w", u.SHA256, capture.ErrNotFound)
	}
	if err != nil {
		return whatsapp.Export{}, err
	}
	defer rc.Close()
	f, err := os.CreateTemp(k.TempDir, "recordbot-export-*")
	if err != nil {
		return whatsapp.Export{}, err
	}
	// Removed at once: the open file is read until it is unreachable,
	// and its space is freed when the file is closed (by the runtime).
	os.Remove(f.Name())
	n, err := io.Copy(f, io.LimitReader(rc, MaxUpload+1))
	if err != nil {
		f.Close()
		return whatsapp.Export{}, fmt.Errorf("read the kept export %s: %w", u.SHA256, err)
	}
	if n > MaxUpload {
		f.Close()
		return whatsapp.Export{}, fmt.Errorf("the kept export %s is over %d bytes: %w", u.SHA256, MaxUpload, capture.ErrNotFound)
	}
	return whatsapp.Export{R: f, Size: n, Name: u.Name, Options: o}, nil
}
