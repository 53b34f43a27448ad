package records_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/filing/s3"
)

// The attacks of issue 21: objects anyone holding the bot's S3 keys can
// create, planted for a records officer's routine run to act on. Each must
// destroy nothing, hide nothing, and be reported as tampered.

// plant creates the object at key holding v as JSON, as a writer with the
// bot's keys can.
func plant(t testing.TB, st filing.Store, key string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Create(context.Background(), key, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{ContentType: "application/json"}); err != nil {
		t.Fatalf("plant %s: %v", key, err)
	}
}

// outcomeOf returns the outcome of record id in rep.
func outcomeOf(rep *records.Report, id string) (records.Outcome, bool) {
	i := slices.IndexFunc(rep.Records, func(o records.Outcome) bool { return o.ID == id })
	if i < 0 {
		return records.Outcome{}, false
	}
	return rep.Records[i], true
}

// wantTampered checks that id is reported as tampered, naming key.
func wantTampered(t testing.TB, rep *records.Report, id, key string) {
	t.Helper()
	o, ok := outcomeOf(rep, id)
	switch {
	case !ok:
		t.Errorf("record %s is not in the report %+v; want it reported as tampered", id, rep.Records)
	case o.Outcome != records.Tampered || !strings.Contains(o.Detail, key):
		t.Errorf("record %s: outcome %q (%s), want %q naming %s", id, o.Outcome, o.Detail, records.Tampered, key)
	}
}

func newID(t testing.TB) string {
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// A planted pending marker naming a permanent record, and planted index
// entries pointing new ids at another permanent record's folder, "due for
// destruction in 2020": the routine run destroyed both records.
func TestDisposalIgnoresPlantedMarkersAndIndexEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := service(t, st, nil)
			minutes := file(t, svc, spec{title: "Permanent minutes", class: "100-30"})
			decision := file(t, svc, spec{title: "Permanent decision", class: "100-30"})
			before := map[string][]string{minutes.Key: remaining(t, st, minutes.Key), decision.Key: remaining(t, st, decision.Key)}

			// A marker whose body points at the whole records/ tree, under
			// the prefix markers have now and the one they had.
			marker := records.PendingPrefix + minutes.ID + ".json"
			plant(t, st, marker, map[string]any{"id": minutes.ID, "key": "records/", "disposal_action": "destroy"})
			legacy := filing.RequestsPrefix + "disposal/" + decision.ID + ".json"
			plant(t, st, legacy, map[string]any{"id": decision.ID, "key": decision.Key})

			// New ids pointing at the decision's folder: one random, one
			// made to end in the decision's short id.
			forged := newID(t)
			lookalike := "f" + decision.ID[1:]
			for _, id := range []string{forged, lookalike} {
				plant(t, st, filing.IndexPrefix+id+".json", filing.IndexEntry{ID: id, Key: decision.Key, Title: "Old junk",
					ClassCode: "100-01", DisposalDate: "2020-12-31", DisposalAction: filing.Destroy, FiledAt: time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)})
			}

			d := authority(30)
			_, d.BypassGovernance = st.(*s3.Store)
			rep, err := records.Destroy(ctx, st, d, nil)
			if err != nil {
				t.Fatalf("Destroy: %v", err)
			}
			for key, was := range before {
				if now := remaining(t, st, key); !slices.Equal(now, was) {
					t.Errorf("after the run %s holds %d objects, had %d: a permanent record was touched", key, len(now), len(was))
				}
			}
			if n := len(remaining(t, st, filing.RecordsPrefix)); n == 0 {
				t.Error("records/ is empty after the run")
			}
			wantTampered(t, rep, minutes.ID, marker)
			wantTampered(t, rep, decision.ID, legacy)
			wantTampered(t, rep, forged, filing.IndexPrefix+forged+".json")
			wantTampered(t, rep, lookalike, filing.IndexPrefix+lookalike+".json")
			if rep.Problems() < 4 {
				t.Errorf("Problems() = %d, want the 4 tampered objects counted (the run must exit non-zero)", rep.Problems())
			}
			if _, err := records.ResidualOf(ctx, st, testKeys, minutes.ID); err == nil {
				t.Error("a residual entry was written for the permanent record")
			}
		})
	}
}

