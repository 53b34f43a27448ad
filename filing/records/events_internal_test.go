package records

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
)

// A day of filing events is let go once every record expected on it has
// asked for its event; anything asked later is still found, key by key.
func TestEventDaysLetGoAndStillAnswer(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	filed := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	key := func(id string) string { return FiledEventKey(filing.IndexEntry{ID: id, FiledAt: filed}) }
	for _, id := range []string{"indexed", "unindexed"} {
		if _, err := filing.WriteEvent(ctx, st, nil, filing.Event{ID: id, Type: "filed", RecordID: id, At: filed}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	d := filedEvents(st, []entryRef{{ID: "indexed", FiledAt: filed}})
	ask := func(id string, expected bool) {
		t.Helper()
		h, err := d.history(ctx, st, key(id), expected)
		if err != nil || h.Key != key(id) {
			t.Errorf("history(%s, expected %v) = %v, %v; want its event", id, expected, h, err)
		}
	}
	ask("unindexed", false) // not counted: the day stays
	if day := d.days[dayOf(key("indexed"))]; day.expect <= 0 {
		t.Fatal("the day was let go before its record asked")
	}
	ask("indexed", true)
	if day := d.days[dayOf(key("indexed"))]; day.expect > 0 || day.first != nil {
		t.Error("the day is still held after every record expected on it asked")
	}
	ask("unindexed", false)
	ask("indexed", false)
	if _, err := d.history(ctx, st, key("never-filed"), false); !errors.Is(err, filing.ErrNotExist) {
		t.Errorf("history of an event never written = %v, want ErrNotExist", err)
	}
}
