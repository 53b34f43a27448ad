package main

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What `bot file` and `bot import whatsapp` print is for the person at the
// terminal: the marking applied, counts in words that agree with them,
// and no log lines.
func TestFilingOutputForPeople(t *testing.T) {
	t.Parallel()
	env := localEnv(t)
	out, stderr, code := runBot(t, env, "file", "--snapshot", "testdata/thread.json", "--class", "100-20", "--title", "Roads budget decision", "--by", "Rita Records")
	if code != 0 {
		t.Fatalf("bot file: exit %d: %s", code, stderr)
	}
	for _, w := range []string{"contents: 2 messages, 2 files", "marking:  OFFICIAL (the class's default)"} {
		if !strings.Contains(out, w) {
			t.Errorf("bot file output = %q, want %q", out, w)
		}
	}
	if strings.Contains(stderr, "level=") {
		t.Errorf("bot file logged at the terminal: %q", stderr)
	}
	id := strings.Fields(strings.TrimPrefix(out, "Filed as "))[0]
	out, _, _ = runBot(t, env, "records", "show", id)
	if !strings.Contains(out, "Filed by:          Rita Records\n") || !strings.Contains(out, ", 2 messages\n") {
		t.Errorf("bot records show = %q, want \"Filed by: Rita Records\" once, and 2 messages", out)
	}

	zipName, _ := exportZip(t, t.TempDir())
	out, stderr, code = runBot(t, env, "import", "whatsapp", zipName, "--class", "100-20", "--title", "Roads team chat", "--timezone", "Europe/London",
		"--by", "Rita Records", "--marking", "OFFICIAL")
	if code != 0 {
		t.Fatalf("bot import whatsapp: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "marking:  OFFICIAL (given with --marking)") || strings.Contains(out, "1 media files") || strings.Contains(out, " 1 messages") {
		t.Errorf("bot import whatsapp output = %q, want the marking and counts in words", out)
	}
	if strings.Contains(stderr, "level=") {
		t.Errorf("bot import whatsapp logged at the terminal: %q", stderr)
	}
	id = strings.Fields(strings.TrimPrefix(out, "Filed as "))[0]
	out, _, _ = runBot(t, env, "records", "show", id)
	if i := strings.Index(out, "Source:"); i < 0 || strings.Contains(out[i:i+strings.Index(out[i:], "\n")], "#") {
		t.Errorf("bot records show of a WhatsApp chat = %q, want its source without a channel's #", out)
	}
}

// Commands answer mistakes in one line, help with exit status 0, and
// ranges that cannot match with why.
func TestCommandLineAnswers(t *testing.T) {
	t.Parallel()
	env := localEnv(t)
	fileSnapshot(t, env, "testdata/thread.json", "Roads budget decision")
	for _, c := range []struct {
		args       []string
		wantCode   int
		wantOut    string // in stdout
		wantErr    string // in stderr
		notWantErr string
	}{
		{[]string{"import", "--help"}, 0, "usage: bot import whatsapp", "", "cannot import"},
		{[]string{"file", "--help"}, 0, "usage: bot file --snapshot", "", ""},
		{[]string{"serve", "--help"}, 0, "-listen", "", ""},
		{[]string{"records", "ls", "--since", "yesterday"}, 2, "", `date "yesterday": want YYYY-MM-DD, YYYY-MM or YYYY (see bot records ls --help)`, "usage:"},
		{[]string{"records", "ls", "--since", "2030", "--until", "2020"}, 2, "", "--since 2030-01-01 is after --until 2020-12-31", ""},
		{[]string{"records", "find", "budget", "--class", "999"}, 0, "No records contain", `note: "999" is not a class of the current file plan`, ""},
		{[]string{"mattermost"}, 1, "", "mattermost: say install, uninstall or doctor", "bot mattermost:"},
	} {
		out, stderr, code := runBot(t, env, c.args...)
		if code != c.wantCode || !strings.Contains(out, c.wantOut) || !strings.Contains(stderr, c.wantErr) || (c.notWantErr != "" && strings.Contains(stderr, c.notWantErr)) {
			t.Errorf("bot %q: exit %d, stdout %q, stderr %q; want exit %d, %q in stdout, %q in stderr and not %q",
				c.args, code, out, stderr, c.wantCode, c.wantOut, c.wantErr, c.notWantErr)
		}
	}
}

// Media in an export that no message names are shown in the import's
// output, not only in record.json.
func TestImportShowsUnnamedMedia(t *testing.T) {
	t.Parallel()
	env := localEnv(t)
	src := "../../capture/whatsapp/testdata/android-dmy"
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create(e.Name())
		w.Write(data)
	}
	w, _ := zw.Create("IMG-20990101-WA0099.jpg")
	w.Write([]byte("\xff\xd8\xff\xe0 not named by any message"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "WhatsApp Chat with Roads Team.zip")
	if err := os.WriteFile(name, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runBot(t, env, "import", "whatsapp", name, "--class", "100-20", "--title", "Roads team chat", "--timezone", "Europe/London")
	if code != 0 || !strings.Contains(out, "note:") || !strings.Contains(out, "IMG-20990101-WA0099.jpg") {
		t.Errorf("bot import whatsapp of an export with media no message names: exit %d, out %q, stderr %q; want a note naming it", code, out, stderr)
	}
}
