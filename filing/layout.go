package filing

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The top-level prefixes of a store. Records officers browse RecordsPrefix;
// the others hold the bot's own bookkeeping.
const (
	// RecordsPrefix holds the record packages, under the file plan.
	RecordsPrefix = "records/"
	// AuditPrefix holds one object per event (filed, fixity check, hold).
	AuditPrefix = "audit/"
	// IndexPrefix holds one small JSON object per record, by record id.
	IndexPrefix = "index/"
	// RequestsPrefix holds filing requests: pending/, done/ and failed/.
	RequestsPrefix = "requests/"
	// RegistersPrefix holds the class registers (CSV and JSON).
	RegistersPrefix = "registers/"
	// InstallationsPrefix holds chat platform installations (tokens sealed).
	InstallationsPrefix = "installations/"
)

// maxSlugBytes bounds the title part of a record's folder name, so keys stay
// well under S3's 1,024-byte limit with a deep class path.
const maxSlugBytes = 60

// ClassFolder returns the folder of class c under RecordsPrefix: one
// segment per level, "<code>_<Title>", such as
// "100_Administration/100-20_Committees-and-working-groups/".
func ClassFolder(c *Class) string {
	var b strings.Builder
	for _, x := range c.Path() {
		b.WriteString(codeSegment(x.Code))
		b.WriteByte('_')
		b.WriteString(Slug(x.Title, false, 40))
		b.WriteByte('/')
	}
	return b.String()
}

// RecordKey returns the key prefix (ending in "/") of a record package:
// records/<class folder>/<year>/<date>_<title-slug>_<short-id>/.
func RecordKey(c *Class, filed time.Time, title, id string) string {
	filed = filed.UTC()
	return fmt.Sprintf("%s%s%04d/%s_%s_%s/", RecordsPrefix, ClassFolder(c), filed.Year(),
		filed.Format("2006-01-02"), Slug(title, true, maxSlugBytes), ShortID(id))
}

// ShortID returns the last 8 characters of a record id without dashes: the
// random end of a UUIDv7, so records filed in the same millisecond differ.
func ShortID(id string) string {
	s := strings.ReplaceAll(id, "-", "")
	if len(s) > 8 {
		s = s[len(s)-8:]
	}
	return Slug(s, true, 8)
}

// codeSegment writes a class code as one key segment: "/" becomes "-".
func codeSegment(code string) string { return strings.ReplaceAll(code, "/", "-") }

// Slug turns text into one safe key segment: letters and digits of any
// script are kept, every other run of characters (slashes, dots, spaces,
// control and format characters such as bidi marks, emoji) becomes a single
// "-". The result never starts or ends with "-", is at most max bytes long
// (cut on a character boundary) and is "untitled" when nothing is left.
// lower folds it to lower case.
func Slug(text string, lower bool, max int) string {
	var b strings.Builder
	dash := false
	for _, r := range text {
		if r == utf8.RuneError || !(unicode.IsLetter(r) || unicode.IsDigit(r)) ||
			unicode.Is(unicode.Cf, r) {
			dash = b.Len() > 0
			continue
		}
		if lower {
			r = unicode.ToLower(r)
		}
		n := utf8.RuneLen(r)
		extra := 0
		if dash {
			extra = 1
		}
		if b.Len()+extra+n > max {
			// Cut at the last word boundary when it keeps most of it.
			out := b.String()
			if i := strings.LastIndexByte(out, '-'); i > max/2 {
				out = out[:i]
			}
			return out
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "untitled"
	}
	return b.String()
}

// DataPath returns a payload file's path inside the bag for the n-th file
// (1-based) of total: "data/files/003_minutes.pdf". The extension is kept.
func DataPath(n, total int, name string) string {
	width := len(fmt.Sprint(total))
	if width < 3 {
		width = 3
	}
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 10 && isAlnum(name[i+1:]) {
		base, ext = name[:i], name[i+1:]
	}
	s := fmt.Sprintf("data/files/%0*d_%s", width, n, Slug(base, false, 80))
	if e := Slug(ext, true, 9); ext != "" && e != "untitled" {
		s += "." + e
	}
	return s
}

// OriginalPath returns where a record keeps the file a person supplied
// (a chat export), byte for byte: "data/original/<name>", the name made
// safe as in DataPath and its extension kept.
func OriginalPath(name string) string {
	return "data/original/" + strings.TrimPrefix(DataPath(1, 1, name), "data/files/001_")
}

func isAlnum(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}
