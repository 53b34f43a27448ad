package filing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/recordbot/recordbot/capture"
)

// sliceStream gives messages from a slice as a capture.MessageStream,
// counting its passes: a thread read as a long WhatsApp chat is.
type sliceStream struct {
	msgs   []capture.Message
	passes int
}

func (s *sliceStream) Len() int { return len(s.msgs) }

func (s *sliceStream) Each(ctx context.Context, fn func(m *capture.Message) error) error {
	s.passes++
	for _, m := range s.msgs {
		if err := fn(&m); err != nil {
			return err
		}
	}
	return nil
}

// streamed returns t with its messages only as a stream.
func streamed(t *capture.Thread) (*capture.Thread, *sliceStream) {
	s := &sliceStream{msgs: t.Messages}
	st := *t
	st.Messages, st.Stream = nil, s
	return &st, s
}

// The snapshot and the transcripts of a thread given as a stream are
// those of the same thread held, byte for byte, the PDF (fed the head of
// the stream) included, for a thread longer than a PDF shows.
func TestStreamedTranscriptsAsHeld(t *testing.T) {
	ctx := context.Background()
	held, _ := longThread(pdfMessages + 300)
	// The images are not loaded: fpdf numbers the objects of images in an
	// order of its own, which differs from one run to the next.
	load := func(_ context.Context, path string) ([]byte, error) {
		return nil, errors.New("not loaded")
	}
	rec := testRecord(held)
	st, passes := streamed(held)

	want, err := json.MarshalIndent(held, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	n := 0
	if err := writeThreadJSON(ctx, &got, st, func(*capture.Message) { n++ }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) || n != len(held.Messages) {
		t.Errorf("writeThreadJSON(stream) differs from json.MarshalIndent of the messages held (%d messages seen of %d)", n, len(held.Messages))
	}

	var wantHTML, wantText, gotHTML, gotText bytes.Buffer
	if err := renderHTML(&wantHTML, rec, held, nil); err != nil {
		t.Fatal(err)
	}
	if err := renderText(&wantText, rec, held, nil); err != nil {
		t.Fatal(err)
	}
	before := passes.passes
	if err := renderTranscripts(ctx, st, &htmlTranscript{&gotHTML, rec, nil}, newTextTranscript(&gotText, rec, nil)); err != nil {
		t.Fatal(err)
	}
	if passes.passes != before+1 {
		t.Errorf("the HTML and text transcripts took %d passes over the stream, want 1", passes.passes-before)
	}
	if !bytes.Equal(gotHTML.Bytes(), wantHTML.Bytes()) {
		t.Errorf("HTML transcript of the stream differs from that of the messages held")
	}
	if !bytes.Equal(gotText.Bytes(), wantText.Bytes()) {
		t.Errorf("text transcript of the stream differs from that of the messages held")
	}

	wantPDF, err := pdfBytes(ctx, rec, held, nil, load)
	if err != nil {
		t.Fatal(err)
	}
	head, err := pdfHead(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(head.Messages) > pdfMessages+1 || head.Len() != len(held.Messages) {
		t.Errorf("pdfHead holds %d messages of %d (Len %d), want at most %d", len(head.Messages), len(held.Messages), head.Len(), pdfMessages+1)
	}
	gotPDF, err := pdfBytes(ctx, rec, head, nil, load)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotPDF, wantPDF) {
		t.Errorf("PDF of the stream's head differs from the PDF of the messages held")
	}
}

// Files missing from a record are shown so in the transcripts of a
// stream as of a thread held.
func TestWithMissingStreamed(t *testing.T) {
	held, _ := longThread(60)
	missing := []MissingFile{{Path: "data/files/010_chart.png", Reason: "deleted from Slack after the thread was captured"}}
	st, _ := streamed(held)
	rec := testRecord(held)
	var want, got bytes.Buffer
	if err := renderText(&want, rec, withMissing(held, missing), nil); err != nil {
		t.Fatal(err)
	}
	if err := renderText(&got, rec, withMissing(st, missing), nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) || !bytes.Contains(got.Bytes(), []byte("[file not captured] chart 10.png deleted from Slack after")) {
		t.Errorf("text transcript of a stream with a file missing =\n%s\nwant\n%s", got.Bytes(), want.Bytes())
	}
	if held.Messages[10].Files[0].Path == "" {
		t.Errorf("withMissing changed the thread it was given")
	}
}

// oneObject is a store holding one object, that can only be read.
type oneObject struct {
	Store
	key  string
	data []byte
}

func (o oneObject) Open(_ context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	if key != o.key {
		return nil, ObjectInfo{}, ErrNotExist
	}
	return io.NopCloser(bytes.NewReader(o.data)), ObjectInfo{Key: key, Size: int64(len(o.data))}, nil
}

// A stored snapshot is read back with its messages as a stream, not
// held, which gives them as stored at each pass; one damaged fails.
func TestReadThreadStreams(t *testing.T) {
	ctx := context.Background()
	th, _ := longThread(300)
	th.Provenance = &capture.Provenance{Kind: capture.UserExport, FileName: "x.zip", Notes: []string{"a"}}
	data, err := json.MarshalIndent(th, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	f := &filer{store: oneObject{key: "r/" + ThreadFile, data: data}}
	stored, err := f.readThread(ctx, "r/"+ThreadFile)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Messages != nil || stored.Stream == nil || stored.Len() != 300 || stored.Provenance.FileName != "x.zip" || stored.ThreadID != th.ThreadID {
		t.Fatalf("readThread = %d messages held, stream %v of %d, provenance %+v; want 300 streamed and the thread's fields", len(stored.Messages), stored.Stream != nil, stored.Len(), stored.Provenance)
	}
	for range 2 {
		var got bytes.Buffer
		if err := writeThreadJSON(ctx, &got, stored, nil); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), data) {
			t.Fatalf("the stored snapshot read back and written again differs from it")
		}
	}
	f.store = oneObject{key: "r/" + ThreadFile, data: data[:len(data)/2]}
	if _, err := f.readThread(ctx, "r/"+ThreadFile); err == nil {
		t.Errorf("readThread(half a snapshot) = nil error, want one")
	}
	// Changed under the stream (a store cannot, but a stream checks).
	f.store = oneObject{key: "r/" + ThreadFile, data: data}
	stored, _ = f.readThread(ctx, "r/"+ThreadFile)
	th.Messages = th.Messages[:299]
	less, _ := json.Marshal(th)
	stored.Stream.(*storedMessages).open = func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(less)), nil
	}
	if err := stored.Each(ctx, func(*capture.Message) error { return nil }); err == nil {
		t.Errorf("a stored snapshot that lost a message reads without error")
	}
}
