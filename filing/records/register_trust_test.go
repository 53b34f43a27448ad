package records_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/storetest"
)

// registerRows returns the rows of class code's JSON register by id, and
// its CSV.
func registerRows(t *testing.T, st filing.Store, code string) (map[string]records.Row, string) {
	t.Helper()
	var reg records.Register
	if err := json.Unmarshal(read(t, st, records.RegisterKey(code, "json")), &reg); err != nil {
		t.Fatalf("register %s: %v", code, err)
	}
	rows := make(map[string]records.Row, len(reg.Records))
	for _, r := range reg.Records {
		rows[r.ID] = r
	}
	return rows, string(read(t, st, records.RegisterKey(code, "csv")))
}

// Index entries planted or written over with the store's keys (as in
// TestListDueShowRefusePlantedEntries) are left out of the registers a
// checked run writes, and the rows an earlier unchecked run took from
// them are taken out, while a record's own row, written at filing before
// its entry was written over, stays.
func TestRegistersLeaveOutPlantedEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			svc := service(t, st, records.RegisterUpdater(st, nil))
			a := plantAttacks(t, st, svc)
			genuine, template, rewritten, other := a.genuine, a.template, a.rewritten, a.other
			bad := a.bad()

			// An earlier run that checked nothing put them in the register.
			if _, _, err := (records.Trust{}).WriteRegisters(ctx, st, false, nil); err != nil {
				t.Fatal(err)
			}
			rows, _ := registerRows(t, st, "100-01")
			for _, id := range bad {
				if _, ok := rows[id]; !ok {
					t.Fatalf("unchecked run: entry %s not in the register; the test plants nothing", id)
				}
			}

			trust := records.Trust{Keys: testKeys, SignedSince: time.Now().Add(-time.Hour)}
			for _, full := range []bool{false, true} {
				_, left, err := trust.WriteRegisters(ctx, st, full, nil)
				if err != nil {
					t.Fatalf("WriteRegisters(full %v): %v", full, err)
				}
				why := make(map[string]string)
				for _, l := range left {
					why[l.ID] = l.NotTrusted
				}
				rows, csv := registerRows(t, st, "100-01")
				for _, id := range bad {
					if _, ok := rows[id]; ok || strings.Contains(csv, id) {
						t.Errorf("WriteRegisters(full %v): entry %s listed in the register of 100-01", full, id)
					}
					if why[id] == "" {
						t.Errorf("WriteRegisters(full %v): entry %s not said to be left out (left %+v)", full, id, left)
					}
				}
				for _, s := range []*filing.Summary{genuine, template} {
					if _, ok := rows[s.ID]; !ok || !strings.Contains(csv, s.ID) {
						t.Errorf("WriteRegisters(full %v): genuine record %s not in the register", full, s.ID)
					}
					if why[s.ID] != "" {
						t.Errorf("WriteRegisters(full %v): genuine record %s left out: %s", full, s.ID, why[s.ID])
					}
				}
				// The record's own row, from filing, stays where it was filed.
				rows, _ = registerRows(t, st, "100-20")
				if r, ok := rows[rewritten.ID]; !ok || r.ClassCode != "100-20" || r.DisposalDate == "2021-12-31" {
					t.Errorf("WriteRegisters(full %v): the rewritten record's own row in 100-20: %+v, %v; want it kept as filed", full, r, ok)
				}
			}

			// WriteRegisters, as dispose calls it, checks the signatures
			// (it knows no SignedSince: unsigned entries pass).
			again := newID(t)
			oe := filing.IndexEntry{ID: again, Key: genuine.Key, Title: "Someone else's", ClassCode: "100-01", DisposalDate: "2020-12-31",
				DisposalAction: filing.Destroy, FiledAt: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)}
			if err := attacker.Sign(filing.KindIndex, &oe, &oe.Signature); err != nil {
				t.Fatal(err)
			}
			plant(t, st, filing.IndexPrefix+again+".json", oe)
			if _, err := records.WriteRegisters(ctx, st, testKeys, nil); err != nil {
				t.Fatal(err)
			}
			rows, _ = registerRows(t, st, "100-01")
			for _, id := range []string{again, other, rewritten.ID, genuine.ID, template.ID} {
				if _, ok := rows[id]; ok != (id == genuine.ID || id == template.ID) {
					t.Errorf("WriteRegisters with keys: record %s in the register of 100-01: %v", id, ok)
				}
			}
		})
	}
}

// An unsigned record filed before signing began, whose entry is written
// over with another class: only the full check finds it.
func TestRegistersFullCheckUnsignedEntry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Local(t)
	svc, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan(), Organisation: "Example Council"})
	if err != nil {
		t.Fatal(err)
	}
	old := file(t, svc, spec{title: "Old unsigned letter", class: "100-30"})
	rewriteEntry(t, st, old, func(e *filing.IndexEntry) {
		e.ClassCode, e.DisposalDate, e.DisposalAction = "100-01", "2020-12-31", filing.Destroy
	})
	trust := records.Trust{Keys: testKeys, SignedSince: time.Now().Add(time.Hour)}
	if _, left, err := trust.WriteRegisters(ctx, st, true, nil); err != nil || len(left) != 1 || left[0].ID != old.ID || left[0].Filed == nil {
		t.Fatalf("WriteRegisters(full): left %+v, %v; want the rewritten entry left out, with the record as filed", left, err)
	}
	if _, err := st.Stat(ctx, records.RegisterKey("100-01", "json")); !errors.Is(err, filing.ErrNotExist) {
		t.Errorf("WriteRegisters(full): the register of 100-01, which the entry alone claims, exists (%v)", err)
	}
}

// The updater that runs after each filing in serve leaves out an entry
// that does not check, and logs which, without the record's title.
func TestRegisterUpdaterLeavesOutPlantedEntry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			trust := records.Trust{Keys: testKeys, SignedSince: time.Now().Add(-time.Hour)}
			update := trust.RegisterUpdater(st, nil, slog.New(slog.NewTextHandler(&logs, nil)))
			svc := service(t, st, nil)
			genuine := file(t, svc, spec{title: "Genuine letter", class: "100-01"})
			rewritten := file(t, svc, spec{title: "Secret committee minutes", class: "100-20"})
			rewriteEntry(t, st, rewritten, func(e *filing.IndexEntry) {
				e.ClassCode, e.DisposalDate, e.DisposalAction = "100-01", "2021-12-31", filing.Destroy
			})
			for _, s := range []*filing.Summary{genuine, rewritten} {
				if err := update(ctx, *s); err != nil {
					t.Fatalf("update(%s): %v", s.ID, err)
				}
			}
			rows, _ := registerRows(t, st, "100-01")
			if _, ok := rows[genuine.ID]; !ok {
				t.Errorf("the genuine record is not in its register: %+v", rows)
			}
			if _, ok := rows[rewritten.ID]; ok {
				t.Errorf("the rewritten entry is in the register of the class it claims")
			}
			l := logs.String()
			if !strings.Contains(l, "left out") || !strings.Contains(l, rewritten.ID) || strings.Contains(l, genuine.ID) {
				t.Errorf("log %q; want the rewritten entry's record named as left out, and only it", l)
			}
			if strings.Contains(l, "Secret") || strings.Contains(l, "committee") {
				t.Errorf("log %q names the record's title", l)
			}
		})
	}
}
