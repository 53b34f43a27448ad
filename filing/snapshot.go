package filing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/recordbot/recordbot/capture"
)

// A record's snapshot (data/thread.json) is written, and its transcripts
// rendered, a message at a time: the thread's messages are gone through
// with capture.Thread.Each, which reads a long chat again from its
// source at each pass (a WhatsApp export of millions of messages) rather
// than holding it. Each view below (the files placed in the package, the
// files found missing) is a capture.MessageStream over the one before it,
// so no pass holds more than a message.

// snap is a record's snapshot as filing goes on with it.
type snap struct {
	// thread is the snapshot: as stored by an earlier attempt, or the
	// captured thread with its files placed in the package (placed).
	thread *capture.Thread
	// survey is what Participants and Span say of it.
	survey capture.Survey
	// files are its files in thread order, without the original.
	files []*capture.File
	// entry is the payload entry of thread.json when this attempt wrote
	// it; nil when an earlier one did.
	entry *FileEntry
	// fresh is set when the snapshot was made from this attempt's
	// capture: its files' openers are that capture's.
	fresh bool
}

// withMissing returns t with the files in missing marked as not
// captured, with their reasons, for the transcripts.
func withMissing(t *capture.Thread, missing []MissingFile) *capture.Thread {
	if len(missing) == 0 {
		return t
	}
	why := make(map[string]string, len(missing))
	for _, m := range missing {
		why[m.Path] = m.Reason
	}
	view := *t
	view.Messages = nil
	view.Stream = &rewritten{t: t, fn: func(m *capture.Message) {
		changed := false
		for j := range m.Files {
			if r, ok := why[m.Files[j].Path]; ok && m.Files[j].Path != "" {
				if !changed {
					m.Files = append([]capture.File(nil), m.Files...)
					changed = true
				}
				m.Files[j].Path, m.Files[j].Error = "", r
			}
		}
	}}
	return &view
}

// rewritten are the messages of t, each changed by fn, which must copy
// any slice of the message before changing its elements.
type rewritten struct {
	t  *capture.Thread
	fn func(m *capture.Message)
}

func (r *rewritten) Len() int { return r.t.Len() }

func (r *rewritten) Each(ctx context.Context, fn func(m *capture.Message) error) error {
	return r.t.Each(ctx, func(m *capture.Message) error {
		r.fn(m)
		return fn(m)
	})
}

// placed returns t with its files placed in the record package: each
// file with content is given its Path ("data/files/001_name"), those
// sharing a ContentID the path of the first of them; a file without
// content says why (Error). The numbering needs the number of files
// stored, so t is gone through once here, and checked (Validate) in the
// same pass.
func placed(ctx context.Context, t *capture.Thread) (*capture.Thread, error) {
	n := 0
	counted := make(map[string]bool)
	err := t.ValidateEach(ctx, func(m *capture.Message) {
		for _, file := range m.Files {
			if file.Open != nil && file.Error == "" {
				if file.ContentID != "" {
					if counted[file.ContentID] {
						continue
					}
					counted[file.ContentID] = true
				}
				n++
			}
		}
	})
	if err != nil {
		return nil, err
	}
	view := *t
	view.Messages = nil
	view.Stream = &placer{t: t, n: n}
	return &view, nil
}

// placer are the messages of t with their files placed (see placed): the
// same paths at every pass, as they are given in thread order.
type placer struct {
	t *capture.Thread
	n int
}

func (p *placer) Len() int { return p.t.Len() }

func (p *placer) Each(ctx context.Context, fn func(m *capture.Message) error) error {
	k := 0
	shared := make(map[string]string)
	return p.t.Each(ctx, func(m *capture.Message) error {
		if len(m.Files) > 0 {
			m.Files = append([]capture.File(nil), m.Files...)
		}
		for j := range m.Files {
			file := &m.Files[j]
			file.SHA256, file.Path = "", ""
			if file.Open == nil && file.Error == "" {
				file.Error = "content not available from the platform"
			}
			if file.Error != "" {
				continue
			}
			if path, ok := shared[file.ContentID]; ok && file.ContentID != "" {
				file.Path = path
				continue
			}
			k++
			file.Path = DataPath(k, p.n, file.Name)
			if file.ContentID != "" {
				shared[file.ContentID] = file.Path
			}
		}
		return fn(m)
	})
}

