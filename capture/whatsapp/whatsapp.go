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
// The chat text is read as a stream, a line at a time: Read holds its
// messages, Describe (for a front end that tells a person what an export
// holds) only a message at a time. Media stream from the zip when the
// record is written. Every file of the zip is checked
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
// snapshot's media and its original stream from it.
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

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// reading is what the messages of an export read so far name of its
// files, and the limits they are held to.
type reading struct {
	arc       *archive
	l         Limits
	inExport  func(string) bool
	ledger    *capture.Ledger
	used      map[string]bool
	refsNamed int   // media files messages name, each naming counted
	stored    int64 // bytes of the distinct media files messages name
	attached  int   // media files messages name, in the export or not (not those omitted)
	groupName string
	// media and omitted count what Description does.
	media, omitted int
}

// message reads rm, the pos'th message, into a message without its time,
// which needs the date order of the whole export.
func (s *reading) message(rm *rawMessage, pos int) (capture.Message, error) {
	m := capture.Message{ID: fmt.Sprintf("L%d", rm.line), Position: pos, Text: rm.text}
	switch {
	case rm.system:
		m.Subtype = subtypeSystem
	case rm.st.ios && systemText(rm.text):
		// iOS writes its notices under the chat's name.
		m.Subtype = subtypeSystem
		s.ledger.Headers--
		s.ledger.System++
		if s.groupName == "" {
			s.groupName = trimMarks(rm.author)
		}
	default:
		name := stripMarks(strings.TrimSpace(rm.author))
		m.Author = capture.Person{ID: name, DisplayName: name}
		if isPhone(name) {
			m.Author.ID = phoneID(name)
		}
	}
	readableText := rm.text
	if m.Subtype != subtypeSystem {
		// The edit mark is the message's Edited flag, not its text;
		// an export does not say when it was edited.
		if cut, ok := cutEdited(rm.text); ok {
			readableText = cut
			m.Edited = &capture.Edit{By: m.Author.ID}
		}
	}
	m.ReadableText = readable(readableText)
	first := trimMarks(rm.text)
	switch {
	case m.Subtype == subtypeSystem:
	case contains(deletedTexts, first):
		m.Subtype = subtypeDeleted
	case trimMarks(readableText) == "":
		m.Subtype = subtypeNoText
	}
	if m.Subtype != subtypeSystem && m.Subtype != subtypeDeleted {
		refs := findMedia(readableText, s.inExport)
		s.refsNamed += len(refs)
		if s.refsNamed > s.l.MaxRefs {
			return m, tooLarge(fmt.Sprintf("its messages name more than %d media files; recordbot files chats that name at most %d", s.l.MaxRefs, s.l.MaxRefs))
		}
		for _, ref := range refs {
			first := s.arc != nil && ref.omitted == "" && !s.used[ref.name]
			f := mediaFile(m.ID, ref, s.arc, s.used, len(m.Files), &s.stored)
			if s.stored > s.l.MaxStored {
				return m, tooLarge(fmt.Sprintf("the media files its messages name add up to more than %s (each counted once, however many messages name it); recordbot stores at most %s", human(uint64(s.l.MaxStored)), human(uint64(s.l.MaxStored))))
			}
			switch {
			case f.Error != "":
				s.omitted++
			case first:
				s.media++
			}
			m.Files = append(m.Files, f)
		}
		for _, ref := range refs {
			if ref.omitted == "" {
				s.attached++
			}
		}
		if m.Subtype == "" {
			m.Subtype = kindOf(readableText, refs)
		}
	}
	return m, nil
}

func newReading(arc *archive, l Limits) *reading {
	s := &reading{arc: arc, l: l, inExport: func(string) bool { return false }, used: make(map[string]bool)}
	if arc != nil {
		s.inExport = func(name string) bool { _, ok := arc.files[name]; return ok }
	}
	return s
}

