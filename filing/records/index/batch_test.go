package index_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records/index"
	"github.com/recordbot/recordbot/internal/storetest"
)

// A batch that names one record twice is written as rows written one by
// one would be: the last one stands, on both engines (PostgreSQL's
// multi-row upsert refuses a row twice in one statement).
func TestBatchNamingARecordTwice(t *testing.T) { eachEngine(t, testBatchTwice) }

func testBatchTwice(t *testing.T, dsn func(t *testing.T) string) {
	ctx := context.Background()
	ix, err := index.Open(ctx, dsn(t), storetest.Local(t), index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	at := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	id := "019cb886-b5c0-7abc-8def-0123456789ab"
	e := func(title string) filing.IndexEntry {
		return filing.IndexEntry{ID: id, Key: "records/100_Administration/2026/2026-03-04_x_" + filing.ShortID(id) + "/", Title: title, FiledAt: at, ClassCode: "100-20"}
	}
	other := filing.IndexEntry{ID: "019cb886-b5c1-7abc-8def-0123456789ab", Key: "records/100_Administration/2026/2026-03-04_y_" + filing.ShortID("019cb886-b5c1-7abc-8def-0123456789ab") + "/", Title: "Other", FiledAt: at, ClassCode: "100-20"}
	if err := index.PutEntries(ctx, ix, []filing.IndexEntry{e("First kappa"), other, e("Second lambda")}, []string{"mu", "nu", "xi"}); err != nil {
		t.Fatalf("writing a batch naming a record twice: %v", err)
	}
	for _, c := range []struct {
		text string
		want int
	}{{"kappa", 0}, {"mu", 0}, {"lambda", 1}, {"xi", 1}, {"nu", 1}} {
		a, err := ix.Find(ctx, index.Search{Text: c.text})
		if err != nil || len(a.Hits) != c.want {
			t.Errorf("Find(%q) = %+v, %v; want %d hit(s): the last row of a record stands", c.text, a.Hits, err, c.want)
		}
	}
	if s, err := ix.Status(ctx); err != nil || s.Records != 2 {
		t.Errorf("Status = %+v, %v; want 2 records", s, err)
	}
}

// A batch of more rows than one PostgreSQL statement takes (5,461) is
// written whole.
func TestBatchOverOneStatement(t *testing.T) { eachEngine(t, testBatchLarge) }

func testBatchLarge(t *testing.T, dsn func(t *testing.T) string) {
	ctx := context.Background()
	ix, err := index.Open(ctx, dsn(t), storetest.Local(t), index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	const n = 6000
	at := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	var es []filing.IndexEntry
	var texts []string
	for i := range n {
		id := fmt.Sprintf("019cb886-b5c0-7abc-8def-%012x", i)
		es = append(es, filing.IndexEntry{ID: id, Key: "records/100_Administration/2026/2026-03-04_x_" + filing.ShortID(id) + "/",
			Title: fmt.Sprintf("Record omega%d", i), FiledAt: at, ClassCode: "100-20"})
		texts = append(texts, fmt.Sprintf("alice: sigma%d\n", i))
	}
	if err := index.PutEntries(ctx, ix, es, texts); err != nil {
		t.Fatal(err)
	}
	if s, err := ix.Status(ctx); err != nil || s.Records != n {
		t.Fatalf("Status = %+v, %v; want %d records", s, err, n)
	}
	for _, w := range []string{"sigma0", "sigma5460", "sigma5461", "sigma5999"} {
		if a, err := ix.Find(ctx, index.Search{Text: w}); err != nil || len(a.Hits) != 1 {
			t.Errorf("Find(%q) = %+v, %v; want 1 hit", w, a.Hits, err)
		}
	}
}
