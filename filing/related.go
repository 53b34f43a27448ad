package filing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/recordbot/recordbot/capture"
)

// Corrects is the relation of a record to an earlier record of the same
// source that it files again with a corrected reading (another date
// order or time zone of a chat export, another class or title): the
// earlier record stays as it was filed, and the later one names it.
const Corrects = "corrects"

// Related names another record and how a record relates to it, in
// record.json's "related": [{"id": ..., "relation": "corrects"}].
type Related struct {
	// ID is the other record's id.
	ID string `json:"id"`
	// Relation is what this record is to it: Corrects.
	Relation string `json:"relation"`
	// Key is the other record's folder in the store, when known.
	Key string `json:"key,omitempty"`
}

// Difference is one way a new reading of a source differs from a record
// filed of it before: Subject is "date order", "time zone", "class" or
// "title"; Filed is the record's, Now the new reading's.
type Difference struct {
	Subject string
	Filed   string
	Now     string
}

// Differences returns how filing t under class and title would differ
// from rec, filed of the same source before: the assumptions its reading
// made (date order, time zone), the class and the title. None when the
// reading is the same.
func Differences(rec *Record, t *capture.Thread, class, title string) []Difference {
	var out []Difference
	filed := make(map[string]string)
	if rec.Provenance != nil {
		for _, a := range rec.Provenance.Assumptions {
			filed[a.Subject] = a.Value
		}
	}
	if t.Provenance != nil {
		for _, a := range t.Provenance.Assumptions {
			if v, ok := filed[a.Subject]; ok && v != a.Value {
				out = append(out, Difference{Subject: a.Subject, Filed: v, Now: a.Value})
			}
		}
	}
	if rec.Class.Code != class {
		out = append(out, Difference{Subject: "class", Filed: rec.Class.Code, Now: class})
	}
	if rec.Title != title {
		out = append(out, Difference{Subject: "title", Filed: rec.Title, Now: title})
	}
	return out
}

// RecordsOf returns the records in st filed of the thread p and threadID
// name (for a chat export, its SHA-256), oldest first: those a new
// filing of it may correct. It reads the record index and the
// record.json of each record of platform p; an entry or record.json that
// cannot be decoded is passed over (bot records verify reports it), and
// only a failure of the store fails it. It checks no signature: what it
// finds is told to people and linked, never acted on.
func RecordsOf(ctx context.Context, st Store, p capture.Platform, threadID string) ([]Record, error) {
	var out []Record
	for info, err := range st.List(ctx, IndexPrefix) {
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(info.Key, ".json") {
			continue
		}
		var e IndexEntry
		if err := readJSONObject(ctx, st, info.Key, &e); err != nil {
			if errors.Is(err, ErrNotExist) || errors.Is(err, errUndecodable) {
				continue
			}
			return nil, err
		}
		if e.Platform != p || e.Key == "" {
			continue
		}
		var rec Record
		if err := readJSONObject(ctx, st, e.Key+RecordFile, &rec); err != nil {
			if errors.Is(err, ErrNotExist) || errors.Is(err, errUndecodable) {
				continue // disposed of, not complete, or damaged
			}
			return nil, err
		}
		if rec.Source.ThreadID == threadID && rec.ID == e.ID {
			out = append(out, rec)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FiledAt.Before(out[j].FiledAt) })
	return out, nil
}

func readJSONObject(ctx context.Context, st Store, key string, v any) error {
	rc, _, err := st.Open(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := json.NewDecoder(io.LimitReader(rc, 64<<20)).Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.As(err, &syn) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("read %s: %w (%w)", key, errUndecodable, err)
		}
		return fmt.Errorf("read %s: %w", key, err)
	}
	return nil
}

// errUndecodable: a stored object is not the JSON it should be.
var errUndecodable = errors.New("not valid JSON")
