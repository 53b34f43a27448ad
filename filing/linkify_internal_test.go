package filing

import "testing"

func TestLinkify(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"Option B. the report (https://example.org/report) agrees.",
			`Option B. the report (<a href="https://example.org/report" rel="noreferrer">https://example.org/report</a>) agrees.`},
		{"see http://example.org/a?b=1&c=<2>.",
			`see <a href="http://example.org/a?b=1&amp;c=" rel="noreferrer">http://example.org/a?b=1&amp;c=</a>&lt;2&gt;.`},
		{"https://en.wikipedia.org/wiki/Bath_(city), then",
			`<a href="https://en.wikipedia.org/wiki/Bath_(city)" rel="noreferrer">https://en.wikipedia.org/wiki/Bath_(city)</a>, then`},
		{`javascript:alert(1) and data:text/html,<b>x</b>`, `javascript:alert(1) and data:text/html,&lt;b&gt;x&lt;/b&gt;`},
		{`"https://x.example/"onmouseover="alert(1)"`, `&#34;<a href="https://x.example/" rel="noreferrer">https://x.example/</a>&#34;onmouseover=&#34;alert(1)&#34;`},
		{"no link: https:// here", "no link: https:// here"},
		{"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
	} {
		if got := string(linkify(c.text)); got != c.want {
			t.Errorf("linkify(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}
