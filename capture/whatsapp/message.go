package whatsapp

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/recordbot/recordbot/capture"
)

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
