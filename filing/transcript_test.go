package filing_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

func TestVisible(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text\twith a tab\nand lines", "plain text\twith a tab\nand lines"},
		{"NUL\x00here", `NUL\x00here`},
		{"\x1b[2J\x1b]0;pwned\x07", `\x1b[2J\x1b]0;pwned\x07`},
		{"over\rwrite", `over\x0dwrite`},
		{"windows\r\nline", "windows\nline"},
		{"pay \u202Eevil\u202C now", `pay \u202Eevil\u202C now`},
		{"\u2066isolate\u2069 \u200Fmark \u061C", `\u2066isolate\u2069 \u200Fmark \u061C`},
		{"C1\u009bcsi", `C1\u009Bcsi`},
		{"sep\u2028line", `sep\u2028line`},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"עברית and العربية and 日本語 🎉", "עברית and العربية and 日本語 🎉"},
	}
	for _, tc := range tests {
		if got := filing.Visible(tc.in); got != tc.want {
			t.Errorf("Visible(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A message with a NUL, an escape sequence and a bidi override shows them
// as visible escapes in transcript.txt; thread.json keeps the original.
func TestTranscriptShowsHiddenCharacters(t *testing.T) {
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			th := testThread(2)
			const text = "pay to \u202Etnuocca\u202C now\x00\x1b[2Jgone"
			th.Messages[0].Text, th.Messages[0].ReadableText = text, text
			th.Messages[1].Author.DisplayName = "mallory\u202E"
			sum, err := newService(t, st, nil, nil).FileThread(ctx, request("Hidden characters"), th)
			if err != nil {
				t.Fatalf("FileThread: %v", err)
			}
			txt := readAll(t, st, sum.Key+filing.TextFile)
			for _, bad := range []string{"\x00", "\u202E", "\u202C", "\x1b"} {
				if strings.Contains(txt, bad) {
					t.Errorf("transcript.txt contains %q raw", bad)
				}
			}
			for _, want := range []string{`pay to \u202Etnuocca\u202C now\x00\x1b[2Jgone`, `mallory\u202E`} {
				if !strings.Contains(txt, want) {
					t.Errorf("transcript.txt = %q, want it to contain %q", txt, want)
				}
			}
			var snap capture.Thread
			if err := json.Unmarshal([]byte(readAll(t, st, sum.Key+filing.ThreadFile)), &snap); err != nil {
				t.Fatal(err)
			}
			if snap.Messages[0].Text != text || snap.Messages[1].Author.DisplayName != "mallory\u202E" {
				t.Errorf("thread.json text = %q, author %q; want the original %q", snap.Messages[0].Text, snap.Messages[1].Author.DisplayName, text)
			}
		})
	}
}
