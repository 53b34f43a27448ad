package main

import (
	"fmt"
	"strings"
	"testing"
)

// fenceProblems returns what is wrong with the fenced code blocks of the
// Markdown text md, as CommonMark reads fences: a run of at least three
// backticks or tildes opens a block, and only a run of the same character,
// at least as long and with nothing after it, closes it. A block never
// closed is reported, and so is a block that holds an opening fence of
// its own kind (one with an info string, such as "```sh"): a block left
// open before it swallowed the text between, even if the fences happen to
// pair up later. (To show fences inside a block, open it with a longer
// run.)
func fenceProblems(md string) []string {
	var probs []string
	var fence string // the run that opened the block in progress
	opened := 0
	for i, line := range strings.Split(md, "\n") {
		l := strings.TrimSpace(line)
		run := fenceRun(l)
		rest := ""
		if run != "" {
			rest = strings.TrimSpace(l[len(run):])
		}
		switch {
		case run == "":
		case fence == "":
			fence, opened = run, i+1
		case run[0] != fence[0] || len(run) < len(fence):
		case rest == "":
			fence = ""
		case len(run) == len(fence):
			probs = append(probs, fmt.Sprintf("line %d: the code block opened on line %d is still open when %q opens another", i+1, opened, l))
		}
	}
	if fence != "" {
		probs = append(probs, fmt.Sprintf("line %d: the code block opened here is never closed", opened))
	}
	return probs
}

// fenceRun returns the run of backticks or tildes that line starts with,
// if it is three long or longer; "" otherwise.
func fenceRun(line string) string {
	if line == "" || (line[0] != '`' && line[0] != '~') {
		return ""
	}
	n := len(line) - len(strings.TrimLeft(line, line[:1]))
	if n < 3 {
		return ""
	}
	return line[:n]
}

func TestFenceProblems(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		md   string
		want int
	}{
		{"a\n```sh\nx\n```\nb\n", 0},
		{"```yaml\nx: 1\n\n## Heading\n\n```sh\ny\n```\n", 1},
		{"````md\n```sh\n```\n````\n", 0},
		{"~~~\n```\n", 1},
		{"   ```sh\n   x\n   ```\n", 0},
		{"```\nx\n", 1},
	} {
		if got := fenceProblems(c.md); len(got) != c.want {
			t.Errorf("fenceProblems(%q) = %q, want %d problems", c.md, got, c.want)
		}
	}
}