// A planted review marking a record due for transfer "destroy", and one
// keeping a record due for destruction until 2999: the first was
// destroyed, the second hidden.
func TestDisposalIgnoresPlantedReviews(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := service(t, st, nil)
			archive := file(t, svc, spec{title: "For the archive", class: "100-40"})
			letter := file(t, svc, spec{title: "Routine letter", class: "100-01"})
			expire(t, st, letter)
			had := remaining(t, st, archive.Key)
			destroyKey := records.ReviewsPrefix + archive.ID + "/20300101T000000Z_x.json"
			plant(t, st, destroyKey, records.ReviewDecision{RecordID: archive.ID, Destroy: true, Authority: "forged", ApprovedBy: "nobody", At: time.Now()})
			keepKey := records.ReviewsPrefix + letter.ID + "/20300101T000000Z_y.json"
			plant(t, st, keepKey, records.ReviewDecision{RecordID: letter.ID, KeepUntil: "2999-12-31", Authority: "forged", ApprovedBy: "nobody", At: time.Now()})
			// A decision signed by another deployment's key is no better.
			other := mustSigner("another deployment's secret key!")
			dec := records.ReviewDecision{RecordID: letter.ID, KeepUntil: "2998-12-31", Authority: "forged", ApprovedBy: "nobody", At: time.Now()}
			if err := other.Sign(filing.KindReview, &dec, &dec.Signature); err != nil {
				t.Fatal(err)
			}
			plant(t, st, records.ReviewsPrefix+letter.ID+"/20300102T000000Z_z.json", dec)

			d := authority(30)
			_, d.BypassGovernance = st.(*s3.Store)
			rep, err := records.Destroy(ctx, st, d, nil)
			if err != nil {
				t.Fatalf("Destroy: %v", err)
			}
			if now := remaining(t, st, archive.Key); !slices.Equal(now, had) {
				t.Errorf("the record due for transfer lost objects to a forged review: %d left of %d", len(now), len(had))
			}
			if o, ok := outcomeOf(rep, archive.ID); ok && o.Outcome == records.Destroyed {
				t.Errorf("the record due for transfer was destroyed: %+v", o)
			}
			wantTampered(t, rep, archive.ID, destroyKey)
			// Not hidden: reported, and still shown by due.
			if o, ok := outcomeOf(rep, letter.ID); !ok || o.Outcome != records.Tampered {
				t.Errorf("record due for destruction with a forged keep decision: %+v, want reported as tampered", o)
			}
			if len(remaining(t, st, letter.Key)) == 0 {
				t.Error("the record with a forged review was destroyed")
			}
			groups, err := records.Due(ctx, st, testKeys, time.Now().AddDate(30, 0, 0))
			if err != nil {
				t.Fatal(err)
			}
			var shown *records.DueRecord
			for _, g := range groups {
				for i, r := range g.Records {
					if r.ID == letter.ID {
						shown = &g.Records[i]
					}
				}
			}
			if shown == nil || shown.DisposalAction != filing.Destroy || shown.Problem == "" {
				t.Errorf("Due shows the letter as %+v; want it due for destruction with the forged review named", shown)
			}
		})
	}
}

// A planted residual entry lists a live record as destroyed; one planted
// before a record's real destruction took the true one's place.
func TestPlantedResiduals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := service(t, st, nil)
			live := file(t, svc, spec{title: "Live letter", class: "100-01"})
			expire(t, st, live)
			key := records.ResidualKey(live.ID)
			plant(t, st, key, records.Residual{Schema: records.ResidualSchema, IndexEntry: filing.IndexEntry{ID: live.ID, Key: live.Key, Title: "Live letter"},
				Authority: "Forged authority", ApprovedBy: "nobody", At: time.Now(), Action: "destroy"})

			rs, err := records.Residuals(ctx, st, testKeys)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 || rs[0].Problem == "" || !strings.Contains(rs[0].Problem, key) {
				t.Errorf("Residuals = %+v, want the planted entry flagged as not written by this deployment", rs)
			}
			if _, err := records.WriteRegisters(ctx, st, testKeys, nil); err != nil {
				t.Fatal(err)
			}
			reg := readAll(t, st, records.RegisterKey("100-01", "json"))
			if strings.Contains(string(reg), "Forged authority") {
				t.Errorf("the class register took the planted residual's word: %s", reg)
			}

			d := authority(30)
			_, d.BypassGovernance = st.(*s3.Store)
			rep, err := records.Destroy(ctx, st, d, []string{live.ID})
			if err != nil {
				t.Fatal(err)
			}
			wantTampered(t, rep, live.ID, key)
			if len(remaining(t, st, live.Key)) == 0 {
				t.Error("the record was destroyed with a residual entry someone else wrote in place of its own")
			}
		})
	}
}

// On a store without versions the index entry itself can be rewritten: a
// permanent record's entry made "due for destruction" is reported, and
// the record judged on what it says of itself.
func TestRewrittenIndexEntryLocal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := stores(t)["local"]
	svc := service(t, st, nil)
	perm := file(t, svc, spec{title: "Permanent minutes", class: "100-30"})
	e, err := records.Entry(ctx, st, perm.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.ClassCode, e.DisposalDate, e.DisposalAction = "100-01", "2020-12-31", filing.Destroy
	data, _ := json.Marshal(e)
	if _, err := st.Put(ctx, filing.IndexPrefix+perm.ID+".json", bytes.NewReader(data), int64(len(data)), filing.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := records.Destroy(ctx, st, authority(30), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantTampered(t, rep, perm.ID, filing.IndexPrefix+perm.ID+".json")
	if len(remaining(t, st, perm.Key)) == 0 {
		t.Error("the permanent record was destroyed")
	}
}

func readAll(t testing.TB, st filing.Store, key string) []byte {
	t.Helper()
	rc, _, err := st.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// An index entry planted for a new id naming another record's folder
// cannot be used to put on, or lift, that record's legal hold.
func TestHoldRefusesPlantedIndexEntry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := stores(t)["s3"]
	held := file(t, service(t, st, nil), spec{title: "Held minutes", class: "100-30"})
	if _, err := records.Hold(ctx, st, testSigner, held.ID, true, "FOI 2027/1", capture.Person{ID: "officer"}); err != nil {
		t.Fatal(err)
	}
	forged := newID(t)
	plant(t, st, filing.IndexPrefix+forged+".json", filing.IndexEntry{ID: forged, Key: held.Key, Title: "Junk", ClassCode: "100-30"})
	if _, err := records.Hold(ctx, st, testSigner, forged, false, "", capture.Person{ID: "officer"}); err == nil {
		t.Fatal("Hold(off) through a planted index entry = nil error, want it refused")
	}
	h, err := filing.HistoryOf(ctx, st, held.Key+filing.TagManifestFile)
	if err != nil {
		t.Fatal(err)
	}
	if oi, err := h.Stat(ctx, st); err != nil || !oi.LegalHold {
		t.Errorf("the held record's tag manifest: hold %v, %v; want still on hold", oi.LegalHold, err)
	}
}
