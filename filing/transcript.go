package filing

import (
	"bufio"
	"context"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/recordbot/recordbot/capture"
)

// Label names a person for people: the display name with the real name
// beside it when the platform gave a different one ("bob (Bob Jones)"),
// so that a search for either finds them.
func Label(p capture.Person) string {
	n := p.Name()
	if p.RealName != "" && !strings.EqualFold(p.RealName, n) {
		return n + " (" + p.RealName + ")"
	}
	return n
}

// emoji maps the names of the reactions people use most (Slack and
// Mattermost short names) to the emoji itself and to words, for
// transcripts: the HTML shows the emoji, the PDF (whose embedded font has
// no emoji) and the text transcript the words.
var emoji = map[string][2]string{
	"+1": {"👍", "thumbs up"}, "thumbsup": {"👍", "thumbs up"}, "-1": {"👎", "thumbs down"}, "thumbsdown": {"👎", "thumbs down"},
	"heart": {"❤️", "heart"}, "white_check_mark": {"✅", "tick"}, "heavy_check_mark": {"✔️", "tick"}, "ballot_box_with_check": {"☑️", "tick"},
	"x": {"❌", "cross"}, "eyes": {"👀", "eyes (looking)"}, "tada": {"🎉", "party popper"}, "joy": {"😂", "tears of joy"},
	"smile": {"😄", "smile"}, "slightly_smiling_face": {"🙂", "smile"}, "pray": {"🙏", "thanks"}, "raised_hands": {"🙌", "raised hands"},
	"clap": {"👏", "applause"}, "ok_hand": {"👌", "OK"}, "fire": {"🔥", "fire"}, "rocket": {"🚀", "rocket"},
	"thinking_face": {"🤔", "thinking"}, "100": {"💯", "100"}, "warning": {"⚠️", "warning"}, "question": {"❓", "question"},
	"wave": {"👋", "wave"}, "muscle": {"💪", "strong"}, "confused": {"😕", "confused"}, "cry": {"😢", "sad"},
}

// reactionEmoji returns the emoji of a reaction's short name, or the name
// between colons when it is not a known one (a custom emoji).
func reactionEmoji(name string) string {
	if e, ok := emoji[strings.ToLower(name)]; ok {
		return e[0]
	}
	if !isShortName(name) {
		return name // already an emoji (WhatsApp, imports)
	}
	return ":" + name + ":"
}

// reactionLabel names a reaction in the text transcript: in words with its
// short name ("thumbs up (:+1:)"), or, when it is the emoji itself
// (WhatsApp, Mattermost imports), the emoji with its code points
// ("🚢 (U+1F6A2)"), which say what it is where a font has no picture.
func reactionLabel(name string) string {
	if isShortName(name) {
		return reactionWords(name) + " (:" + Visible(name) + ":)"
	}
	return Visible(name) + " (" + strings.TrimPrefix(reactionWords(name), "emoji ") + ")"
}

// sourceWhere says where a conversation took place: "#name" for a channel
// (with "(private)" when it is), and "chat \"name\"" for a WhatsApp chat,
// which is no channel.
func sourceWhere(s Source) string {
	name := firstNonEmpty(s.Channel.Name, s.Channel.ID)
	if s.Platform == capture.WhatsApp {
		return "chat “" + name + "”"
	}
	if s.Channel.Private {
		return "#" + name + " (private)"
	}
	return "#" + name
}

// reactionWords returns a reaction in words: "thumbs up" for +1, the
// short name with spaces for others ("white flag" for white_flag).
func reactionWords(name string) string {
	if e, ok := emoji[strings.ToLower(name)]; ok {
		return e[1]
	}
	if !isShortName(name) {
		var b strings.Builder
		for i, r := range name {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "U+%04X", r)
		}
		return "emoji " + b.String()
	}
	return strings.NewReplacer("_", " ", "-", " ", ":", " ").Replace(name)
}

// isShortName reports whether s is an emoji short name (ASCII) rather than
// the emoji itself.
func isShortName(s string) bool {
	for _, r := range s {
		if r >= 0x80 {
			return false
		}
	}
	return true
}

