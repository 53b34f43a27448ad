package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/filing"
)

// bot check warns, without failing, when the fonts for other scripts in
// the PDF transcripts are missing, and says what to install.
func TestCheckFonts(t *testing.T) {
	env := map[string]string{"RECORDS_DIR": filepath.Join(t.TempDir(), "store"), "RECORDBOT_SECRET_KEY": testSecretKey}

	env["RECORDBOT_FONTS_DIR"] = t.TempDir() // no fonts there
	out, code := runCheck(t, env)
	if code != 0 {
		t.Errorf("bot check with the fonts missing: exit %d, want 0 (a warning); output:\n%s", code, out)
	}
	words := strings.Join(strings.Fields(out), " ")
	for _, w := range []string{"warn fonts", "Arabic: NotoSansArabic-Regular.ttf", "(Debian package fonts-noto-core)",
		"apt-get install fonts-noto-core", "fonts-symbola", "RECORDBOT_FONTS_DIR", "docs/pdfa.md#fonts-for-every-script", "all checks passed"} {
		if !strings.Contains(words, w) {
			t.Errorf("bot check with the fonts missing lacks %q:\n%s", w, out)
		}
	}

	// The fonts the tests need are installed (see docs/pdfa.md): then the
	// line is ok.
	env["RECORDBOT_FONTS_DIR"] = filing.DefaultFontsDir
	filing.SetFontsDir(filing.DefaultFontsDir)
	if missing := filing.MissingFonts(); len(missing) > 0 {
		t.Fatalf("fonts missing on this computer (install them, see docs/pdfa.md): %q", missing)
	}
	out, _ = runCheck(t, env)
	if words := strings.Join(strings.Fields(out), " "); !strings.Contains(words, "ok fonts") || strings.Contains(words, "warn fonts") {
		t.Errorf("bot check with the fonts installed:\n%s\nwant an ok fonts line", out)
	}
}
