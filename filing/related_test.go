package filing_test

import (
	"context"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
)

// RecordsOf finds the records of one export, passing over an index entry
// that is not JSON; Differences says how a new reading differs; and a
// request's Related is in the record.json it files.
func TestRecordsOfAndDifferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(t, st, nil, nil)
	req := request("Ferry crew")
	req.Thread.Platform = capture.WhatsApp
	first, err := svc.FileThread(ctx, req, goldenExport())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.FileThread(ctx, request("Roads"), testThread(2)); err != nil { // another platform's
		t.Fatal(err)
	}
	if _, err := st.Create(ctx, filing.IndexPrefix+"broken.json", strings.NewReader("{not json"), 9, filing.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	recs, err := filing.RecordsOf(ctx, st, capture.WhatsApp, goldenExport().ThreadID)
	if err != nil || len(recs) != 1 || recs[0].ID != first.ID {
		t.Fatalf("RecordsOf = %d records, %v, want the one record of the export", len(recs), err)
	}

	again := goldenExport()
	again.Provenance.Assumptions[1].Value = "America/Toronto"
	diffs := filing.Differences(&recs[0], again, "100-20", "Ferry crew (Toronto)")
	want := []filing.Difference{{"time zone", "Europe/London", "America/Toronto"}, {"title", "Ferry crew", "Ferry crew (Toronto)"}}
	if len(diffs) != len(want) || diffs[0] != want[0] || diffs[1] != want[1] {
		t.Errorf("Differences = %+v, want %+v", diffs, want)
	}
	if d := filing.Differences(&recs[0], goldenExport(), "100-20", "Ferry crew"); len(d) != 0 {
		t.Errorf("Differences of the same reading = %+v, want none", d)
	}

	req = request("Ferry crew (Toronto)")
	req.Related = []filing.Related{{ID: first.ID, Relation: filing.Corrects, Key: first.Key}}
	second, err := svc.FileThread(ctx, req, again)
	if err != nil {
		t.Fatal(err)
	}
	var rec filing.Record
	readJSON(t, st, second.Key+filing.RecordFile, &rec)
	if len(rec.Related) != 1 || rec.Related[0] != req.Related[0] {
		t.Errorf("record.json related = %+v, want %+v", rec.Related, req.Related)
	}
}
