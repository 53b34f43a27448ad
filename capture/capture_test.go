package capture_test

import (
	"context"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
)

func TestParticipants(t *testing.T) {
	alice := capture.Person{ID: "U1", DisplayName: "alice"}
	bob := capture.Person{ID: "U2", DisplayName: "bob"}
	carol := capture.Person{ID: "U3", DisplayName: "carol"}
	dave := capture.Person{ID: "U0", DisplayName: "dave"}
	th := &capture.Thread{Messages: []capture.Message{
		{ID: "1", Author: bob, Reactions: []capture.Reaction{{Emoji: "x", Count: 2, Users: []capture.Person{carol, alice}}}},
		{ID: "2", Author: alice},
		{ID: "3", Author: bob, Reactions: []capture.Reaction{{Emoji: "y", Count: 1, Users: []capture.Person{dave}}}},
	}}
	var got []string
	for _, p := range th.Participants() {
		got = append(got, p.ID)
	}
	// Authors in order of first message, then reactors by id.
	if want := "U2 U1 U0 U3"; strings.Join(got, " ") != want {
		t.Errorf("Participants() = %q, want %q", strings.Join(got, " "), want)
	}
}

func TestSpanAndValidate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	th := &capture.Thread{Platform: capture.Slack, Channel: capture.Channel{ID: "C"}, ThreadID: "1", Messages: []capture.Message{
		{ID: "a", Time: t0.Add(time.Hour)}, {ID: "b", Time: t0}, {ID: "c", Time: t0.Add(2 * time.Hour)},
	}}
	first, last := th.Span()
	if !first.Equal(t0) || !last.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("Span() = %v, %v; want %v, %v", first, last, t0, t0.Add(2*time.Hour))
	}
	if err := th.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
	th.Messages[1].ID = ""
	th.ThreadID = ""
	err := th.Validate()
	if err == nil || !strings.Contains(err.Error(), "no thread id") || !strings.Contains(err.Error(), "message 1 has no id") {
		t.Errorf("Validate() = %v, want both problems named", err)
	}
}

type fixed struct{ name string }

func (f fixed) Capture(ctx context.Context, ref capture.Ref, by capture.Person) (*capture.Thread, error) {
	return &capture.Thread{ThreadID: f.name}, nil
}

func TestSourcesRoute(t *testing.T) {
	s := capture.Sources{capture.Slack: fixed{"slack"}, capture.Mattermost: fixed{"mm"}}
	th, err := s.Capture(context.Background(), capture.Ref{Platform: capture.Mattermost}, capture.Person{})
	if err != nil || th.ThreadID != "mm" {
		t.Errorf("Capture(mattermost) = %v, %v; want the Mattermost source's thread", th, err)
	}
	if _, err := s.Capture(context.Background(), capture.Ref{Platform: "teams"}, capture.Person{}); err == nil {
		t.Errorf("Capture(teams) = nil error, want platform not configured")
	}
}

// The layering of the code: filing never imports a chat SDK, capture's
// core imports neither chat nor storage SDKs, and chat SDKs stay in the
// platform packages.
func TestDependencies(t *testing.T) {
	chat := []string{"github.com/slack-go/slack", "github.com/mattermost/mattermost"}
	storage := []string{"github.com/minio/minio-go"}
	tests := []struct {
		pkg       string
		forbidden []string
	}{
		{"github.com/recordbot/recordbot/capture", append(chat, storage...)},
		{"github.com/recordbot/recordbot/filing", chat},
		{"github.com/recordbot/recordbot/filing/records", chat},
		{"github.com/recordbot/recordbot/capture/slack", append([]string{"github.com/mattermost/mattermost"}, storage...)},
		{"github.com/recordbot/recordbot/capture/mattermost", append([]string{"github.com/slack-go/slack"}, storage...)},
		{"github.com/recordbot/recordbot/bot", chat},
		// The WhatsApp export reader is a source: no SDK, and no filing.
		{"github.com/recordbot/recordbot/capture/whatsapp", append(append([]string{"github.com/recordbot/recordbot/filing"}, chat...), storage...)},
	}
	for _, tt := range tests {
		out, err := exec.Command("go", "list", "-deps", tt.pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", tt.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range tt.forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", tt.pkg, dep)
				}
			}
		}
		if strings.Contains(string(out), "github.com/recordbot/recordbot/bot") && tt.pkg != "github.com/recordbot/recordbot/bot" {
			t.Errorf("%s depends on the bot front ends: dependencies must point bot -> capture, filing", tt.pkg)
		}
	}
}

