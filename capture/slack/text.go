package slack

import (
	"strings"
)

// names resolves the ids found in Slack markup to names for people.
type names struct {
	user    func(id string) string // "@Ada Lovelace"-ready name, without the "@"
	channel func(id string) string // channel name without the "#"
}

// readable renders Slack's message markup for people: <@U1> becomes
// "@Ada", <#C1|general> "#general", <!here> "@here", <https://x|label>
// "label (https://x)", and the &amp; &lt; &gt; escapes are undone. Text
// outside the angle brackets is kept as it is.
func readable(text string, n names) string {
	if !strings.ContainsAny(text, "<&") {
		return text
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(text, '<')
		if i < 0 {
			b.WriteString(unescape(text))
			break
		}
		j := strings.IndexByte(text[i:], '>')
		if j < 0 {
			b.WriteString(unescape(text))
			break
		}
		b.WriteString(unescape(text[:i]))
		b.WriteString(entity(text[i+1:i+j], n))
		text = text[i+j+1:]
	}
	return b.String()
}

// entity renders the inside of one <...> markup.
func entity(s string, n names) string {
	target, label, hasLabel := strings.Cut(s, "|")
	label = unescape(label)
	switch {
	case strings.HasPrefix(target, "@"):
		id := target[1:]
		if hasLabel && label != "" {
			return "@" + strings.TrimPrefix(label, "@")
		}
		if n.user != nil {
			return "@" + n.user(id)
		}
		return "@" + id
	case strings.HasPrefix(target, "#"):
		id := target[1:]
		if hasLabel && label != "" {
			return "#" + label
		}
		if n.channel != nil {
			return "#" + n.channel(id)
		}
		return "#" + id
	case strings.HasPrefix(target, "!"):
		cmd := target[1:]
		switch {
		case cmd == "here" || cmd == "channel" || cmd == "everyone":
			return "@" + cmd
		case strings.HasPrefix(cmd, "subteam^"):
			if hasLabel && label != "" {
				return "@" + strings.TrimPrefix(label, "@")
			}
			return "@" + strings.TrimPrefix(cmd, "subteam^")
		case strings.HasPrefix(cmd, "date^"):
			if hasLabel {
				return label
			}
			return cmd
		}
		if hasLabel {
			return label
		}
		return "@" + cmd
	}
	url := unescape(target)
	if mail, ok := strings.CutPrefix(url, "mailto:"); ok {
		if hasLabel && label != "" && label != mail {
			return label + " (" + mail + ")"
		}
		return mail
	}
	if hasLabel && label != "" && label != url {
		return label + " (" + url + ")"
	}
	return url
}

var unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

func unescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return unescaper.Replace(s)
}

// PlainText renders Slack markup for people without asking Slack for
// names: mentions keep their label or id ("@U123"), links their label and
// address. For short uses such as a suggested record title.
func PlainText(text string) string { return readable(text, names{}) }
