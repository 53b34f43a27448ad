package records_test

import (
	"context"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

// Distinct class codes must never share a register.
func TestRegisterKeyDistinct(t *testing.T) {
	t.Parallel()
	codes := []string{"1-2", "1.2", "1/2", "1 2", "1_2", "1%2F2", "12", ".12", "%2E12", "FIN/PRO/03", "FIN-PRO-03",
		"fin-pro-03", "Ä1", "\uFFFD", "\xef", "", "..", "a\x00b", "a\u202eb"}
	seen := make(map[string]string)
	for _, c := range codes {
		k := records.RegisterKey(c, "json")
		if prev, ok := seen[k]; ok {
			t.Errorf("RegisterKey(%q) = RegisterKey(%q) = %q, want distinct keys", c, prev, k)
		}
		seen[k] = c
		if err := filing.CheckKey(k); err != nil || strings.Count(k, "/") != 1 {
			t.Errorf("RegisterKey(%q) = %q, want one well-formed segment under registers/: %v", c, k, err)
		}
	}
	for code, want := range map[string]string{"100-20": "registers/100-20.json", "1.2": "registers/1.2.json", "FIN/PRO/03": "registers/FIN%2FPRO%2F03.json"} {
		if got := records.RegisterKey(code, "json"); got != want {
			t.Errorf("RegisterKey(%q) = %q, want %q", code, got, want)
		}
	}
}

// Records of classes 1-2 and 1.2 land in their own registers.
func TestRegistersOfSimilarCodes(t *testing.T) {
	t.Parallel()
	plan, err := filing.ParsePlan(strings.NewReader(`
name: Similar codes
markings: [OFFICIAL]
default_marking: OFFICIAL
classes:
  - {code: "1-2", title: Dash, retention: {period: 1y, action: destroy}}
  - {code: "1.2", title: Dot, retention: {period: 1y, action: destroy}}
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc, err := filing.NewService(filing.Options{Store: st, Plan: plan, AfterFiling: records.RegisterUpdater(st, nil)})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []string{"1-2", "1.2"} {
				r := filing.Request{RequestedBy: capture.Person{ID: "U1"}, Thread: capture.Ref{Platform: capture.Slack, WorkspaceID: "T1", ChannelID: "C1", ThreadID: "1"},
					Title: "In " + c, ClassCode: c, Marking: "OFFICIAL"}
				if _, err := svc.FileThread(ctx, r, spec{}.thread()); err != nil {
					t.Fatalf("FileThread(%s): %v", c, err)
				}
			}
			if _, err := records.WriteRegisters(ctx, st, testKeys, nil); err != nil {
				t.Fatal(err)
			}
			for _, c := range []string{"1-2", "1.2"} {
				reg, rows := readRegister(t, st, c)
				if reg.ClassCode != c || len(reg.Records) != 1 || reg.Records[0].Title != "In "+c || len(rows) != 2 {
					t.Errorf("register of %s: class %q, %d records, %d CSV rows; want only the record filed in %s", c, reg.ClassCode, len(reg.Records), len(rows), c)
				}
			}
		})
	}
}
