package records_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

// rewriteEntry replaces the index entry of s with what change makes of
// it, as the store's administrator could (every version removed, then a
// plain create), keeping whatever signature it had.
func rewriteEntry(t *testing.T, st filing.Store, s *filing.Summary, change func(*filing.IndexEntry)) {
	t.Helper()
	key := filing.IndexPrefix + s.ID + ".json"
	var e filing.IndexEntry
	if err := json.Unmarshal(read(t, st, key), &e); err != nil {
		t.Fatal(err)
	}
	change(&e)
	erase(t, st, key)
	plant(t, st, key, e)
}

// attacks are index entries planted or rewritten with the store's keys
// beside genuine records: a record that was never filed (fake), an entry
// signed with another key naming a real record's folder (other), a real
// record's entry rewritten to another class and disposal date
// (rewritten), and a whole record fabricated unsigned after signing
// began, from template's folder (fabricated).
type attacks struct {
	genuine, template, rewritten *filing.Summary
	fake, other, fabricated      string
}

// bad are the ids of the entries that must not be taken as records.
func (a attacks) bad() []string { return []string{a.fake, a.other, a.rewritten.ID, a.fabricated} }

// plantAttacks files the genuine records through svc and plants the
// attacks in st.
func plantAttacks(t *testing.T, st filing.Store, svc *filing.Service) attacks {
	t.Helper()
	a := attacks{
		genuine:   file(t, svc, spec{title: "Genuine letter", class: "100-01"}),
		rewritten: file(t, svc, spec{title: "Committee minutes", class: "100-20"}),
		template:  file(t, svc, spec{title: "Template", class: "100-01"}),
		fake:      newID(t),
		other:     newID(t),
	}
	plant(t, st, filing.IndexPrefix+a.fake+".json", filing.IndexEntry{ID: a.fake, Key: "records/100_Administration/100-01_x/2018/2018-01-01_Fake_" + filing.ShortID(a.fake) + "/",
		Title: "Never filed", ClassCode: "100-01", DisposalDate: "2020-12-31", DisposalAction: filing.Destroy, FiledAt: time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)})
	oe := filing.IndexEntry{ID: a.other, Key: a.genuine.Key, Title: "Someone else's", ClassCode: "100-01", DisposalDate: "2020-12-31",
		DisposalAction: filing.Destroy, FiledAt: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := attacker.Sign(filing.KindIndex, &oe, &oe.Signature); err != nil {
		t.Fatal(err)
	}
	plant(t, st, filing.IndexPrefix+a.other+".json", oe)
	rewriteEntry(t, st, a.rewritten, func(e *filing.IndexEntry) {
		e.ClassCode, e.DisposalDate, e.DisposalAction = "100-01", "2021-12-31", filing.Destroy
	})
	a.fabricated, _, _ = fabricate(t, st, a.template, unsigned)
	return a
}

// dueIDs returns the ids in the due groups, and those not trusted.
func dueIDs(gs []records.DueGroup, bad []records.DueRecord) (due, notTrusted map[string]records.DueRecord) {
	due, notTrusted = make(map[string]records.DueRecord), make(map[string]records.DueRecord)
	for _, g := range gs {
		for _, r := range g.Records {
			due[r.ID] = r
		}
	}
	for _, r := range bad {
		notTrusted[r.ID] = r
	}
	return due, notTrusted
}