// Chat SDK types stop at the capture platform packages: nothing a platform
// package exports (functions, methods, fields, types, variables) mentions
// one, so the front ends and filing speak only capture's types. The test
// doubles (slacktest, mattermosttest) speak the SDKs on purpose.
func TestNoSDKTypesExported(t *testing.T) {
	sdks := []string{"github.com/slack-go/slack", "github.com/mattermost/mattermost", "github.com/minio/minio-go"}
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}}={{.Export}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	exports := make(map[string]string)
	for _, line := range strings.Fields(string(out)) {
		if path, file, ok := strings.Cut(line, "="); ok {
			exports[path] = file
		}
	}
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) { return os.Open(exports[path]) })
	checked := 0
	for path := range exports {
		rest, ok := strings.CutPrefix(path, "github.com/recordbot/recordbot/capture/")
		if !ok || strings.HasSuffix(rest, "test") {
			continue
		}
		pkg, err := imp.Import(path)
		if err != nil {
			t.Fatalf("import %s: %v", path, err)
		}
		checked++
		for _, where := range exportedTypes(pkg) {
			for _, sdk := range sdks {
				if strings.Contains(where[1], sdk) {
					t.Errorf("%s exports %s, which mentions %s: %s", path, where[0], sdk, where[1])
				}
			}
		}
	}
	if checked < 2 {
		t.Errorf("checked %d capture platform packages, want at least capture/slack and capture/mattermost", checked)
	}
}

// exportedTypes lists, for each exported name of pkg (and each exported
// method and field of its exported types), the name and its type.
func exportedTypes(pkg *types.Package) [][2]string {
	var out [][2]string
	add := func(name string, typ types.Type) { out = append(out, [2]string{name, types.TypeString(typ, nil)}) }
	for _, name := range pkg.Scope().Names() {
		obj := pkg.Scope().Lookup(name)
		if !obj.Exported() {
			continue
		}
		named, ok := obj.Type().(*types.Named)
		if _, isType := obj.(*types.TypeName); !isType || !ok {
			add(name, obj.Type())
			continue
		}
		ms := types.NewMethodSet(types.NewPointer(named))
		for i := range ms.Len() {
			if m := ms.At(i).Obj(); m.Exported() {
				add(name+"."+m.Name(), m.Type())
			}
		}
		switch u := named.Underlying().(type) {
		case *types.Struct:
			for i := range u.NumFields() {
				if f := u.Field(i); f.Exported() {
					add(name+"."+f.Name(), f.Type())
				}
			}
		case *types.Interface:
			add(name, u)
		default:
			add(name, u)
		}
	}
	return out
}

// Counts keeps a ledger's counts and drops the lines it lists, leaving
// the provenance it was called on as it was.
func TestProvenanceCounts(t *testing.T) {
	p := &capture.Provenance{Kind: capture.UserExport, Ledger: &capture.Ledger{Lines: 3, Headers: 2, NotUnderstood: 1,
		Unread: []capture.LedgerLine{{Line: 2, Text: "01/02/2023, 25:00 - x: y", Why: "bad time"}}}}
	c := p.Counts()
	if c.Ledger.NotUnderstood != 1 || c.Ledger.Lines != 3 || c.Ledger.Unread != nil {
		t.Errorf("Counts().Ledger = %+v, want the counts without the lines", *c.Ledger)
	}
	if len(p.Ledger.Unread) != 1 {
		t.Errorf("Counts() changed the provenance it was called on: %+v", *p.Ledger)
	}
	var none *capture.Provenance
	if none.Counts() != nil {
		t.Errorf("(*capture.Provenance)(nil).Counts() != nil")
	}
}
