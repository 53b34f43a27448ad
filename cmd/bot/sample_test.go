package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"testing"
)

var updateSample = flag.Bool("update", false, "rewrite testdata/files/chart.png, the README's sample attachment")

// sampleChart draws the sample snapshot's attached chart: three bars.
func sampleChart() []byte {
	img := image.NewPaletted(image.Rect(0, 0, 120, 80), color.Palette{color.White, color.RGBA{0x1f, 0x4e, 0x79, 0xff}, color.Gray{0x60}})
	for x := 10; x < 110; x++ {
		img.SetColorIndex(x, 70, 2) // the axis
	}
	for i, h := range []int{30, 55, 42} {
		for x := 18 + i*32; x < 38+i*32; x++ {
			for y := 70 - h; y < 70; y++ {
				img.SetColorIndex(x, y, 1)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// The README files testdata/thread.json as a newcomer's first record: its
// chart.png is a real PNG of the size the snapshot says, so the record's
// transcript shows an image, not a broken one.
func TestSampleChartIsPNG(t *testing.T) {
	t.Parallel()
	const path = "testdata/files/chart.png"
	if *updateSample {
		if err := os.WriteFile(path, sampleChart(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		t.Errorf("%s is not a PNG: %v (rewrite it with go test ./cmd/bot -run TestSampleChartIsPNG -update)", path, err)
	}
	snap, err := os.ReadFile("testdata/thread.json")
	if err != nil {
		t.Fatal(err)
	}
	var th struct {
		Messages []struct {
			Files []struct {
				Name     string `json:"name"`
				MIMEType string `json:"mime_type"`
				Size     int64  `json:"size"`
			} `json:"files"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(snap, &th); err != nil {
		t.Fatal(err)
	}
	for _, m := range th.Messages {
		for _, f := range m.Files {
			if f.Name == "chart.png" && (f.Size != int64(len(data)) || f.MIMEType != "image/png") {
				t.Errorf("testdata/thread.json says chart.png is %s of %d bytes; the file is image/png of %d", f.MIMEType, f.Size, len(data))
			}
		}
	}
}
