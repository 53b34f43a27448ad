package filing

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
)

// DefaultFontsDir is where recordbot finds the fonts for the scripts the
// Go fonts it carries do not cover (Arabic, Hebrew, Chinese, Japanese,
// Korean, emoji) unless SetFontsDir says otherwise. The container image
// puts them there; on a computer, install the Debian packages
// fallbackFonts names (see docs/pdfa.md).
const DefaultFontsDir = "/usr/share/fonts"

// fontsDirSetting is the fonts directory SetFontsDir gave.
var fontsDirSetting atomic.Value

// SetFontsDir sets where this process finds the fonts for other scripts
// (the deployment's setting); "" is DefaultFontsDir.
func SetFontsDir(dir string) { fontsDirSetting.Store(dir) }

// fallbackFont is a font recordbot draws with when the Go fonts (Latin,
// Greek, Cyrillic) have no glyph for a character: found by file name
// anywhere under the fonts directory. fpdf reads TrueType outlines and
// the Unicode cmap of the Basic Multilingual Plane only, so the fonts
// are TrueType (.ttf) ones: Debian's fonts-noto-cjk are OpenType CFF
// collections fpdf cannot read, so Chinese, Japanese and Korean come
// from other Debian packages.
type fallbackFont struct {
	family string   // fpdf's name for it
	files  []string // file names, the first found wins
	pkg    string   // the Debian package that ships it
	covers string   // what it is for, for people
	// emoji fonts draw characters beyond U+FFFF (most emoji), which fpdf
	// cannot address, through a copy of the font whose cmap maps
	// emojiPUA+(r-emojiBase) to r's glyph; the text shown carries the
	// real character as /ActualText, for copying and search.
	emoji bool
}

// fallbackFonts in the order they are tried for a character (for Han
// ideographs, see fontFor).
var fallbackFonts = []fallbackFont{
	{family: "arabic", files: []string{"NotoSansArabic-Regular.ttf", "NotoNaskhArabic-Regular.ttf"}, pkg: "fonts-noto-core", covers: "Arabic"},
	{family: "hebrew", files: []string{"NotoSansHebrew-Regular.ttf"}, pkg: "fonts-noto-core", covers: "Hebrew"},
	{family: "zh", files: []string{"DroidSansFallbackFull.ttf"}, pkg: "fonts-droid-fallback", covers: "Chinese"},
	{family: "ja", files: []string{"ipag.ttf", "ipagp.ttf"}, pkg: "fonts-ipafont-gothic", covers: "Japanese"},
	{family: "ko", files: []string{"NanumGothic.ttf"}, pkg: "fonts-nanum", covers: "Korean"},
	{family: "symbols", files: []string{"Symbola_hint.ttf", "Symbola.ttf"}, pkg: "fonts-symbola", covers: "symbols and emoji"},
	{family: "emoji", files: []string{"Symbola_hint.ttf", "Symbola.ttf"}, pkg: "fonts-symbola", covers: "emoji", emoji: true},
	{family: "dejavu", files: []string{"DejaVuSans.ttf"}, pkg: "fonts-dejavu-core", covers: "other symbols"},
}

// Emoji beyond U+FFFF, U+1F000 to U+1FAFF, are drawn as emojiPUA+(r-emojiBase)
// in the emoji font (within the Private Use Area, U+E000 to U+F8FF).
const (
	emojiBase = 0x1F000
	emojiEnd  = 0x1FAFF
	emojiPUA  = 0xE000
)

// loadedFont is a fallback font as found on this computer, read the
// first time a character may need it (so a process that draws only
// Latin, Greek and Cyrillic holds none of them).
type loadedFont struct {
	fallbackFont
	paths []string // the files found, in fallbackFont.files' order
	once  sync.Once
	data  []byte // what fpdf is given
	font  *sfnt.Font
}

// load reads the font, once; false if none of its files can be read.
func (f *loadedFont) load() bool {
	f.once.Do(func() {
		for _, p := range f.paths {
			if data, font, err := loadFont(f.fallbackFont, p); err == nil {
				f.data, f.font = data, font
				return
			}
		}
	})
	return f.font != nil
}

