// Package whatsapp reads a WhatsApp "Export chat" file into a thread
// snapshot (capture.Thread) that recordbot files like any other.
//
// WhatsApp has no API to capture a chat from. What a person can do is
// export it on their phone: iOS makes a zip holding _chat.txt and the
// media; Android a "WhatsApp Chat with NAME.txt", in a zip when media is
// included. Read takes either, as an io.ReaderAt and its size, so a front
// end can pass an uploaded file and the command line a file on disk.
//
// The snapshot says it is a user-made export (Thread.Provenance): who
// supplied it, when, the file's name and SHA-256, and what reading it
// assumed. Times in an export are the phone's local time without an
// offset, and the order of day and month follows the phone's locale, so
// the time zone comes from Options and the date order is inferred from
// the whole file where it can be, from Options where it cannot.
//
// Every line of the chat text is accounted for in the provenance's
// ledger (capture.Ledger): a message's header, a continuation of the
// message above, a system line, or not understood. A line that starts
// with a date and time but cannot be read as a message's header is listed
// there with the lines after it, never folded into the message above. The
// text is read a line at a time (lineReader), so that it can be read as a
// stream.
//
// A front end that takes exports sent to the bot keeps each one until it
// is filed and registers a Source, which reads it again for the filing
// worker under capture.WhatsApp, as the Slack and Mattermost sources
// capture threads.
//
// The chat text is read as a stream, a line at a time, and never held:
// the thread Read returns gives its messages as a capture.MessageStream
// that reads the text again from the export at each pass, so filing a
// chat of millions of messages holds a message at a time. Describe (for a
// front end that tells a person what an export holds) reads it once.
// Media stream from the zip when the record is written. Every file of the zip is checked
// (names, sizes, compression ratio, CRC) before Read returns, so a
// damaged or hostile export fails with an *Error before anything is
// filed.
package whatsapp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/ctxio"
)

// Options say what the export itself does not.
type Options struct {
	// Location is the time zone the phone was in: export times have no
	// offset. Required.
	Location *time.Location
	// LocationBasis says where Location came from, for the record
	// (default "given by the person who supplied the export").
	LocationBasis string
	// DateOrder is the order of day and month to take when the export's
	// dates fit both; an export whose dates rule it out is refused.
	DateOrder DateOrder
	// DateOrderBasis says where DateOrder came from (default "the option
	// given by the person who supplied the export").
	DateOrderBasis string
	// SuppliedBy is the person who supplied the export.
	SuppliedBy capture.Person
	// SuppliedAt is when; the time of reading when zero.
	SuppliedAt time.Time
	// Via says how it was supplied: "command line", "slack dm"...
	Via string
	// ChatName names the chat when the file names do not.
	ChatName string
	// Limits bound what an export may hold; zero fields take defaults.
	Limits Limits
}

// Errors an export is refused with, as the Kind of an *Error.
var (
	// ErrNotExport: the file is not a WhatsApp chat export.
	ErrNotExport = errors.New("not a WhatsApp chat export")
	// ErrDamaged: the file is damaged or incomplete.
	ErrDamaged = errors.New("damaged or incomplete export")
	// ErrUnsafe: the zip is built as no phone builds one (names leaving
	// their folder, zip bombs, encryption).
	ErrUnsafe = errors.New("unsafe zip file")
	// ErrTooLarge: the export is above the Limits.
	ErrTooLarge = errors.New("export too large")
	// ErrDateOrder: the order of day and month cannot be told; give
	// Options.DateOrder.
	ErrDateOrder = errors.New("order of day and month unknown")
	// ErrEncoding: the chat text is not UTF-8.
	ErrEncoding = errors.New("chat text not UTF-8")
)