// Index entries planted or rewritten with the store's keys: a record that
// was never filed, an entry signed with another key naming a real
// record's folder, a real record's entry rewritten to another class and
// disposal date, one rewritten "permanent" to hide a record from due, and
// a whole record fabricated unsigned after signing began. ls, due and show
// must not present any of them as a record.
func TestListDueShowRefusePlantedEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			svc := service(t, st, nil)
			a := plantAttacks(t, st, svc)
			genuine, template, rewritten, fake, other, fabricated := a.genuine, a.template, a.rewritten, a.fake, a.other, a.fabricated
			hidden := file(t, svc, spec{title: "Routine letter", class: "100-01"})
			rewriteEntry(t, st, hidden, func(e *filing.IndexEntry) { e.DisposalDate, e.DisposalAction = "", filing.Permanent })
			bad := append(a.bad(), hidden.ID)

			trust := records.Trust{Keys: testKeys, SignedSince: time.Now().Add(-time.Hour)}
			for _, full := range []bool{false, true} {
				ls, err := trust.ListChecked(ctx, st, records.Filter{}, full)
				if err != nil {
					t.Fatalf("ListChecked(full %v): %v", full, err)
				}
				got := make(map[string]string)
				for _, l := range ls {
					got[l.ID] = l.NotTrusted
				}
				for _, id := range bad {
					if why, ok := got[id]; !ok || why == "" {
						t.Errorf("ListChecked(full %v): entry %s listed %v, not trusted %q; want it listed as not trusted", full, id, ok, why)
					}
				}
				for _, s := range []*filing.Summary{genuine, template} {
					if why, ok := got[s.ID]; !ok || why != "" {
						t.Errorf("ListChecked(full %v): genuine record %s listed %v, not trusted %q; want it listed, trusted", full, s.ID, ok, why)
					}
				}
			}

			gs, notTrusted, err := records.DueChecked(ctx, st, trust, time.Now().AddDate(50, 0, 0))
			if err != nil {
				t.Fatalf("DueChecked: %v", err)
			}
			due, nt := dueIDs(gs, notTrusted)
			for _, id := range bad {
				if _, ok := due[id]; ok {
					t.Errorf("DueChecked: entry %s listed as due", id)
				}
				if r, ok := nt[id]; !ok || r.NotTrusted == "" {
					t.Errorf("DueChecked: entry %s not listed as not trusted (%+v)", id, r)
				}
			}
			for _, s := range []*filing.Summary{genuine, template} {
				if _, ok := due[s.ID]; !ok {
					t.Errorf("DueChecked: genuine record %s is not due", s.ID)
				}
			}
			if r := nt[rewritten.ID]; !strings.Contains(r.NotTrusted, filing.IndexPrefix+rewritten.ID+".json") {
				t.Errorf("DueChecked: rewritten entry's reason %q, want it to name the entry", r.NotTrusted)
			}
			// Due, which callers use without the rest, leaves them out too
			// (but for the fabricated record: Due knows no SignedSince, so
			// an unsigned record passes as filed before signing).
			gs, err = records.Due(ctx, st, testKeys, time.Now().AddDate(50, 0, 0))
			if err != nil {
				t.Fatal(err)
			}
			due, _ = dueIDs(gs, nil)
			for _, id := range []string{fake, other, rewritten.ID, hidden.ID} {
				if _, ok := due[id]; ok {
					t.Errorf("Due: entry %s listed as due", id)
				}
			}

			for _, id := range []string{fake, other} {
				d, err := trust.Show(ctx, st, id)
				var nte *records.NotTrustedError
				if !errors.As(err, &nte) || nte.Claimed.ID != id || nte.Reason == "" {
					t.Errorf("Trust.Show(planted %s) = %+v, %v; want a NotTrustedError", id, d, err)
				}
			}
			d, err := trust.Show(ctx, st, rewritten.ID)
			switch {
			case err != nil:
				t.Errorf("Trust.Show(rewritten): %v; want the record as filed, marked", err)
			case d.NotTrusted == "" || d.Claimed == nil || d.Claimed.DisposalDate != "2021-12-31":
				t.Errorf("Trust.Show(rewritten): not trusted %q, claimed %+v; want the entry marked with its claim", d.NotTrusted, d.Claimed)
			case d.Record.Class.Code != "100-20" || d.Record.Retention.DisposalDate == "2021-12-31":
				t.Errorf("Trust.Show(rewritten): record class %s, disposal %s; want the record as filed", d.Record.Class.Code, d.Record.Retention.DisposalDate)
			}
			if d, err := trust.Show(ctx, st, fabricated); err == nil && d.NotTrusted == "" {
				t.Errorf("Trust.Show(fabricated unsigned after signing began): shown as trusted")
			}
			if d, err := trust.Show(ctx, st, genuine.ID); err != nil || d.NotTrusted != "" {
				t.Errorf("Trust.Show(genuine) = not trusted %q, %v; want it shown, trusted", d.NotTrusted, err)
			}
		})
	}
}

// An unsigned record filed before signing has an unsigned index entry,
// which no signature can vouch for: an entry written over it with
// another disposal date is found only against the record as filed, by
// ls --check, due and show.
func TestUnsignedEntryCheckedAgainstRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			svc, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan(), Organisation: "Example Council"})
			if err != nil {
				t.Fatal(err)
			}
			old := file(t, svc, spec{title: "Old unsigned letter", class: "100-30"})
			kept := file(t, svc, spec{title: "Old unsigned minutes", class: "100-01"})
			rewriteEntry(t, st, old, func(e *filing.IndexEntry) {
				e.ClassCode, e.DisposalDate, e.DisposalAction = "100-01", "2020-12-31", filing.Destroy
			})
			// Signing began after these were filed (and the entry written).
			trust := records.Trust{Keys: testKeys, SignedSince: time.Now().Add(time.Hour)}

			ls, err := trust.ListChecked(ctx, st, records.Filter{}, false)
			if err != nil {
				t.Fatal(err)
			}
			if i := slices.IndexFunc(ls, func(l records.Listed) bool { return l.ID == old.ID }); i < 0 || ls[i].NotTrusted != "" {
				t.Errorf("ListChecked without --check: %+v; want the unsigned entry listed unchecked (only its record can tell)", ls)
			}
			ls, err = trust.ListChecked(ctx, st, records.Filter{}, true)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range ls {
				switch {
				case l.ID == old.ID && (!strings.Contains(l.NotTrusted, "the record as filed says class 100-30") || l.Filed == nil || l.Filed.DisposalAction != filing.Permanent):
					t.Errorf("ListChecked --check: rewritten entry not trusted %q, filed %+v; want it refused against the record as filed", l.NotTrusted, l.Filed)
				case l.ID == kept.ID && l.NotTrusted != "":
					t.Errorf("ListChecked --check: untouched unsigned record not trusted: %s", l.NotTrusted)
				}
			}

			gs, bad, err := records.DueChecked(ctx, st, trust, time.Now().AddDate(50, 0, 0))
			if err != nil {
				t.Fatal(err)
			}
			due, nt := dueIDs(gs, bad)
			if _, ok := due[old.ID]; ok {
				t.Errorf("DueChecked: the permanent record is due, by its rewritten entry")
			}
			if r, ok := nt[old.ID]; !ok || r.Filed == nil || r.Filed.DisposalAction != filing.Permanent {
				t.Errorf("DueChecked: rewritten entry not listed as not trusted with the record as filed: %+v", r)
			}
			if _, ok := due[kept.ID]; !ok {
				t.Errorf("DueChecked: the untouched unsigned record is not due")
			}

			d, err := trust.Show(ctx, st, old.ID)
			if err != nil || d.NotTrusted == "" || d.Record.Retention.Action != filing.Permanent {
				t.Errorf("Trust.Show(rewritten unsigned entry) = %v; want the record as filed (permanent), marked not trusted", err)
			}
		})
	}
}