// has reports whether f draws r.
func (f *loadedFont) has(r rune) bool {
	if f.emoji != (r > 0xffff) {
		return false
	}
	if f.emoji && (r < emojiBase || r > emojiEnd) {
		return false
	}
	if !f.load() {
		return false
	}
	var b sfnt.Buffer
	g, err := f.font.GlyphIndex(&b, r)
	return err == nil && g != 0
}

// fontSet is the fonts found in one fonts directory.
type fontSet struct {
	dir     string
	fonts   []*loadedFont // in fallbackFonts' order, those found
	missing []fallbackFont
}

var (
	fontSetsMu sync.Mutex
	fontSets   = map[string]*fontSet{}
)

// fontsDir is the fonts directory this process uses.
func fontsDir() string {
	if d, _ := fontsDirSetting.Load().(string); d != "" {
		return d
	}
	return DefaultFontsDir
}

// fonts returns the fallback fonts found under dir, read once a process.
func fonts(dir string) *fontSet {
	fontSetsMu.Lock()
	defer fontSetsMu.Unlock()
	if s, ok := fontSets[dir]; ok {
		return s
	}
	s := &fontSet{dir: dir}
	found := map[string]string{}
	want := map[string]bool{}
	for _, f := range fallbackFonts {
		for _, n := range f.files {
			want[n] = true
		}
	}
	// Fonts directories hold a few thousand files; the walk stops at
	// nothing, errors included (a directory that cannot be read is
	// skipped), and follows no links out of it.
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && want[d.Name()] {
			if _, dup := found[d.Name()]; !dup {
				found[d.Name()] = p
			}
		}
		return nil
	})
	for _, f := range fallbackFonts {
		lf := &loadedFont{fallbackFont: f}
		for _, n := range f.files {
			if p, ok := found[n]; ok {
				lf.paths = append(lf.paths, p)
			}
		}
		if len(lf.paths) == 0 {
			s.missing = append(s.missing, f)
			continue
		}
		s.fonts = append(s.fonts, lf)
	}
	fontSets[dir] = s
	return s
}

// maxFontFile bounds a font file read (the CJK fonts are 4 to 6 MB).
const maxFontFile = 32 << 20

