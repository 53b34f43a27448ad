package teams

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func htmlMsg(body string, mentions ...gMention) *gMessage {
	return &gMessage{Body: gBody{ContentType: "html", Content: body}, Mentions: mentions}
}

func TestRender(t *testing.T) {
	bob := gMention{ID: 0, MentionText: "Bob", Mentioned: &gIdentitySet{User: &gIdentity{ID: "b", DisplayName: "Bob Baker"}}}
	for _, c := range []struct {
		name string
		m    *gMessage
		want string
	}{
		{"plain", htmlMsg("<p>Hello&nbsp;<b>world</b> &amp; co</p>"), "Hello\u00a0world & co"},
		{"mention", htmlMsg(`<div><at id="0">Bob</at> see this</div>`, bob), "@Bob Baker see this"},
		{"unknown mention", htmlMsg(`<at id="7">Eve</at> hi`), "@someone hi"},
		{"lines", htmlMsg("<p>one</p><p>two<br>three</p><ul><li>a</li><li>b</li></ul>"), "one\ntwo\nthree\n- a\n- b"},
		{"link", htmlMsg(`<a href="https://example.org/x">the doc</a>`), "the doc (https://example.org/x)"},
		{"bare link", htmlMsg(`<a href="https://example.org/x">https://example.org/x</a>`), "https://example.org/x"},
		{"emoji", htmlMsg(`<p>done <emoji id="1f44d_thumbsup" alt="👍" title="Thumbs up"></emoji> and <img itemtype="http://schema.skype.com/Emoji" alt="🙂" src="https://statics.teams.cdn.office.net/x.png"></p>`), "done 👍 and 🙂"},
		{"text body", &gMessage{Body: gBody{ContentType: "text", Content: " <b>as written</b> "}}, "<b>as written</b>"},
	} {
		if got := render(c.m, nil).text; got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestRenderHostile(t *testing.T) {
	cases := []struct {
		name, body string
		want       string
		not        []string
	}{
		{"script", `<p>hi</p><script>alert("x")</script><style>p{}</style><p>there</p>`, "hi\nthere", []string{"alert", "p{}"}},
		{"javascript link", `<a href="javascript:alert(1)">click</a>`, "click", []string{"javascript"}},
		{"data link", `<a href="data:text/html,<script>1</script>">x</a>`, "x", []string{"data:"}},
		{"img onerror", `<img src=x onerror="alert(1)">ok`, "ok", []string{"alert"}},
		{"unclosed", `<div><p>open <b>bold <i>italic`, "open bold italic", nil},
		{"stray closers", `</div></p></at></a>text</script>`, "text", nil},
		{"comment", `a<!-- <script>x</script> -->b`, "ab", []string{"script"}},
		{"nul and controls", "a\x00b\x01c\x1b[2J", "a\ufffdb\ufffdc\ufffd[2J", nil},
		{"unterminated script", `before<script>while(1){}`, "before", []string{"while"}},
		{"nested at", `<at id="0"><at id="0">x</at></at> y`, "@someone@someone y", nil},
	}
	for _, c := range cases {
		got := render(htmlMsg(c.body), nil).text
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
		for _, n := range c.not {
			if strings.Contains(got, n) {
				t.Errorf("%s: %q shows %q", c.name, got, n)
			}
		}
	}
}

func TestRenderDeepAndHuge(t *testing.T) {
	deep := strings.Repeat("<div><span>", 20000) + "deep" + strings.Repeat("</span></div>", 20000)
	if got := render(htmlMsg(deep), nil).text; got != "deep" {
		t.Errorf("deep nesting: %q", got[:min(len(got), 50)])
	}
	huge := "<p>" + strings.Repeat("é word ", 160000) + "</p>"
	got := render(htmlMsg(huge), nil).text
	if len(got) > maxText+100 || !strings.HasSuffix(got, "[text cut; the whole message is kept as HTML]") || !utf8.ValidString(got) {
		t.Errorf("huge body: %d bytes, ends %q", len(got), got[max(0, len(got)-60):])
	}
	// A tag too long to buffer ends the rendering with a note, not a panic.
	longTag := "ok<div " + strings.Repeat("a", maxText+10) + ">"
	if got := render(htmlMsg(longTag), nil).text; !strings.HasPrefix(got, "ok") {
		t.Errorf("long tag: %q", got[:min(len(got), 60)])
	}
}

func TestHostedID(t *testing.T) {
	for src, want := range map[string]string{
		"https://graph.microsoft.com/v1.0/chats/19:a@thread.v2/messages/1/hostedContents/aWQ9/$value":          "aWQ9",
		"https://graph.microsoft.com/v1.0/teams/t/channels/c/messages/1/replies/2/hostedContents/x%2Fy/$value": "x/y",
		"https://evil.example/hostedContents": "",
		"https://example.org/a.png":           "",
		"::":                                  "",
	} {
		if got := hostedID(src); got != want {
			t.Errorf("hostedID(%q) = %q, want %q", src, got, want)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	body := strings.Repeat(`<p>Budget line <b>42</b> <at id="0">Bob</at> <a href="https://example.org/x">link</a></p>`, 200)
	m := htmlMsg(body, gMention{ID: 0, MentionText: "Bob"})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		render(m, nil)
	}
}
