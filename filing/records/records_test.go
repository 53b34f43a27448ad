package records_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/miniotest"
	"github.com/recordbot/recordbot/internal/storetest"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func titles[E any](es []E, title func(E) string) []string {
	var out []string
	for _, e := range es {
		out = append(out, title(e))
	}
	return out
}

func TestListShowDueFind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Records filed years ago: an S3 bucket with Object Lock refuses
	// retention dates in the past, so S3 runs here without it (TestHold
	// covers Object Lock).
	loc, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]filing.Store{"local": loc, "s3": miniotest.NewStoreWith(t, miniotest.Options{NoLock: true})} {
		t.Run(name, func(t *testing.T) {
			svc := service(t, st, nil)
			file(t, svc, spec{title: "Committee terms of reference", class: "100-20", at: day("2024-06-01").Add(9 * time.Hour),
				people: []string{"alice", "bob"}, texts: []string{"Draft terms attached.", "Looks fine to me."}})
			file(t, svc, spec{title: "Roads budget option B", class: "100-20", at: day("2025-02-10").Add(10 * time.Hour),
				people: []string{"dave"}, texts: []string{"We take option B for the bypass."},
				files: map[string][]byte{"minutes.txt": []byte("minutes")}})
			file(t, svc, spec{title: "Recruitment panel", class: "300-10", marking: "OFFICIAL-SENSITIVE", at: day("2015-03-01"), by: "erin"})
			file(t, svc, spec{title: "Tender scores", class: "200-20-01", marking: "OFFICIAL-SENSITIVE", at: day("2010-05-05")})
			file(t, svc, spec{title: "Data protection policy", class: "100-30", at: day("2001-01-01")})

			lsTests := []struct {
				f    records.Filter
				want []string
			}{
				{records.Filter{}, []string{"Data protection policy", "Tender scores", "Recruitment panel", "Committee terms of reference", "Roads budget option B"}},
				{records.Filter{Class: "100-20"}, []string{"Committee terms of reference", "Roads budget option B"}},
				{records.Filter{Class: "100-20", Since: day("2025-01-01"), Until: day("2025-12-31")}, []string{"Roads budget option B"}},
				{records.Filter{Class: "100"}, []string{"Data protection policy", "Committee terms of reference", "Roads budget option B"}},
				{records.Filter{Class: "200-20"}, []string{"Tender scores"}},
				{records.Filter{Until: day("2015-03-01")}, []string{"Data protection policy", "Tender scores", "Recruitment panel"}},
				{records.Filter{Class: "999"}, nil},
			}
			for _, tc := range lsTests {
				es, err := records.List(ctx, st, tc.f)
				if err != nil {
					t.Fatalf("List(%+v): %v", tc.f, err)
				}
				got := titles(es, func(e filing.IndexEntry) string { return e.Title })
				if !slices.Equal(got, tc.want) {
					t.Errorf("List(%+v) = %q, want %q", tc.f, got, tc.want)
				}
			}

			// Show.
			es, _ := records.List(ctx, st, records.Filter{Class: "100-20", Since: day("2025-01-01")})
			d, err := records.Show(ctx, st, es[0].ID)
			if err != nil {
				t.Fatalf("Show: %v", err)
			}
			if d.Record.Title != "Roads budget option B" || d.Record.Class.Code != "100-20" || d.Filed == nil || d.Filed.TagManifestSHA256 == "" {
				t.Errorf("Show = %+v, want the roads record with its filing event", d)
			}
			paths := titles(d.Objects, func(o records.Object) string { return o.Path })
			for _, p := range []string{filing.TagManifestFile, filing.RecordFile, filing.TextFile, "data/files/001_minutes.txt"} {
				if !slices.Contains(paths, p) {
					t.Errorf("Show objects = %q, want %q among them", paths, p)
				}
			}
			if _, err := records.Show(ctx, st, "nope"); !errors.Is(err, records.ErrNoRecord) {
				t.Errorf("Show(nope) error = %v, want ErrNoRecord", err)
			}

			// Due: 300-10 is 1 year after filing (2016-03-01), 200-20-01
			// 7 years after filing (2017-05-05); 100-30 is permanent.
			dueTests := []struct {
				before string
				want   string
			}{
				{"2016-03-01", "[]"},
				{"2016-03-02", "[destroy: [Recruitment panel]]"},
				{"2030-01-01", "[destroy: [Recruitment panel Tender scores]]"},
				{"2040-01-01", "[destroy: [Recruitment panel Tender scores] review: [Committee terms of reference Roads budget option B]]"},
			}
			for _, tc := range dueTests {
				gs, err := records.Due(ctx, st, testKeys, day(tc.before))
				if err != nil {
					t.Fatalf("Due(%s): %v", tc.before, err)
				}
				var parts []string
				for _, g := range gs {
					parts = append(parts, fmt.Sprintf("%s: %v", g.Action, titles(g.Records, func(r records.DueRecord) string { return r.Title })))
				}
				if got := "[" + strings.Join(parts, " ") + "]"; got != tc.want {
					t.Errorf("Due(%s) = %s, want %s", tc.before, got, tc.want)
				}
			}

			// Find.
			findTests := []struct {
				text, class string
				want        []string
			}{
				{"BYPASS", "", []string{"Roads budget option B: transcript"}},
				{"bob", "", []string{"Committee terms of reference: participant transcript"}},
				{"tender", "", []string{"Tender scores: title transcript"}},
				{"erin", "", []string{"Recruitment panel: filed by transcript"}},
				{"option b", "100-20", []string{"Roads budget option B: title transcript"}},
				{"option b", "300", nil},
				{"no such words anywhere", "", nil},
			}
			for _, tc := range findTests {
				hits, _, err := records.Find(ctx, st, tc.text, records.Filter{Class: tc.class})
				if err != nil {
					t.Fatalf("Find(%q): %v", tc.text, err)
				}
				got := titles(hits, func(h records.Hit) string { return h.Title + ": " + strings.Join(h.Matched, " ") })
				if !slices.Equal(got, tc.want) {
					t.Errorf("Find(%q, %q) = %q, want %q", tc.text, tc.class, got, tc.want)
				}
			}
			if _, _, err := records.Find(ctx, st, "  ", records.Filter{}); err == nil {
				t.Errorf("Find(blank) error = nil, want an error")
			}
		})
	}
}

