package main

import (
	"strings"

	"github.com/recordbot/recordbot/filing"
)

// checkFonts warns when fonts the PDF transcripts draw other scripts with
// (Arabic, Hebrew, Chinese, Japanese, Korean, emoji) are missing: filing
// still works, and the transcript draws those characters as □ (the
// thread.json and the HTML and text transcripts keep them); docs/pdfa.md
// lists the fonts and the packages to install.
func (m *Main) checkFonts(f *findings) {
	missing := filing.MissingFonts()
	if len(missing) == 0 {
		f.ok("fonts", "every font the PDF transcripts draw other scripts with was found")
		return
	}
	f.warn("fonts", "%s; PDF transcripts will draw those characters as □: install the fonts "+
		"(on Debian or Ubuntu: apt-get install fonts-noto-core fonts-droid-fallback fonts-ipafont-gothic fonts-nanum fonts-symbola fonts-dejavu-core) "+
		"or set RECORDBOT_FONTS_DIR to where they are, see docs/pdfa.md#fonts-for-every-script", strings.Join(missing, "; "))
}
