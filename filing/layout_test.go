package filing_test

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/recordbot/recordbot/filing"
)

func TestRecordKeyHostileTitles(t *testing.T) {
	t.Parallel()
	c := filing.SamplePlan().Class("100-20")
	filed := time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)
	id := "019a1b2c-3d4e-7f00-8123-456789abcdef"
	const folder = "records/100_Administration/100-20_Committees-and-working-groups/2026/2026-11-21_"
	tests := []struct {
		title, slug string
	}{
		{"Budget decision", "budget-decision"},
		{"../../etc/passwd", "etc-passwd"},
		{"a/b\\c", "a-b-c"},
		{"line\nbreak\ttab\x00nul\x1b[31m", "line-break-tab-nul-31m"},
		{"right\u202Eto\u202Cleft \u200Bzero", "right-to-left-zero"},
		{"Approved 🎉✅ go-live", "approved-go-live"},
		{"Übergabe Ärzte Résumé", "übergabe-ärzte-résumé"},
		{"....", "untitled"},
		{"", "untitled"},
		{"\xff\xfe broken utf8", "broken-utf8"},
		{strings.Repeat("very long title ", 40), "very-long-title-very-long-title-very-long-title-very-long"},
		{strings.Repeat("é", 500), strings.Repeat("é", 30)},
	}
	for _, tt := range tests {
		key := filing.RecordKey(c, filed, tt.title, id)
		want := folder + tt.slug + "_89abcdef/"
		if key != want {
			t.Errorf("RecordKey(%q) = %q, want %q", tt.title, key, want)
		}
		if err := filing.CheckKey(key + "bagit.txt"); err != nil {
			t.Errorf("RecordKey(%q) is not a valid key: %v", tt.title, err)
		}
	}
}

func TestDataPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n, total int
		name     string
		want     string
	}{
		{1, 2, "minutes.pdf", "data/files/001_minutes.pdf"},
		{12, 1500, "Q3 report (final).XLSX", "data/files/0012_Q3-report-final.xlsx"},
		{3, 5, "../../secret", "data/files/003_secret"},
		{4, 5, ".bashrc", "data/files/004_bashrc"},
		{5, 5, "no-ext", "data/files/005_no-ext"},
		{6, 9, "weird.ext\u202E", "data/files/006_weird-ext"}, // a bidi mark: no trusted extension
	}
	for _, tt := range tests {
		if got := filing.DataPath(tt.n, tt.total, tt.name); got != tt.want {
			t.Errorf("DataPath(%d, %d, %q) = %q, want %q", tt.n, tt.total, tt.name, got, tt.want)
		}
	}
}

func FuzzRecordKey(f *testing.F) {
	for _, s := range []string{"Budget", "../x", "a\x00b", "\u202E", "🎉", strings.Repeat("x", 600)} {
		f.Add(s, "file.txt")
	}
	c := filing.SamplePlan().Class("200-20-01")
	f.Fuzz(func(t *testing.T, title, name string) {
		key := filing.RecordKey(c, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), title, "019a1b2c-3d4e-7f00-8123-456789abcdef")
		for _, k := range []string{key + "bagit.txt", key + filing.DataPath(1, 1, name)} {
			if err := filing.CheckKey(k); err != nil {
				t.Fatalf("title %q name %q: %v", title, name, err)
			}
			if !utf8.ValidString(k) || len(k) > 400 {
				t.Fatalf("key %q: invalid UTF-8 or too long", k)
			}
			for _, r := range k {
				if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) {
					t.Fatalf("key %q holds %U", k, r)
				}
			}
		}
		if strings.Count(key, "/") != 6 {
			t.Fatalf("title %q changed the key's depth: %q", title, key)
		}
	})
}

// An audit event's key names its record, so that a record's history can be
// picked out of a listing; the filing event's key stays what it always was
// (records filed before anchor on it).
func TestEventKeyNamesTheRecord(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	const rec, ev = "019aeb2c-8f3e-7c4d-9a61-2f0c3b5d7e81", "019aeb2d-0000-7000-8000-000000000001"
	for _, c := range []struct {
		e     filing.Event
		key   string
		owner string
	}{
		{filing.Event{ID: rec, Type: "filed", RecordID: rec}, "audit/2026/12/04/" + rec + "_filed.json", rec},
		{filing.Event{ID: ev, Type: "fixity-check", RecordID: rec}, "audit/2026/12/04/" + ev + "_fixity-check_" + rec + ".json", rec},
		{filing.Event{ID: ev, Type: "register-rebuilt"}, "audit/2026/12/04/" + ev + "_register-rebuilt.json", ""},
	} {
		key := filing.EventKey(c.e, day)
		if key != c.key {
			t.Errorf("EventKey(%s) = %q, want %q", c.e.Type, key, c.key)
		}
		if id, ok := filing.EventRecord(key); id != c.owner || ok != (c.owner != "") {
			t.Errorf("EventRecord(%q) = %q, %v; want %q", key, id, ok, c.owner)
		}
	}
	// Keys that name no record, as older events' and hostile ones.
	for _, key := range []string{"audit/2026/01/02/" + ev + "_fixity-check.json", "audit/2026/01/02/.json",
		"audit/2026/01/02/x_y_not-a-uuid.json", "audit/2026/01/02/nounderscore.json"} {
		if id, ok := filing.EventRecord(key); ok {
			t.Errorf("EventRecord(%q) = %q, want no record named", key, id)
		}
	}
}
