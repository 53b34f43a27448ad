package filing

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/recordbot/recordbot/capture"
)

// transcriptData is what the transcript templates render.
type transcriptData struct {
	Rec    *Record
	Thread *capture.Thread
}

var transcriptFuncs = template.FuncMap{
	"utc": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"rel": func(p string) string { return strings.TrimPrefix(p, "data/") },
	"names": func(ps []capture.Person) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.Name())
		}
		return strings.Join(s, ", ")
	},
	"size": humanSize,
}

// The HTML transcript is self-contained: inline style, no scripts, no
// fetches, so it reads the same opened straight from a bucket or a disk.
var transcriptHTML = template.Must(template.New("transcript").Funcs(transcriptFuncs).Parse(`<!DOCTYPE html>
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
.missing{color:#a4000f}
footer{font-size:.8em;color:#555;border-top:1px solid #ccc;margin-top:1em;padding-top:.5em}
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
<dt>Filed by</dt><dd>{{.Rec.FiledBy.Name}} ({{.Rec.FiledBy.ID}})</dd>
<dt>Filed</dt><dd>{{utc .Rec.FiledAt}}</dd>
<dt>Captured</dt><dd>{{utc .Rec.CapturedAt}}</dd>
<dt>Source</dt><dd>{{.Rec.Source.Platform}}, {{with .Rec.Source.Workspace.Name}}{{.}}{{else}}{{.Rec.Source.Workspace.ID}}{{end}}, #{{with .Rec.Source.Channel.Name}}{{.}}{{else}}{{.Rec.Source.Channel.ID}}{{end}}{{if .Rec.Source.Channel.Private}} (private){{end}}</dd>
{{with .Rec.Source.Permalink}}<dt>Permalink</dt><dd>{{.}}</dd>{{end}}
<dt>Thread</dt><dd>{{.Rec.Messages}} messages, {{utc .Rec.ThreadStart}} to {{utc .Rec.ThreadEnd}}</dd>
<dt>Participants</dt><dd>{{names .Rec.Participants}}</dd>
<dt>Retention</dt><dd>{{.Rec.Retention.Rule}}{{with .Rec.Retention.DisposalDate}}; disposal date {{.}}{{end}}</dd>
</dl>
<ol class="messages">
{{range .Thread.Messages}}<li class="msg{{if eq .Position 0}} root{{end}}" id="m{{.Position}}">
<div class="head"><span class="author">{{.Author.Name}}</span>{{if .Author.Bot}} <span class="bot">bot</span>{{end}}{{if and .Author.RealName (ne .Author.RealName .Author.DisplayName)}} · {{.Author.RealName}}{{end}} · <time datetime="{{.Time.UTC.Format "2006-01-02T15:04:05Z07:00"}}">{{utc .Time}}</time>{{with .Edited}} <span class="edited">edited {{utc .At}}</span>{{end}}</div>
<div class="text">{{.ReadableText}}</div>
{{if .Files}}<ul class="files">{{range .Files}}<li>{{if .Path}}<a href="{{rel .Path}}">{{.Name}}</a> ({{size .Size}}{{with .MIMEType}}, {{.}}{{end}}){{else}}<span class="missing">{{.Name}}: not captured{{with .Error}} ({{.}}){{end}}</span>{{end}}</li>{{end}}</ul>{{end}}
{{if .Reactions}}<ul class="reactions">{{range .Reactions}}<li>:{{.Emoji}}: {{.Count}}{{with .Users}} ({{names .}}){{end}}</li>{{end}}</ul>{{end}}
</li>
{{end}}</ol>
<footer>Filed by recordbot as a BagIt package. Checksums of every file are in manifest-sha256.txt beside this folder; metadata in record.json.</footer>
</main>
<div class="marking">{{.Rec.Marking}}</div>
</body>
</html>
`))

func renderHTML(rec *Record, t *capture.Thread) ([]byte, error) {
	var b bytes.Buffer
	if err := transcriptHTML.Execute(&b, transcriptData{rec, t}); err != nil {
		return nil, fmt.Errorf("render transcript: %w", err)
	}
	return b.Bytes(), nil
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

// renderText writes the plain-text transcript. Everything from the chat
// passes through Visible, so a control character or a bidi override
// shows as what it is rather than acting on the reader's screen.
func renderText(rec *Record, t *capture.Thread) []byte {
	var b bytes.Buffer
	line := strings.Repeat("=", 72)
	fmt.Fprintf(&b, "%s\n%s\n%s\n\n", rec.Marking, Visible(rec.Title), line)
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-17s %s\n", k+":", Visible(v))
		}
	}
	field("Record id", rec.ID)
	field("Class", rec.Class.String())
	field("Security marking", rec.Marking)
	field("Filed by", rec.FiledBy.Name()+" ("+rec.FiledBy.ID+")")
	field("Filed", rec.FiledAt.UTC().Format(time.RFC3339))
	field("Captured", rec.CapturedAt.UTC().Format(time.RFC3339))
	ch := rec.Source.Channel.Name
	if ch == "" {
		ch = rec.Source.Channel.ID
	}
	field("Source", fmt.Sprintf("%s, %s, #%s", rec.Source.Platform, firstNonEmpty(rec.Source.Workspace.Name, rec.Source.Workspace.ID), ch))
	field("Permalink", rec.Source.Permalink)
	field("Retention", rec.Retention.Rule)
	field("Disposal date", rec.Retention.DisposalDate)
	if rec.Description != "" {
		fmt.Fprintf(&b, "\n%s\n", Visible(rec.Description))
	}
	fmt.Fprintf(&b, "%s\n", line)
	for _, m := range t.Messages {
		fmt.Fprintf(&b, "\n[%d] %s", m.Position, Visible(m.Author.Name()))
		if m.Author.Bot {
			b.WriteString(" (bot)")
		}
		fmt.Fprintf(&b, " — %s", m.Time.UTC().Format("2006-01-02 15:04:05 UTC"))
		if m.Edited != nil {
			fmt.Fprintf(&b, " (edited %s)", m.Edited.At.UTC().Format("2006-01-02 15:04:05 UTC"))
		}
		b.WriteString("\n")
		for _, l := range strings.Split(Visible(m.ReadableText), "\n") {
			fmt.Fprintf(&b, "    %s\n", l)
		}
		for _, f := range m.Files {
			if f.Path != "" {
				fmt.Fprintf(&b, "    [file] %s -> %s\n", Visible(f.Name), f.Path)
			} else {
				fmt.Fprintf(&b, "    [file not captured] %s %s\n", Visible(f.Name), Visible(f.Error))
			}
		}
		for _, r := range m.Reactions {
			var names []string
			for _, u := range r.Users {
				names = append(names, Visible(u.Name()))
			}
			fmt.Fprintf(&b, "    :%s: %d %s\n", Visible(r.Emoji), r.Count, strings.Join(names, ", "))
		}
	}
	fmt.Fprintf(&b, "\n%s\n%s\n", line, rec.Marking)
	return b.Bytes()
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
