package mattermost

import (
	"cmp"
	"context"
	"fmt"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/capture"
)

var _ capture.Resolver = (*Source)(nil)

// adviceUnseen is a post the bot cannot read, or that does not exist:
// Mattermost does not say which.
const adviceUnseen = "recordbot cannot see that message: if it is in a private channel, add recordbot to it first"

// Resolve implements capture.Resolver: it finds the thread of the post
// ref names (ref.MessageID, else ref.ThreadID; any post of the thread will
// do), checks that the bot and requester are members of its channel, and
// only then returns the root post's text. A post the bot cannot read, or
// that does not exist, fails with capture.ErrNotFound; the bot outside the
// channel with capture.ErrBotNotInChannel; the requester outside it with
// capture.ErrAccess. The returned Ref keeps ref's WorkspaceID, or takes
// the channel's team when ref has none.
func (s *Source) Resolve(ctx context.Context, ref capture.Ref, requester capture.Person) (capture.Preview, error) {
	postID := cmp.Or(ref.MessageID, ref.ThreadID)
	if !model.IsValidId(postID) {
		return capture.Preview{}, &capture.Problem{Kind: capture.NotFound, Advice: adviceUnseen,
			Err: fmt.Errorf("mattermost post %q: not a post id", postID)}
	}
	post, resp, err := s.api.GetPost(ctx, postID, "")
	if err != nil {
		if st := httpStatus(resp, err); st == http.StatusNotFound || st == http.StatusForbidden {
			return capture.Preview{}, &capture.Problem{Kind: capture.NotFound, Advice: adviceUnseen,
				Err: fmt.Errorf("mattermost post %s: the bot cannot see it: %w", postID, err)}
		}
		return capture.Preview{}, s.apiError(ref, "read the post", resp, err)
	}
	root := post
	if post.RootId != "" {
		if root, resp, err = s.api.GetPost(ctx, post.RootId, ""); err != nil {
			return capture.Preview{}, s.apiError(ref, "read the thread's root post", resp, err)
		}
	}
	out := capture.Ref{Platform: capture.Mattermost, WorkspaceID: ref.WorkspaceID, ChannelID: root.ChannelId, ThreadID: root.Id, Server: s.server}
	if postID != root.Id {
		out.MessageID = postID
	}
	if err := s.members(ctx, out, root.ChannelId, requester); err != nil {
		return capture.Preview{}, err
	}
	if out.WorkspaceID == "" {
		if ch, _, err := s.api.GetChannel(ctx, root.ChannelId); err == nil {
			out.WorkspaceID = ch.TeamId
		}
	}
	return capture.Preview{Ref: out, Text: root.Message}, nil
}