// transcriptData is what the transcript templates render.
type transcriptData struct {
	Rec *Record
	TZ  *time.Location
}

var transcriptFuncs = template.FuncMap{
	"rel": func(p string) string { return strings.TrimPrefix(p, "data/") },
	"names": func(ps []capture.Person) string {
		var s []string
		for _, p := range ps {
			s = append(s, Label(p))
		}
		return strings.Join(s, ", ")
	},
	"label": Label,
	"size":  humanSize,
	"emoji": reactionEmoji,
	"words": reactionWords,
	"where": sourceWhere,
	// inline reports whether an attached file is an image small enough
	// to show in the transcript: the HTML shows every one (the browser
	// reads it from the package); the PDF, which embeds them, the first
	// ones its budget allows.
	"inline": showable,
	// linkify escapes message text and makes its web addresses links.
	"linkify": linkify,
}

// webAddress finds what may be a web address in message text.
var webAddress = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"]+`)

// linkify returns text as HTML: every character escaped, and each http or
// https address in it (as the readable text of a message writes links) an
// <a> link to itself. Other schemes (javascript:, data:, file:) stay
// text. Punctuation that ends a sentence, or a closing bracket the address
// did not open, is left outside the link.
func linkify(text string) template.HTML {
	var b strings.Builder
	last := 0
	for _, loc := range webAddress.FindAllStringIndex(text, -1) {
		start, end := loc[0], loc[1]
		for end > start {
			c := text[end-1]
			if strings.IndexByte(".,;:!?'", c) >= 0 ||
				(c == ')' && strings.Count(text[start:end], "(") < strings.Count(text[start:end], ")")) {
				end--
				continue
			}
			break
		}
		u, err := url.Parse(text[start:end])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		b.WriteString(template.HTMLEscapeString(text[last:start]))
		addr := template.HTMLEscapeString(text[start:end])
		b.WriteString(`<a href="` + addr + `" rel="noreferrer">` + addr + `</a>`)
		last = end
	}
	b.WriteString(template.HTMLEscapeString(text[last:]))
	return template.HTML(b.String())
}