func loadFont(f fallbackFont, path string) ([]byte, *sfnt.Font, error) {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() || st.Size() > maxFontFile {
		return nil, nil, errors.New("not a font file")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	font, err := sfnt.Parse(data)
	if err != nil {
		return nil, nil, err
	}
	if f.emoji {
		if data, err = emojiFont(data, font); err != nil {
			return nil, nil, err
		}
	}
	return data, font, nil
}

// goCover is the characters all three Go fonts draw.
var goCover = sync.OnceValue(func() []bool {
	cover := make([]bool, 0x10000)
	var fs []*sfnt.Font
	for _, ttf := range [][]byte{goregular.TTF, gobold.TTF, goitalic.TTF} {
		f, err := sfnt.Parse(ttf)
		if err != nil {
			panic(err)
		}
		fs = append(fs, f)
	}
	var b sfnt.Buffer
	for r := rune(0x20); r < 0x10000; r++ {
		ok := true
		for _, f := range fs {
			if g, err := f.GlyphIndex(&b, r); err != nil || g == 0 {
				ok = false
				break
			}
		}
		cover[r] = ok
	}
	return cover
})

// inGo reports whether the Go fonts draw r.
func inGo(r rune) bool {
	c := goCover()
	return r >= 0 && int(r) < len(c) && c[r]
}

// emojiFont returns a copy of the TrueType font data whose only cmap is
// a format 4 one mapping emojiPUA+(r-emojiBase) to r's glyph for every
// r from emojiBase to emojiEnd the font draws: fpdf reads format 4
// cmaps only, which cannot hold characters beyond U+FFFF.
func emojiFont(data []byte, font *sfnt.Font) ([]byte, error) {
	type pair struct{ code, glyph uint16 }
	var pairs []pair
	var b sfnt.Buffer
	for r := rune(emojiBase); r <= emojiEnd; r++ {
		if g, err := font.GlyphIndex(&b, r); err == nil && g != 0 {
			pairs = append(pairs, pair{uint16(emojiPUA + r - emojiBase), uint16(g)})
		}
	}
	if len(pairs) == 0 {
		return nil, errors.New("the font has no emoji")
	}
	// One segment a character (with idDelta), then the final 0xFFFF one.
	segs := len(pairs) + 1
	sub := make([]byte, 16+8*segs)
	be := binary.BigEndian
	be.PutUint16(sub[0:], 4)
	be.PutUint16(sub[2:], uint16(len(sub)))
	be.PutUint16(sub[6:], uint16(2*segs))
	sr := 1
	for sr*2 <= segs {
		sr *= 2
	}
	be.PutUint16(sub[8:], uint16(2*sr))
	be.PutUint16(sub[10:], uint16(bitsLen(sr)-1))
	be.PutUint16(sub[12:], uint16(2*segs-2*sr))
	end, start, delta := 14, 16+2*segs, 16+4*segs
	for i, p := range append(pairs, pair{0xffff, 0}) {
		be.PutUint16(sub[end+2*i:], p.code)
		be.PutUint16(sub[start+2*i:], p.code)
		d := uint16(1)
		if p.code != 0xffff {
			d = p.glyph - p.code
		}
		be.PutUint16(sub[delta+2*i:], d)
	}
	cmap := append([]byte{0, 0, 0, 1, 0, 3, 0, 1, 0, 0, 0, 12}, sub...)
	return replaceTable(data, "cmap", cmap)
}

func bitsLen(n int) int {
	k := 0
	for ; n > 0; n >>= 1 {
		k++
	}
	return k
}

// replaceTable returns a copy of the sfnt font data with its table tag
// replaced by table (the others as they were, each 4-byte aligned).
func replaceTable(data []byte, tag string, table []byte) ([]byte, error) {
	be := binary.BigEndian
	if len(data) < 12 {
		return nil, errors.New("not a font")
	}
	n := int(be.Uint16(data[4:]))
	if len(data) < 12+16*n {
		return nil, errors.New("not a font")
	}
	type rec struct {
		tag  string
		body []byte
	}
	recs := make([]rec, 0, n)
	for i := range n {
		e := data[12+16*i:]
		off, l := int(be.Uint32(e[8:])), int(be.Uint32(e[12:]))
		if off < 0 || l < 0 || off+l > len(data) {
			return nil, errors.New("bad font table")
		}
		r := rec{tag: string(e[:4]), body: data[off : off+l]}
		if r.tag == tag {
			r.body = table
		}
		recs = append(recs, r)
	}
	sort.Slice(recs, func(a, b int) bool { return recs[a].tag < recs[b].tag })
	out := append([]byte(nil), data[:12]...)
	out = append(out, make([]byte, 16*n)...)
	for i, r := range recs {
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
		e := out[12+16*i:]
		copy(e, r.tag)
		be.PutUint32(e[4:], checksum(r.body))
		be.PutUint32(e[8:], uint32(len(out)))
		be.PutUint32(e[12:], uint32(len(r.body)))
		out = append(out, r.body...)
	}
	return out, nil
}

func checksum(b []byte) uint32 {
	var s uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		s += binary.BigEndian.Uint32(w[:])
	}
	return s
}

// MissingFonts says which of the fonts recordbot draws other scripts
// with are not in the fonts directory, and the Debian packages that
// ship them; empty when all are there.
func MissingFonts() []string {
	s := fonts(fontsDir())
	var out []string
	for _, f := range s.missing {
		out = append(out, f.covers+": "+strings.Join(f.files, " or ")+" (Debian package "+f.pkg+") not found under "+s.dir)
	}
	for _, f := range s.fonts {
		if !f.load() {
			out = append(out, f.covers+": "+strings.Join(f.paths, ", ")+" cannot be read as a TrueType font")
		}
	}
	return out
}
