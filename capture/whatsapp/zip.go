package whatsapp

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/recordbot/recordbot/capture/ctxio"
)

// Limits bound what an export may hold, so that a hostile file (a zip
// bomb, a chat text of a gigabyte) is refused before it costs memory or
// disk. The zero value of each field takes its default.
type Limits struct {
	// MaxText is the largest chat text read (default 64 MiB: some
	// million messages). Read and Describe hold a message of it at a
	// time; the thread Read returns reads it again at each pass.
	MaxText int64
	// MaxFile is the largest uncompressed file in a zip (default 4 GiB;
	// WhatsApp sends documents up to 2 GB).
	MaxFile int64
	// MaxTotal is the largest uncompressed size of a whole zip (default
	// 32 GiB).
	MaxTotal int64
	// MaxFiles is the most files a zip may hold (default 100,000).
	MaxFiles int
	// MaxRefs is the most media files the chat's messages may name, each
	// naming counted (default 100,000): a file named by several messages
	// is stored once, but each naming is a file entry of the record's
	// snapshot and transcripts.
	MaxRefs int
	// MaxStored is the most bytes of media a record of the export may
	// store: each distinct media file its messages name, counted once
	// however many messages name it (default 32 GiB). The export itself
	// is stored beside them.
	MaxStored int64
	// MaxRatio is the highest compression ratio of a file above 1 MiB
	// (default 200; a deflate bomb reaches about 1,000).
	MaxRatio int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxText <= 0 {
		l.MaxText = 64 << 20
	}
	if l.MaxFile <= 0 {
		l.MaxFile = 4 << 30
	}
	if l.MaxTotal <= 0 {
		l.MaxTotal = 32 << 30
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = 100_000
	}
	if l.MaxRefs <= 0 {
		l.MaxRefs = 100_000
	}
	if l.MaxStored <= 0 {
		l.MaxStored = 32 << 30
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = 200
	}
	return l
}

// archive is a checked export zip: its chat text entry and its other
// files by name relative to the chat text's folder.
type archive struct {
	zr    *zip.Reader
	chat  *zip.File
	files map[string]*zip.File
	// names lists files, in zip order, for the record's notes.
	names []string
	// renamed says which files were renamed because their names were
	// the same once the chat's folder was taken from them, for the
	// record's notes.
	renamed []string
}

// openZip reads the zip's directory and checks every entry against the
// limits: a name that would leave its folder, a size or ratio above the
// limits, entries that share their bytes (an overlapping zip bomb), an
// encrypted or unknown compression. It reads no file content.
func openZip(r io.ReaderAt, size int64, l Limits) (*archive, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		if errors.Is(err, zip.ErrInsecurePath) {
			return nil, unsafeZip("a file in it has a name that would leave its folder")
		}
		return nil, damaged("the zip file is damaged or incomplete (was the export's download or upload cut short?)")
	}
	if len(zr.File) > l.MaxFiles {
		return nil, tooLarge(fmt.Sprintf("the zip holds %d files; recordbot takes at most %d", len(zr.File), l.MaxFiles))
	}
	a := &archive{zr: zr, files: make(map[string]*zip.File)}
	type span struct{ from, to int64 }
	var spans []span
	seen := make(map[string]bool)
	var total uint64
	var texts []*zip.File
	for _, f := range zr.File {
		name := f.Name
		if err := checkName(name); err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, unsafeZip(fmt.Sprintf("it holds two files named %q", name))
		}
		seen[name] = true
		if strings.HasSuffix(name, "/") {
			continue
		}
		if f.Flags&1 != 0 {
			return nil, unsafeZip("it is password-protected; export the chat again without a password")
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return nil, unsafeZip(fmt.Sprintf("%q is compressed in a way WhatsApp does not use (method %d)", name, f.Method))
		}
		if f.UncompressedSize64 > uint64(l.MaxFile) {
			return nil, tooLarge(fmt.Sprintf("%q would be %s uncompressed; recordbot takes files up to %s", name, human(f.UncompressedSize64), human(uint64(l.MaxFile))))
		}
		total += f.UncompressedSize64
		if total > uint64(l.MaxTotal) {
			return nil, tooLarge(fmt.Sprintf("its files would be more than %s uncompressed", human(uint64(l.MaxTotal))))
		}
		if f.UncompressedSize64 > 1<<20 && (f.CompressedSize64 == 0 || f.UncompressedSize64/f.CompressedSize64 > uint64(l.MaxRatio)) {
			return nil, unsafeZip(fmt.Sprintf("%q is compressed more than %d to 1, as zip bombs are", name, l.MaxRatio))
		}
		off, err := f.DataOffset()
		if err != nil || off < 0 || f.CompressedSize64 > uint64(size) || uint64(off) > uint64(size)-f.CompressedSize64 {
			return nil, damaged(fmt.Sprintf("the zip file is damaged or incomplete: %q is cut short", name))
		}
		spans = append(spans, span{off, off + int64(f.CompressedSize64)})
		if strings.EqualFold(path.Ext(name), ".txt") {
			texts = append(texts, f)
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from < spans[j].from })
	for i := 1; i < len(spans); i++ {
		if spans[i].from < spans[i-1].to {
			return nil, unsafeZip("files in it share their bytes, as zip bombs do")
		}
	}
	a.chat = chatEntry(texts)
	if a.chat == nil {
		if len(texts) == 0 {
			return nil, notExport("the zip holds no chat text (_chat.txt, or \"WhatsApp Chat with ….txt\")")
		}
		return nil, notExport("the zip holds several text files and none is named as WhatsApp names the chat")
	}
	if int64(a.chat.UncompressedSize64) > l.MaxText {
		return nil, tooLarge(fmt.Sprintf("the chat text is %s; recordbot reads chats up to %s", human(a.chat.UncompressedSize64), human(uint64(l.MaxText))))
	}
	// Messages name files relative to the chat text's folder; a file
	// outside it keeps its whole name. Files in the folder are named
	// first, so that a file outside it whose name is the same (a/b/x.jpg
	// and b/x.jpg beside a/_chat.txt) never takes the place of the one
	// the messages name: it is renamed, and the record says so.
	dir := path.Dir(a.chat.Name)
	var outside []*zip.File
	for _, f := range zr.File {
		if f == a.chat || strings.HasSuffix(f.Name, "/") {
			continue
		}
		if dir == "." {
			a.add(f.Name, f)
			continue
		}
		if rel, ok := strings.CutPrefix(f.Name, dir+"/"); ok {
			a.add(rel, f)
		} else {
			outside = append(outside, f)
		}
	}
	for _, f := range outside {
		name := f.Name
		if other, taken := a.files[name]; taken {
			name = freeName(name, a.files)
			a.renamed = append(a.renamed, fmt.Sprintf("%q of the zip has the name %q of %q, a file in the chat's folder %q, once that folder is taken from its name: messages naming %q name the file in the folder, and %q is kept as %q",
				shorten(f.Name), shorten(f.Name), shorten(other.Name), shorten(dir), shorten(f.Name), shorten(f.Name), shorten(name)))
		}
		a.add(name, f)
	}
	return a, nil
}