// The HTML transcript is self-contained: inline style, no scripts, no
// fetches, so it reads the same opened straight from a bucket or a disk.
var (
	transcriptHTML = htmlTemplate("transcript", `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'self'">
<title>{{.Rec.Title}} ({{.Rec.Marking}})</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1b1b;background:#fff}
.marking{background:#1d3557;color:#fff;text-align:center;font-weight:700;letter-spacing:.08em;padding:.3em}
main{max-width:52em;margin:0 auto;padding:1em 1.5em}
h1{font-size:1.4em;margin:.6em 0 .2em}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;font-size:.9em;border:1px solid #ccc;padding:.8em;border-radius:4px;background:#f7f7f7}
dl.meta dt{font-weight:600}dl.meta dd{margin:0;overflow-wrap:anywhere}
ol.messages{list-style:none;padding:0}
li.msg{border-top:1px solid #e3e3e3;padding:.6em 0}
li.root{border-top:2px solid #1d3557}
.head{font-size:.9em;color:#555}.author{font-weight:700;color:#1b1b1b}
.text{white-space:pre-wrap;overflow-wrap:anywhere;margin:.3em 0}
.edited,.bot{font-size:.8em;color:#777;border:1px solid #ccc;border-radius:3px;padding:0 .3em}
ul.reactions,ul.files{list-style:none;padding:0;margin:.2em 0;font-size:.9em}
ul.reactions li{display:inline-block;margin-right:.8em;color:#444}
ul.files li::before{content:"\1F4CE  "}
ul.files img{max-width:min(100%,24em);max-height:18em;border:1px solid #ddd;margin:.3em 0}
.rw{font-size:.85em;color:#666}
.missing{color:#a4000f}
footer{font-size:.8em;color:#555;border-top:1px solid #ccc;margin-top:1em;padding-top:.5em}
@page{size:A4;margin:22mm 15mm 20mm;
@top-center{content:"{{.Rec.Marking}}";font:700 10pt system-ui,sans-serif;letter-spacing:.08em;color:#1d3557}
@top-left{content:"Record {{.Rec.ID}}";font:7.5pt system-ui,sans-serif;color:#555}
@top-right{content:"{{.Rec.Class.Code}}";font:7.5pt system-ui,sans-serif;color:#555}
@bottom-center{content:"{{.Rec.Marking}}";font:700 10pt system-ui,sans-serif;letter-spacing:.08em;color:#1d3557}
@bottom-left{content:"Record {{.Rec.ID}}";font:7.5pt system-ui,sans-serif;color:#555}
@bottom-right{content:"page " counter(page) " of " counter(pages);font:7.5pt system-ui,sans-serif;color:#555}}
@media print{
body{font-size:10pt}
main{max-width:none;padding:0}
.marking{-webkit-print-color-adjust:exact;print-color-adjust:exact}
li.msg{break-inside:avoid}
img{max-width:90mm;max-height:70mm}
a{color:inherit}
}
</style>
</head>
<body>
<div class="marking">{{.Rec.Marking}}</div>
<main>
<h1>{{.Rec.Title}}</h1>
{{with .Rec.Description}}<p>{{.}}</p>{{end}}
<dl class="meta">
<dt>Record id</dt><dd>{{.Rec.ID}}</dd>
<dt>Class</dt><dd>{{.Rec.Class}}</dd>
<dt>Security marking</dt><dd>{{.Rec.Marking}}</dd>
<dt>Filed by</dt><dd>{{label .Rec.FiledBy}} ({{.Rec.FiledBy.ID}})</dd>
<dt>Filed</dt><dd>{{stamp .Rec.FiledAt $.TZ}}</dd>
<dt>Captured</dt><dd>{{stamp .Rec.CapturedAt $.TZ}}</dd>
<dt>Source</dt><dd>{{.Rec.Source.Platform}}, {{with .Rec.Source.Workspace.Name}}{{.}}{{else}}{{.Rec.Source.Workspace.ID}}{{end}}, {{where .Rec.Source}}</dd>
{{with .Rec.Source.Permalink}}<dt>Permalink</dt><dd><a href="{{.}}">{{.}}</a></dd>{{end}}
<dt>Thread</dt><dd>{{.Rec.Messages}} messages, {{stamp .Rec.ThreadStart $.TZ}} to {{stamp .Rec.ThreadEnd $.TZ}}</dd>
<dt>Participants</dt><dd>{{names .Rec.Participants}}</dd>
<dt>Retention</dt><dd>{{.Rec.Retention.Rule}}{{with .Rec.Retention.DisposalDate}}; disposal date {{.}}{{end}}</dd>
</dl>
<ol class="messages">
`)
	// transcriptMessage is a message of the HTML transcript, rendered from
	// a messageData.
	transcriptMessage = htmlTemplate("message", `{{with .M}}<li class="msg{{if eq .Position 0}} root{{end}}" id="m{{.Position}}">
<div class="head"><span class="author">{{.Author.Name}}</span>{{if .Author.Bot}} <span class="bot">bot</span>{{end}}{{if and .Author.RealName (ne .Author.RealName .Author.DisplayName)}} · {{.Author.RealName}}{{end}} · <time datetime="{{.Time.UTC.Format "2006-01-02T15:04:05Z07:00"}}">{{stamp .Time $.TZ}}</time>{{with .Edited}} <span class="edited">edited{{if not .At.IsZero}} {{stamp .At $.TZ}}{{end}}</span>{{end}}</div>
<div class="text">{{linkify .ReadableText}}</div>
{{if .Files}}<ul class="files">{{range .Files}}<li>{{if and .Path (inline .)}}<a href="{{rel .Path}}"><img src="{{rel .Path}}" alt="{{.Name}}"></a><br>{{end}}{{if .Path}}<a href="{{rel .Path}}">{{.Name}}</a> ({{size .Size}}{{with .MIMEType}}, {{.}}{{end}}){{else}}<span class="missing">{{.Name}}: not captured{{with .Error}} ({{.}}){{end}}</span>{{end}}</li>{{end}}</ul>{{end}}
{{if .Reactions}}<ul class="reactions">{{range .Reactions}}<li title="{{words .Emoji}}">{{emoji .Emoji}} <span class="rw">{{words .Emoji}}</span> × {{.Count}}{{with .Users}} ({{names .}}){{end}}</li>{{end}}</ul>{{end}}
</li>
{{end}}`)
	transcriptFoot = htmlTemplate("foot", `</ol>
<footer>Filed by recordbot as a BagIt package. Checksums of every file are in manifest-sha256.txt beside this folder; metadata in record.json.</footer>
</main>
<div class="marking">{{.Rec.Marking}}</div>
</body>
</html>
`)
)

