package main

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// The documentation a newcomer reads: README.md and docs/*.md. These
// tests keep it true: every fenced block closed, every relative link and
// #anchor pointing somewhere, and every `bot` command a shell block shows
// run against the real command line.

// docRoot is the module root, seen from this package's directory.
const docRoot = "../.."

// docPage is one Markdown file of the documentation.
type docPage struct {
	path string // relative to the module root, slash-separated
	text string
}

// docPages reads README.md and every docs/*.md.
func docPages(t *testing.T) []docPage {
	t.Helper()
	paths := []string{"README.md"}
	more, err := filepath.Glob(filepath.Join(docRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range more {
		rel, _ := filepath.Rel(docRoot, p)
		paths = append(paths, filepath.ToSlash(rel))
	}
	var pages []docPage
	for _, p := range paths {
		b, err := os.ReadFile(filepath.Join(docRoot, p))
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, docPage{p, string(b)})
	}
	return pages
}

// mdLine is one line of a Markdown text outside fenced code blocks.
type mdLine struct {
	n    int // 1-based
	text string
}

// mdFence is one fenced code block.
type mdFence struct {
	line   int    // of the opening fence, 1-based
	info   string // the info string's first word: "sh", "json", ""
	body   string
	marker string // the HTML comment on the line just before it, if any
}

// splitMarkdown separates the lines outside fenced blocks from the
// blocks themselves, reading fences as fenceProblems does.
func splitMarkdown(md string) (prose []mdLine, fences []mdFence) {
	var open string
	var cur *mdFence
	var body []string
	prev := ""
	for i, line := range strings.Split(md, "\n") {
		l := strings.TrimSpace(line)
		run := fenceRun(l)
		switch {
		case open == "" && run != "":
			open = run
			f := mdFence{line: i + 1}
			if fields := strings.Fields(l[len(run):]); len(fields) > 0 {
				f.info = fields[0]
			}
			if strings.HasPrefix(prev, "<!--") {
				f.marker = prev
			}
			cur, body = &f, nil
		case open != "" && run != "" && run[0] == open[0] && len(run) >= len(open) && strings.TrimSpace(l[len(run):]) == "":
			cur.body = strings.Join(body, "\n")
			fences = append(fences, *cur)
			open, cur = "", nil
		case open != "":
			body = append(body, line)
		default:
			prose = append(prose, mdLine{i + 1, line})
		}
		prev = l
	}
	return prose, fences
}

// Every fenced block of every page is closed: one left open turns the
// sections after it into code in any CommonMark renderer.
func TestDocsFencesClosed(t *testing.T) {
	for _, p := range docPages(t) {
		for _, prob := range fenceProblems(p.text) {
			t.Errorf("%s %s", p.path, prob)
		}
	}
}

// --- links and anchors ---

var (
	codeSpan   = regexp.MustCompile("(`+)[^`].*?(`+)")
	mdLink     = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	htmlAnchor = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	headingRe  = regexp.MustCompile(`^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)
)

// anchors returns the #anchors a Markdown text defines, as GitHub makes
// them from its headings (lower case; letters, digits, '-' and '_' kept,
// spaces made '-', everything else dropped; a repeated one gets "-1",
// "-2"…), and from <a id="…"> tags.
func anchors(md string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	prose, _ := splitMarkdown(md)
	for _, l := range prose {
		for _, m := range htmlAnchor.FindAllStringSubmatch(l.text, -1) {
			out[m[1]] = true
		}
		m := headingRe.FindStringSubmatch(l.text)
		if m == nil {
			continue
		}
		s := headingSlug(m[2])
		if n := seen[s]; n > 0 {
			out[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

// headingSlug is GitHub's anchor for a heading's text.
func headingSlug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// linkProblems returns what is wrong with the relative links of the pages
// (paths relative to root): a file or folder that is not there, or an
// #anchor that no heading of the target page makes.
func linkProblems(root string, pages []docPage) []string {
	defs := map[string]map[string]bool{}
	for _, p := range pages {
		defs[p.path] = anchors(p.text)
	}
	var probs []string
	for _, p := range pages {
		prose, _ := splitMarkdown(p.text)
		for _, l := range prose {
			text := codeSpan.ReplaceAllString(l.text, "")
			for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				file, anchor, _ := strings.Cut(target, "#")
				dest := p.path
				if file != "" {
					dest = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(p.path), file)))
					if strings.HasPrefix(dest, "../") || filepath.IsAbs(file) {
						probs = append(probs, fmt.Sprintf("%s:%d: link %q leaves the repository", p.path, l.n, target))
						continue
					}
					if _, err := os.Stat(filepath.Join(root, dest)); err != nil {
						probs = append(probs, fmt.Sprintf("%s:%d: link %q: no file %s", p.path, l.n, target, dest))
						continue
					}
				}
				if anchor == "" {
					continue
				}
				as, ok := defs[dest]
				if !ok {
					b, err := os.ReadFile(filepath.Join(root, dest))
					if err != nil || !strings.HasSuffix(dest, ".md") {
						probs = append(probs, fmt.Sprintf("%s:%d: link %q: #%s in a file that is not Markdown", p.path, l.n, target, anchor))
						continue
					}
					as = anchors(string(b))
					defs[dest] = as
				}
				if !as[anchor] {
					probs = append(probs, fmt.Sprintf("%s:%d: link %q: %s has no heading with anchor #%s", p.path, l.n, target, dest, anchor))
				}
			}
		}
	}
	return probs
}

// Every relative link of README.md and docs/*.md names a file or folder
// of the repository, and every #anchor a heading of the page it names.
func TestDocsLinks(t *testing.T) {
	for _, p := range linkProblems(docRoot, docPages(t)) {
		t.Error(p)
	}
}

// The link check finds what it is for.
func TestLinkProblems(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	pages := []docPage{
		{"README.md", "# Top\n\nSee [ops](docs/ops.md#the-s3-policy), [go.mod](go.mod), [x](https://example.org/#nowhere),\n" +
			"[here](#top), `[not a link](nowhere.md)`, [gone](docs/gone.md), [bad](docs/ops.md#nope),\n" +
			"[up](../outside.md), [self](#missing).\n\n```sh\n# Not a heading\n```\n"},
		{"docs/ops.md", "# Operating\n\n## The S3 policy\n\n## Logs\n\n## Logs\n\nBack to [the README](../README.md#top), [twice](#logs-1), [code](#not-a-heading).\n"},
	}
	for _, p := range pages {
		if err := os.WriteFile(filepath.Join(root, p.path), []byte(p.text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := linkProblems(root, pages)
	want := []string{
		`README.md:4: link "docs/gone.md": no file docs/gone.md`,
		`README.md:4: link "docs/ops.md#nope": docs/ops.md has no heading with anchor #nope`,
		`README.md:5: link "../outside.md" leaves the repository`,
		`README.md:5: link "#missing": README.md has no heading with anchor #missing`,
		`docs/ops.md:9: link "#not-a-heading": docs/ops.md has no heading with anchor #not-a-heading`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("linkProblems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for h, want := range map[string]string{
		"Threat model: who holds what":                 "threat-model-who-holds-what",
		"The records team's S3 policy":                 "the-records-teams-s3-policy",
		"For records officers: `bot records`":          "for-records-officers-bot-records",
		"Several workspaces (Enterprise Grid or more)": "several-workspaces-enterprise-grid-or-more",
	} {
		if got := headingSlug(h); got != want {
			t.Errorf("headingSlug(%q) = %q, want %q", h, got, want)
		}
	}
}

// --- the commands the documentation shows ---

// notRun is the marker, on the line just before a shell block, of a block
// that is not meant to run as shown (it needs a chat platform, S3 Object
// Lock, docker…): `<!-- doc-test: not run: why -->`. Its `bot` commands
// are still parsed by the real command line, with a context already
// cancelled, so a renamed command or flag fails the test all the same.
const notRun = "<!-- doc-test: not run:"

// docCommandTime is how long one command of a block meant to run may
// take: the sample store is small, so only a command that does not end
// by itself (a server) takes longer.
const docCommandTime = 20 * time.Second

// plumbing are the commands a shell block may use around `bot` without
// being marked: the test runs the `bot` commands in them, not these.
var plumbing = map[string]bool{"set": true, "echo": true, "export": true, "jq": true, "xargs": true, "cd": true, "mkdir": true, "chown": true, "openssl": true}

// commandLine matches a line that runs recordbot, after any VAR=value
// settings: what a block without an info string shows when it shows a
// command rather than output.
var commandLine = regexp.MustCompile(`^\s*(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:bot|recordbot|go run \./cmd/bot)(?:\s|$)`)

// shellBlock reports whether a fence holds shell: its info string says
// so, or it has none and its first line runs recordbot.
func shellBlock(f mdFence) bool {
	switch f.info {
	case "sh", "bash", "shell", "console":
		return true
	case "":
		first, _, _ := strings.Cut(strings.TrimLeft(f.body, "\n"), "\n")
		return commandLine.MatchString(first)
	}
	return false
}

// botCall is one `bot` command a shell block shows.
type botCall struct {
	line int // in the page
	args []string
}

// botCalls returns the `bot` commands of a shell block's body (which
// starts on line first of its page), with its words expanded as bash
// would (quotes, arrays such as "${A[@]}"), and the other commands it
// runs. A `bot` is `bot`, `recordbot` or `go run ./cmd/bot`; one run by
// xargs gets the ids it would read appended as the single word "ID".
func botCalls(body string, first int) (calls []botCall, others []string, err error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(body), "")
	if err != nil {
		return nil, nil, err
	}
	arrays := map[string]expand.Variable{}
	cfg := &expand.Config{Env: expand.FuncEnviron(func(string) string { return "" })}
	cfg.Env = arrayEnviron(arrays)
	syntax.Walk(f, func(n syntax.Node) bool {
		if err != nil {
			return false
		}
		call, ok := n.(*syntax.CallExpr)
		if !ok {
			return true
		}
		if len(call.Args) == 0 {
			for _, a := range call.Assigns {
				if a.Array == nil {
					continue
				}
				var list []string
				for _, e := range a.Array.Elems {
					fs, ferr := expand.Fields(cfg, e.Value)
					if ferr != nil {
						err = ferr
						return false
					}
					list = append(list, fs...)
				}
				arrays[a.Name.Value] = expand.Variable{Set: true, Kind: expand.Indexed, List: list}
			}
			return true
		}
		words, ferr := expand.Fields(cfg, call.Args...)
		if ferr != nil {
			err = fmt.Errorf("line %d: %w", first+int(call.Pos().Line()), ferr)
			return false
		}
		line := first + int(call.Pos().Line())
		if w := words; w[0] == "xargs" {
			for len(w) > 1 && strings.HasPrefix(w[1], "-") {
				w = w[1:]
			}
			if args, ok := botArgs(w[1:]); ok {
				calls = append(calls, botCall{line, append(args, "ID")})
				return true
			}
		}
		if args, ok := botArgs(words); ok {
			calls = append(calls, botCall{line, args})
		} else if !plumbing[words[0]] {
			others = append(others, words[0])
		}
		return true
	})
	return calls, others, err
}

// botArgs returns the arguments of words if they run recordbot.
func botArgs(words []string) ([]string, bool) {
	switch {
	case len(words) > 0 && (words[0] == "bot" || words[0] == "recordbot"):
		return words[1:], true
	case len(words) > 2 && words[0] == "go" && words[1] == "run" && words[2] == "./cmd/bot":
		return words[3:], true
	}
	return nil, false
}

// arrayEnviron is an environment of the arrays a block assigns; every
// other variable is unset.
type arrayEnviron map[string]expand.Variable

func (e arrayEnviron) Get(name string) expand.Variable { return e[name] }
func (e arrayEnviron) Each(fn func(string, expand.Variable) bool) {
	for k, v := range e {
		if !fn(k, v) {
			return
		}
	}
}

// docStore is a local record store holding two records filed from the
// sample snapshot, with the working directory the documentation's
// commands run in: it holds cmd/ (a link to this repository's), so paths
// such as cmd/bot/testdata/thread.json read as they do in a checkout, and
// the WhatsApp export the docs import.
type docStore struct {
	dir string
	env map[string]string
	ids [2]string // the records; the docs' example ids are read as these
}

// docKey is the RECORDBOT_SECRET_KEY of the documentation's store.
const docKey = "ZG9jcy10ZXN0LXNlY3JldC1rZXktMzItYnl0ZXMhISE="

func newDocStore(t *testing.T) *docStore {
	t.Helper()
	dir := t.TempDir()
	abs, err := filepath.Abs(filepath.Join(docRoot, "cmd"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(abs, filepath.Join(dir, "cmd")); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "store")
	if err := os.Mkdir(store, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "WhatsApp Chat - Roads Board.zip"), roadsBoardExport(t), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &docStore{dir: dir, env: map[string]string{
		"RECORDS_DIR":          store,
		"RECORDBOT_SECRET_KEY": docKey,
		"LISTEN_ADDR":          "127.0.0.1:0",
		// Nothing a command runs may leave this machine: no chat
		// platform is configured (the blocks' own settings are not
		// passed on), and Slack's API would be a closed port.
		"SLACK_API_URL": "http://127.0.0.1:1/api/",
		"USER":          "docs",
		"LOGNAME":       "docs",
		"HOME":          dir, // the search index's default home: dir/.cache
	}}
	t.Chdir(dir)
	for i, title := range []string{"Roads budget: option B agreed", "Roads budget: option C dropped"} {
		out, err := s.run(context.Background(), "file", "--snapshot", "cmd/bot/testdata/thread.json", "--class", "100-20", "--title", title, "--json")
		if err != nil {
			t.Fatalf("filing the sample snapshot: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`"id":\s*"([0-9a-f-]{36})"`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("bot file --json printed no id:\n%s", out)
		}
		s.ids[i] = m[1]
	}
	return s
}

// run runs bot with args in this process, against the store.
func (s *docStore) run(ctx context.Context, args ...string) (string, error) {
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return s.env[k] }}
	err := m.Run(ctx, args)
	return out.String(), err
}

// exampleID matches the record ids the docs make up (019a2c1e-8f3b-…,
// 019a2c1f-…) and the "ID" xargs would supply.
var exampleID = regexp.MustCompile(`^(019a2c1[ef]-\S*|ID)$`)

// withIDs returns args with the docs' example ids replaced by the
// store's records: 019a2c1e… and ID are the first, 019a2c1f… the second.
func (s *docStore) withIDs(args []string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		if exampleID.MatchString(a) {
			out[i] = s.ids[0]
			if strings.HasPrefix(a, "019a2c1f") {
				out[i] = s.ids[1]
			}
		}
	}
	return out
}

// usageProblem says whether err is the command line's fault: an unknown
// command or flag, a bad flag value, a missing argument (exit status 2,
// or the flag package's error, which names the command's --help).
func usageProblem(err error) bool {
	if err == nil || errors.Is(err, flag.ErrHelp) || errors.Is(err, context.Canceled) || strings.Contains(err.Error(), context.Canceled.Error()) {
		return false // not run: stopped after parsing
	}
	return exitCode(err) == 2 || strings.Contains(err.Error(), "--help)") || strings.Contains(err.Error(), "unknown command")
}

// checkBlock runs the `bot` commands of one shell block of page against
// a fresh store and returns what is wrong: a block that does not parse
// as shell; one that runs something else without being marked not run;
// a command the command line refuses; in a block meant to run, a command
// that does not exit 0.
func checkBlock(t *testing.T, page string, f mdFence) []string {
	where := fmt.Sprintf("%s:%d", page, f.line)
	run := !strings.HasPrefix(f.marker, notRun)
	if !run {
		why := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(f.marker, notRun), "-->"))
		if why == "" {
			return []string{where + ": " + notRun + " says no why"}
		}
	}
	calls, others, err := botCalls(f.body, f.line)
	if err != nil {
		return []string{fmt.Sprintf("%s: the %q block does not read as shell: %v", where, f.info, err)}
	}
	var probs []string
	if run && len(others) > 0 {
		probs = append(probs, fmt.Sprintf("%s: the block runs %q, which this test cannot run: mark it %s why -->", where, others, notRun))
	}
	if len(calls) == 0 && run {
		probs = append(probs, fmt.Sprintf("%s: the %q block runs no `bot` command: mark it %s why -->", where, f.info, notRun))
	}
	if len(calls) == 0 {
		return probs
	}
	s := newDocStore(t)
	for _, c := range calls {
		args := s.withIDs(c.args)
		if _, ok := comingCommands[firstWord(args)]; ok {
			continue // TestDocsInlineCommands keeps the list current
		}
		ctx, cancel := context.WithTimeout(context.Background(), docCommandTime)
		if !run {
			cancel() // parse, then stop at the first thing that waits
		}
		out, err := s.run(ctx, args...)
		late := errors.Is(ctx.Err(), context.DeadlineExceeded)
		cancel()
		switch {
		case late:
			probs = append(probs, fmt.Sprintf("%s:%d: bot %s: still running after %s (a server?): mark the block %s why -->", page, c.line, strings.Join(args, " "), docCommandTime, notRun))
		case usageProblem(err):
			probs = append(probs, fmt.Sprintf("%s:%d: bot %s: the command line refuses it: %v\n%s", page, c.line, strings.Join(args, " "), err, out))
		case run && err != nil:
			probs = append(probs, fmt.Sprintf("%s:%d: bot %s: exit %d: %v\n%s", page, c.line, strings.Join(args, " "), exitCode(err), err, out))
		default:
			t.Logf("%s:%d: bot %s: ok (run: %v, err: %v)", page, c.line, strings.Join(args, " "), run, err)
		}
	}
	return probs
}

// Every `bot` command of every shell block of README.md and docs/*.md is
// run by the real command line against a local store holding the sample
// records: blocks meant to run must exit 0, and blocks marked not run
// must still be accepted by the command line (every command and flag
// exists and every value parses).
func TestDocsCommands(t *testing.T) {
	n := 0
	for _, p := range docPages(t) {
		_, fences := splitMarkdown(p.text)
		for _, f := range fences {
			if !shellBlock(f) {
				continue
			}
			n++
			t.Run(fmt.Sprintf("%s:%d", p.path, f.line), func(t *testing.T) {
				for _, prob := range checkBlock(t, p.path, f) {
					t.Error(prob)
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no shell blocks found in the documentation")
	}
}

// The command check finds what it is for: a flag that does not exist, a
// command that does not, one that fails where it must run, a block that
// runs something else unmarked, and a bad flag in a block not run.
func TestCheckBlockFindsMistakes(t *testing.T) {
	for _, c := range []struct {
		name   string
		fence  mdFence
		wantOK bool
		want   string
	}{
		{"runs", mdFence{info: "sh", body: "A=(--since \"2025\")\nbot records ls 100-20 \"${A[@]}\"\nbot records ls --json | jq -r '.[].id' | xargs -r bot records verify\nbot records show 019a2c1f-…"}, true, ""},
		{"unknown flag", mdFence{info: "sh", body: "bot records ls --sinse 2025"}, false, "flag provided but not defined: -sinse"},
		{"unknown command", mdFence{info: "sh", body: "bot records lst"}, false, `unknown command "lst"`},
		{"bad value", mdFence{info: "sh", body: "go run ./cmd/bot records due --before tomorrow"}, false, "want YYYY-MM-DD"},
		{"fails", mdFence{info: "sh", body: "bot records show 0000000000"}, false, "exit 1"},
		{"unmarked", mdFence{info: "sh", body: "docker run --rm recordbot:latest version"}, false, `runs ["docker"]`},
		{"not run, fine", mdFence{info: "sh", marker: notRun + " needs S3 Object Lock -->", body: "bot records hold ID --on --reason x\nbot serve"}, true, ""},
		{"not run, bad flag", mdFence{info: "sh", marker: notRun + " needs Mattermost -->", body: "MATTERMOST_ADMIN_TOKEN=x bot mattermost install --teams ops"}, false, "-teams"},
		{"not run, no why", mdFence{info: "sh", marker: notRun + " -->", body: "bot serve"}, false, "says no why"},
	} {
		t.Run(c.name, func(t *testing.T) {
			probs := checkBlock(t, "x.md", c.fence)
			if c.wantOK != (len(probs) == 0) || (c.want != "" && !strings.Contains(strings.Join(probs, "\n"), c.want)) {
				t.Errorf("checkBlock(%q) = %q, want ok %v, naming %q", c.fence.body, probs, c.wantOK, c.want)
			}
		})
	}
}

// roadsBoardExport is a small iPhone chat export, the file the docs'
// `bot import whatsapp` command names.
func roadsBoardExport(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("_chat.txt")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, "[21/11/2026, 09:14:02] Rita Records: Junction design: option 2 is agreed\n"+
		"[21/11/2026, 09:15:40] Sam Surveyor: Agreed, I will tell the contractor\n")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// comingCommands are commands that other branches are adding while their
// documentation is already here: the docs may name them before the binary
// has them. TestDocsInlineCommands fails once one exists, so the entry is
// taken out and its commands are checked like every other.
var comingCommands = map[string]string{}

// firstWord is words[0], or "" when there is none.
func firstWord(words []string) string {
	if len(words) == 0 {
		return ""
	}
	return words[0]
}

// inlineBot matches a `bot …` command written inline in prose or a table
// (after any VAR=value settings), such as `bot records ls --disposed` or
// the synopsis `bot records due [--before DATE]`.
var inlineBot = regexp.MustCompile("`(?:[A-Z_]+=\\S*\\s+)*(?:bot|recordbot)((?:\\s[^`]*)?)`")

// inlineProblems checks the `bot …` commands written inline in md: the
// command their leading words name exists (its --help answers), and every
// --flag they show is one of its flags.
func inlineProblems(t *testing.T, s *docStore, page, md string) []string {
	var probs []string
	prose, _ := splitMarkdown(md)
	for _, l := range prose {
		for _, m := range inlineBot.FindAllStringSubmatch(l.text, -1) {
			fields := strings.Fields(strings.ReplaceAll(m[1], `\|`, "|"))
			var words []string
			for _, f := range fields {
				if !regexp.MustCompile(`^[a-z][a-z-]*$`).MatchString(f) {
					break
				}
				words = append(words, f)
			}
			if len(fields) > 0 && len(words) == 0 && !strings.HasPrefix(fields[0], "-") {
				continue // `bot …`: not a command
			}
			out, err := s.run(context.Background(), append(slices.Clone(words), "--help")...)
			if why, ok := comingCommands[firstWord(words)]; ok {
				if err == nil || !strings.Contains(err.Error(), "unknown command") {
					probs = append(probs, fmt.Sprintf("%s:%d: %s: bot %s is in comingCommands (%s) but exists now: take it out of the list", page, l.n, m[0], words[0], why))
				}
				continue
			}
			if err != nil && !errors.Is(err, flag.ErrHelp) {
				probs = append(probs, fmt.Sprintf("%s:%d: %s: `bot %s --help` fails: %v", page, l.n, m[0], strings.Join(words, " "), err))
				continue
			}
			for _, f := range fields[len(words):] {
				name := regexp.MustCompile(`^\[?--?([a-z][a-z-]*)`).FindStringSubmatch(f)
				if name == nil || name[1] == "help" {
					continue
				}
				if !regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(name[1]) + `\b`).MatchString(out) {
					probs = append(probs, fmt.Sprintf("%s:%d: %s: bot %s has no flag --%s", page, l.n, m[0], strings.Join(words, " "), name[1]))
				}
			}
			t.Logf("%s:%d: %s: bot %s --help knows it", page, l.n, m[0], strings.Join(words, " "))
		}
	}
	return probs
}

// Every `bot …` command written inline in README.md and docs/*.md names a
// command that exists, with flags it has.
func TestDocsInlineCommands(t *testing.T) {
	pages := docPages(t) // before newDocStore changes the working directory
	s := newDocStore(t)
	for _, p := range pages {
		for _, prob := range inlineProblems(t, s, p.path, p.text) {
			t.Error(prob)
		}
	}
}

// The inline check finds a command or a flag that is not there.
func TestInlineProblems(t *testing.T) {
	s := newDocStore(t)
	md := "Run `bot records ls --disposed`, `bot records due [--before DATE]`, `X=1 bot mattermost doctor`,\n" +
		"`bot records lost`, `bot records ls --dispozed`, `bot import whatsapp [--date-orders dmy\\|mdy]`, `bot …`.\n"
	got := strings.Join(inlineProblems(t, s, "x.md", md), "\n")
	for _, want := range []string{"`bot records lost`: `bot records lost --help` fails", "bot records ls has no flag --dispozed", "bot import whatsapp has no flag --date-orders"} {
		if !strings.Contains(got, want) {
			t.Errorf("inlineProblems = %s\nwant it to say %q", got, want)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != 3 {
		t.Errorf("inlineProblems found %d problems, want 3:\n%s", n, got)
	}
}

// A command on the coming list is let through while it does not exist,
// and reported once it does.
func TestInlineComingCommands(t *testing.T) {
	s := newDocStore(t)
	saved := maps.Clone(comingCommands)
	t.Cleanup(func() { comingCommands = saved })
	comingCommands = map[string]string{"frobnicate": "a test", "records": "a test"}
	got := inlineProblems(t, s, "x.md", "Soon: `bot frobnicate --now`. Already here: `bot records ls`.\n")
	if len(got) != 1 || !strings.Contains(got[0], "bot records is in comingCommands (a test) but exists now") {
		t.Errorf("inlineProblems = %q, want one problem: records exists now", got)
	}
}

// A block without an info string is shell when its first line runs
// recordbot, and output otherwise.
func TestShellBlock(t *testing.T) {
	for _, c := range []struct {
		f    mdFence
		want bool
	}{
		{mdFence{info: "sh", body: "anything"}, true},
		{mdFence{info: "json", body: "bot records ls"}, false},
		{mdFence{body: "TEAMS_APP_ID=… PUBLIC_URL=https://x bot teams manifest --out a.zip"}, true},
		{mdFence{body: "\ngo run ./cmd/bot records ls"}, true},
		{mdFence{body: "recordbot version"}, true},
		{mdFence{body: "ok    configuration          read from the environment and flags"}, false},
		{mdFence{body: "store: s3://records-bucket/council\nbot records ls"}, false},
		{mdFence{body: "bottom line"}, false},
	} {
		if got := shellBlock(c.f); got != c.want {
			t.Errorf("shellBlock(%q, %q) = %v, want %v", c.f.info, c.f.body, got, c.want)
		}
	}
}
