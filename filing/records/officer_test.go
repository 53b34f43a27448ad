package records_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

// A store with nothing recordbot wrote in it is not an empty store.
func TestCheckLayout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			if err := records.CheckLayout(ctx, st); !errors.Is(err, records.ErrNoLayout) || !strings.Contains(err.Error(), st.Where("")) {
				t.Errorf("CheckLayout(empty) = %v, want ErrNoLayout naming %s", err, st.Where(""))
			}
			file(t, service(t, st, nil), spec{title: "Roads"})
			if err := records.CheckLayout(ctx, st); err != nil {
				t.Errorf("CheckLayout(filled) = %v, want nil", err)
			}
		})
	}
}

// find matches real names as captured, and names the records it could not
// search instead of saying none holds the text.
func TestFindRealNamesAndUnsearched(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := service(t, st, nil)
			s := file(t, svc, spec{title: "Roads", people: []string{"bob", "alice"}, texts: []string{"Option B.", "Agreed."},
				real: map[string]string{"bob": "Bob Jones", "alice": "Alice Smith"}})
			other := file(t, svc, spec{title: "Parks", texts: []string{"Nothing on roads here."}})
			hits, not, err := records.Find(ctx, st, "bob jones", records.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != 1 || hits[0].ID != s.ID || strings.Join(hits[0].Matched, ",") != "participant,transcript" || len(not) != 0 {
				t.Errorf("Find(bob jones) = %+v, not searched %+v; want %s in participant and transcript", hits, not, s.ID)
			}
			d, err := records.Show(ctx, st, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := filing.Label(d.Record.Participants[0]); got != "bob (Bob Jones)" {
				t.Errorf("Show participant = %q, want %q", got, "bob (Bob Jones)")
			}
			tamper(t, st, other.Key+filing.TextFile, nil)
			hits, not, err = records.Find(ctx, st, "zebra", records.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != 0 || len(not) != 1 || not[0].ID != other.ID || !strings.Contains(not[0].Reason, "missing") {
				t.Errorf("Find(zebra) with a transcript gone = %+v, not searched %+v; want %s not searched", hits, not, other.ID)
			}
		})
	}
}

// show takes the short id that ends a record's folder name.
func TestShowShortID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := file(t, service(t, st, nil), spec{title: "Roads"})
			for _, id := range []string{s.ID, filing.ShortID(s.ID), strings.ToUpper(filing.ShortID(s.ID))} {
				d, err := records.Show(ctx, st, id)
				if err != nil || d.Record.ID != s.ID || len(d.History) != 1 || d.History[0].Type != "filed" {
					t.Errorf("Show(%q) = %+v, %v; want record %s with its filing event", id, d, err, s.ID)
				}
			}
			if _, err := records.Show(ctx, st, "00000000"); !errors.Is(err, records.ErrNoRecord) {
				t.Errorf("Show(unknown short id) error = %v, want ErrNoRecord", err)
			}
		})
	}
}

// FOI searches find what people type: names without their accents, and
// phone numbers however they are spaced and prefixed, in titles,
// participants and transcripts.
func TestFindFoldsAccentsAndPhoneNumbers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := service(t, st, nil)
			r := file(t, svc, spec{title: "Call with Zoë about the Café", people: []string{"Chloé", "bob"},
				texts: []string{"Ring me on +44 7700 900123 after six.", "Agreed."}})
			for _, c := range []struct{ query, matched string }{
				{"chloe", "participant"},
				{"CHLOE", "participant"},
				{"zoe", "title"},
				{"ｃａｆｅ", "title"},
				{"+447700900123", "transcript"},
				{"00447700900123", "transcript"},
				{"07700 900 123", "transcript"},
			} {
				hits, not, err := records.Find(ctx, st, c.query, records.Filter{})
				if err != nil || len(not) > 0 {
					t.Fatalf("Find(%q) = _, %v, %v", c.query, not, err)
				}
				if len(hits) != 1 || hits[0].ID != r.ID || !slices.Contains(hits[0].Matched, c.matched) {
					t.Errorf("Find(%q) = %+v, want %s found in its %s", c.query, hits, r.ID, c.matched)
				}
			}
		})
	}
}
