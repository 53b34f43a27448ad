package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/recordbot/recordbot/capture"
)

// Export is an export a front end has kept until it is filed: a person
// sent it to the bot, and the filing worker reads it again, after a
// restart too.
type Export struct {
	// R reads the export. It must serve reads until the record is filed
	// and need no closing: ranged reads of a stored object do.
	R    io.ReaderAt
	Size int64
	// Name is the file's name as the person sent it.
	Name string
	// SHA256 is the SHA-256 the export had when it was kept: the export
	// read must still have it. When empty, ref.ThreadID is taken as it.
	SHA256 string
	// Options are those the export was first read with (the supplier,
	// when, the time zone and date order): the same on every attempt.
	Options Options
}

// Source captures WhatsApp threads for the filing worker from exports a
// front end keeps, so that a filing request for an export is carried out
// like one for a Slack or Mattermost thread: register it in
// capture.Sources under capture.WhatsApp.
type Source struct {
	// Open returns the export ref names: ref.ThreadID is the front end's
	// id for the export as kept (its SHA-256, as Read sets
	// Thread.ThreadID, or one that names its sender too), and
	// Export.SHA256 its SHA-256. It fails with an error matching
	// capture.ErrNotFound when the export is no longer kept.
	Open func(ctx context.Context, ref capture.Ref) (Export, error)
}

var _ capture.Source = Source{}

// Capture implements capture.Source. Only the person who supplied an
// export may file it.
func (s Source) Capture(ctx context.Context, ref capture.Ref, requester capture.Person) (*capture.Thread, error) {
	if ref.Platform != capture.WhatsApp {
		return nil, fmt.Errorf("capture %s: not a WhatsApp export", ref)
	}
	e, err := s.Open(ctx, ref)
	if err != nil {
		if errors.Is(err, capture.ErrNotFound) {
			return nil, &capture.Problem{Kind: capture.NotFound, Advice: "the export is no longer kept: send it to me again",
				Err: fmt.Errorf("open the export %s: %w", ref, err)}
		}
		return nil, fmt.Errorf("open the export %s: %w", ref, err)
	}
	if e.Options.SuppliedBy.ID != requester.ID {
		return nil, &capture.Problem{Kind: capture.NoAccess, Advice: "only the person who sent the export can file it",
			Err: fmt.Errorf("the export %s was supplied by %s, not %s", ref, e.Options.SuppliedBy.ID, requester.ID)}
	}
	t, err := Read(ctx, e.R, e.Size, e.Name, e.Options)
	if err != nil {
		var we *Error
		if errors.As(err, &we) {
			// It was read once before the request was accepted: the
			// kept copy is no longer the export.
			return nil, &capture.Problem{Kind: capture.BadExport, Advice: "the copy of the export I kept can no longer be read: send the export again",
				Err: fmt.Errorf("the export %s as kept cannot be read: %w", ref, err)}
		}
		return nil, err
	}
	want := e.SHA256
	if want == "" {
		want = ref.ThreadID
	}
	if t.ThreadID != want {
		return nil, &capture.Problem{Kind: capture.BadExport, Advice: "the copy of the export I kept has changed: send the export again",
			Err: fmt.Errorf("the export kept for %s has changed (its SHA-256 is now %s)", ref, t.ThreadID)}
	}
	return t, nil
}