func (a *archive) add(name string, f *zip.File) {
	a.files[name] = f
	a.names = append(a.names, name)
}

// freeName returns name with " (2)", " (3)"... before its extension, the
// first that names no file in files.
func freeName(name string, files map[string]*zip.File) string {
	ext := path.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for i := 2; ; i++ {
		n := fmt.Sprintf("%s (%d)%s", base, i, ext)
		if _, taken := files[n]; !taken {
			return n
		}
	}
}

// checkName refuses a name that would leave the export's folder if it
// were unpacked: absolute, with "..", a backslash or a drive letter.
func checkName(name string) error {
	if !utf8.ValidString(name) {
		return unsafeZip(fmt.Sprintf("it holds a file named %q, which is not UTF-8; a phone's export never does", shorten(name)))
	}
	bad := name == "" || strings.ContainsAny(name, "\\\x00") ||
		strings.HasPrefix(name, "/") || (len(name) > 1 && name[1] == ':')
	if !bad {
		if slices.Contains(strings.Split(strings.TrimSuffix(name, "/"), "/"), "..") {
			bad = true
		}
	}
	if bad {
		return unsafeZip(fmt.Sprintf("it holds a file named %q, which would leave its folder if unpacked; a phone's export never does", shorten(name)))
	}
	return nil
}

// chatEntry picks the chat text among a zip's text files: iOS names it
// _chat.txt, Android "WhatsApp Chat with NAME.txt" (in the phone's
// language); a lone text file is taken too.
func chatEntry(texts []*zip.File) *zip.File {
	for _, f := range texts {
		if path.Base(f.Name) == "_chat.txt" {
			return f
		}
	}
	var named []*zip.File
	for _, f := range texts {
		if strings.Contains(strings.ToLower(path.Base(f.Name)), "whatsapp") {
			named = append(named, f)
		}
	}
	switch {
	case len(named) == 1:
		return named[0]
	case len(named) == 0 && len(texts) == 1:
		return texts[0]
	}
	return nil
}

// verify reads every file of the zip to its end, so that archive/zip
// checks its CRC-32 and its size: a damaged export is refused before any
// of it is filed, rather than halfway through.
func (a *archive) verify(ctx context.Context) error {
	buf := make([]byte, 256<<10)
	for _, f := range a.zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return damaged(fmt.Sprintf("%q in the zip cannot be read: %v", shorten(f.Name), err))
		}
		_, err = io.CopyBuffer(io.Discard, ctxio.Reader(ctx, rc), buf)
		rc.Close()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return damaged(fmt.Sprintf("%q in the zip is damaged (%v)", shorten(f.Name), err))
		}
	}
	return nil
}

func shorten(s string) string {
	if len(s) <= 80 {
		return s
	}
	cut := 77
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func human(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// section is content of the export read at any offset: the store can
// upload it in parts side by side, with no buffer, while the filer reads
// it in order to hash it (see filing's putStream).
type section struct{ *io.SectionReader }

func (section) Close() error { return nil }

// openEntry opens a file of the zip for filing. A file stored
// uncompressed (photos, videos and voice notes, which do not compress)
// is a section of the export, readable at any offset; read in order, it
// checks its CRC-32 at the end, as archive/zip does. Others are
// inflated as they are read.
func openEntry(zf *zip.File) (io.ReadCloser, error) {
	if zf.Method != zip.Store || zf.CompressedSize64 != zf.UncompressedSize64 {
		return zf.Open()
	}
	raw, err := zf.OpenRaw()
	if err != nil {
		return nil, err
	}
	sr, ok := raw.(*io.SectionReader)
	if !ok {
		return zf.Open()
	}
	return &storedEntry{section: section{sr}, want: zf.CRC32, crc: crc32.NewIEEE()}, nil
}

// storedEntry is a file stored uncompressed in the zip.
type storedEntry struct {
	section
	want uint32
	crc  hash.Hash32
}

// Read reads the file in order, and fails at its end when its CRC-32 is
// not the one the zip gives: the export changed since it was read.
func (e *storedEntry) Read(p []byte) (int, error) {
	n, err := e.section.Read(p)
	e.crc.Write(p[:n])
	if errors.Is(err, io.EOF) && e.crc.Sum32() != e.want {
		return n, zip.ErrChecksum
	}
	return n, err
}
