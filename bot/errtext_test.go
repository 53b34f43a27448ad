package bot_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

// marker stands for what an error's text may carry that a person must
// never see: a token, a server's address, a private channel's name.
const marker = "SECRET-c0ffee-4f1a"

// markedErrors are errors carrying the marker in every way an error
// reaches a front end: plain, wrapped, as a Problem's cause, behind a
// rate limit, a context deadline.
func markedErrors() map[string]error {
	cause := errors.New("GET https://chat.internal/api?token=" + marker + ": 401")
	return map[string]error{
		"plain":           cause,
		"wrapped":         fmt.Errorf("capture: %w", cause),
		"problem cause":   fmt.Errorf("capture: %w", &capture.Problem{Kind: capture.NoAccess, Err: cause}),
		"not found":       fmt.Errorf("%s: %w", marker, capture.ErrNotFound),
		"unusable cause":  bot.Unusable("that is not a link", cause),
		"rate limit":      fmt.Errorf("%s: %w", marker, &capture.RateLimitError{RetryAfter: 2 * time.Minute}),
		"deadline":        fmt.Errorf("%s: %w", marker, context.DeadlineExceeded),
		"bot not invited": fmt.Errorf("%s: %w", marker, capture.ErrBotNotInChannel),
	}
}

// No error's own text reaches a person through the shared Voice.
func TestVoiceShowsNoErrorText(t *testing.T) {
	t.Parallel()
	v := voice()
	r := filing.Request{ID: "req-1", Title: "Ferry"}
	for name, err := range markedErrors() {
		for what, text := range map[string]string{
			"Refusal":       v.Refusal(err),
			"Why":           v.Why(err, "it failed"),
			"Say":           v.Say(err, "it failed"),
			"Outcome final": v.Outcome(filing.Outcome{Request: r, Err: err, Final: true}),
			"Outcome retry": v.Outcome(filing.Outcome{Request: r, Err: err}),
		} {
			if strings.Contains(text, marker) || strings.Contains(text, "chat.internal") {
				t.Errorf("%s of a %s error shows its text: %q", what, name, text)
			}
			if text == "" {
				t.Errorf("%s of a %s error says nothing", what, name)
			}
		}
	}
}

// markedFiler fails every submission with err.
type markedFiler struct{ err error }

func (f markedFiler) Submit(context.Context, filing.Request) (filing.Request, error) {
	return filing.Request{}, f.err
}
func (markedFiler) Plan() *filing.Plan { return filing.SamplePlan() }

// No error's own text reaches the form through the submit step.
func TestSubmitShowsNoErrorText(t *testing.T) {
	t.Parallel()
	for name, err := range markedErrors() {
		s := &bot.Submitter{Filer: markedFiler{err}}
		a := s.Submit(context.Background(), voice(), goodSubmission("test:marked"))
		if a.Accepted() || strings.Contains(fmt.Sprint(a), marker) {
			t.Errorf("a %s error answered %+v, want StoreLate without its text", name, a)
		}
	}
}

// personalText lists the Go calls that make an error's own text
// (err.Error()) in the front ends' code that is not a test, but for the
// few allowed: an Error method, the logs' errCause, and a panic.
func TestNoErrorTextForPeople(t *testing.T) {
	t.Parallel()
	allowed := map[string]bool{
		"vault.go:rand":        true, // a panic when crypto/rand fails: no person reads it
		"interact.go:errCause": true, // the log's words for an error
		"install.go:Error":     true,
		"receive.go:Error":     true,
		"receive.go:Receive":   true, // whatsapp.Error's kind, in ReceiveError.Why: the log's
	}
	fset := token.NewFileSet()
	var found []string
	for _, dir := range []string{".", "slack", "mattermost", "teams"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(fset, path, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok || len(call.Args) != 0 {
						return true
					}
					sel, ok := call.Fun.(*ast.SelectorExpr)
					if !ok || sel.Sel.Name != "Error" {
						return true
					}
					key := filepath.Base(path) + ":" + fn.Name.Name
					if path == "vault.go" {
						key = "vault.go:rand"
					}
					if !allowed[key] {
						found = append(found, fset.Position(call.Pos()).String()+" in "+fn.Name.Name)
					}
					return true
				})
			}
		}
	}
	for _, f := range found {
		t.Errorf("%s: an error's own text (.Error()) outside the logs; a person is told Voice's words", f)
	}
}
