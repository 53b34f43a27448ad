package teams

import (
	"html"
	"io"
	"net/url"
	"strconv"
	"strings"

	xhtml "golang.org/x/net/html"
)

// maxText caps a message's rendered text; the HTML as Graph gave it is
// kept whole in the snapshot beside it.
const maxText = 1 << 20

// rendered is a message body rendered for people, with what it points at.
type rendered struct {
	text string
	// images are the hosted contents (inline images) the body shows, in
	// order, by their Graph ids.
	images []string
}

// render turns a chatMessage body into plain text: tags dropped, script
// and style dropped with their content, block elements on their own
// lines, <at id="N"> mentions as "@Name" from the message's mentions (or
// the members' names), links with their address, inline images as
// "[image N]", shared files as "[file: name]". It streams the body
// through x/net/html's tokenizer, which reads malformed HTML as browsers
// do and keeps no tree, so deep nesting costs nothing; text stops at
// maxText. A body of contentType "text" is taken as written.
func render(m *gMessage, names map[string]string) rendered {
	if m.Body.ContentType != "html" {
		return rendered{text: capText(clean(strings.TrimSpace(m.Body.Content)))}
	}
	mentions := make(map[string]string, len(m.Mentions))
	for _, mn := range m.Mentions {
		name := mn.MentionText
		if mn.Mentioned != nil {
			switch {
			case mn.Mentioned.User != nil:
				name = first(mn.Mentioned.User.DisplayName, names[mn.Mentioned.User.ID], name)
			case mn.Mentioned.Application != nil:
				name = first(mn.Mentioned.Application.DisplayName, name)
			}
		}
		mentions[strconv.Itoa(mn.ID)] = name
	}
	files := make(map[string]string, len(m.Attachments))
	for _, a := range m.Attachments {
		if a.ContentType == "reference" {
			files[a.ID] = first(a.Name, a.ContentURL, a.ID)
		}
	}

	var out rendered
	var b strings.Builder
	z := xhtml.NewTokenizer(strings.NewReader(m.Body.Content))
	z.SetMaxBuf(maxText)
	skip := 0      // inside script/style/head: depth
	inMention := 0 // inside <at>: its text is replaced by the name
	var hrefs []string
	newline := func() {
		s := b.String()
		if s != "" && !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	for {
		if b.Len() >= maxText {
			b.WriteString(cutNote)
			break
		}
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			if z.Err() != io.EOF {
				b.WriteString(" [the rest of the message could not be read as HTML]")
			}
			break
		}
		name, _ := z.TagName()
		tag := string(name)
		switch tt {
		case xhtml.TextToken:
			if skip > 0 || inMention > 0 {
				continue
			}
			t := collapse(clean(string(z.Text())))
			if t == " " && (b.Len() == 0 || strings.HasSuffix(b.String(), "\n") || strings.HasSuffix(b.String(), " ")) {
				continue
			}
			b.WriteString(t)
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			attrs := attrsOf(z)
			switch tag {
			case "script", "style", "head", "template", "noscript", "iframe", "object":
				if tt == xhtml.StartTagToken {
					skip++
				}
			case "at":
				if skip == 0 {
					b.WriteString("@" + first(mentions[attrs["id"]], "someone"))
				}
				if tt == xhtml.StartTagToken {
					inMention++
				}
			case "br":
				if skip == 0 {
					b.WriteByte('\n')
				}
			case "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol":
				if skip == 0 {
					newline()
					if tag == "li" {
						b.WriteString("- ")
					}
				}
			case "img":
				if skip == 0 && inMention == 0 {
					if id := hostedID(attrs["src"]); id != "" {
						out.images = append(out.images, id)
						b.WriteString("[image " + strconv.Itoa(len(out.images)) + "]")
					} else if alt := attrs["alt"]; alt != "" {
						b.WriteString(alt)
					}
				}
			case "emoji":
				// Teams writes an emoji as <emoji alt="🙂" title="Smile">.
				if skip == 0 && inMention == 0 {
					b.WriteString(first(attrs["alt"], attrs["title"]))
				}
			case "attachment":
				// A shared file shows where it was; a card or a quote is
				// told after the text (attachmentLine).
				if name, ok := files[attrs["id"]]; ok && skip == 0 {
					b.WriteString("[file: " + name + "]")
				}
			case "a":
				if tt == xhtml.StartTagToken {
					hrefs = append(hrefs, safeHref(attrs["href"]))
				}
			}
		case xhtml.EndTagToken:
			switch tag {
			case "script", "style", "head", "template", "noscript", "iframe", "object":
				if skip > 0 {
					skip--
				}
			case "at":
				if inMention > 0 {
					inMention--
				}
			case "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol":
				if skip == 0 {
					newline()
				}
			case "a":
				if n := len(hrefs); n > 0 {
					h := hrefs[n-1]
					hrefs = hrefs[:n-1]
					if skip == 0 && h != "" && !strings.HasSuffix(b.String(), h) {
						b.WriteString(" (" + h + ")")
					}
				}
			}
		}
	}
	out.text = capText(strings.TrimSpace(b.String()))
	return out
}

const cutNote = " … [text cut; the whole message is kept as HTML]"

// capText cuts s at maxText on a rune boundary, saying so.
func capText(s string) string {
	if len(s) <= maxText+len(cutNote) {
		return s
	}
	cut := maxText
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + cutNote
}

// clean shows control characters other than tab and newline (a NUL, an
// escape) as U+FFFD: they mean nothing to a reader and upset renditions.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' && r != '\r' || r == 0x7f {
			return '\ufffd'
		}
		return r
	}, s)
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// collapse turns runs of white space into one space, as HTML shows them.
func collapse(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\n' || r == '\t' || r == '\r' || r == '\f' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

func attrsOf(z *xhtml.Tokenizer) map[string]string {
	attrs := make(map[string]string)
	for n := 0; n < 64; n++ {
		k, v, more := z.TagAttr()
		if _, ok := attrs[string(k)]; !ok {
			attrs[string(k)] = string(v)
		}
		if !more {
			break
		}
	}
	return attrs
}

// safeHref keeps http(s) and mailto links only: a javascript: or data:
// address is not shown.
func safeHref(h string) string {
	h = strings.TrimSpace(html.UnescapeString(h))
	u, err := url.Parse(h)
	if err != nil {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "mailto":
		return h
	}
	return ""
}

// hostedID is the hosted content id an inline image's src names
// (".../hostedContents/{id}/$value"), or "".
func hostedID(src string) string {
	u, err := url.Parse(src)
	if err != nil {
		return ""
	}
	parts := strings.Split(u.EscapedPath(), "/")
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "hostedContents" && parts[i+2] == "$value" {
			id, err := url.PathUnescape(parts[i+1])
			if err != nil {
				return ""
			}
			return id
		}
	}
	return ""
}

func first(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