func TestHold(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	officer := capture.Person{ID: "officer"}
	t.Run("s3 with object lock", func(t *testing.T) {
		st := miniotest.NewStore(t)
		s := file(t, service(t, st, nil), spec{title: "FOI 2025/17", files: map[string][]byte{"a.txt": []byte("a")}})
		d, err := records.Show(ctx, st, s.ID)
		if err != nil {
			t.Fatalf("Show: %v", err)
		}
		for _, o := range d.Objects {
			if o.RetainUntil.Before(time.Now().AddDate(7, 0, 0)) || o.LegalHold {
				t.Errorf("Show: object %s retain until %v, legal hold %v; want 7+ years, no hold", o.Path, o.RetainUntil, o.LegalHold)
			}
		}
		for _, on := range []bool{true, false} {
			res, err := records.Hold(ctx, st, nil, s.ID, on, "FOI request 2025/17", officer)
			if err != nil {
				t.Fatalf("Hold(on=%v): %v", on, err)
			}
			n := 0
			for oi, err := range st.List(ctx, s.Key) {
				if err != nil {
					t.Fatal(err)
				}
				n++
				info, err := st.Stat(ctx, oi.Key)
				if err != nil {
					t.Fatal(err)
				}
				if info.LegalHold != on {
					t.Errorf("after Hold(on=%v), %s legal hold = %v", on, oi.Key, info.LegalHold)
				}
			}
			if res.Objects != n || n < 8 {
				t.Errorf("Hold(on=%v) changed %d objects, want all %d", on, res.Objects, n)
			}
			typ := map[bool]string{true: "legal-hold-on", false: "legal-hold-off"}[on]
			evs := events(t, st, s.ID, typ)
			if len(evs) != 1 || !strings.Contains(evs[0].Detail, "FOI request 2025/17") || evs[0].By.ID != "officer" {
				t.Errorf("%s events = %+v, want one with the reason, by officer", typ, evs)
			}
		}
		// The due report shows a held record as held.
		if _, err := records.Hold(ctx, st, nil, s.ID, true, "FOI request 2025/17", officer); err != nil {
			t.Fatal(err)
		}
		gs, err := records.Due(ctx, st, testKeys, time.Now().AddDate(50, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) != 1 || !gs[0].Records[0].LegalHold {
			t.Errorf("Due after hold = %+v, want the record marked as held", gs)
		}
		// A second hold says so and writes no event; a hold needs a reason.
		res, err := records.Hold(ctx, st, nil, filing.ShortID(s.ID), true, "FOI request 2025/18", officer)
		if err != nil || !res.Unchanged || res.Event != "" {
			t.Errorf("Hold(on) twice = %+v, %v; want unchanged, no event", res, err)
		}
		if evs := events(t, st, s.ID, "legal-hold-on"); len(evs) != 2 {
			t.Errorf("legal-hold-on events after a second hold = %d, want 2 (the first cycle and the re-hold)", len(evs))
		}
		if _, err := records.Hold(ctx, st, nil, s.ID, false, "", officer); err != nil {
			t.Fatal(err)
		}
		if res, err := records.Hold(ctx, st, nil, s.ID, false, "", officer); err != nil || !res.Unchanged {
			t.Errorf("Hold(off) when off = %+v, %v; want unchanged", res, err)
		}
		if _, err := records.Hold(ctx, st, nil, s.ID, true, "  ", officer); !errors.Is(err, records.ErrNoReason) {
			t.Errorf("Hold(on) without a reason error = %v, want ErrNoReason", err)
		}
		d, err2 := records.Show(ctx, st, filing.ShortID(s.ID))
		if err := err2; err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, ev := range d.History {
			types = append(types, ev.Type)
		}
		if want := "filed legal-hold-on legal-hold-off legal-hold-on legal-hold-off"; strings.Join(types, " ") != want || d.OnHold {
			t.Errorf("Show history = %q, on hold %v; want %q and off", types, d.OnHold, want)
		}
		if _, err := records.Hold(ctx, st, nil, "nope", true, "FOI request 2025/17", officer); !errors.Is(err, records.ErrNoRecord) {
			t.Errorf("Hold(unknown) error = %v, want ErrNoRecord", err)
		}
	})
	for name, st := range map[string]filing.Store{
		"local":                  must(local.New(t.TempDir())),
		"s3 without object lock": miniotest.NewStoreWith(t, miniotest.Options{NoLock: true}),
	} {
		t.Run(name, func(t *testing.T) {
			s := file(t, service(t, st, nil), spec{title: "No lock here"})
			_, err := records.Hold(ctx, st, nil, s.ID, true, "FOI request 2025/17", officer)
			if !errors.Is(err, records.ErrNoLock) || !errors.Is(err, filing.ErrNotSupported) {
				t.Errorf("Hold on %s error = %v, want ErrNoLock", name, err)
			}
			if evs := events(t, st, s.ID, "legal-hold-on"); len(evs) != 0 {
				t.Errorf("Hold on %s wrote events %+v, want none", name, evs)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// readRegister reads a class's JSON and CSV registers.
func readRegister(t *testing.T, st filing.Store, code string) (*records.Register, [][]string) {
	t.Helper()
	var reg records.Register
	if err := json.Unmarshal(read(t, st, records.RegisterKey(code, "json")), &reg); err != nil {
		t.Fatalf("register %s: %v", code, err)
	}
	raw := read(t, st, records.RegisterKey(code, "csv"))
	if !bytes.HasPrefix(raw, []byte("\uFEFF")) {
		t.Errorf("register %s CSV does not start with a UTF-8 BOM", code)
	}
	if bytes.Count(raw, []byte("\n")) != bytes.Count(raw, []byte("\r\n")) {
		t.Errorf("register %s CSV has bare LF line ends", code)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatalf("register %s CSV: %v", code, err)
	}
	return &reg, rows
}

func TestRegistersConcurrentFilings(t *testing.T) {
	t.Parallel()
	const n = 12
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			// Two services, as two bot processes on one store.
			var svcs [2]*filing.Service
			update := records.RegisterUpdater(st, nil)
			for i := range svcs {
				svcs[i] = service(t, st, func(ctx context.Context, s filing.Summary) error {
					err := update(ctx, s)
					if err != nil {
						t.Errorf("RegisterUpdater(%s): %v", s.ID, err)
					}
					return err
				})
			}
			var wg sync.WaitGroup
			want := make([]string, n)
			for i := range n {
				wg.Go(func() {
					s := file(t, svcs[i%2], spec{title: fmt.Sprintf("Minutes %02d", i)})
					want[i] = s.ID
				})
			}
			wg.Wait()
			// One record in another class, with a title that a spreadsheet
			// would run as a formula.
			evil := file(t, svcs[0], spec{title: `=HYPERLINK("http://evil.example","click")`, class: "100-01"})

			reg, rows := readRegister(t, st, "100-20")
			got := titles(reg.Records, func(r records.Row) string { return r.ID })
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("register 100-20 has %d records %q, want the %d filed %q", len(got), got, len(want), want)
			}
			if len(rows) != n+1 {
				t.Errorf("register 100-20 CSV has %d rows, want header + %d", len(rows), n)
			}
			for _, row := range rows[1:] {
				if !slices.Contains(want, row[0]) {
					t.Errorf("register 100-20 CSV row %q is not a filed record", row)
				}
			}
			_, rows = readRegister(t, st, "100-01")
			if len(rows) != 2 || rows[1][0] != evil.ID || rows[1][1] != `'=HYPERLINK("http://evil.example","click")` {
				t.Errorf("register 100-01 CSV rows = %q, want the record with its title defused by a leading '", rows)
			}

			// A full rebuild from the index gives the same registers and
			// keeps them whole.
			keys, err := records.WriteRegisters(ctx, st, testKeys, nil)
			if err != nil {
				t.Fatalf("WriteRegisters: %v", err)
			}
			wantKeys := []string{"registers/100-01.json", "registers/100-01.csv", "registers/100-20.json", "registers/100-20.csv"}
			if !slices.Equal(keys, wantKeys) {
				t.Errorf("WriteRegisters wrote %q, want %q", keys, wantKeys)
			}
			reg, rows = readRegister(t, st, "100-20")
			if len(reg.Records) != n || len(rows) != n+1 {
				t.Errorf("after rebuild register 100-20 has %d records, %d CSV rows; want %d, %d", len(reg.Records), len(rows), n, n+1)
			}
		})
	}
}

func TestRegisterCSVCells(t *testing.T) {
	t.Parallel()
	reg := &records.Register{Records: []records.Row{{IndexEntry: filing.IndexEntry{ID: "id1", Title: `-1+1 "quoted", café`, Channel: "@here"}}}}
	raw := string(records.RegisterCSV(reg))
	lines := strings.Split(strings.TrimPrefix(raw, "\uFEFF"), "\r\n")
	want := `"id1","'-1+1 ""quoted"", café",`
	if !strings.HasPrefix(lines[1], want) {
		t.Errorf("RegisterCSV row = %q, want it to start %q", lines[1], want)
	}
	if !strings.Contains(lines[1], `"'@here"`) {
		t.Errorf("RegisterCSV row = %q, want the channel cell as %q", lines[1], `"'@here"`)
	}
}

// A register is stamped with the clock it is given, not the system's:
// the filing service's, after each filing, and the one a rebuild is
// given.
func TestRegistersStampedByTheirClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Local(t)
	fc := clockwork.NewFakeClockAt(time.Date(2031, 5, 4, 10, 30, 0, 0, time.UTC))
	svc := service(t, st, records.RegisterUpdater(st, fc))
	file(t, svc, spec{title: "Minutes 1"})
	if reg, _ := readRegister(t, st, "100-20"); !reg.UpdatedAt.Equal(fc.Now()) {
		t.Errorf("register stamped %v after filing, want the clock's %v", reg.UpdatedAt, fc.Now())
	}
	fc.Advance(90 * time.Minute)
	file(t, svc, spec{title: "Minutes 2"})
	if reg, _ := readRegister(t, st, "100-20"); !reg.UpdatedAt.Equal(fc.Now()) || len(reg.Records) != 2 {
		t.Errorf("register stamped %v with %d records after the second filing, want the clock's %v and 2", reg.UpdatedAt, len(reg.Records), fc.Now())
	}

	// A rebuild on a store whose registers are gone.
	for _, ext := range []string{"json", "csv"} {
		if err := st.Delete(ctx, records.RegisterKey("100-20", ext)); err != nil {
			t.Fatal(err)
		}
	}
	rebuilt := clockwork.NewFakeClockAt(time.Date(2032, 1, 2, 3, 4, 5, 0, time.UTC))
	if _, err := records.WriteRegisters(ctx, st, testKeys, rebuilt); err != nil {
		t.Fatalf("WriteRegisters: %v", err)
	}
	if reg, _ := readRegister(t, st, "100-20"); !reg.UpdatedAt.Equal(rebuilt.Now()) {
		t.Errorf("register stamped %v by a rebuild, want its clock's %v", reg.UpdatedAt, rebuilt.Now())
	}
}