// readMessages reads the n messages of a chat text parse has read and
// found to be in date order order.
func readMessages(open func() (io.ReadCloser, error), n int, order DateOrder, loc *time.Location, arc *archive, l Limits) ([]capture.Message, error) {
	changed := damaged("the export changed while it was read: send it again")
	rc, err := open()
	if err != nil {
		return nil, changed
	}
	defer rc.Close()
	s := newReading(arc, l)
	lr := &lineReader{}
	s.ledger = &lr.ledger
	msgs := make([]capture.Message, 0, n)
	lr.emit = func(rm *rawMessage) error {
		if len(msgs) == n {
			return changed
		}
		m, err := s.message(rm, len(msgs))
		if err != nil {
			return err
		}
		m.Time = rm.timeOf(order, loc)
		msgs = append(msgs, m)
		return nil
	}
	readErr, err := lr.read(io.LimitReader(rc, l.MaxText+1))
	if readErr != nil || err != nil || len(msgs) != n {
		return nil, changed
	}
	return msgs, nil
}

// parse builds the thread from the chat text open opens and the zip's
// files (arc, nil for a chat text alone): with its messages when keep is
// set, else only the counts of a Description.
//
// The text is read once to check it, count its messages and tell its
// date order, holding a message at a time; then, for Read, once more to
// make its messages, into a slice made to their number.
func parse(ctx context.Context, open func() (io.ReadCloser, error), arc *archive, o Options, keep bool) (*capture.Thread, *Description, error) {
	l := o.Limits.withDefaults()
	s := newReading(arc, l)
	rc, err := open()
	if err != nil {
		return nil, nil, damaged("the chat text in the zip cannot be read: " + err.Error())
	}
	defer rc.Close()
	var chat io.Reader = rc
	var counted *countingReader
	if arc != nil {
		counted = &countingReader{r: io.LimitReader(rc, l.MaxText+1)}
		chat = counted
	}
	var (
		msgErr error // the first message that cannot be filed
		nread  int
	)
	lr := &lineReader{}
	s.ledger = &lr.ledger
	lr.emit = func(rm *rawMessage) error {
		if msgErr == nil {
			_, msgErr = s.message(rm, nread)
		}
		nread++
		return nil
	}
	readErr, err := lr.read(chat)
	if counted != nil {
		// As a chat text in a zip was read whole before: its damage and
		// its size first, then the other files of the zip.
		switch {
		case readErr != nil:
			return nil, nil, damaged("the chat text in the zip is damaged: " + readErr.Error())
		case counted.n > l.MaxText:
			return nil, nil, tooLarge(fmt.Sprintf("the chat text is over %s", human(uint64(l.MaxText))))
		}
		if verr := arc.verify(ctx); verr != nil {
			return nil, nil, verr
		}
	} else if readErr != nil {
		return nil, nil, readErr
	}
	if err != nil {
		return nil, nil, err
	}
	order, orderBasis, err := lr.dates.dateOrder(o.DateOrder)
	if err != nil {
		return nil, nil, err
	}
	if msgErr != nil {
		return nil, nil, msgErr
	}
	if o.DateOrder != "" && strings.HasPrefix(orderBasis, "the export's dates fit both") && o.DateOrderBasis != "" {
		orderBasis = "the export's dates fit both orders, so it was taken from " + o.DateOrderBasis
	}
	t := &capture.Thread{
		SchemaVersion: capture.SchemaVersion, Platform: capture.WhatsApp,
		Workspace: capture.Workspace{ID: "user-export", Name: "user-made export"},
		Channel:   capture.Channel{Private: true},
	}
	if keep {
		if t.Messages, err = readMessages(open, lr.n, order, o.Location, arc, l); err != nil {
			return nil, nil, err
		}
	}
	if o.ChatName == "" && s.groupName != "" {
		t.Channel.Name = s.groupName
	}
	basis := o.LocationBasis
	if basis == "" {
		basis = "given by the person who supplied the export"
	}
	format := "whatsapp-android"
	if lr.ios {
		format = "whatsapp-ios"
	}
	p := &capture.Provenance{Format: format, Assumptions: []capture.Assumption{
		{Subject: "date order", Value: order.String(), Basis: orderBasis},
		{Subject: "time zone", Value: o.Location.String(), Basis: "the export's times are the phone's local time without an offset; the zone was " + basis},
	}}
	ledger := lr.ledger
	if lr.odd > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("%d message line(s) give a 12-hour clock with an hour of 0 or above 12 (the first on line %d); each was read as the 24-hour time its hour gives", lr.odd, lr.oddLine))
	}
	if ledger.NotUnderstood > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("%d line(s) of the chat text were not understood and are part of no message; they are listed in the ledger, and kept in the original export", ledger.NotUnderstood))
	}
	media := arc != nil && len(arc.names) > 0 || s.attached > 0
	if c := exportCap(lr.n, media); c > 0 {
		ledger.MayBeCut = c
		p.Notes = append(p.Notes, fmt.Sprintf("the export holds %d messages, as many as WhatsApp puts in an export %s (about %d): WhatsApp stops there without saying so, so the chat may hold more messages than this export", lr.n, capWords(c), c))
	}
	p.Ledger = &ledger
	if arc != nil {
		p.Notes = append(p.Notes, arc.renamed...)
		var unused []string
		for _, n := range arc.names {
			if !s.used[n] {
				unused = append(unused, n)
			}
		}
		if len(unused) > 0 {
			note := fmt.Sprintf("%d file(s) in the export are named by no message; they are kept in the original export: ", len(unused))
			if len(unused) > 20 {
				note += strings.Join(unused[:20], ", ") + fmt.Sprintf(" and %d more", len(unused)-20)
			} else {
				note += strings.Join(unused, ", ")
			}
			p.Notes = append(p.Notes, note)
		}
	}
	t.Provenance = p
	return t, &Description{Messages: lr.n, Media: s.media, Omitted: s.omitted}, nil
}

