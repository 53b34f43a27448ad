package records_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/miniotest"
	"github.com/recordbot/recordbot/internal/storetest"
)

// stores returns a fresh local store and a fresh S3 store (real MinIO, with
// Object Lock), for tests that must hold for both.
func stores(t *testing.T) map[string]filing.Store {
	t.Helper()
	return map[string]filing.Store{"local": storetest.Local(t), "s3": miniotest.NewStore(t)}
}

// spec is a record to file in a test.
type spec struct {
	title, class, marking string
	by                    string
	people                []string          // authors of the messages, in order
	real                  map[string]string // real names of the people, by display name
	texts                 []string          // message texts
	files                 map[string][]byte
	at                    time.Time // filing time; now when zero
}

// thread builds a snapshot from s; its files open from memory.
func (s spec) thread() *capture.Thread {
	t0 := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	th := &capture.Thread{
		Platform:   capture.Slack,
		Workspace:  capture.Workspace{ID: "T1", Name: "Example Council"},
		Channel:    capture.Channel{ID: "C1", Name: "committee", Kind: "channel"},
		ThreadID:   fmt.Sprint(t0.Unix()),
		Permalink:  "https://example.slack.com/archives/C1/p1",
		CapturedAt: t0.Add(time.Hour),
	}
	texts := s.texts
	if len(texts) == 0 {
		texts = []string{"Agreed."}
	}
	for i, text := range texts {
		who := "alice"
		if len(s.people) > 0 {
			who = s.people[i%len(s.people)]
		}
		th.Messages = append(th.Messages, capture.Message{
			ID: fmt.Sprintf("%d.%06d", t0.Unix(), i), Position: i,
			Author: capture.Person{ID: "U-" + who, DisplayName: who, RealName: s.real[who]},
			Time:   t0.Add(time.Duration(i) * time.Minute), Text: text, ReadableText: text,
		})
	}
	i := 0
	for name, data := range s.files {
		i++
		th.Messages[0].Files = append(th.Messages[0].Files, capture.File{
			ID: fmt.Sprintf("F%d", i), Name: name, MIMEType: "application/octet-stream", Size: int64(len(data)),
			Open: func(ctx context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		})
	}
	return th
}

// testSigner is the deployment's signing key in these tests, derived from
// a fixed secret; testKeys trusts it.
var (
	testSigner = mustSigner("records test deployment secret!!")
	testKeys   = filing.KeyringOf(testSigner)
)

func mustSigner(secret string) *filing.Signer {
	s, err := filing.DeriveSigner([]byte(secret))
	if err != nil {
		panic(err)
	}
	return s
}

// service returns a filing service on st that signs with testSigner;
// after, if set, runs after filing.
func service(t testing.TB, st filing.Store, after func(context.Context, filing.Summary) error) *filing.Service {
	t.Helper()
	svc, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan(), Organisation: "Example Council", AfterFiling: after, Signer: testSigner})
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	return svc
}

// file files s through svc and returns its summary.
func file(t testing.TB, svc *filing.Service, s spec) *filing.Summary {
	t.Helper()
	if s.class == "" {
		s.class = "100-20"
	}
	if s.marking == "" {
		s.marking = "OFFICIAL"
	}
	if s.by == "" {
		s.by = "carol"
	}
	r := filing.Request{
		RequestedBy: capture.Person{ID: "U-" + s.by, DisplayName: s.by},
		Thread:      capture.Ref{Platform: capture.Slack, WorkspaceID: "T1", ChannelID: "C1", ThreadID: "1"},
		Title:       s.title, ClassCode: s.class, Marking: s.marking, Via: "test", RequestedAt: s.at,
	}
	sum, err := svc.FileThread(context.Background(), r, s.thread())
	if err != nil {
		t.Fatalf("FileThread(%q): %v", s.title, err)
	}
	return sum
}
