package s3_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// mediaExport returns an iOS export zip with a video of size bytes and a
// photo, both stored uncompressed as phones store them, and where the
// video's bytes start in it.
func mediaExport(t *testing.T, size int, seed uint64) (data []byte, videoAt int64, video []byte) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	video = make([]byte, size)
	for i := range video {
		video[i] = byte(rng.Uint32())
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("_chat.txt")
	fmt.Fprint(w, "[31/12/2022, 11:40:26] Alice: \u200e<attached: 00000001-VIDEO-2022-12-31-11-40-26.mp4>\r\n"+
		"[31/12/2022, 11:41:00] Bob: \u200e<attached: 00000002-PHOTO-2022-12-31-11-41-00.jpg>\r\n")
	w, _ = zw.CreateHeader(&zip.FileHeader{Name: "00000001-VIDEO-2022-12-31-11-40-26.mp4", Method: zip.Store})
	w.Write(video)
	w, _ = zw.CreateHeader(&zip.FileHeader{Name: "00000002-PHOTO-2022-12-31-11-41-00.jpg", Method: zip.Store})
	w.Write(video[:1000])
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	data = buf.Bytes()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, ".mp4") {
			videoAt, _ = f.DataOffset()
		}
	}
	return data, videoAt, video
}

// Media stored uncompressed are filed straight from the export, a large
// one in parts side by side, byte for byte; and a video whose bytes
// change after the export was read (its CRC-32 no longer holds) fails
// the filing and is not stored.
func TestMediaFiledFromTheExport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := miniotest.NewStore(t)
	svc, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan()})
	if err != nil {
		t.Fatal(err)
	}
	file := func(data []byte, title string) (*filing.Summary, *capture.Thread, error) {
		th, err := whatsapp.Read(ctx, bytes.NewReader(data), int64(len(data)), "WhatsApp Chat - Roads.zip",
			whatsapp.Options{Location: time.UTC, SuppliedBy: capture.Person{ID: "U1"}})
		if err != nil {
			t.Fatalf("Read() = %v", err)
		}
		req := filing.Request{RequestedBy: capture.Person{ID: "U1"}, Title: title, ClassCode: "100-20", Marking: "OFFICIAL",
			Thread: capture.Ref{Platform: th.Platform, ChannelID: th.Channel.ID, ThreadID: th.ThreadID}, Via: "test"}
		sum, err := svc.FileThread(ctx, req, th)
		return sum, th, err
	}

	// 40 MiB: three parts of 16 MiB, sent side by side.
	data, _, video := mediaExport(t, 40<<20+123, 1)
	sum, _, err := file(data, "Roads video")
	if err != nil {
		t.Fatalf("FileThread() = %v", err)
	}
	rec := readRecord(t, st, sum.Key)
	want := map[string][]byte{"original": data, "00000001-VIDEO-2022-12-31-11-40-26.mp4": video, "00000002-PHOTO-2022-12-31-11-41-00.jpg": video[:1000]}
	found := 0
	for _, p := range rec.Payload {
		for name, content := range want {
			if !strings.HasSuffix(p.Path, name) && !(name == "original" && strings.HasPrefix(p.Path, "data/original/")) {
				continue
			}
			found++
			h := sha256.Sum256(content)
			if p.SHA256 != hex.EncodeToString(h[:]) || p.Size != int64(len(content)) {
				t.Errorf("%s in the manifest: %d bytes %s, want %d bytes %x", p.Path, p.Size, p.SHA256, len(content), h)
			}
			rc, _, err := st.Open(ctx, sum.Key+p.Path)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, content) {
				t.Errorf("%s as stored differs from the export's (%d bytes, want %d)", p.Path, len(got), len(content))
			}
		}
	}
	if found != 3 {
		t.Errorf("found %d of the export's 3 files in the record, want 3: %+v", found, rec.Payload)
	}

	// The video changes after the export was read.
	data, at, _ := mediaExport(t, 20<<20, 2)
	th, err := whatsapp.Read(ctx, bytes.NewReader(data), int64(len(data)), "WhatsApp Chat - Roads.zip",
		whatsapp.Options{Location: time.UTC, SuppliedBy: capture.Person{ID: "U1"}})
	if err != nil {
		t.Fatal(err)
	}
	data[at+12345] ^= 0xFF
	req := filing.Request{RequestedBy: capture.Person{ID: "U1"}, Title: "Changed video", ClassCode: "100-20", Marking: "OFFICIAL",
		Thread: capture.Ref{Platform: th.Platform, ChannelID: th.Channel.ID, ThreadID: th.ThreadID}, Via: "test"}
	if _, err := svc.FileThread(ctx, req, th); !errors.Is(err, zip.ErrChecksum) {
		t.Errorf("FileThread() of a changed video = %v, want zip.ErrChecksum", err)
	} else {
		t.Logf("err %v", err)
	}
	for o, err := range st.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(o.Key, ".mp4") && !strings.HasPrefix(o.Key, sum.Key) {
			t.Errorf("the changed video was stored at %s", o.Key)
		}
	}
}

func readRecord(t *testing.T, st filing.Store, key string) filing.Record {
	t.Helper()
	rc, _, err := st.Open(context.Background(), key+filing.RecordFile)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var rec filing.Record
	if err := json.NewDecoder(rc).Decode(&rec); err != nil {
		t.Fatal(err)
	}
	return rec
}
