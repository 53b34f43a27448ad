package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// envNameRE is an environment variable's name as this program spells
// them: upper case with at least one underscore (TZ, a system variable
// that is also a common field name, is left out).
var envNameRE = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$`)

// envNames are the environment variables cmd/bot reads: the string
// literals passed to its getenv-like calls (getenv, m.Getenv, envOr,
// boolEnv...).
func envNames(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			var fn string
			switch x := call.Fun.(type) {
			case *ast.Ident:
				fn = x.Name
			case *ast.SelectorExpr:
				fn = x.Sel.Name
			}
			if !strings.Contains(strings.ToLower(fn), "env") {
				return true
			}
			for _, a := range call.Args {
				if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && envNameRE.MatchString(s) {
						seen[s] = true
					}
				}
			}
			return true
		})
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// envExceptions are files other work is rewriting at the time of writing,
// which still name environment variables. Each must still need its
// exception: once its file names none, the test says to remove it.
var envExceptions = map[string]string{}

// Environment variables are cmd/bot's business: the libraries under
// bot/, capture/ and filing/ name none, in code or comments (their errors
// name the setting, and cmd/bot adds the variable: settings.go).
func TestEnvNamesOnlyInCmd(t *testing.T) {
	names := envNames(t)
	if len(names) < 20 {
		t.Fatalf("found %d environment variables in cmd/bot (%v); the collector is broken", len(names), names)
	}
	nameRE := regexp.MustCompile(`\b(` + strings.Join(names, "|") + `)\b`)
	root := filepath.Join("..", "..")
	excepted := map[string]bool{}
	for _, dir := range []string{"bot", "capture", "filing"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel := filepath.ToSlash(strings.TrimPrefix(path, root+string(filepath.Separator)))
			for i, line := range strings.Split(string(b), "\n") {
				m := nameRE.FindString(line)
				if m == "" {
					continue
				}
				if _, ok := envExceptions[rel]; ok {
					excepted[rel] = true
					continue
				}
				t.Errorf("%s:%d names the environment variable %s; say what is configured and let cmd/bot name the variable", rel, i+1, m)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for f, why := range envExceptions {
		if !excepted[f] {
			t.Errorf("%s (excepted: %s) names no environment variable now: remove its exception", f, why)
		}
	}
}