// snapshot returns the thread as stored in the record, writing t first if
// no earlier attempt did. File paths are assigned here. The pass that
// writes it surveys it too, so that a long thread is not gone through
// again (nor read back) for its participants, span and files.
func (f *filer) snapshot(ctx context.Context, fl *filing, t *capture.Thread) (*snap, error) {
	if stored, err := f.readThread(ctx, fl.key+ThreadFile); err == nil {
		return surveyed(ctx, &snap{thread: stored})
	} else if !errors.Is(err, ErrNotExist) {
		return nil, err
	}
	if t == nil {
		return nil, errors.New("no snapshot to file")
	}
	pt, err := placed(ctx, t)
	if err != nil {
		return nil, err
	}
	pt.SchemaVersion = capture.SchemaVersion
	if t.Provenance != nil {
		// A supplied export is kept byte for byte beside the snapshot.
		p := *t.Provenance
		p.Assumptions = append([]capture.Assumption(nil), p.Assumptions...)
		p.Notes = append([]string(nil), p.Notes...)
		if p.Original != nil {
			o := *p.Original
			o.SHA256, o.Path = "", ""
			if o.Open == nil && o.Error == "" {
				o.Error = "the supplied file could not be read"
			}
			if o.Error == "" {
				o.Path = OriginalPath(o.Name)
			}
			p.Original = &o
		}
		pt.Provenance = &p
	}
	s := &snap{thread: pt, fresh: true}
	e, err := f.createTemp(ctx, fl.key+ThreadFile, fl.with("application/json"), func(w io.Writer) error {
		return writeThreadJSON(ctx, w, pt, s.add)
	})
	if errors.Is(err, ErrExist) {
		// Another worker got there first: its snapshot is the record's.
		stored, err := f.readThread(ctx, fl.key+ThreadFile)
		if err != nil {
			return nil, err
		}
		return surveyed(ctx, &snap{thread: stored})
	}
	if err != nil {
		return nil, err
	}
	s.entry = &e
	return s, nil
}

// add takes in the snapshot's next message.
func (s *snap) add(m *capture.Message) {
	s.survey.Add(m)
	for j := range m.Files {
		s.files = append(s.files, &m.Files[j])
	}
}