// The most messages WhatsApp puts in an export, with media and without:
// about 10,000 and 40,000, the most recent ones, and it stops there
// without saying so (issue 22; said too by, for one,
// https://receipts.love/learn/backing-up-whatsapp-conversations).
const (
	capWithMedia    = 10_000
	capWithoutMedia = 40_000
)

// exportCap returns the limit a chat of n messages is at, within 1%, or
// 0: at it, WhatsApp may have cut the export short without saying so. An
// export that names or holds media is held to both limits (it may have
// been made with media or without); one without media to the higher.
func exportCap(n int, media bool) int {
	near := func(c int) bool { return n >= c-c/100 && n <= c+c/100 }
	switch {
	case media && near(capWithMedia):
		return capWithMedia
	case near(capWithoutMedia):
		return capWithoutMedia
	}
	return 0
}

func capWords(c int) string {
	if c == capWithMedia {
		return "with media"
	}
	return "without media"
}

// readable returns text without the invisible direction marks and
// byte-order marks WhatsApp puts around names, numbers and markers: a
// reader sees nothing of them, and a transcript would show them escaped.
// The message's Text keeps them as written.
func readable(text string) string {
	return stripMarks(text)
}

// mediaFile returns the file a marker names: streamed from the zip when
// the export holds it, else listed with why its content is not there.
//
// The file's ContentID is its name in the export: each message that
// names the file gives the same content, which a record stores once.
// stored adds up the size of each file the first time it is named.
func mediaFile(msgID string, ref mediaRef, arc *archive, used map[string]bool, nth int, stored *int64) capture.File {
	if ref.omitted != "" {
		name := ref.omitted
		if ref.name != "" {
			name = ref.name
		}
		id := msgID + ":omitted"
		if nth > 0 {
			id += fmt.Sprintf("-%d", nth+1)
		}
		return capture.File{
			ID: id, Name: name, MIMEType: mimeType(ref.name), Size: -1,
			Error: fmt.Sprintf("not exported: the chat was exported without media, and the export says %q in its place", ref.marker),
		}
	}
	f := capture.File{ID: msgID + ":" + ref.name, Name: path.Base(ref.name), MIMEType: mimeType(ref.name), Size: -1, Source: ref.name}
	if arc == nil {
		f.Error = "not in the export: only the chat text was supplied, without the zip that holds the media"
		return f
	}
	zf, ok := arc.files[ref.name]
	if !ok {
		f.Error = "not in the export: the zip holds no file of this name"
		return f
	}
	if !used[ref.name] {
		used[ref.name] = true
		*stored += int64(zf.UncompressedSize64)
	}
	f.ContentID = ref.name
	f.Size = int64(zf.UncompressedSize64)
	f.Open = func(ctx context.Context) (io.ReadCloser, error) { return openEntry(zf) }
	return f
}
