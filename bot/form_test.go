package bot_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

// testPlan has a class whose default marking is not the plan's.
func testPlan(t *testing.T) *filing.Plan {
	t.Helper()
	p, err := filing.ParsePlan(strings.NewReader(`
name: Test plan
markings: [OFFICIAL, OFFICIAL-SENSITIVE]
default_marking: OFFICIAL
classes:
  - code: "200"
    title: Finance
    retention: {period: 7y, action: destroy}
    children:
      - code: "200-20"
        title: Procurement
        default_marking: OFFICIAL-SENSITIVE
      - code: "200-30"
        title: Payroll
`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSuggestTitle(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 40)
	for _, tc := range []struct {
		name, text, want string
	}{
		{"first line", "Tender decision for the new ferry\nsecond line", "Tender decision for the new ferry"},
		{"spaces collapsed", "  Ferry \t tender\u00a0 decision  ", "Ferry tender decision"},
		{"emphasis dropped", "_**Ferry** ~old~ `tender` decision_", "Ferry old tender decision"},
		{"markdown heading", "## Budget 2026", "Budget 2026"},
		{"a hash that is no heading", "#42 is agreed", "#42 is agreed"},
		{"empty", " \n ", ""},
		{"exactly the limit", strings.Repeat("a", bot.SuggestedTitleMax), strings.Repeat("a", bot.SuggestedTitleMax)},
		{"cut at a word", long, strings.TrimSpace(strings.Repeat("word ", 20)) + "…"},
		{"cut inside a long word", strings.Repeat("é", 150), strings.Repeat("é", bot.SuggestedTitleMax) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := bot.SuggestTitle(tc.text)
			if got != tc.want {
				t.Errorf("SuggestTitle(%q) = %q, want %q", tc.text, got, tc.want)
			}
			if n := utf8.RuneCountInString(got); n > bot.SuggestedTitleMax+1 {
				t.Errorf("SuggestTitle(%q) has %d runes, want at most %d", tc.text, n, bot.SuggestedTitleMax+1)
			}
		})
	}
}

func TestLimitsAreFilings(t *testing.T) {
	t.Parallel()
	if bot.TitleMax != filing.MaxTitle || bot.DescriptionMax != filing.MaxDescription {
		t.Errorf("limits %d, %d; want filing's %d, %d", bot.TitleMax, bot.DescriptionMax, filing.MaxTitle, filing.MaxDescription)
	}
	if bot.SuggestedTitleMax+1 > bot.TitleMax {
		t.Errorf("SuggestedTitleMax %d does not fit TitleMax %d", bot.SuggestedTitleMax, bot.TitleMax)
	}
}

func TestFormRequest(t *testing.T) {
	t.Parallel()
	plan := testPlan(t)
	origin := bot.Origin{
		By:     capture.Person{ID: "u1", DisplayName: "alice"},
		Thread: capture.Ref{Platform: capture.Mattermost, ChannelID: "c1", ThreadID: "p1"},
		Via:    "mattermost /record", Key: "mattermost:https://mm:t1:n1",
		Reply: json.RawMessage(`{"user_id":"u1"}`),
	}
	for _, tc := range []struct {
		name        string
		form        bot.Form
		wantMarking string
		wantClass   string
	}{
		{"class default chosen", bot.Form{Title: "T", Class: "200-20", Marking: bot.ClassDefault}, "OFFICIAL-SENSITIVE", "200-20"},
		{"no marking sent", bot.Form{Title: "T", Class: "200-20"}, "OFFICIAL-SENSITIVE", "200-20"},
		{"class inherits the plan's default", bot.Form{Title: "T", Class: "200-30", Marking: bot.ClassDefault}, "OFFICIAL", "200-30"},
		{"marking chosen", bot.Form{Title: "T", Class: "200-20", Marking: "OFFICIAL"}, "OFFICIAL", "200-20"},
		{"unknown class: no marking to take", bot.Form{Title: "T", Class: "999", Marking: bot.ClassDefault}, "", "999"},
		{"class trimmed", bot.Form{Title: "T", Class: " 200-20 ", Marking: " " + bot.ClassDefault + " "}, "OFFICIAL-SENSITIVE", "200-20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.form.Request(plan, origin)
			if r.Marking != tc.wantMarking || r.ClassCode != tc.wantClass {
				t.Errorf("Request(%+v) marking, class = %q, %q; want %q, %q", tc.form, r.Marking, r.ClassCode, tc.wantMarking, tc.wantClass)
			}
		})
	}
	r := bot.Form{Title: "  Ferry tender \n", Class: "200-20", Description: "\n Award to A  "}.Request(plan, origin)
	if r.Title != "Ferry tender" || r.Description != "Award to A" {
		t.Errorf("Request() title, description = %q, %q; want them trimmed", r.Title, r.Description)
	}
	if r.Via != origin.Via || r.Key != origin.Key || string(r.Reply) != string(origin.Reply) || r.RequestedBy != origin.By || r.Thread != origin.Thread {
		t.Errorf("Request() = %+v, want the origin's person, thread, via, key and reply", r)
	}
}

func TestClassLabel(t *testing.T) {
	t.Parallel()
	plan := testPlan(t)
	for code, want := range map[string]string{"200": "200 Finance", "200-20": "200-20 Procurement (200 Finance)"} {
		if got := bot.ClassLabel(plan.Class(code)); got != want {
			t.Errorf("ClassLabel(%q) = %q, want %q", code, got, want)
		}
	}
}