// surveyed returns s surveyed, in a pass of its own.
func surveyed(ctx context.Context, s *snap) (*snap, error) {
	err := s.thread.Each(ctx, func(m *capture.Message) error { s.add(m); return nil })
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Files returns the snapshot's files, the original first, as
// capture.Thread.Files does.
func (s *snap) Files() []*capture.File {
	if p := s.thread.Provenance; p != nil && p.Original != nil {
		return append([]*capture.File{p.Original}, s.files...)
	}
	return s.files
}

// writeThreadJSON writes t as json.MarshalIndent(t, "", "  ") would, byte
// for byte, but a message at a time, so that the JSON of a long chat is
// never held whole in memory; each message is passed to seen too, once
// written.
func writeThreadJSON(ctx context.Context, w io.Writer, t *capture.Thread, seen func(m *capture.Message)) error {
	if t.Len() == 0 {
		head := *t
		head.Stream = nil
		data, err := json.MarshalIndent(&head, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	head := *t
	head.Messages, head.Stream = []capture.Message{}, nil
	data, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return err
	}
	// A top-level key is the only place a newline and two spaces can
	// come before it: newlines inside strings are escaped.
	const slot = "\n  \"messages\": ["
	i := bytes.Index(data, []byte(slot))
	if i < 0 || !bytes.HasPrefix(data[i+len(slot):], []byte("]")) {
		return errors.New("thread JSON: no messages field")
	}
	before, after := data[:i+len(slot)], data[i+len(slot)+1:]
	if _, err := w.Write(before); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("    ", "  ")
	j := 0
	err = t.Each(ctx, func(m *capture.Message) error {
		buf.Reset()
		if j == 0 {
			buf.WriteString("\n    ")
		} else {
			buf.WriteString(",\n    ")
		}
		j++
		if err := enc.Encode(m); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // the Encoder's newline
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
		if seen != nil {
			seen(m)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, "\n  ]"); err != nil {
		return err
	}
	_, err = w.Write(after)
	return err
}

// readThread returns the snapshot stored at key. Its messages are a
// stream that decodes them from the stored object at each pass, a message
// at a time: a retried filing of a chat of millions of messages holds no
// more of it than the first attempt did.
func (f *filer) readThread(ctx context.Context, key string) (*capture.Thread, error) {
	open := func(ctx context.Context) (io.ReadCloser, error) {
		rc, _, err := f.store.Open(ctx, key)
		return rc, err
	}
	rc, err := open(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// The fields but the messages are gathered, then decoded as the
	// thread; the messages are counted.
	head := make(map[string]json.RawMessage)
	n := 0
	err = walkThreadJSON(rc, func(name string, dec *json.Decoder) error {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		head[name] = raw
		return nil
	}, func(dec *json.Decoder) error {
		var skip json.RawMessage
		n++
		return dec.Decode(&skip)
	})
	if err != nil {
		return nil, fmt.Errorf("read stored snapshot %s: %w", key, err)
	}
	data, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	var t capture.Thread
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("read stored snapshot %s: %w", key, err)
	}
	t.Messages = nil
	t.Stream = &storedMessages{open: open, key: key, n: n}
	return &t, nil
}

// walkThreadJSON reads the JSON object of a thread from r, calling field
// with each of its fields but "messages" (the decoder is at its value,
// which field decodes) and message with each element of "messages".
func walkThreadJSON(r io.Reader, field func(name string, dec *json.Decoder) error, message func(dec *json.Decoder) error) error {
	dec := json.NewDecoder(r)
	if tok, err := dec.Token(); err != nil {
		return err
	} else if tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		if name != "messages" {
			if err := field(name, dec); err != nil {
				return err
			}
			continue
		}
		tok, err = dec.Token()
		if err != nil {
			return err
		}
		if tok == nil {
			continue // "messages": null
		}
		if tok != json.Delim('[') {
			return errors.New("messages: not a JSON array")
		}
		for dec.More() {
			if err := message(dec); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

// storedMessages are the messages of a snapshot stored at key, decoded
// from it at each pass.
type storedMessages struct {
	open func(ctx context.Context) (io.ReadCloser, error)
	key  string
	n    int
}

func (s *storedMessages) Len() int { return s.n }

func (s *storedMessages) Each(ctx context.Context, fn func(m *capture.Message) error) error {
	rc, err := s.open(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	n := 0
	var stop error // fn's error, not the reading's
	err = walkThreadJSON(rc, func(_ string, dec *json.Decoder) error {
		var skip json.RawMessage
		return dec.Decode(&skip)
	}, func(dec *json.Decoder) error {
		var m capture.Message
		if err := dec.Decode(&m); err != nil {
			return err
		}
		if n%1024 == 0 {
			if stop = ctx.Err(); stop != nil {
				return stop
			}
		}
		n++
		if stop = fn(&m); stop != nil {
			return stop
		}
		return nil
	})
	switch {
	case stop != nil:
		return stop
	case err != nil:
		return fmt.Errorf("read stored snapshot %s: %w", s.key, err)
	case n != s.n:
		return fmt.Errorf("read stored snapshot %s: %d messages, %d before", s.key, n, s.n)
	}
	return nil
}

// pdfHead returns t with only the messages the PDF transcript can show
// (pdfExtent) held in Messages: those of a stream are read up to there,
// and the stream stays, for the PDF to tell the thread's length (Len).
func pdfHead(ctx context.Context, t *capture.Thread) (*capture.Thread, error) {
	if t.Stream == nil {
		return t, nil
	}
	head := *t
	head.Messages = make([]capture.Message, 0, min(t.Len(), pdfMessages+1))
	err := t.Each(ctx, func(m *capture.Message) error {
		head.Messages = append(head.Messages, *m)
		if len(head.Messages) > pdfMessages {
			return errHeadRead
		}
		return nil
	})
	if err != nil && !errors.Is(err, errHeadRead) {
		return nil, err
	}
	return &head, nil
}

// errHeadRead stops the reading of a thread's messages once pdfHead has
// what the PDF can show.
var errHeadRead = errors.New("the PDF's messages are read")
