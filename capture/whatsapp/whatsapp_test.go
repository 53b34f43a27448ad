package whatsapp

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
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// zipDir zips the files of testdata/dir as a phone does: flat, deflated.
func zipDir(t testing.TB, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	entries, err := os.ReadDir(filepath.Join("testdata", dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("testdata", dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readBytes reads an export with Read, and checks that Describe finds
// in it what Read does: the same error, or the same thread but for its
// messages, and their counts.
func readBytes(t testing.TB, data []byte, name string, o Options) (*capture.Thread, error) {
	t.Helper()
	th, err := Read(context.Background(), bytes.NewReader(data), int64(len(data)), name, o)
	d, derr := Describe(context.Background(), bytes.NewReader(data), int64(len(data)), name, o)
	if err != nil || derr != nil {
		if fmt.Sprint(derr) != fmt.Sprint(err) {
			t.Errorf("Describe(%s) = %v, want the error of Read: %v", name, derr, err)
		}
		return th, err
	}
	// The stream gives the messages held, and again at each pass.
	held := th.Messages
	for pass := range 2 {
		var streamed []capture.Message
		if err := th.Stream.Each(context.Background(), func(m *capture.Message) error {
			streamed = append(streamed, *m)
			return nil
		}); err != nil {
			t.Fatalf("%s: Thread.Stream.Each (pass %d) = %v", name, pass+1, err)
		}
		if th.Stream.Len() != len(streamed) {
			t.Fatalf("%s: Thread.Stream.Len() = %d, but it gives %d messages", name, th.Stream.Len(), len(streamed))
		}
		if len(streamed) > holdUpTo {
			if held != nil {
				t.Fatalf("%s: Read holds %d messages, want them only streamed (above %d)", name, len(held), holdUpTo)
			}
			th.Messages = streamed // for the checks that follow
			continue
		}
		for i := range max(len(streamed), len(th.Messages)) {
			var held, got []byte
			if i < len(th.Messages) {
				held, _ = json.Marshal(th.Messages[i])
			}
			if i < len(streamed) {
				got, _ = json.Marshal(streamed[i])
			}
			if !bytes.Equal(got, held) {
				t.Fatalf("%s: message %d from Thread.Stream (pass %d) is\n%s\nwant the one held:\n%s", name, i, pass+1, got, held)
			}
		}
	}
	media, omitted := 0, 0
	seen := make(map[string]bool)
	for _, m := range th.Messages {
		for _, f := range m.Files {
			switch {
			case f.Error != "":
				omitted++
			case !seen[f.ContentID]:
				seen[f.ContentID] = true
				media++
			}
		}
	}
	if d.Messages != len(th.Messages) || d.Media != media || d.Omitted != omitted {
		t.Errorf("Describe(%s) = %d messages, %d media, %d omitted; want %d, %d, %d as Read", name, d.Messages, d.Media, d.Omitted, len(th.Messages), media, omitted)
	}
	got, want := *d.Thread, *th
	want.Messages, want.Stream = nil, nil
	gp, wp := *got.Provenance, *want.Provenance
	gp.Original, wp.Original = nil, nil
	if o.SuppliedAt.IsZero() { // each read takes its own time
		got.CapturedAt, gp.SuppliedAt = want.CapturedAt, wp.SuppliedAt
	}
	got.Provenance, want.Provenance = &gp, &wp
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Describe(%s).Thread = %+v\nwant %+v (Read's but its messages)", name, got, want)
	}
	return th, err
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// summary is one message in a line a test can compare: id, author id,
// time in UTC, subtype, readable text and files.
func summary(m capture.Message) string {
	s := fmt.Sprintf("%s %q %s", m.ID, m.Author.ID, m.Time.UTC().Format(time.RFC3339))
	if m.Subtype != "" {
		s += " " + m.Subtype
	}
	if m.Edited != nil {
		s += " edited"
	}
	s += fmt.Sprintf(" %q", m.ReadableText)
	for _, f := range m.Files {
		s += fmt.Sprintf(" [%s %d", f.Name, f.Size)
		if f.Open != nil {
			s += " streamed"
		}
		if f.Error != "" {
			s += " error=" + strings.SplitN(f.Error, ":", 2)[0]
		}
		s += "]"
	}
	return s
}

func TestFixtures(t *testing.T) {
	london := zone(t, "Europe/London")
	ny := zone(t, "America/New_York")
	tests := []struct {
		file  string
		zip   bool
		loc   *time.Location
		order DateOrder
		chat  string
		want  []string
		// wantOrder is the date order taken and the start of its basis.
		wantOrder, basis string
	}{
		{file: "ios-dmy", zip: true, loc: london, chat: "Project Board", wantOrder: "day/month/year", basis: "inferred from the export: the date on line 4", want: []string{
			`L1 "" 2022-12-01T09:00:00Z system "Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them."`,
			`L2 "" 2022-12-01T09:00:05Z system "Alice created group “Project Board”"`,
			`L3 "" 2022-12-01T09:01:00Z system "Alice added Bob"`,
			`L4 "Alice" 2022-12-31T11:40:26Z "Hello"`,
			`L5 "Bob" 2022-12-31T11:41:02Z "Two lines:\nthe second line\n\nand a fourth after an empty one"`,
			`L9 "Alice" 2022-12-31T11:42:00Z "<attached: 00000012-PHOTO-2022-12-31-11-40-26.jpg>" [00000012-PHOTO-2022-12-31-11-40-26.jpg 29 streamed]`,
			`L10 "+447700900123" 2022-12-31T11:43:00Z "Is option B agreed?"`,
			`L11 "Bob" 2022-12-31T11:44:00Z deleted "This message was deleted."`,
			`L12 "Alice" 2022-12-31T11:45:00Z edited "Option B is agreed"`,
			`L13 "Alice" 2022-12-31T11:46:00Z "<attached: 00000013-AUDIO-2022-12-31-11-46-00.opus>" [00000013-AUDIO-2022-12-31-11-46-00.opus 16 streamed]`,
			`L14 "Bob" 2022-12-31T11:46:30Z "<attached: 00000014-PHOTO-2022-12-31-11-46-30.jpg>" [00000014-PHOTO-2022-12-31-11-46-30.jpg -1 error=not in the export]`,
			`L15 "" 2022-12-31T11:47:00Z system "Bob left"`,
		}},
		{file: "ios-mdy-12h.txt", loc: ny, chat: "WhatsApp chat", wantOrder: "month/day/year", basis: "inferred from the export: the date on line 1 has a second field", want: []string{
			`L1 "Alice" 2022-12-31T16:40:26Z "Hello"`,
			`L2 "Bob" 2022-12-31T17:05:00Z "Noon it is"`,
			`L3 "Alice" 2023-01-01T05:00:01Z "Happy new year"`,
			`L4 "Bob" 2023-01-01T18:15:00Z "image omitted" [image -1 error=not exported]`,
			`L5 "Bob" 2023-01-01T18:16:00Z "Budget.pdf • 3 pages document omitted" [Budget.pdf -1 error=not exported]`,
		}},
		{file: "android-dmy", zip: true, loc: london, chat: "Roads Team", wantOrder: "day/month/year", want: []string{
			`L1 "" 2019-10-31T08:59:00Z system "Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them. Tap to learn more."`,
			`L2 "" 2019-10-31T09:00:00Z system "Alice changed the subject from \"Roads\" to \"Roads: budget\""`,
			`L3 "Alice" 2019-10-31T09:01:00Z "IMG-20191031-WA0005.jpg (file attached)\nPhoto of the junction" [IMG-20191031-WA0005.jpg 26 streamed]`,
			`L5 "+447700900123" 2019-10-31T09:02:00Z "Looks good"`,
			`L6 "Bob" 2019-10-31T09:03:00Z "Minutes.pdf (file attached)" [Minutes.pdf 16 streamed]`,
			`L7 "" 2019-10-31T09:04:00Z system "Bob left"`,
		}},
		{file: "android-mdy-12h.txt", loc: london, chat: "WhatsApp chat", wantOrder: "month/day/year", want: []string{
			`L1 "Alice" 2022-12-31T11:40:00Z "Hello"`,
			`L2 "Bob" 2022-12-31T23:41:00Z "<Media omitted>" [media -1 error=not exported]`,
			`L3 "Bob" 2022-12-31T23:42:00Z deleted "This message was deleted"`,
			`L4 "Alice" 2022-12-31T23:43:00Z edited "Fixed"`,
		}},
		{file: "android-dotted.txt", loc: london, wantOrder: "day/month/year", want: []string{
			`L1 "Alice" 2022-12-31T11:40:00Z "Hallo"`,
			`L2 "Bob" 2023-01-01T00:05:00Z "Frohes neues Jahr"`,
		}},
		{file: "android-word.txt", loc: london, wantOrder: "day/month/year", want: []string{
			`L1 "Alice" 2022-12-31T11:40:00Z "Bonjour"`,
			`L2 "Bob" 2023-01-01T00:05:00Z "Bonne année"`,
		}},
		{file: "rtl-marks.txt", loc: london, wantOrder: "day/month/year", want: []string{
			`L1 "דנה" 2022-12-31T11:40:00Z "שלום"`,
			`L2 "Alice" 2022-12-31T11:41:00Z "Hello\nהמשך"`,
		}},
		{file: "order-by-sequence.txt", loc: london, wantOrder: "day/month/year", basis: "inferred from the export: no field is above 12, and only day/month", want: []string{
			`L1 "Alice" 2023-05-06T09:00:00Z "One"`,
			`L2 "Bob" 2023-05-07T09:00:00Z "Two"`,
			`L3 "Alice" 2023-06-01T09:00:00Z "Three"`,
		}},
		{file: "ambiguous.txt", loc: london, order: MDY, wantOrder: "month/day/year", basis: "the export's dates fit both orders, so it was taken from", want: []string{
			`L1 "Alice" 2023-05-06T09:00:00Z "Morning"`,
			`L2 "Bob" 2023-05-06T09:05:00Z "Morning"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var data []byte
			name := tt.file
			if tt.zip {
				data = zipDir(t, tt.file)
				name = "WhatsApp Chat - " + tt.chat + ".zip"
				if tt.file == "android-dmy" {
					name = "export.zip" // the name comes from the chat text inside
				}
			} else {
				data = fixture(t, tt.file)
			}
			supplied := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
			th, err := readBytes(t, data, name, Options{Location: tt.loc, DateOrder: tt.order,
				SuppliedBy: capture.Person{ID: "U1", DisplayName: "Rita Records"}, SuppliedAt: supplied, Via: "test"})
			if err != nil {
				t.Fatalf("Read(%s): %v", tt.file, err)
			}
			var got []string
			for _, m := range th.Messages {
				got = append(got, summary(m))
			}
			if g, w := strings.Join(got, "\n"), strings.Join(tt.want, "\n"); g != w {
				t.Errorf("Read(%s) messages =\n%s\nwant\n%s", tt.file, g, w)
			}
			if tt.chat != "" && th.Channel.Name != tt.chat {
				t.Errorf("Read(%s) chat name = %q, want %q", tt.file, th.Channel.Name, tt.chat)
			}
			if err := th.Validate(); err != nil {
				t.Errorf("Read(%s) snapshot: %v", tt.file, err)
			}
			sum := sha256.Sum256(data)
			p := th.Provenance
			switch {
			case th.Platform != capture.WhatsApp:
				t.Errorf("Platform = %q, want whatsapp", th.Platform)
			case p == nil:
				t.Fatalf("Read(%s) has no provenance", tt.file)
			case p.Kind != capture.UserExport || p.FileSHA256 != hex.EncodeToString(sum[:]) || p.FileName != name || p.FileSize != int64(len(data)):
				t.Errorf("Provenance = %+v, want a user export of %s, %d bytes, sha256 %x", p, name, len(data), sum)
			case p.SuppliedBy.ID != "U1" || !p.SuppliedAt.Equal(supplied) || p.Via != "test":
				t.Errorf("Provenance supplied = %+v at %s via %q, want U1 at %s via test", p.SuppliedBy, p.SuppliedAt, p.Via, supplied)
			case len(p.Assumptions) != 2 || p.Assumptions[0].Value != tt.wantOrder || !strings.HasPrefix(p.Assumptions[0].Basis, tt.basis):
				t.Errorf("Assumptions = %+v, want date order %q on the basis %q...", p.Assumptions, tt.wantOrder, tt.basis)
			case p.Assumptions[1].Value != tt.loc.String():
				t.Errorf("time zone assumption = %+v, want %s", p.Assumptions[1], tt.loc)
			}
			if th.ThreadID != p.FileSHA256 {
				t.Errorf("ThreadID = %q, want the export's SHA-256", th.ThreadID)
			}
			// The original streams back byte for byte.
			rc, err := p.Original.Open(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			orig, _ := io.ReadAll(rc)
			if !bytes.Equal(orig, data) {
				t.Errorf("Original streams %d bytes, want the %d of the export", len(orig), len(data))
			}
			if files := th.Files(); files[0] != p.Original {
				t.Errorf("Thread.Files() does not start with the original export")
			}
		})
	}
}

// Media stream from the zip with their content; files no message names
// are listed in the provenance notes.
func TestMediaContentAndUnreferenced(t *testing.T) {
	data := zipDir(t, "android-dmy")
	th, err := readBytes(t, data, "export.zip", Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	f := th.Messages[2].Files[0]
	rc, err := f.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if want := fixture(t, "android-dmy/IMG-20191031-WA0005.jpg"); !bytes.Equal(got, want) {
		t.Errorf("media content = %q, want %q", got, want)
	}
	if f.MIMEType != "image/jpeg" {
		t.Errorf("MIMEType = %q, want image/jpeg", f.MIMEType)
	}
	notes := strings.Join(th.Provenance.Notes, "\n")
	if !strings.Contains(notes, "notes-unreferenced.bin") {
		t.Errorf("Notes = %q, want the file no message names", notes)
	}
}

// A .txt export of a chat with media says each attached file is not in
// what was supplied, rather than dropping it.
func TestTextOnlyExportListsMedia(t *testing.T) {
	data := fixture(t, "android-dmy/WhatsApp Chat with Roads Team.txt")
	th, err := readBytes(t, data, "WhatsApp Chat with Roads Team.txt", Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if th.Channel.Name != "Roads Team" {
		t.Errorf("chat name = %q, want Roads Team", th.Channel.Name)
	}
	f := th.Messages[2].Files
	if len(f) != 1 || f[0].Open != nil || !strings.Contains(f[0].Error, "only the chat text was supplied") {
		t.Errorf("files of a text-only export = %+v, want one listed as not supplied", f)
	}
}

func TestDateOrder(t *testing.T) {
	amb := fixture(t, "ambiguous.txt")
	_, err := readBytes(t, amb, "a.txt", Options{Location: time.UTC})
	if !errors.Is(err, ErrDateOrder) || !strings.Contains(err.Error(), "dmy for 31/12/2022") {
		t.Errorf("ambiguous dates without an option: err = %v, want ErrDateOrder asking for dmy or mdy", err)
	}
	dmy := fixture(t, "android-dotted.txt")
	_, err = readBytes(t, dmy, "a.txt", Options{Location: time.UTC, DateOrder: MDY})
	if !errors.Is(err, ErrDateOrder) || !strings.Contains(err.Error(), "line 1 cannot be month/day/year") {
		t.Errorf("mdy option on a dmy export: err = %v, want the contradiction named", err)
	}
	th, err := readBytes(t, dmy, "a.txt", Options{Location: time.UTC, DateOrder: DMY})
	if err != nil || th.Messages[0].Time.Month() != time.December {
		t.Errorf("dmy option on a dmy export: %v", err)
	}
	mixed := []byte("31/12/2022, 10:00 - A: x\n12/31/2022, 10:00 - B: y\n")
	if _, err = readBytes(t, mixed, "a.txt", Options{Location: time.UTC}); !errors.Is(err, ErrDateOrder) {
		t.Errorf("dates fitting neither order: err = %v, want ErrDateOrder", err)
	}
	ymd := []byte("2022-12-31 10:00 - A: x\n2023-01-02 10:00 - B: y\n")
	th, err = readBytes(t, ymd, "a.txt", Options{Location: time.UTC})
	if err != nil || th.Messages[1].Time.Format(time.DateOnly) != "2023-01-02" {
		t.Errorf("year-first dates: %v", err)
	}
	if _, err := ParseDateOrder("ydm"); err == nil {
		t.Errorf("ParseDateOrder(ydm) = nil error, want one")
	}
}

// Times are the phone's local time: the zone given turns them into
// instants, over daylight saving changes too.
func TestTimeZone(t *testing.T) {
	data := []byte("01/07/2023, 12:00 - Alice: summer\n01/12/2023, 12:00 - Alice: winter\n")
	th, err := readBytes(t, data, "a.txt", Options{Location: zone(t, "Europe/London"), LocationBasis: "given with --timezone", DateOrder: DMY})
	if err != nil {
		t.Fatal(err)
	}
	if got := th.Messages[0].Time.UTC().Format(time.RFC3339); got != "2023-07-01T11:00:00Z" {
		t.Errorf("summer time = %s, want 2023-07-01T11:00:00Z", got)
	}
	if got := th.Messages[1].Time.UTC().Format(time.RFC3339); got != "2023-12-01T12:00:00Z" {
		t.Errorf("winter time = %s, want 2023-12-01T12:00:00Z", got)
	}
	if b := th.Provenance.Assumptions[1].Basis; !strings.Contains(b, "given with --timezone") {
		t.Errorf("time zone basis = %q, want the basis given", b)
	}
	if _, err := readBytes(t, data, "a.txt", Options{}); err == nil {
		t.Errorf("Read without a time zone: nil error, want one")
	}
}

// A front end's kept export is captured again for the filing worker, by
// the person who supplied it only, and only while it is unchanged.
func TestSource(t *testing.T) {
	data := zipDir(t, "android-dmy")
	rita := capture.Person{ID: "U1", DisplayName: "Rita"}
	o := Options{Location: time.UTC, SuppliedBy: rita, SuppliedAt: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), Via: "slack dm"}
	first, err := readBytes(t, data, "export.zip", o)
	if err != nil {
		t.Fatal(err)
	}
	kept := data
	src := Source{Open: func(ctx context.Context, ref capture.Ref) (Export, error) {
		if ref.ThreadID != first.ThreadID {
			return Export{}, capture.ErrNotFound
		}
		return Export{R: bytes.NewReader(kept), Size: int64(len(kept)), Name: "export.zip", Options: o}, nil
	}}
	ref := capture.Ref{Platform: capture.WhatsApp, ChannelID: first.Channel.ID, ThreadID: first.ThreadID}
	th, err := src.Capture(context.Background(), ref, rita)
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	if th.ThreadID != first.ThreadID || len(th.Messages) != len(first.Messages) || !th.Provenance.SuppliedAt.Equal(first.Provenance.SuppliedAt) {
		t.Errorf("Capture = %s, %d messages, supplied %s; want the export as first read", th.ThreadID, len(th.Messages), th.Provenance.SuppliedAt)
	}
	for _, tc := range []struct {
		name      string
		kept      []byte
		requester capture.Person
		ref       capture.Ref
		kind      capture.Kind
		advice    string
	}{
		{"by another person", data, capture.Person{ID: "U2"}, ref, capture.NoAccess, "only the person who sent the export can file it"},
		{"no longer kept", data, rita, capture.Ref{Platform: capture.WhatsApp, ThreadID: "gone"}, capture.NotFound, "the export is no longer kept: send it to me again"},
		{"damaged since", append(bytes.Clone(data[:len(data)-1]), data[len(data)-1]^1), rita, ref, capture.BadExport,
			"the copy of the export I kept can no longer be read: send the export again"},
		{"another export under the same ref", zipDir(t, "ios-dmy"), rita, ref, capture.BadExport, "the copy of the export I kept has changed: send the export again"},
	} {
		kept = tc.kept
		_, err := src.Capture(context.Background(), tc.ref, tc.requester)
		p, ok := capture.ProblemOf(err)
		if !ok || p.Kind != tc.kind || p.Advice != tc.advice {
			t.Errorf("Capture %s: err = %v, want a %s problem advising %q", tc.name, err, tc.kind, tc.advice)
		}
	}
}

// A refused export is a bad-export problem whose advice is the reason.
func TestErrorIsProblem(t *testing.T) {
	_, err := readBytes(t, []byte("hello"), "notes.txt", Options{Location: time.UTC})
	var we *Error
	p, ok := capture.ProblemOf(fmt.Errorf("import: %w", err))
	if !errors.As(err, &we) || !ok || p.Kind != capture.BadExport || p.Advice != we.Msg || !errors.Is(err, capture.ErrBadExport) {
		t.Errorf("ProblemOf(%v) = %+v, %v; want a bad export advising %q", err, p, ok, we.Msg)
	}
}

// readLines ends a line at "\n", "\r\n" or a lone "\r", a line longer
// than its buffer too, and finds the first line that is not UTF-8.
func TestReadLines(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	for _, c := range []struct {
		text string
		want []string
		bad  int
	}{
		{"", nil, 0},
		{"a", []string{"a"}, 0},
		{"a\n", []string{"a"}, 0},
		{"a\nb", []string{"a", "b"}, 0},
		{"a\r\nb\r\n", []string{"a", "b"}, 0},
		{"a\rb\r", []string{"a", "b"}, 0},
		{"\r", []string{""}, 0},
		{"\n\n", []string{"", ""}, 0},
		{"a\r\r\n", []string{"a", ""}, 0},
		{"a\r\r", []string{"a", ""}, 0},
		{"a\n\rb", []string{"a", "", "b"}, 0},
		{long + "\r\n" + long + "\rc", []string{long, long, "c"}, 0},
		{"a\nb\xff\nc", []string{"a", "b\xff", "c"}, 2},
		{"a\rb\xff\nc", []string{"a", "b\xff", "c"}, 1},
	} {
		var got []string
		bad, err, readErr := readLines(strings.NewReader(c.text), func(no int, ln string) error {
			if no != len(got)+1 {
				t.Errorf("readLines(%.20q) gave line %d as number %d", c.text, len(got)+1, no)
			}
			got = append(got, ln)
			return nil
		})
		if err != nil || readErr != nil || bad != c.bad || !reflect.DeepEqual(got, c.want) {
			t.Errorf("readLines(%.20q) = %.40q, bad line %d, %v, %v; want %.40q, bad line %d", c.text, got, bad, err, readErr, c.want, c.bad)
		}
	}
}

// Read reads the chat text twice, to count its messages and then to make
// them: a text that changed in between is refused, not read in part.
func TestReadTextChanged(t *testing.T) {
	texts := []string{
		"13/06/2023, 10:00 - Alice: Morning\n13/06/2023, 10:01 - Bob: Hello\n",
		"13/06/2023, 10:00 - Alice: Morning\n13/06/2023, 10:01 - Bob: Hello\n13/06/2023, 10:02 - Bob: More\n",
		"13/06/2023, 10:00 - Alice: Morning\n",
	}
	for _, second := range texts[1:] {
		calls := 0
		open := func() (io.ReadCloser, error) {
			calls++
			if calls == 1 {
				return io.NopCloser(strings.NewReader(texts[0])), nil
			}
			return io.NopCloser(strings.NewReader(second)), nil
		}
		_, _, err := parse(context.Background(), open, nil, Options{Location: time.UTC}, true)
		if !errors.Is(err, ErrDamaged) {
			t.Errorf("parse() of a text that became %q = %v, want %v", second, err, ErrDamaged)
		}
	}
}