// Error is why an export cannot be read, in words for the person who
// supplied it. errors.Is matches its Kind.
type Error struct {
	Kind error
	// Msg says what is wrong with the file and, where it can, what to do.
	Msg string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the kind of error.
func (e *Error) Unwrap() error { return e.Kind }

// Is matches capture.ErrBadExport.
func (e *Error) Is(target error) bool { return target == capture.ErrBadExport }

// As lets errors.As find a *capture.Problem in an Error: a bad export,
// whose advice is Msg.
func (e *Error) As(target any) bool {
	if p, ok := target.(**capture.Problem); ok {
		*p = &capture.Problem{Kind: capture.BadExport, Advice: e.Msg, Err: e.Kind}
		return true
	}
	return false
}

func notExport(msg string) error {
	return &Error{ErrNotExport, "this is not a WhatsApp chat export: " + msg}
}
func damaged(msg string) error { return &Error{ErrDamaged, msg} }
func unsafeZip(msg string) error {
	return &Error{ErrUnsafe, "this zip is not a WhatsApp export as a phone makes it: " + msg}
}
func tooLarge(msg string) error { return &Error{ErrTooLarge, "this export is too large: " + msg} }
func dateError(msg string) error {
	return &Error{ErrDateOrder, "cannot tell the order of day and month: " + msg}
}

// Open reads the export at path. The returned Closer closes the file the
// snapshot's media stream from: close it once the record is filed.
func Open(ctx context.Context, name string, o Options) (*capture.Thread, io.Closer, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is not a regular file", name)
	}
	t, err := Read(ctx, f, info.Size(), filepath.Base(name), o)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return t, f, nil
}

// Read reads an export of size bytes from r, named name as supplied (a
// .zip or a .txt). r must stay readable until the record is filed: the
// snapshot's messages (Thread.Stream), media and original stream from
// it. The messages of a short chat are held in Thread.Messages too.
func Read(ctx context.Context, r io.ReaderAt, size int64, name string, o Options) (*capture.Thread, error) {
	t, _, err := read(ctx, r, size, name, o, true)
	return t, err
}

// Description is what Describe finds in an export.
type Description struct {
	// Thread is the snapshot Read returns, but without its messages.
	Thread *capture.Thread
	// Messages counts the messages.
	Messages int
	// Media counts the media files the messages name that the export
	// holds, each once however many messages name it; Omitted the media
	// files they name that it does not hold (exported without media, or
	// missing), each naming counted.
	Media, Omitted int
}

// Describe reads an export as Read does, and refuses what Read refuses,
// but keeps none of its messages: it holds a message at a time, so that a
// front end can tell a person what an export holds before it is filed
// without holding the whole chat in memory.
func Describe(ctx context.Context, r io.ReaderAt, size int64, name string, o Options) (*Description, error) {
	t, d, err := read(ctx, r, size, name, o, false)
	if err != nil {
		return nil, err
	}
	d.Thread = t
	return d, nil
}

