package teams

import (
	"strings"

	"golang.org/x/net/html"
)

// PlainText renders a Teams message body (HTML) as plain text for a
// suggested title: tags dropped, entities decoded, a line break for each
// block and <br>.
func PlainText(body string) string {
	z := html.NewTokenizer(strings.NewReader(body))
	var b strings.Builder
	for {
		switch z.Next() {
		case html.ErrorToken:
			return strings.TrimSpace(b.String())
		case html.TextToken:
			b.Write(z.Text())
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "br", "p", "div", "li", "tr", "h1", "h2", "h3", "blockquote":
				b.WriteByte('\n')
			}
		}
	}
}
