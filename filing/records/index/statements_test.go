package index

import (
	"fmt"
	"strings"
	"testing"
)

// A catch-up's batch is cut into PostgreSQL statements that each stay
// within the argument count and, but for a single row, the bytes one
// statement may carry; in order, losing no row.
func TestStatementsStayWithinLimits(t *testing.T) {
	big := strings.Repeat("x", maxText) // shared by every row that uses it
	for _, c := range []struct {
		name string
		rows []row
	}{
		{"500 full transcripts", rowsOf(500, func(int) string { return big })},
		{"6000 small rows", rowsOf(6000, func(i int) string { return fmt.Sprintf("text %d", i) })},
		{"mixed", rowsOf(300, func(i int) string {
			if i%7 == 0 {
				return big
			}
			return "short"
		})},
		{"none", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			runs := statements(c.rows, maxParams/pgCols, maxStatement)
			var got []row
			for _, run := range runs {
				if len(run) == 0 || len(run)*pgCols > maxParams {
					t.Fatalf("a statement of %d rows: %d arguments, the most is %d", len(run), len(run)*pgCols, maxParams)
				}
				size := 0
				for _, r := range run {
					size += rowBytes(r)
				}
				if len(run) > 1 && size > maxStatement {
					t.Fatalf("a statement of %d rows carries %d bytes, the most is %d", len(run), size, maxStatement)
				}
				got = append(got, run...)
			}
			if len(got) != len(c.rows) {
				t.Fatalf("%d rows in the statements, want %d", len(got), len(c.rows))
			}
			for i := range got {
				if got[i].ID != c.rows[i].ID {
					t.Fatalf("row %d is %s, want %s", i, got[i].ID, c.rows[i].ID)
				}
			}
		})
	}
	// A row larger than the limit is written alone, not refused.
	if runs := statements(rowsOf(3, func(int) string { return big }), 100, 10); len(runs) != 3 {
		t.Errorf("rows over the limit: %d statements, want one a row", len(runs))
	}
}

func rowsOf(n int, text func(i int) string) []row {
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{ID: fmt.Sprintf("id-%d", i), Text: text(i)}
	}
	return rows
}