// read reads an export for Read, with its messages when keep is set, and
// for Describe.
func read(ctx context.Context, r io.ReaderAt, size int64, name string, o Options, keep bool) (*capture.Thread, *Description, error) {
	if o.Location == nil {
		return nil, nil, errors.New("no time zone given: WhatsApp writes the phone's local time without one")
	}
	l := o.Limits.withDefaults()
	if size <= 0 {
		return nil, nil, notExport("the file is empty")
	}
	var magic [4]byte
	n, _ := r.ReadAt(magic[:], 0)
	isZip := n == 4 && (string(magic[:]) == "PK\x03\x04" || string(magic[:]) == "PK\x05\x06")

	var (
		wg      sync.WaitGroup
		sum     string
		hashErr error
	)
	// The checksum of the whole file is read alongside the checks.
	hctx, stopHash := context.WithCancel(ctx)
	defer stopHash()
	wg.Add(1)
	go func() {
		defer wg.Done()
		h := sha256.New()
		if _, err := io.CopyBuffer(h, ctxio.Reader(hctx, io.NewSectionReader(r, 0, size)), make([]byte, 256<<10)); err != nil {
			hashErr = err
			return
		}
		sum = hex.EncodeToString(h.Sum(nil))
	}()
	var (
		open    func() (io.ReadCloser, error) // opens the chat text
		arc     *archive
		err     error
		chatTxt = name
	)
	if isZip {
		arc, err = openZip(r, size, l)
		if err == nil {
			chatTxt = arc.chat.Name
			open = arc.chat.Open
		}
	} else {
		switch {
		case n >= 2 && (magic[0] == 0xFF && magic[1] == 0xFE || magic[0] == 0xFE && magic[1] == 0xFF):
			err = &Error{ErrEncoding, "the chat text is UTF-16; WhatsApp writes UTF-8: send the file as the phone exported it"}
		case size > l.MaxText:
			err = tooLarge(fmt.Sprintf("the chat text is %s; recordbot reads chats up to %s", human(uint64(size)), human(uint64(l.MaxText))))
		case n == 4 && string(magic[:2]) == "PK":
			err = damaged("the zip file is damaged or incomplete (was the export's download or upload cut short?)")
		default:
			open = func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(r, 0, size)), nil }
		}
	}
	var (
		t *capture.Thread
		d *Description
	)
	if err == nil {
		t, d, err = parse(ctx, open, arc, o, keep)
	}
	if err != nil {
		stopHash() // the file is refused
		wg.Wait()
		return nil, nil, err
	}
	wg.Wait()
	if hashErr != nil {
		return nil, nil, fmt.Errorf("read %s: %w", name, hashErr)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}

	supplied := o.SuppliedAt
	if supplied.IsZero() {
		supplied = time.Now()
	}
	supplied = supplied.UTC()
	prov := t.Provenance
	if isZip {
		prov.Format += "-zip"
	} else {
		prov.Format += "-txt"
	}
	prov.Kind = capture.UserExport
	prov.Description = "user-made export: a WhatsApp chat exported on a phone by a person and supplied to recordbot, not captured from WhatsApp by recordbot"
	prov.SuppliedBy, prov.SuppliedAt, prov.Via = o.SuppliedBy, supplied, o.Via
	prov.FileName, prov.FileSize, prov.FileSHA256 = name, size, sum
	ct := "text/plain; charset=utf-8"
	if isZip {
		ct = "application/zip"
	}
	prov.Original = &capture.File{
		ID: "original", Name: name, MIMEType: ct, Size: size, Source: name,
		Open: func(ctx context.Context) (io.ReadCloser, error) {
			return section{io.NewSectionReader(r, 0, size)}, nil
		},
	}
	if o.ChatName != "" {
		t.Channel.Name = o.ChatName
	} else if c := chatName(name); c != "" {
		t.Channel.Name = c
	} else if c := chatName(chatTxt); c != "" {
		t.Channel.Name = c
	}
	if t.Channel.Name == "" {
		t.Channel.Name = "WhatsApp chat"
	}
	t.Channel.ID = "wa-" + sum[:16]
	t.ThreadID = sum
	t.CapturedAt = supplied
	return t, d, nil
}

// chatName returns the chat's name from an export's file name:
// "WhatsApp Chat with Project Board.txt", "WhatsApp Chat - Project
// Board.zip" (a browser may add " (1)").
func chatName(file string) string {
	base := path.Base(filepath.ToSlash(file))
	base = strings.TrimSuffix(base, path.Ext(base))
	if i := strings.LastIndex(base, " ("); i > 0 && strings.HasSuffix(base, ")") {
		base = base[:i]
	}
	for _, p := range []string{
		"WhatsApp Chat with ", "WhatsApp Chat - ", "WhatsApp Chat mit ", "WhatsApp-Chat mit ", "Chat de WhatsApp con ",
		"Conversa do WhatsApp com ", "Discussion WhatsApp avec ", "Chat WhatsApp con ", "WhatsApp-chat met ",
	} {
		if c, ok := strings.CutPrefix(base, p); ok && strings.TrimSpace(c) != "" {
			return strings.TrimSpace(c)
		}
	}
	return ""
}
