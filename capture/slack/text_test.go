package slack

import "testing"

func TestReadable(t *testing.T) {
	t.Parallel()
	n := names{
		user:    func(id string) string { return map[string]string{"U1": "Ada", "W2": "Bob"}[id] },
		channel: func(id string) string { return map[string]string{"C1": "general"}[id] },
	}
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"hi <@U1>", "hi @Ada"},
		{"hi <@W2|bob>", "hi @bob"},
		{"see <#C1>", "see #general"},
		{"see <#C9|ops>", "see #ops"},
		{"<!here> <!channel> <!everyone>", "@here @channel @everyone"},
		{"<!subteam^S1|@leads> please", "@leads please"},
		{"<!date^1392734382^{date}|Feb 18, 2014>", "Feb 18, 2014"},
		{"<https://example.org>", "https://example.org"},
		{"<https://example.org|example>", "example (https://example.org)"},
		{"<https://example.org/?a=1&amp;b=2|https://example.org/?a=1&amp;b=2>", "https://example.org/?a=1&b=2"},
		{"<mailto:a@example.org|a@example.org>", "a@example.org"},
		{"1 &lt; 2 &amp;&amp; 3 &gt; 2", "1 < 2 && 3 > 2"},
		{"unclosed <@U1", "unclosed <@U1"},
	}
	for _, tt := range tests {
		if got := readable(tt.in, n); got != tt.want {
			t.Errorf("readable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTSTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64 // unix nanoseconds
		ok   bool
	}{
		{"1531420618.000200", 1531420618000200000, true},
		{"1531420618", 1531420618000000000, true},
		{"", 0, false},
		{"abc.1", 0, false},
	}
	for _, tt := range tests {
		got, err := tsTime(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got.UnixNano() != tt.want) {
			t.Errorf("tsTime(%q) = %v, %v, want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
