package mattermost_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/mattermost"
	"github.com/recordbot/recordbot/capture/mattermost/mattermosttest"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		ref       func(w *world) capture.Ref
		requester func(w *world) *model.User
		want      func(w *world) capture.Ref
		wantErr   error
	}{
		{"the root", func(w *world) capture.Ref { return capture.Ref{WorkspaceID: w.team.Id, ThreadID: w.root.Id} }, alice,
			func(w *world) capture.Ref { return w.ref(w.root.Id) }, nil},
		{"a reply names its root", func(w *world) capture.Ref { return capture.Ref{WorkspaceID: w.team.Id, ThreadID: w.replies[1].Id} }, alice,
			func(w *world) capture.Ref { r := w.ref(w.root.Id); r.MessageID = w.replies[1].Id; return r }, nil},
		{"no team given: the channel's", func(w *world) capture.Ref { return capture.Ref{MessageID: w.replies[0].Id} }, bob,
			func(w *world) capture.Ref { r := w.ref(w.root.Id); r.MessageID = w.replies[0].Id; return r }, nil},
		{"requester not in the channel", func(w *world) capture.Ref { return capture.Ref{ThreadID: w.root.Id} }, carol, nil, capture.ErrAccess},
		{"bot not in the channel", func(w *world) capture.Ref {
			return capture.Ref{ThreadID: w.mm.AddPost(w.private, w.alice, nil, "secret").Id}
		}, alice, nil, capture.ErrNotFound},
		{"no such post", func(w *world) capture.Ref { return capture.Ref{ThreadID: mattermosttest.NewID()} }, alice, nil, capture.ErrNotFound},
		{"not a post id", func(w *world) capture.Ref { return capture.Ref{ThreadID: "../../users/me"} }, alice, nil, capture.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			p, err := w.source(t, mattermost.Options{}).Resolve(context.Background(), tc.ref(w), personOf(tc.requester(w)))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || p.Text != "" {
					t.Errorf("Resolve() = %+v, %v; want nothing of the thread and %v", p, err, tc.wantErr)
				}
				if pr, ok := capture.ProblemOf(err); !ok || pr.Advice == "" || strings.Contains(pr.Advice, "mattermost ") {
					t.Errorf("Resolve() = %v, want a Problem with advice for a person", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve() = %v", err)
			}
			if want := tc.want(w); p.Ref != want || p.Text != w.root.Message {
				t.Errorf("Resolve() = %+v, %q; want %+v, %q", p.Ref, p.Text, want, w.root.Message)
			}
		})
	}
}

func alice(w *world) *model.User { return w.alice }
func bob(w *world) *model.User   { return w.bob }
func carol(w *world) *model.User { return w.carol }
