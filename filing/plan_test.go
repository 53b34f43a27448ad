package filing_test

import (
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/filing"
)

func TestSamplePlan(t *testing.T) {
	t.Parallel()
	p := filing.SamplePlan()
	c := p.Class("200-20-01")
	if c == nil {
		t.Fatal(`Class("200-20-01") = nil`)
	}
	if got, want := c.PathString(), "200 Finance > 200-20 Procurement > 200-20-01 Tender evaluation"; got != want {
		t.Errorf("PathString() = %q, want %q", got, want)
	}
	if c.Retention == nil || c.Retention.Years != 7 || c.Retention.FromYearEnd {
		t.Errorf("inherited retention = %+v, want 7 years from filing", c.Retention)
	}
	if c.Default != "OFFICIAL-SENSITIVE" || c.Allows("SECRET") {
		t.Errorf("markings = %v default %q, want OFFICIAL, OFFICIAL-SENSITIVE with default OFFICIAL-SENSITIVE", c.Markings, c.Default)
	}
	for _, leaf := range p.Leaves() {
		if leaf.Retention == nil {
			t.Errorf("leaf %s has no retention", leaf.Code)
		}
	}
	if got := p.Class("200-20"); got.Leaf() {
		t.Errorf("200-20 is a leaf, want a class with children")
	}
}

func TestParsePlanErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"duplicate code", `
markings: [OFFICIAL]
classes:
  - {code: "100", title: A, retention: {period: 1y, action: destroy}}
  - {code: "100", title: B, retention: {period: 1y, action: destroy}}`, []string{`class "100"`, "duplicate code"}},
		{"unknown marking", `
markings: [OFFICIAL]
classes:
  - {code: "100", title: A, markings: [TOP-SECRET], retention: {period: 1y, action: destroy}}`, []string{`class "100"`, `unknown security marking "TOP-SECRET"`}},
		{"bad period", `
markings: [OFFICIAL]
classes:
  - {code: "100", title: A, retention: {period: seven years, action: destroy}}`, []string{`class "100"`, `bad period "seven years"`}},
		{"zero period", `
markings: [OFFICIAL]
classes:
  - {code: "100", title: A, retention: {period: 0y, action: destroy}}`, []string{`class "100"`, "zero"}},
		{"unknown action", `
markings: [OFFICIAL]
classes:
  - {code: "100", title: A, retention: {period: 1y, action: shred}}`, []string{`class "100"`, `unknown action "shred"`}},
		{"leaf without retention", `
markings: [OFFICIAL]
classes:
  - code: "100"
    title: A
    children: [{code: "100-1", title: B}]`, []string{`class "100-1"`, "no retention"}},
		{"no code", `
markings: [OFFICIAL]
classes:
  - code: "100"
    title: A
    retention: {period: 1y, action: destroy}
    children: [{title: B}]`, []string{`class #1 under class "100"`, "no code"}},
		{"hostile code", `
markings: [OFFICIAL]
classes:
  - {code: "../etc", title: A, retention: {period: 1y, action: destroy}}`, []string{`class "../etc"`, "code must be"}},
		{"codes clash in keys", `
markings: [OFFICIAL]
classes:
  - {code: "FIN/PRO", title: A, retention: {period: 1y, action: destroy}}
  - {code: "FIN-PRO", title: B, retention: {period: 1y, action: destroy}}`, []string{`class "FIN-PRO"`, "clashes"}},
		{"default marking not listed", `
markings: [OFFICIAL]
default_marking: SECRET
classes:
  - {code: "1", title: A, retention: {period: 1y, action: destroy}}`, []string{`default marking "SECRET"`}},
		{"typo in a key", `
markings: [OFFICIAL]
classes:
  - {code: "1", title: A, retension: {period: 1y, action: destroy}}`, []string{"retension"}},
		{"permanent with a period", `
markings: [OFFICIAL]
classes:
  - {code: "1", title: A, retention: {period: 5y, action: permanent}}`, []string{`class "1"`, "permanent records take no period"}},
		{"empty", ``, []string{"empty"}},
		{"no markings", `
classes:
  - {code: "1", title: A, retention: {period: 1y, action: destroy}}`, []string{"no security markings"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := filing.ParsePlan(strings.NewReader(tt.yaml))
			if err == nil {
				t.Fatalf("ParsePlan() = nil error, want one mentioning %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParsePlan() error = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestDisposalDate(t *testing.T) {
	t.Parallel()
	filed := time.Date(2026, 3, 15, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		r    filing.Retention
		want string
	}{
		{filing.Retention{Years: 7, Action: filing.Destroy}, "2033-03-15"},
		{filing.Retention{Years: 7, FromYearEnd: true, Action: filing.Destroy}, "2033-12-31"},
		{filing.Retention{Years: 1, Months: 6, Action: filing.Review}, "2027-09-15"},
		{filing.Retention{Days: 90, Action: filing.Transfer}, "2026-06-13"},
		{filing.Retention{Action: filing.Permanent}, "0001-01-01"},
	}
	for _, tt := range tests {
		if got := tt.r.DisposalDate(filed).Format(time.DateOnly); got != tt.want {
			t.Errorf("%s: DisposalDate(%s) = %s, want %s", tt.r, filed.Format(time.DateOnly), got, tt.want)
		}
	}
}

func TestPlanSearch(t *testing.T) {
	t.Parallel()
	p := filing.SamplePlan()
	tests := []struct {
		query string
		want  string // first hit
		n     int    // at least this many hits
	}{
		{"100-2", "100-20", 1},
		{"tender", "200-20-01", 1},
		{"FINANCE contract", "200-20-02", 1},
		{"", "100-01", 5},
		{"no such thing", "", 0},
	}
	for _, tt := range tests {
		got := p.Search(tt.query, 10)
		if len(got) < tt.n || tt.n == 0 && len(got) != 0 {
			t.Errorf("Search(%q) = %d hits, want at least %d", tt.query, len(got), tt.n)
			continue
		}
		if tt.n > 0 && got[0].Code != tt.want {
			t.Errorf("Search(%q)[0] = %s, want %s", tt.query, got[0].Code, tt.want)
		}
		for _, c := range got {
			if !c.Leaf() {
				t.Errorf("Search(%q) returned %s, which is not a leaf", tt.query, c.Code)
			}
		}
	}
}

func FuzzParsePlan(f *testing.F) {
	f.Add(string(filing.SamplePlanYAML()))
	f.Add("markings: [A]\nclasses: [{code: '1', title: T, retention: {period: P1Y, action: review}}]")
	f.Add("markings: [A]\nclasses: [{code: 'a/b', title: T, children: [{code: c, title: U}]}]")
	f.Fuzz(func(t *testing.T, src string) {
		p, err := filing.ParsePlan(strings.NewReader(src))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, c := range p.All() {
			if seen[c.Code] {
				t.Fatalf("accepted plan has duplicate code %q", c.Code)
			}
			seen[c.Code] = true
			if err := filing.CheckKey(filing.ClassFolder(c) + "x"); err != nil {
				t.Fatalf("class %q folder %q is not a valid key: %v", c.Code, filing.ClassFolder(c), err)
			}
			if c.Leaf() && c.Retention == nil {
				t.Fatalf("accepted leaf %q without retention", c.Code)
			}
			if len(c.Markings) == 0 || !c.Allows(c.Default) {
				t.Fatalf("class %q: markings %v, default %q", c.Code, c.Markings, c.Default)
			}
		}
	})
}

// Errors in a file plan's YAML speak of lines, fields and what was
// expected, never of the Go types the plan is read into.
func TestParsePlanYAMLErrorsForPeople(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, yaml string
		want       []string
	}{
		{"misspelt field", "markings: [OFFICIAL]\nclasses:\n  - code: \"1\"\n    titel: A\n    retention: {period: 1y, action: destroy}\n",
			[]string{"line 4", `unknown field "titel"`, "a class (fields: code, title,"}},
		{"misspelt retention field", "markings: [OFFICIAL]\nclasses:\n  - code: \"1\"\n    title: A\n    retention: {perod: 1y, action: destroy}\n",
			[]string{"line 5", `unknown field "perod"`, "a retention rule (fields: period, from, action)"}},
		{"classes not a list", "markings: [OFFICIAL]\nclasses: finance\n",
			[]string{"line 2", "expected a list of classes", `found text "finance"`}},
		{"markings not a list", "markings: OFFICIAL\nclasses: []\n",
			[]string{"line 1", "expected a list", `found text "OFFICIAL"`}},
		{"bad indentation", "markings: [OFFICIAL]\nclasses:\n  - code: \"1\"\n   title: A\n",
			[]string{"line 2", "not valid YAML"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := filing.ParsePlan(strings.NewReader(tt.yaml))
			if err == nil {
				t.Fatalf("ParsePlan() = nil error, want one mentioning %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParsePlan() error = %q, want it to mention %q", err, w)
				}
			}
			for _, no := range []string{"filing.", "yamlClass", "!!", "unmarshal"} {
				if strings.Contains(err.Error(), no) {
					t.Errorf("ParsePlan() error = %q, want it without %q", err, no)
				}
			}
		})
	}
}
