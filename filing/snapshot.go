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

// withMissing returns snap with the files in missing marked as not
// captured, with their reasons, for the transcripts.
func withMissing(snap *capture.Thread, missing []MissingFile) *capture.Thread {
	if len(missing) == 0 {
		return snap
	}
	why := make(map[string]string, len(missing))
	for _, m := range missing {
		why[m.Path] = m.Reason
	}
	view := *snap
	view.Messages = make([]capture.Message, len(snap.Messages))
	copy(view.Messages, snap.Messages)
	for i := range view.Messages {
		m := &view.Messages[i]
		m.Files = append([]capture.File(nil), m.Files...)
		for j := range m.Files {
			if r, ok := why[m.Files[j].Path]; ok && m.Files[j].Path != "" {
				m.Files[j].Path, m.Files[j].Error = "", r
			}
		}
	}
	return &view
}

// snapshot returns the thread as stored in the record, writing t first if
// no earlier attempt did. File paths are assigned here. When it writes the
// snapshot it returns its payload entry too, so that a large thread is not
// marshalled or read back a second time to hash it; nil when it was stored
// before.
func (f *filer) snapshot(ctx context.Context, fl *filing, t *capture.Thread) (*capture.Thread, *FileEntry, error) {
	if stored, err := f.readThread(ctx, fl.key+ThreadFile); err == nil {
		return stored, nil, nil
	} else if !errors.Is(err, ErrNotExist) {
		return nil, nil, err
	}
	if t == nil {
		return nil, nil, errors.New("no snapshot to file")
	}
	if err := t.Validate(); err != nil {
		return nil, nil, err
	}
	snap := *t
	snap.SchemaVersion = capture.SchemaVersion
	snap.Messages = make([]capture.Message, len(t.Messages))
	copy(snap.Messages, t.Messages)
	var files []*capture.File
	for i := range snap.Messages {
		m := &snap.Messages[i]
		m.Files = append([]capture.File(nil), m.Files...)
		for j := range m.Files {
			files = append(files, &m.Files[j])
		}
	}
	// Files that share their content (the same ContentID) are stored
	// once: the first of them is numbered, and the others give its path.
	n := 0
	counted := make(map[string]bool)
	for _, file := range files {
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
	k := 0
	shared := make(map[string]string)
	for _, file := range files {
		file.SHA256, file.Path = "", ""
		if file.Open == nil && file.Error == "" {
			file.Error = "content not available from the platform"
		}
		if file.Error != "" {
			continue
		}
		if p, ok := shared[file.ContentID]; ok && file.ContentID != "" {
			file.Path = p
			continue
		}
		k++
		file.Path = DataPath(k, n, file.Name)
		if file.ContentID != "" {
			shared[file.ContentID] = file.Path
		}
	}
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
		snap.Provenance = &p
	}
	e, err := f.createTemp(ctx, fl.key+ThreadFile, fl.with("application/json"), func(w io.Writer) error {
		return writeThreadJSON(w, &snap)
	})
	if errors.Is(err, ErrExist) {
		// Another worker got there first: its snapshot is the record's.
		stored, err := f.readThread(ctx, fl.key+ThreadFile)
		return stored, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	return &snap, &e, nil
}

// writeThreadJSON writes t as json.MarshalIndent(t, "", "  ") would, byte
// for byte, but a message at a time, so that the JSON of a long chat is
// never held whole in memory.
func writeThreadJSON(w io.Writer, t *capture.Thread) error {
	if len(t.Messages) == 0 {
		data, err := json.MarshalIndent(t, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	head := *t
	head.Messages = []capture.Message{}
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
	for j := range t.Messages {
		buf.Reset()
		if j == 0 {
			buf.WriteString("\n    ")
		} else {
			buf.WriteString(",\n    ")
		}
		if err := enc.Encode(&t.Messages[j]); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // the Encoder's newline
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(w, "\n  ]"); err != nil {
		return err
	}
	_, err = w.Write(after)
	return err
}

func (f *filer) readThread(ctx context.Context, key string) (*capture.Thread, error) {
	rc, _, err := f.store.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var t capture.Thread
	if err := json.NewDecoder(rc).Decode(&t); err != nil {
		return nil, fmt.Errorf("read stored snapshot %s: %w", key, err)
	}
	return &t, nil
}
