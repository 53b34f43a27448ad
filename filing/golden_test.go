package filing_test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ from what the code writes now")

// goldenFiles are the files of a record compared byte for byte with
// testdata/<case>/<name>.golden. The PDF is not among them: its text is
// drawn with subset fonts (glyph ids, not characters), so its bytes say
// little a person can review; TestRenderPDF and TestFiledPDFTranscript
// check what it shows.
var goldenFiles = []string{filing.HTMLFile, filing.TextFile, filing.RecordFile, filing.BagInfoFile}

// goldenThread is a fixed thread with what transcripts and tag files
// must render: real names beside display names, a bot, an edit,
// reactions (known, custom, an emoji itself), a link, right-to-left text
// and hidden characters, an attached file, an image, and a file that
// could not be captured.
func goldenThread() *capture.Thread {
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	alice := capture.Person{ID: "U1", DisplayName: "alice", RealName: "Alice Smith"}
	bob := capture.Person{ID: "U2", DisplayName: "bob", RealName: "Bob Jones"}
	carol := capture.Person{ID: "U3", DisplayName: "carol"}
	bot := capture.Person{ID: "B1", DisplayName: "ferrybot", Bot: true}
	chart := pngChart(3)
	minutes := []byte("Ferry working group minutes\n\n1. Winter timetable agreed.\n")
	open := func(b []byte) capture.Opener {
		return func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return &capture.Thread{
		SchemaVersion: capture.SchemaVersion,
		Platform:      capture.Slack,
		Workspace:     capture.Workspace{ID: "T1", Name: "Example Council", Domain: "example.slack.com"},
		Channel:       capture.Channel{ID: "C1", Name: "ferry-services", Kind: "channel"},
		ThreadID:      "1762074000.000100", Permalink: "https://example.slack.com/archives/C1/p1762074000000100",
		CapturedAt: base.Add(26 * time.Hour),
		ReadAs:     "bot",
		Messages: []capture.Message{
			{ID: "1762074000.000100", Position: 0, Author: alice, Time: base,
				Text:         "Winter timetable for the <https://example.org/ferry|ferry>: <@U2> can you check the Sunday sailings?",
				ReadableText: "Winter timetable for the ferry (https://example.org/ferry): @bob can you check the Sunday sailings?",
				Reactions: []capture.Reaction{{Emoji: "+1", Count: 2, Users: []capture.Person{bob, carol}}, {Emoji: "ferry_custom", Count: 1, Users: []capture.Person{carol}},
					{Emoji: "🚢", Count: 1, Users: []capture.Person{bob}}},
				Files: []capture.File{{ID: "F1", Name: "minutes.txt", MIMEType: "text/plain", Size: int64(len(minutes)), Open: open(minutes)}}},
			{ID: "1762074060.000200", Position: 1, Author: bob, Time: base.Add(time.Minute),
				Text: "Checked: the 08:15 moves to 08:45. Café stays open — ok?", ReadableText: "Checked: the 08:15 moves to 08:45. Café stays open — ok?",
				Edited: &capture.Edit{At: base.Add(3 * time.Minute)},
				Files: []capture.File{{ID: "F2", Name: "sailings chart.png", MIMEType: "image/png", Size: int64(len(chart)), Open: open(chart)},
					{ID: "F3", Name: "old timetable.pdf", MIMEType: "application/pdf", Size: -1, Error: "deleted from Slack before filing"}}},
			{ID: "1762074120.000300", Position: 2, Author: carol, Time: base.Add(2 * time.Minute),
				Text: "מעולה. Pay \u202Eevil\u202C never\x00", ReadableText: "מעולה. Pay \u202Eevil\u202C never\x00"},
			{ID: "1762074180.000400", Position: 3, Author: bot, Time: base.Add(3 * time.Minute), Subtype: "bot_message",
				Text: "Timetable published.", ReadableText: "Timetable published."},
		},
	}
}

// goldenExport is a WhatsApp export as capture/whatsapp reads one: a
// supplied file with its provenance and the assumptions made to read it.
func goldenExport() *capture.Thread {
	base := time.Date(2026, 10, 30, 18, 5, 0, 0, time.UTC)
	rita := capture.Person{ID: "wa:+447700900123", DisplayName: "Rita"}
	sam := capture.Person{ID: "wa:+447700900456", DisplayName: "Sam"}
	export := []byte("30/10/2026, 18:05 - Rita: Ferry cancelled tomorrow\n30/10/2026, 18:07 - Sam: <Media omitted>\n")
	return &capture.Thread{
		SchemaVersion: capture.SchemaVersion,
		Platform:      capture.WhatsApp,
		Workspace:     capture.Workspace{ID: "user-export", Name: "user-made export"},
		Channel:       capture.Channel{ID: "wa-chat", Name: "Ferry crew", Private: true, Kind: "group"},
		ThreadID:      "5d41402abc4b2a76b9719d911017c592",
		CapturedAt:    base.Add(48 * time.Hour),
		Messages: []capture.Message{
			{ID: "1", Position: 0, Author: rita, Time: base, Text: "Ferry cancelled tomorrow", ReadableText: "Ferry cancelled tomorrow"},
			{ID: "2", Position: 1, Author: sam, Time: base.Add(2 * time.Minute),
				Files: []capture.File{{ID: "2-media", Name: "(media omitted)", Size: -1, Error: "not in the export: WhatsApp left the media out"}}},
		},
		Provenance: &capture.Provenance{
			Kind: capture.UserExport, Description: "a WhatsApp chat export supplied by a person, not captured from WhatsApp by recordbot",
			SuppliedBy: capture.Person{ID: "U1", DisplayName: "alice", RealName: "Alice Smith"}, SuppliedAt: base.Add(47 * time.Hour), Via: "slack dm",
			FileName: "WhatsApp Chat with Ferry crew.txt", FileSize: int64(len(export)), FileSHA256: "5d41402abc4b2a76b9719d911017c592",
			Format: "whatsapp-android-txt",
			Assumptions: []capture.Assumption{
				{Subject: "date order", Value: "day/month/year", Basis: "inferred from the file: 30/10/2026 cannot be month/day"},
				{Subject: "time zone", Value: "Europe/London", Basis: "the Slack profile time zone of the person who sent the export"},
			},
			Original: &capture.File{ID: "original", Name: "WhatsApp Chat with Ferry crew.txt", MIMEType: "text/plain", Size: int64(len(export)),
				Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(export)), nil }},
		},
	}
}

