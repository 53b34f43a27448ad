package records_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/storetest"
)

// openLog records the keys a store is asked to read.
type openLog struct {
	filing.Store
	mu   sync.Mutex
	keys []string
}

func (o *openLog) Open(ctx context.Context, key string) (io.ReadCloser, filing.ObjectInfo, error) {
	o.mu.Lock()
	o.keys = append(o.keys, key)
	o.mu.Unlock()
	return o.Store.Open(ctx, key)
}

// A record's history reads its own events and those whose keys name no
// record (written by an older recordbot), never another record's: `show`
// must not slow down with every fixity check of every other record.
func TestHistoryReadsOnlyItsRecordsEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Local(t)
	svc := service(t, st, nil)
	a := file(t, svc, spec{title: "Budget"})
	b := file(t, svc, spec{title: "Roads"})
	for range 5 {
		if _, err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}).Verify(ctx, []string{b.ID}); err != nil {
			t.Fatal(err)
		}
	}
	// An event of a as an older recordbot stored it: its key names no record.
	old := filing.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: "fixity-check", At: a.FiledAt, RecordID: a.ID, Outcome: "pass"}
	data, _ := json.Marshal(old)
	oldKey := strings.TrimSuffix(filing.EventKey(old, old.At), "_"+a.ID+".json") + ".json"
	if _, err := st.Create(ctx, oldKey, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	log := &openLog{Store: st}
	evs, err := records.History(ctx, log, a.ID, a.FiledAt)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || !slices.ContainsFunc(evs, func(e filing.Event) bool { return e.Type == "filed" }) || !slices.ContainsFunc(evs, func(e filing.Event) bool { return e.ID == old.ID }) {
		t.Errorf("History(a) = %+v, want its filing and the older-style fixity check", evs)
	}
	for _, k := range log.keys {
		if id, named := filing.EventRecord(k); named && id != a.ID {
			t.Errorf("History(a) read %s, an event of another record", k)
		}
	}
	if len(log.keys) != 2 {
		t.Errorf("History(a) read %d events (%q), want 2", len(log.keys), log.keys)
	}
	// And b's history has its filing and its five checks.
	if evs, err := records.History(ctx, st, b.ID, b.FiledAt); err != nil || len(evs) != 6 {
		t.Errorf("History(b) = %d events, %v; want 6", len(evs), err)
	}
}
