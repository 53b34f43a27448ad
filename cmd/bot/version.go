package main

import (
	"fmt"
	"runtime/debug"
)

// runVersion prints the build: module version, commit and time from the Go
// build information, and the Go version.
func (m *Main) runVersion() error {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(m.Stdout, "recordbot (no build information)")
		return nil
	}
	fmt.Fprintln(m.Stdout, versionLine(bi))
	return nil
}

// versionLine says which build this is, as `bot version` prints it.
func versionLine(bi *debug.BuildInfo) string {
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var rev, at, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	line := "recordbot " + version
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		line += fmt.Sprintf(" (commit %s, %s%s)", rev, at, modified)
	}
	return line + ", " + bi.GoVersion
}
