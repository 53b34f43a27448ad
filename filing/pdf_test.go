package filing_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/bagcheck"
)

// pngChart draws a small bar chart, different for each seed.
func pngChart(seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 240, 140))
	for y := range 140 {
		for x := range 240 {
			img.Set(x, y, color.RGBA{250, 250, 250, 255})
		}
	}
	for b := range 6 {
		h := 20 + (seed*37+b*53)%110
		for y := 140 - h; y < 135; y++ {
			for x := 15 + b*37; x < 15+b*37+28; x++ {
				img.Set(x, y, color.RGBA{29, 53, 87, 255})
			}
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

// A 200-message thread with images, edits, links and reactions is filed
// with its PDF transcript on both stores: listed in the manifest, A4, one
// inline image per attached PNG, the permalink clickable.
// RECORDBOT_PDF_OUT=dir also writes the stored PDF there to look at.
func TestFiledPDFTranscript(t *testing.T) {
	ctx := context.Background()
	th := testThread(200)
	images := 0
	for i := range th.Messages {
		m := &th.Messages[i]
		if i%9 == 1 {
			m.Edited = &capture.Edit{At: m.Time.Add(2 * time.Minute)}
		}
		if i%4 == 2 {
			m.Reactions = []capture.Reaction{{Emoji: "+1", Count: 2, Users: []capture.Person{{ID: "U1", DisplayName: "alice", RealName: "Alice Smith"}, {ID: "U2", DisplayName: "bob", RealName: "Bob Jones"}}},
				{Emoji: "white_check_mark", Count: 1}}
		}
		if i%7 == 3 {
			m.ReadableText += "\nFigures: https://example.org/budget/2026?m=" + fmt.Sprint(i)
		}
		if i%25 == 10 {
			data := pngChart(i)
			images++
			m.Files = append(m.Files, capture.File{ID: fmt.Sprint("F", i), Name: fmt.Sprintf("chart %d.png", i), MIMEType: "image/png", Size: int64(len(data)),
				Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }})
		}
	}
	tz, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := newServiceWith(t, filing.Options{Store: st, Plan: filing.SamplePlan(), TimeZone: tz})
			req := request("Roads budget 2026: option B agreed")
			req.Marking = "OFFICIAL-SENSITIVE"
			sum, err := svc.FileThread(ctx, req, th)
			if err != nil {
				t.Fatalf("FileThread: %v", err)
			}
			bag, err := bagcheck.Check(ctx, st, sum.Key)
			if err != nil {
				t.Fatalf("bag: %v", err)
			}
			if _, ok := bag.Payload[filing.PDFFile]; !ok {
				t.Errorf("manifest lacks %s: %v", filing.PDFFile, bag.Payload)
			}
			pdf := readAll(t, st, sum.Key+filing.PDFFile)
			html := readAll(t, st, sum.Key+filing.HTMLFile)
			if got := strings.Count(html, "<img "); got != images {
				t.Errorf("images shown in transcript.html = %d, want %d", got, images)
			}
			if dir := os.Getenv("RECORDBOT_PDF_OUT"); dir != "" {
				if err := os.WriteFile(filepath.Join(dir, "filed-"+name+".pdf"), []byte(pdf), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "filed-"+name+".html"), []byte(html), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := strings.Count(pdf, "/Subtype /Image"); got != images {
				t.Errorf("inline images = %d, want %d", got, images)
			}
			for _, want := range []string{"/MediaBox [0 0 595.28 841.89]", "/URI (" + th.Permalink + ")", "/URI (https://example.org/budget/2026?m=3)", "/Metadata "} {
				if !strings.Contains(pdf, want) {
					t.Errorf("stored PDF lacks %q", want)
				}
			}
			if pages := strings.Count(pdf, "/Type /Page\n"); pages < 10 {
				t.Errorf("pages = %d, want at least 10 for 200 messages", pages)
			}
			txt := readAll(t, st, sum.Key+filing.TextFile)
			if !strings.Contains(txt, "2026-11-02 09:00:00 UTC (09:00 GMT)") {
				t.Errorf("transcript.txt lacks the time with the organisation's zone beside it")
			}
		})
	}
}

// A thread with more images than the PDF shows is filed valid on both
// stores with every image in the package and in transcript.html; the PDF
// shows the first PDFImages, names the others with a link to their
// place in the package, and reads no more than it shows.
func TestFiledPDFImageBudget(t *testing.T) {
	ctx := context.Background()
	n := filing.PDFImages + 10
	th := testThread(n)
	for i := range th.Messages {
		data := pngChart(i)
		th.Messages[i].Files = []capture.File{{ID: fmt.Sprint("P", i), Name: fmt.Sprintf("photo %d.png", i), MIMEType: "image/png", Size: int64(len(data)),
			Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}}
	}
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			counted := &readCounter{Store: st}
			svc := newServiceWith(t, filing.Options{Store: counted, Plan: filing.SamplePlan()})
			sum, err := svc.FileThread(ctx, request("Site visit photos"), th)
			if err != nil {
				t.Fatalf("FileThread: %v", err)
			}
			bag, err := bagcheck.Check(ctx, st, sum.Key)
			if err != nil {
				t.Fatalf("bag: %v", err)
			}
			stored := 0
			for p := range bag.Payload {
				if strings.HasPrefix(p, "data/files/") {
					stored++
				}
			}
			if stored != n {
				t.Errorf("images in the package = %d, want all %d", stored, n)
			}
			if got := strings.Count(readAll(t, st, sum.Key+filing.HTMLFile), "<img "); got != n {
				t.Errorf("images shown in transcript.html = %d, want all %d", got, n)
			}
			pdf := readAll(t, st, sum.Key+filing.PDFFile)
			if got := strings.Count(pdf, "/Subtype /Image"); got != filing.PDFImages {
				t.Errorf("images shown in the PDF = %d, want %d", got, filing.PDFImages)
			}
			for i := filing.PDFImages; i < n; i++ {
				if want := "/URI (" + strings.TrimPrefix(filing.DataPath(i+1, n, fmt.Sprintf("photo %d.png", i)), "data/") + ")"; !strings.Contains(pdf, want) {
					t.Errorf("PDF lacks the link %q to an image it does not show", want)
				}
			}
			if got := counted.opened("data/files/"); got != filing.PDFImages {
				t.Errorf("images read back for the PDF = %d, want %d", got, filing.PDFImages)
			}
		})
	}
}

// readCounter counts the objects read, by key (an Open that finds
// nothing, as filing's check before it creates one, is not counted).
type readCounter struct {
	filing.Store
	mu    sync.Mutex
	opens []string
}

func (c *readCounter) Open(ctx context.Context, key string) (io.ReadCloser, filing.ObjectInfo, error) {
	rc, info, err := c.Store.Open(ctx, key)
	if err == nil {
		c.mu.Lock()
		c.opens = append(c.opens, key)
		c.mu.Unlock()
	}
	return rc, info, err
}

// opened is how many objects whose key has part in it were read.
func (c *readCounter) opened(part string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.opens {
		if strings.Contains(k, part) {
			n++
		}
	}
	return n
}
