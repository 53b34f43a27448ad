package records

import "testing"

func TestMatcher(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		query, text string
		want        bool
	}{
		{"chloe", "Minutes by Chloé Dupont", true},
		{"CHLOÉ", "chloe dupont", true},
		{"Zoë", "ZOE", true},
		{"abc123", "ＡＢＣ１２３ (full width)", true},
		{"café", "cafe", true},
		{"chloe", "Chloë", true},
		{"chloe", "Clothes", false},
		{"+447700900123", "+44 7700 900123", true},
		{"+447700900123", "call 07700 900123 today", true},
		{"00447700900123", "+44 (0)7700-900-123", true},
		{"00447700900123", "+44 7700.900.123", true},
		{"07700 900123", "+447700900123", true},
		{"+44 7700 900123", "4477009001230", false},
		{"+447700900123", "+44 7700 900124", false},
		{"+447700900123", "+33 7700 900123", false},
		{"900123", "+44 7700 900123", true}, // too short for a number: found as text
		{"7700900", "ext 7700 900", true},
		{"12345678", "order 1234-5678", true},
	} {
		if got := newMatcher(c.query).match(c.text); got != c.want {
			t.Errorf("newMatcher(%q).match(%q) = %v, want %v", c.query, c.text, got, c.want)
		}
	}
}
