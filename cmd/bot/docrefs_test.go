package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docRef is a pointer into the documentation from code or a deployment
// file: docs/PAGE.md, with an optional #anchor.
var docRef = regexp.MustCompile(`docs/[A-Za-z0-9_.-]+\.md(#[A-Za-z0-9_-]+)?`)

// staleReadme is a pointer to the README as the place a section is in:
// the README is short now, and its sections moved to docs/ (its table of
// moved sections). A path to another README (testdata/README.md) is fine.
var staleReadme = regexp.MustCompile(`(^|[^/A-Za-z])README`)

// Messages, comments and deployment files name the docs/ pages that exist,
// with anchors their headings make, and no longer send people to README
// sections that moved.
func TestSourceDocLinks(t *testing.T) {
	var files []string
	for _, dir := range []string{"bot", "capture", "cmd", "filing"} {
		err := filepath.WalkDir(filepath.Join(docRoot, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			n := d.Name()
			if !d.IsDir() && (strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") ||
				strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") || strings.HasSuffix(n, ".service")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	files = append(files, filepath.Join(docRoot, "manifest.yml"))
	anchorsOf := map[string]map[string]bool{}
	refs := 0
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(docRoot, p)
		for i, line := range strings.Split(string(b), "\n") {
			if staleReadme.MatchString(line) {
				t.Errorf("%s:%d: points to the README, whose sections moved to docs/: %s", rel, i+1, strings.TrimSpace(line))
			}
			for _, m := range docRef.FindAllStringSubmatch(line, -1) {
				refs++
				page, anchor, _ := strings.Cut(m[0], "#")
				as, ok := anchorsOf[page]
				if !ok {
					text, err := os.ReadFile(filepath.Join(docRoot, page))
					if err != nil {
						t.Errorf("%s:%d: %s: no such page", rel, i+1, m[0])
						continue
					}
					as = anchors(string(text))
					anchorsOf[page] = as
				}
				if anchor != "" && !as[anchor] {
					t.Errorf("%s:%d: %s: %s has no heading with anchor #%s", rel, i+1, m[0], page, anchor)
				}
			}
		}
	}
	if refs < 10 {
		t.Errorf("found %d references to docs/ pages in %d files, want the messages' many: is the walk broken?", refs, len(files))
	}
}
