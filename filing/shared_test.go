package filing_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/bagcheck"
)

// Files that share their content (capture.File.ContentID), as one photo
// named by 1,000 messages of a WhatsApp export, are stored once: each
// message's file gives the same path, the payload lists it once, it is
// opened once, and the transcripts link every message to it. Files
// without a ContentID, as Slack's and Mattermost's, are stored each on
// its own, as before.
func TestSharedContentStoredOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const refs, size = 1000, 1 << 20
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			th := testThread(refs)
			var opened atomic.Int32
			for i := range th.Messages {
				th.Messages[i].Files = []capture.File{{
					ID: fmt.Sprintf("m%05d:photo.jpg", i), Name: "photo.jpg", MIMEType: "image/jpeg", Size: size, ContentID: "photo.jpg",
					Open: func(context.Context) (io.ReadCloser, error) {
						opened.Add(1)
						return io.NopCloser(content(7, size)), nil
					},
				}}
			}
			// One file of its own beside them, without a ContentID.
			th.Messages[3].Files = append(th.Messages[3].Files, capture.File{ID: "F1", Name: "minutes.txt", MIMEType: "text/plain", Size: 5,
				Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("hello")), nil }})
			sum, err := newService(t, st, nil, nil).FileThread(ctx, request("One photo, many messages"), th)
			if err != nil {
				t.Fatalf("FileThread: %v", err)
			}
			if _, err := bagcheck.Check(ctx, st, sum.Key); err != nil {
				t.Fatalf("bag %s is not valid: %v", sum.Key, err)
			}
			if n := opened.Load(); n != 1 {
				t.Errorf("the shared photo was opened %d times, want once", n)
			}
			if sum.Files != 2 {
				t.Errorf("Summary.Files = %d, want 2 (the photo once, the minutes)", sum.Files)
			}
			var media int64
			var rec filing.Record
			readJSON(t, st, sum.Key+filing.RecordFile, &rec)
			var photos []string
			for _, p := range rec.Payload {
				if strings.HasPrefix(p.Path, "data/files/") {
					media += p.Size
					if strings.HasSuffix(p.Path, "photo.jpg") {
						photos = append(photos, p.Path)
					}
				}
			}
			if len(photos) != 1 || media != size+5 {
				t.Fatalf("record.json payload lists the photo %d times and %d bytes of files, want once and %d bytes", len(photos), media, size+5)
			}
			var snap capture.Thread
			readJSON(t, st, sum.Key+filing.ThreadFile, &snap)
			for i, m := range snap.Messages {
				if len(m.Files) == 0 || m.Files[0].Path != photos[0] {
					t.Fatalf("thread.json message %d files = %+v, want the photo at %s", i, m.Files, photos[0])
				}
			}
			if got := snap.Messages[3].Files[1].Path; got == "" || got == photos[0] {
				t.Errorf("thread.json minutes path = %q, want a path of its own", got)
			}
			rel := strings.TrimPrefix(photos[0], "data/")
			if n := strings.Count(readAll(t, st, sum.Key+filing.HTMLFile), `href="`+rel+`"`); n < refs {
				t.Errorf("transcript.html links %d messages to %s, want %d", n, rel, refs)
			}
			if n := strings.Count(readAll(t, st, sum.Key+filing.TextFile), rel); n < refs {
				t.Errorf("transcript.txt names %s %d times, want %d", rel, n, refs)
			}
		})
	}
}
