package index

import (
	"context"
	"encoding/json"

	"github.com/recordbot/recordbot/filing"
)

// PutEntries writes index entries (with transcripts) to ix's engine in one
// transaction and one batch, as a catch-up writes its batch.
func PutEntries(ctx context.Context, ix *Index, es []filing.IndexEntry, texts []string) error {
	var rows []row
	for i, e := range es {
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		r := rowOf(e, raw)
		r.setText(texts[i], false)
		rows = append(rows, r)
	}
	return ix.b.write(ctx, func(w writer) error { return putAll(w, rows) })
}