func htmlTemplate(name, text string) *template.Template {
	return template.Must(template.New(name).Funcs(transcriptFuncs).Funcs(template.FuncMap{"stamp": stamp}).Parse(text))
}

// messageData is what transcriptMessage renders.
type messageData struct {
	M  *capture.Message
	TZ *time.Location
}

// renderHTML writes the HTML transcript; tz is the organisation's time
// zone, shown beside UTC (nil: UTC only). Printed, it is A4 with the
// marking, record id, class and "page N of M" in the margins of every page
// (CSS @page margin boxes). It is written to w a message at a time.
func renderHTML(w io.Writer, rec *Record, t *capture.Thread, tz *time.Location) error {
	return renderTranscripts(context.Background(), t, &htmlTranscript{w, rec, tz})
}

// renderText writes the plain-text transcript to w, a message at a time.
// Everything from the chat passes through Visible, so a control character
// or a bidi override shows as what it is rather than acting on the
// reader's screen.
func renderText(w io.Writer, rec *Record, t *capture.Thread, tz *time.Location) error {
	tt := newTextTranscript(w, rec, tz)
	return renderTranscripts(context.Background(), t, tt)
}

// transcript is a transcript rendered a message at a time: its head,
// each message in thread order, its foot.
type transcript interface {
	head() error
	message(m *capture.Message) error
	foot() error
}

