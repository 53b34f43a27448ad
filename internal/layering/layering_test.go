// Package layering holds only a test: that internal/ holds test rigs only,
// so no arrow runs from production code up into internal/ (DESIGN.md: a
// rig such as internal/storetest imports filing; production code that
// imported a package beside it would run back up).
package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// pkg is what `go list -json` says of a package that matters here.
type pkg struct {
	ImportPath string
	Module     *struct{ Path string }
	// Imports are the package's own imports, its tests' left out.
	Imports []string
}

// violations lists "<package> imports <internal package>" for every
// package outside internal/ whose non-test code imports a package under
// the module's internal/. A package under internal/ may import another
// (a rig may use a rig): any chain from production code into internal/
// enters it through one of the imports reported here.
func violations(module string, pkgs []pkg) []string {
	in := module + "/internal/"
	var out []string
	for _, p := range pkgs {
		if strings.HasPrefix(p.ImportPath, in) {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, in) {
				out = append(out, p.ImportPath+" imports "+imp)
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestViolationsFindsAnArrowIntoInternal(t *testing.T) {
	t.Parallel()
	const m = "example.org/m"
	got := violations(m, []pkg{
		{ImportPath: m + "/filing", Imports: []string{"context", m + "/capture", m + "/internal/ctxio"}},
		{ImportPath: m + "/internal/storetest", Imports: []string{m + "/filing", m + "/internal/miniotest"}},
		{ImportPath: m + "/capture", Imports: []string{"net/http"}},
		{ImportPath: m + "/internalish", Imports: []string{m + "/internalish/x"}},
	})
	want := []string{m + "/filing imports " + m + "/internal/ctxio"}
	if !slices.Equal(got, want) {
		t.Errorf("violations = %q, want %q", got, want)
	}
}

// TestInternalHoldsTestRigsOnly lists every package of the module (build
// tags of the real-server tests included) and fails on any non-test code
// outside internal/ that imports a package under it.
func TestInternalHoldsTestRigsOnly(t *testing.T) {
	t.Parallel()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if p, err := exec.LookPath("go"); err == nil {
		goTool = p
	}
	cmd := exec.Command(goTool, "list", "-tags", "mmserver,pgserver", "-json=ImportPath,Module,Imports", "./...")
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	module := ""
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Module != nil {
			module = p.Module.Path
		}
		pkgs = append(pkgs, p)
	}
	if module == "" || len(pkgs) < 10 {
		t.Fatalf("go list gave %d packages of module %q: not the whole module", len(pkgs), module)
	}
	for _, v := range violations(module, pkgs) {
		t.Errorf("%s: production code may not import internal/, which holds test rigs only; move the helper to where its users are", v)
	}
}
