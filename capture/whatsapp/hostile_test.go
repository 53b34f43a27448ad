package whatsapp

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const chatText = "31/12/2022, 11:40 - Alice: IMG-1.jpg (file attached)\n31/12/2022, 11:41 - Bob: Hello\n"

type entry struct {
	name   string
	data   []byte
	method uint16
}

func makeZip(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: e.method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Every hostile or broken export is refused with a clear error of its
// kind, before anything of it is used.
func TestHostileExports(t *testing.T) {
	chat := entry{name: "WhatsApp Chat with X.txt", data: []byte(chatText), method: zip.Deflate}
	good := makeZip(t, chat, entry{name: "IMG-1.jpg", data: []byte("jpeg bytes"), method: zip.Store})
	if _, err := readBytes(t, good, "x.zip", Options{Location: time.UTC}); err != nil {
		t.Fatalf("the good zip the cases start from: %v", err)
	}

	// A media entry whose bytes were changed: its CRC-32 no longer holds.
	corrupt := bytes.Clone(good)
	i := bytes.Index(corrupt, []byte("jpeg bytes"))
	corrupt[i] = 'J'

	// Two directory entries pointing at the same bytes (an overlapping
	// zip bomb): the second's local header offset is set to the first's.
	overlap := makeZip(t, chat, entry{name: "IMG-1.jpg", data: []byte("jpeg bytes"), method: zip.Store})
	cd := bytes.LastIndex(overlap, []byte("PK\x01\x02"))
	binary.LittleEndian.PutUint32(overlap[cd+42:], 0)

	// Deflate bomb: 64 MiB of zeros compress about 1,000 to 1.
	bomb := makeZip(t, chat, entry{name: "IMG-1.jpg", data: make([]byte, 64<<20), method: zip.Deflate})

	encrypted := bytes.Clone(good)
	for off := 0; ; {
		j := bytes.Index(encrypted[off:], []byte("PK\x01\x02"))
		if j < 0 {
			break
		}
		encrypted[off+j+8] |= 1
		off += j + 4
	}

	tests := []struct {
		name   string
		data   []byte
		limits Limits
		kind   error
		says   string
	}{
		{"empty", nil, Limits{}, ErrNotExport, "the file is empty"},
		{"zip slip", makeZip(t, chat, entry{name: "../../etc/cron.d/x", data: []byte("x")}), Limits{}, ErrUnsafe, `"../../etc/cron.d/x"`},
		{"zip slip in a folder", makeZip(t, chat, entry{name: "media/../../x", data: []byte("x")}), Limits{}, ErrUnsafe, "would leave its folder"},
		{"absolute name", makeZip(t, chat, entry{name: "/etc/passwd", data: []byte("x")}), Limits{}, ErrUnsafe, "would leave its folder"},
		{"backslash name", makeZip(t, chat, entry{name: `..\..\x`, data: []byte("x")}), Limits{}, ErrUnsafe, "would leave its folder"},
		{"drive name", makeZip(t, chat, entry{name: `C:/x`, data: []byte("x")}), Limits{}, ErrUnsafe, "would leave its folder"},
		{"name not UTF-8", makeZip(t, chat, entry{name: "caf\xe9.jpg", data: []byte("x")}), Limits{}, ErrUnsafe, "not UTF-8"},
		{"duplicate names", makeZip(t, chat, entry{name: "IMG-1.jpg"}, entry{name: "IMG-1.jpg"}), Limits{}, ErrUnsafe, "two files named"},
		{"deflate bomb", bomb, Limits{}, ErrUnsafe, "zip bombs"},
		{"overlapping entries", overlap, Limits{}, ErrUnsafe, "share their bytes"},
		{"file above the limit", good, Limits{MaxFile: 8}, ErrTooLarge, `"WhatsApp Chat with X.txt" would be`},
		{"total above the limit", good, Limits{MaxTotal: 50}, ErrTooLarge, "more than 50 bytes"},
		{"too many files", good, Limits{MaxFiles: 1}, ErrTooLarge, "2 files"},
		{"chat text above the limit", good, Limits{MaxText: 50}, ErrTooLarge, "the chat text is"},
		{"encrypted", encrypted, Limits{}, ErrUnsafe, "password"},
		{"truncated zip", good[:len(good)/2], Limits{}, ErrDamaged, "damaged or incomplete"},
		{"truncated at the end", good[:len(good)-10], Limits{}, ErrDamaged, "damaged or incomplete"},
		{"corrupt media", corrupt, Limits{}, ErrDamaged, `"IMG-1.jpg" in the zip is damaged`},
		{"zip without chat", makeZip(t, entry{name: "IMG-1.jpg", data: []byte("x")}), Limits{}, ErrNotExport, "no chat text"},
		{"zip of several texts", makeZip(t, entry{name: "a.txt"}, entry{name: "b.txt"}), Limits{}, ErrNotExport, "several text files"},
		{"not a chat", []byte("Dear Sir,\nplease find attached.\n"), Limits{}, ErrNotExport, "line 1 does not start with a date"},
		{"a PDF", []byte("%PDF-1.4\n1 0 obj\n"), Limits{}, ErrNotExport, "line 1"},
		{"blank text", []byte("\n\n  \n"), Limits{}, ErrNotExport, "no messages"},
		{"Latin-1 text", []byte("31/12/2022, 11:40 - Alice: Hello\n31/12/2022, 11:41 - Bob: caf\xe9\n"), Limits{}, ErrEncoding, "not UTF-8 (line 2)"},
		{"UTF-16 text", []byte("\xff\xfe3\x001\x00/\x00"), Limits{}, ErrEncoding, "UTF-16"},
		{"text above the limit", []byte(chatText), Limits{MaxText: 20}, ErrTooLarge, "chats up to 20 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, err := readBytes(t, tt.data, "x.zip", Options{Location: time.UTC, Limits: tt.limits})
			var e *Error
			if th != nil || !errors.Is(err, tt.kind) || !errors.As(err, &e) || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("Read(%s) = %v, %v; want an *Error of kind %v saying %q", tt.name, th != nil, err, tt.kind, tt.says)
			}
		})
	}
}

// A 1 GiB file is refused from its size, without reading it into memory.
func TestGigabyteTextRefusedUnread(t *testing.T) {
	name := filepath.Join(t.TempDir(), "WhatsApp Chat with Big.txt")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(chatText)
	if err := f.Truncate(1 << 30); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	start := time.Now()
	_, _, err = Open(context.Background(), name, Options{Location: time.UTC})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1.0 GiB") {
		t.Errorf("Open(1 GiB text) = %v, want ErrTooLarge naming 1.0 GiB", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusing a 1 GiB text took %s: it must not be read whole", d)
	}
}

// A cancelled context stops reading a large export.
func TestReadCancelled(t *testing.T) {
	data := makeZip(t, entry{name: "_chat.txt", data: []byte(strings.ReplaceAll(chatText, " - ", "] ")), method: zip.Deflate})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Read(ctx, bytes.NewReader(data), int64(len(data)), "x.zip", Options{Location: time.UTC}); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a cancelled context = %v, want context.Canceled", err)
	}
}