// renderTranscripts renders the transcripts ts of thread t together, in
// one pass over its messages: a long chat is read once for all of them.
func renderTranscripts(ctx context.Context, t *capture.Thread, ts ...transcript) error {
	for _, tr := range ts {
		if err := tr.head(); err != nil {
			return err
		}
	}
	err := t.Each(ctx, func(m *capture.Message) error {
		for _, tr := range ts {
			if err := tr.message(m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, tr := range ts {
		if err := tr.foot(); err != nil {
			return err
		}
	}
	return nil
}

// htmlTranscript renders the HTML transcript (see renderHTML).
type htmlTranscript struct {
	w   io.Writer
	rec *Record
	tz  *time.Location
}

func (h *htmlTranscript) head() error {
	return renderErr(transcriptHTML.Execute(h.w, transcriptData{h.rec, h.tz}))
}

func (h *htmlTranscript) message(m *capture.Message) error {
	return renderErr(transcriptMessage.Execute(h.w, messageData{m, h.tz}))
}

func (h *htmlTranscript) foot() error {
	return renderErr(transcriptFoot.Execute(h.w, transcriptData{h.rec, h.tz}))
}

func renderErr(err error) error {
	if err != nil {
		return fmt.Errorf("render transcript: %w", err)
	}
	return nil
}

// Visible returns s with every character that would hide, disguise or
// reorder text when shown made visible: control characters other than tab
// and newline (NUL, escape, carriage return, C1 controls) and the
// bidirectional formatting characters (embeddings, overrides, isolates and
// marks, U+061C, U+200E-F, U+202A-E, U+2066-9) are written as \x00 or
// \u202E, line and paragraph separators as \u2028 and \u2029, and each
// byte of invalid UTF-8 as U+FFFD; a CR before LF is dropped. Letters of every script are untouched.
// The plain-text transcript and the records commands show text this way;
// the snapshot (data/thread.json) keeps the original.
func Visible(s string) string {
	if strings.IndexFunc(s, hidden) < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case strings.HasPrefix(s, "\r\n"):
			// A Windows line end is a line end, not a carriage return.
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case hidden(r) && r < 0x80:
			fmt.Fprintf(&b, "\\x%02x", r)
		case hidden(r):
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

// hidden reports whether r is one of the characters Visible escapes.
func hidden(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20 || r >= 0x7f && r < 0xa0:
		return true
	case r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028 || r == 0x2029:
		return true
	}
	return false
}

// textTranscript renders the plain-text transcript (see renderText).
type textTranscript struct {
	b   *bufio.Writer
	rec *Record
	tz  *time.Location
}

const textRule = "========================================================================" // 72

func newTextTranscript(w io.Writer, rec *Record, tz *time.Location) *textTranscript {
	return &textTranscript{bufio.NewWriter(w), rec, tz}
}

func (tt *textTranscript) head() error {
	b, rec, tz := tt.b, tt.rec, tt.tz
	fmt.Fprintf(b, "%s\n%s\n%s\n\n", rec.Marking, Visible(rec.Title), textRule)
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(b, "%-17s %s\n", k+":", Visible(v))
		}
	}
	field("Record id", rec.ID)
	field("Class", rec.Class.String())
	field("Security marking", rec.Marking)
	field("Filed by", Label(rec.FiledBy)+" ("+rec.FiledBy.ID+")")
	field("Filed", stamp(rec.FiledAt, tz))
	field("Captured", stamp(rec.CapturedAt, tz))
	var people []string
	for _, p := range rec.Participants {
		people = append(people, Label(p))
	}
	field("Participants", strings.Join(people, ", "))
	field("Source", fmt.Sprintf("%s, %s, %s", rec.Source.Platform, firstNonEmpty(rec.Source.Workspace.Name, rec.Source.Workspace.ID), sourceWhere(rec.Source)))
	field("Permalink", rec.Source.Permalink)
	field("Retention", rec.Retention.Rule)
	field("Disposal date", rec.Retention.DisposalDate)
	if rec.Description != "" {
		fmt.Fprintf(b, "\n%s\n", Visible(rec.Description))
	}
	_, err := fmt.Fprintf(b, "%s\n", textRule)
	return err
}

func (tt *textTranscript) message(m *capture.Message) error {
	b, tz := tt.b, tt.tz
	fmt.Fprintf(b, "\n[%d] %s", m.Position, Visible(Label(m.Author)))
	if m.Author.Bot {
		b.WriteString(" (bot)")
	}
	fmt.Fprintf(b, " — %s", stamp(m.Time, tz))
	if m.Edited != nil && m.Edited.At.IsZero() {
		fmt.Fprint(b, " (edited)")
	} else if m.Edited != nil {
		fmt.Fprintf(b, " (edited %s)", stamp(m.Edited.At, tz))
	}
	b.WriteString("\n")
	if m.ReadableText != "" { // a message of files alone has no text line
		for _, l := range strings.Split(Visible(m.ReadableText), "\n") {
			fmt.Fprintf(b, "    %s\n", l)
		}
	}
	for _, f := range m.Files {
		if f.Path != "" {
			fmt.Fprintf(b, "    [file] %s -> %s\n", Visible(f.Name), f.Path)
		} else {
			fmt.Fprintf(b, "    [file not captured] %s %s\n", Visible(f.Name), Visible(f.Error))
		}
	}
	for _, r := range m.Reactions {
		var names []string
		for _, u := range r.Users {
			names = append(names, Visible(Label(u)))
		}
		fmt.Fprintf(b, "    [reaction] %s × %d %s\n", reactionLabel(r.Emoji), r.Count, strings.Join(names, ", "))
	}
	return nil
}

func (tt *textTranscript) foot() error {
	fmt.Fprintf(tt.b, "\n%s\n%s\n", textRule, tt.rec.Marking)
	return tt.b.Flush()
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func humanSize(n int64) string {
	switch {
	case n < 0:
		return "size unknown"
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}
