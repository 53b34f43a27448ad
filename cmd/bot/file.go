package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

// runFile files a thread snapshot (the JSON form of capture.Thread) as a
// record: for imports, and to drive the filing core end to end.
func (m *Main) runFile(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bot file", flag.ContinueOnError)
	snapshot := fs.String("snapshot", "", "thread snapshot JSON `file` (required); attached files' \"source\" paths are relative to it")
	class, title, marking, desc, by, asJSON := filingFlags(fs, "who is filing, for the audit trail (default: the current user)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: bot file --snapshot thread.json --class CODE --title TITLE [--marking M] [--description D]")
		fs.PrintDefaults()
	}
	if err := m.parse(fs, args); err != nil {
		return err
	}
	var missing []string
	for name, v := range map[string]string{"--snapshot": *snapshot, "--class": *class, "--title": *title} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		fs.Usage()
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	t, err := readSnapshot(*snapshot)
	if err != nil {
		return err
	}
	store, plan, err := m.open(ctx)
	if err != nil {
		return err
	}
	if err := m.requireLock(ctx, store); err != nil {
		return err
	}
	signer, err := m.signer()
	if err != nil {
		return usageError(err)
	}
	svc, err := filing.NewService(filing.Options{Store: store, Plan: plan, Logger: m.commandLogger(),
		Organisation: m.Config.Organisation, TimeZone: m.Config.TimeZone,
		AfterFiling: records.RegisterUpdater(store, nil), Signer: signer})
	if err != nil {
		return err
	}
	markingBasis := "given with --marking"
	if *marking == "" {
		if c := plan.Class(*class); c != nil {
			*marking, markingBasis = c.Default, "the class's default"
		}
	}
	who := *by
	if who == "" {
		if u, err := user.Current(); err == nil {
			who = u.Username
		}
	}
	req := filing.Request{
		RequestedBy: capture.Person{ID: who, DisplayName: who},
		Thread:      capture.Ref{Platform: t.Platform, WorkspaceID: t.Workspace.ID, ChannelID: t.Channel.ID, ThreadID: t.ThreadID},
		Title:       *title, ClassCode: *class, Marking: *marking, Description: *desc, Via: "import",
	}
	pm := meterFiles(t, terminal(m.Stderr), "filing")
	sum, err := svc.FileThread(ctx, req, t)
	pm.end()
	if err != nil {
		if ferr := m.flagErrors(err); ferr != nil {
			return ferr
		}
		return fmt.Errorf("nothing filed completely: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	fmt.Fprintf(m.Stdout, "Filed as %s in %s\n", sum.ID, sum.ClassPath)
	fmt.Fprintf(m.Stdout, "  where:    %s\n", sum.Where)
	fmt.Fprintf(m.Stdout, "  contents: %s, %s\n", plural(sum.Messages, "message", "messages"), plural(sum.Files, "file", "files"))
	fmt.Fprintf(m.Stdout, "  marking:  %s (%s)\n", tty(sum.Marking), markingBasis)
	if sum.DisposalDate.IsZero() {
		fmt.Fprintf(m.Stdout, "  retention: kept permanently\n")
	} else {
		fmt.Fprintf(m.Stdout, "  retention: %s on %s\n", sum.DisposalAction, sum.DisposalDate.Format("2006-01-02"))
	}
	return nil
}

// commandLogger is the logger of a command run at a terminal, such as
// `bot file`: its output is for the person running it, so the filing
// service's routine INFO lines are left out unless LOG_LEVEL asks for
// them; warnings and errors still show.
func (m *Main) commandLogger() *slog.Logger {
	if m.Getenv("LOG_LEVEL") != "" {
		return m.Logger
	}
	return slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// readSnapshot reads a thread snapshot; its files open from paths relative
// to the snapshot's folder.
func readSnapshot(path string) (*capture.Thread, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var t capture.Thread
	dec := json.NewDecoder(f)
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", path, err)
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", path, err)
	}
	if t.Platform == "" {
		t.Platform = capture.Import
	}
	dir := filepath.Dir(path)
	for _, file := range t.Files() {
		if file.Error != "" || file.Source == "" {
			if file.Error == "" {
				file.Error = "no source given in the snapshot"
			}
			continue
		}
		src := strings.TrimPrefix(file.Source, "file://")
		if !filepath.IsAbs(src) {
			src = filepath.Join(dir, src)
		}
		if _, err := os.Stat(src); err != nil {
			return nil, fmt.Errorf("snapshot %s: file %q: %w", path, file.Name, err)
		}
		file.Open = func(ctx context.Context) (io.ReadCloser, error) { return os.Open(src) }
	}
	return &t, nil
}

// flagErrors prints a request's field errors against the command's flags
// (--title: …) and returns "nothing filed"; nil when err has none.
func (m *Main) flagErrors(err error) error {
	var fe filing.FieldErrors
	if !errors.As(err, &fe) {
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(fe)) {
		fmt.Fprintf(m.Stderr, "--%s: %s\n", k, fe[k])
	}
	return errors.New("nothing filed")
}

// filingFlags defines the flags every command that files a record takes:
// --class, --title, --marking, --description, --by (described by byHelp)
// and --json.
func filingFlags(fs *flag.FlagSet, byHelp string) (class, title, marking, desc, by *string, asJSON *bool) {
	class = fs.String("class", "", "file plan class `code` (required)")
	title = fs.String("title", "", "record `title` (required)")
	marking = fs.String("marking", "", "security `marking` (default: the class's default)")
	desc = fs.String("description", "", "optional `description` or decision summary")
	by = fs.String("by", "", byHelp)
	asJSON = fs.Bool("json", false, "print the result as JSON")
	return
}
