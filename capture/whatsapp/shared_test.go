package whatsapp

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// manyRefs is an iOS chat text of n messages, each naming photo.
func manyRefs(n int, photo string) []byte {
	var b strings.Builder
	start := time.Date(2024, 1, 13, 9, 0, 0, 0, time.UTC)
	for i := range n {
		fmt.Fprintf(&b, "[%s] Alice: <attached: %s>\n", start.Add(time.Duration(i)*time.Second).Format("02/01/2006, 15:04:05"), photo)
	}
	return []byte(b.String())
}

// One photo named by 1,000 messages is one content (the same ContentID on
// every message's file), and the caps count it once in the bytes stored
// and 1,000 times in the files named.
func TestSharedMediaCountedOnce(t *testing.T) {
	const photo = "00000001-PHOTO-2024-01-13-09-00-00.jpg"
	data := makeZip(t, entry{name: "_chat.txt", data: manyRefs(1000, photo), method: zip.Deflate},
		entry{name: photo, data: bytes.Repeat([]byte{0xFF}, 1<<20), method: zip.Store})
	// 1 MiB named 1,000 times is 1 MiB stored: within a 2 MiB cap.
	th, err := readBytes(t, data, "WhatsApp Chat - Photos.zip", Options{Location: time.UTC, DateOrder: DMY, Limits: Limits{MaxStored: 2 << 20}})
	if err != nil {
		t.Fatalf("Read with MaxStored 2 MiB: %v, want the photo counted once", err)
	}
	for i, m := range th.Messages {
		if len(m.Files) != 1 || m.Files[0].ContentID != photo || m.Files[0].Open == nil {
			t.Fatalf("message %d files = %+v, want the photo with ContentID %q", i, m.Files, photo)
		}
	}
	// A cap on the files named counts every naming.
	_, err = readBytes(t, data, "WhatsApp Chat - Photos.zip", Options{Location: time.UTC, DateOrder: DMY, Limits: Limits{MaxRefs: 999}})
	var we *Error
	if !errors.As(err, &we) || !errors.Is(err, ErrTooLarge) || !strings.Contains(we.Msg, "more than 999 media files") {
		t.Errorf("Read with MaxRefs 999 = %v, want too large: more than 999 media files named", err)
	}
	// A cap on bytes stored counts each distinct file.
	_, err = readBytes(t, data, "WhatsApp Chat - Photos.zip", Options{Location: time.UTC, DateOrder: DMY, Limits: Limits{MaxStored: 1<<20 - 1}})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("Read with MaxStored below the photo = %v, want too large", err)
	}
}

// Two files of the zip whose names are the same once the chat's folder is
// taken from them (a/b/x.jpg and b/x.jpg beside a/_chat.txt) are both
// kept: messages name the one in the chat's folder, the other is renamed
// and the record's notes say so; neither is silently missing.
func TestCollidingNamesBothKept(t *testing.T) {
	chat := entry{name: "a/_chat.txt", data: []byte("[13/01/2024, 09:00:00] Alice: <attached: b/x.jpg>\n[13/01/2024, 09:01:00] Bob: ok\n"), method: zip.Deflate}
	inside := entry{name: "a/b/x.jpg", data: []byte("inside the chat's folder"), method: zip.Store}
	outside := entry{name: "b/x.jpg", data: []byte("outside it"), method: zip.Store}
	for name, entries := range map[string][]entry{
		"inside first":  {chat, inside, outside},
		"outside first": {chat, outside, inside},
	} {
		t.Run(name, func(t *testing.T) {
			th, err := readBytes(t, makeZip(t, entries...), "export.zip", Options{Location: time.UTC, DateOrder: DMY})
			if err != nil {
				t.Fatal(err)
			}
			f := th.Messages[0].Files[0]
			rc, err := f.Open(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if string(got) != "inside the chat's folder" {
				t.Errorf("the file message 1 names = %q, want a/b/x.jpg's content", got)
			}
			notes := strings.Join(th.Provenance.Notes, "\n")
			for _, want := range []string{`kept as "b/x (2).jpg"`, `"a/b/x.jpg"`, `named by no message; they are kept in the original export: b/x (2).jpg`} {
				if !strings.Contains(notes, want) {
					t.Errorf("Notes = %q, want %q in them", notes, want)
				}
			}
		})
	}
}