// The files of a filed record are as in testdata/golden/<case>/: a fixed
// thread, request and clock in, the same bytes out. Run with -update to
// rewrite them after a deliberate change, and review the diff.
func TestGoldenRecord(t *testing.T) {
	ctx := context.Background()
	tz, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, title, id string
		thread          *capture.Thread
	}{
		{"slack-thread", "Ferry winter timetable agreed", "019a4a5e-7c00-7000-8000-00000000f001", goldenThread()},
		{"whatsapp-export", "Ferry crew: cancellation", "019a4a5e-7c00-7000-8000-00000000f002", goldenExport()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := local.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 11, 3, 14, 30, 0, 0, time.UTC)
			svc := newServiceWith(t, filing.Options{Store: st, Plan: filing.SamplePlan(), TimeZone: tz, Clock: clockwork.NewFakeClockAt(now)})
			req := request(tc.title)
			req.ID = tc.id
			req.Thread = capture.Ref{Platform: tc.thread.Platform, ChannelID: tc.thread.Channel.ID, ThreadID: tc.thread.ThreadID}
			req.Description = "Sunday sailings move to 08:45 from December."
			req.RequestedBy = capture.Person{ID: "U1", DisplayName: "alice", RealName: "Alice Smith"}
			req.RequestedAt = now
			sum, err := svc.FileThread(ctx, req, tc.thread)
			if err != nil {
				t.Fatalf("FileThread: %v", err)
			}
			for _, name := range goldenFiles {
				golden(t, filepath.Join("testdata", "golden", tc.name, strings.ReplaceAll(name, "/", "_")+".golden"), readAll(t, st, sum.Key+name))
			}
		})
	}
}

// golden compares got with the file at path, or writes it there with
// -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to write it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from what the code writes now (go test -run %s -update rewrites it; review the diff):\n%s",
			path, t.Name(), firstDiff(string(want), got))
	}
}

// firstDiff shows the first line where got leaves want.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return "(same lines, different bytes)"
}
