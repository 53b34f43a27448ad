// Command bot runs recordbot: the chat front ends, the filing worker and the
// records team's commands.
//
//	bot                      serve: chat front ends, filing worker, /healthz
//	bot check                check the installation before staff use it
//	bot file --snapshot F    file a thread snapshot (JSON) as a record
//	bot import whatsapp F    file a WhatsApp chat export as a record
//	bot records ...          the records team's commands
//	bot mattermost ...       install on or uninstall from Mattermost teams
//
// Configuration comes from flags and the environment (see docs/operating.md#configuration).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/recordbot/recordbot/filing"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.Run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bot:", err)
		}
		os.Exit(exitCode(err))
	}
}

// exitError carries a specific exit status (for example 1 from `records
// verify` when a record fails its check) without printing anything more.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0 // the help asked for was printed
	}
	return 1
}

// Main is the program: configuration, standard streams and what Run opened.
// Tests drive it end to end through Run.
type Main struct {
	Config Config
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Logger is built from the configuration by Run when nil.
	Logger *slog.Logger
	// Clock is what serve reads the time from (the filing service, its
	// readiness cache, metrics); the system's when nil. Tests drive a
	// fake one.
	Clock filing.Clock
}

// NewMain returns a Main reading the process's environment and streams.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

const usage = `usage: bot [serve] [flags]        run the bot (chat front ends, filing worker)
       bot check                    check the installation: store, Object Lock, platforms
       bot file --snapshot F ...    file a thread snapshot as a record
       bot import whatsapp F ...    file a WhatsApp chat export (.zip or .txt) as a record
       bot records COMMAND ...      list, show, verify, register, due, hold, find, classes, dispose, export
       bot mattermost COMMAND ...   install or uninstall on Mattermost teams
       bot teams manifest ...       write the Microsoft Teams app package
       bot version                  which build this is
       bot help                     this text

Run "bot COMMAND --help" for a command's flags. Configuration is read from
the environment (S3_*, RECORDS_DIR, FILE_PLAN, LISTEN_ADDR, SLACK_*,
MATTERMOST_*, TEAMS_*, RECORDBOT_SECRET_KEY); see docs/operating.md#configuration.
`

// Run runs the command line args (without the program name).
func (m *Main) Run(ctx context.Context, args []string) error {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		cmd, args = "help", args[1:]
	} else if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	return withSetting(m.run(ctx, cmd, args))
}

// run runs the command cmd with its args.
func (m *Main) run(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "serve":
		return m.runServe(ctx, args)
	case "check":
		return m.runCheck(ctx, args)
	case "version", "--version":
		return m.runVersion()
	case "file":
		return m.runFile(ctx, args)
	case "import":
		return m.runImport(ctx, args)
	case "records":
		return m.runRecords(ctx, args)
	case "mattermost":
		return m.runMattermost(ctx, args)
	case "teams":
		return m.runTeams(ctx, args)
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	default:
		fmt.Fprint(m.Stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
