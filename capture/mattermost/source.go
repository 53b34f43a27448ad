// Package mattermost captures Mattermost threads as capture.Thread
// snapshots, through the REST API v4 with the bot's access token: the whole
// thread (paged), its authors and reactors (resolved in batches), the
// channel and team names, edits, reactions, message attachment text,
// permalinks and files, whose content is streamed when the record is
// written rather than read into memory. Before a filing form opens,
// Resolve (capture.Resolver) checks that the bot and the person may file a
// thread and gives its first post, for a suggested title.
//
// Mattermost types stop here: callers get capture types back (a test in
// package capture keeps it so).
package mattermost

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/mattermost/mmhttp"
)

// Options configure a Source.
type Options struct {
	// URL is the Mattermost server, such as https://chat.example.org.
	URL string
	// Token is the bot account's access token.
	Token string
	// Transport carries the HTTP requests; http.DefaultTransport when nil.
	Transport http.RoundTripper
	Logger    *slog.Logger
	// PageSize is how many replies one thread request asks for (default
	// and maximum MaxPageSize).
	PageSize int
	// UserBatch is how many users one /users/ids request resolves
	// (default 100).
	UserBatch int
	// MaxRetries is how often a request answered with HTTP 429 is retried
	// (default 8); MaxWait is the longest wait one retry makes (default 1
	// minute). A longer Retry-After, or more 429s than MaxRetries, ends the
	// call with a *capture.RateLimitError, so the filing is rescheduled
	// rather than failed.
	MaxRetries int
	MaxWait    time.Duration
	// Sleep waits between retries; tests replace it. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for CapturedAt; time.Now when nil.
	Now func() time.Time
}

// Source captures threads from one Mattermost server. It implements
// capture.Source and is safe for concurrent use.
type Source struct {
	server    string
	token     string
	api       *model.Client4
	http      *http.Client
	log       *slog.Logger
	pageSize  int
	userBatch int
	now       func() time.Time
}

var _ capture.Source = (*Source)(nil)

// New returns a Source for the server and bot token in o.
func New(o Options) (*Source, error) {
	server, err := NormalizeURL(o.URL)
	if err != nil {
		return nil, err
	}
	if o.Token == "" {
		return nil, errors.New("mattermost: no bot access token")
	}
	s := &Source{
		server:    server,
		token:     o.Token,
		log:       o.Logger,
		pageSize:  min(cmp.Or(o.PageSize, MaxPageSize), MaxPageSize),
		userBatch: cmp.Or(o.UserBatch, 100),
		now:       o.Now,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.http = mmhttp.NewClient(o.Transport, o.MaxRetries, o.MaxWait, o.Sleep)
	s.api = model.NewAPIv4Client(server)
	s.api.HTTPClient = s.http
	s.api.SetToken(o.Token)
	return s, nil
}

// MaxPageSize is the most posts Mattermost answers in one page: the
// server's web.PerPageMaximum (200 in 6.x and later); a larger perPage on
// GET /posts/{id}/thread is refused with HTTP 400.
const MaxPageSize = 200

// NormalizeURL checks a server URL and returns it without a trailing slash.
func NormalizeURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("mattermost: server URL %q: want http(s)://host[:port]", raw)
	}
	u.RawQuery, u.Fragment = "", ""
	return strings.TrimRight(u.String(), "/"), nil
}

// Server returns the server URL, without a trailing slash.
func (s *Source) Server() string { return s.server }

// Capture implements capture.Source: it snapshots the thread of
// ref.ThreadID (any post of the thread will do) after checking that both the
// bot and requester are members of its channel.
func (s *Source) Capture(ctx context.Context, ref capture.Ref, requester capture.Person) (*capture.Thread, error) {
	if ref.Platform != capture.Mattermost {
		return nil, fmt.Errorf("mattermost capture of %s: not a Mattermost thread", ref)
	}
	if ref.Server != "" {
		if srv, err := NormalizeURL(ref.Server); err != nil || srv != s.server {
			return nil, fmt.Errorf("mattermost capture of %s: the thread is on %s, this bot serves %s", ref, ref.Server, s.server)
		}
	}
	if !model.IsValidId(ref.ThreadID) {
		return nil, &capture.Problem{Kind: capture.NotFound, Advice: adviceGone,
			Err: fmt.Errorf("mattermost capture of %s: %q is not a post id", ref, ref.ThreadID)}
	}
	post, resp, err := s.api.GetPost(ctx, ref.ThreadID, "")
	if err != nil {
		return nil, s.apiError(ref, "read the post", resp, err)
	}
	if ref.ChannelID != "" && post.ChannelId != ref.ChannelID {
		return nil, &capture.Problem{Kind: capture.NotFound, Advice: adviceGone,
			Err: fmt.Errorf("mattermost capture of %s: the post is in channel %s", ref, post.ChannelId)}
	}
	rootID := post.Id
	if post.RootId != "" {
		rootID = post.RootId
	}
	ch, resp, err := s.api.GetChannel(ctx, post.ChannelId)
	if err != nil {
		return nil, s.apiError(ref, "read the channel", resp, err)
	}
	if err := s.members(ctx, ref, ch.Id, requester); err != nil {
		return nil, err
	}
	teamID := cmp.Or(ch.TeamId, ref.WorkspaceID)
	var team *model.Team
	if teamID != "" {
		team, resp, err = s.api.GetTeam(ctx, teamID, "")
		if err != nil {
			return nil, s.apiError(ref, "read the team", resp, err)
		}
	}
	posts, err := s.thread(ctx, ref, rootID)
	if err != nil {
		return nil, err
	}
	if err := s.fillMetadata(ctx, ref, posts); err != nil {
		return nil, err
	}
	people, err := s.people(ctx, ref, posts, requester)
	if err != nil {
		return nil, err
	}

	t := &capture.Thread{
		SchemaVersion: capture.SchemaVersion,
		Platform:      capture.Mattermost,
		Workspace:     capture.Workspace{ID: teamID, Domain: s.server},
		Channel: capture.Channel{
			ID:      ch.Id,
			Name:    cmp.Or(ch.DisplayName, ch.Name),
			Private: ch.Type != model.ChannelTypeOpen,
			Kind:    channelKind(ch.Type),
		},
		ThreadID:   rootID,
		CapturedAt: s.now().UTC(),
	}
	teamName := ""
	if team != nil {
		t.Workspace.Name = cmp.Or(team.DisplayName, team.Name)
		teamName = team.Name
	}
	t.Permalink = Permalink(s.server, teamName, rootID)
	person := func(id string) capture.Person {
		if p, ok := people[id]; ok {
			return p
		}
		return capture.Person{ID: id}
	}
	for i, p := range posts {
		m := capture.Message{
			ID:           p.Id,
			Position:     i,
			Author:       person(p.UserId),
			Time:         millis(p.CreateAt),
			Text:         p.Message,
			ReadableText: readable(p),
			Permalink:    Permalink(s.server, teamName, p.Id),
			Subtype:      p.Type,
		}
		if p.EditAt > 0 {
			m.Edited = &capture.Edit{At: millis(p.EditAt)}
		}
		if p.Metadata != nil {
			m.Reactions = reactions(p.Metadata.Reactions, person)
			m.Files = s.files(p)
		}
		t.Messages = append(t.Messages, m)
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("mattermost capture of %s: %w", ref, err)
	}
	s.log.Info("captured mattermost thread", "thread", ref.String(), "messages", len(t.Messages), "files", len(t.Files()))
	return t, nil
}

// members checks that the bot and requester are both members of channel.
func (s *Source) members(ctx context.Context, ref capture.Ref, channel string, requester capture.Person) error {
	if _, resp, err := s.api.GetChannelMember(ctx, channel, "me", ""); err != nil {
		if st := httpStatus(resp, err); st == http.StatusNotFound || st == http.StatusForbidden {
			return &capture.Problem{Kind: capture.BotNotInChannel, Advice: adviceInvite,
				Err: fmt.Errorf("mattermost capture of %s: the bot is not a member of channel %s: %w", ref, channel, err)}
		}
		return s.apiError(ref, "check the bot's channel membership", resp, err)
	}
	if requester.ID == "" {
		return &capture.Problem{Kind: capture.NoAccess, Advice: adviceMembers,
			Err: fmt.Errorf("mattermost capture of %s: no requester", ref)}
	}
	if _, resp, err := s.api.GetChannelMember(ctx, channel, requester.ID, ""); err != nil {
		if st := httpStatus(resp, err); st == http.StatusNotFound || st == http.StatusForbidden {
			return &capture.Problem{Kind: capture.NoAccess, Advice: adviceMembers,
				Err: fmt.Errorf("mattermost capture of %s: %s is not a member of channel %s: %w", ref, requester.ID, channel, err)}
		}
		return s.apiError(ref, "check the requester's channel membership", resp, err)
	}
	return nil
}

// thread reads every post of the thread rooted at rootID, a page at a
// time, oldest first, and returns them root first in thread order.
func (s *Source) thread(ctx context.Context, ref capture.Ref, rootID string) ([]*model.Post, error) {
	opts := model.GetPostsOptions{PerPage: s.pageSize, Direction: "down"}
	seen := make(map[string]bool)
	var posts []*model.Post
	for {
		pl, resp, err := s.api.GetPostThreadWithOpts(ctx, rootID, "", opts)
		if err != nil {
			if httpStatus(resp, err) == http.StatusBadRequest && strings.Contains(appErrMessage(err), "perPage") {
				return nil, fmt.Errorf("mattermost capture of %s: read the thread: the server refused %d posts per page (Mattermost allows at most %d; this server allows fewer): %w", ref, opts.PerPage, MaxPageSize, err)
			}
			return nil, s.apiError(ref, "read the thread", resp, err)
		}
		var last *model.Post
		added := 0
		for _, id := range pl.Order {
			p := pl.Posts[id]
			if p == nil || (p.Id != rootID && p.RootId != rootID) {
				continue
			}
			if last == nil || later(p, last) {
				last = p
			}
			if seen[p.Id] {
				continue
			}
			seen[p.Id] = true
			posts = append(posts, p)
			added++
		}
		// Servers without thread paging answer everything at once and
		// leave has_next out.
		if pl.HasNext == nil || !*pl.HasNext || added == 0 || last == nil {
			break
		}
		opts.FromPost, opts.FromCreateAt = last.Id, last.CreateAt
	}
	slices.SortFunc(posts, func(a, b *model.Post) int {
		switch {
		case a.Id == rootID:
			return -1
		case b.Id == rootID:
			return 1
		}
		return cmp.Or(cmp.Compare(a.CreateAt, b.CreateAt), strings.Compare(a.Id, b.Id))
	})
	if len(posts) == 0 || posts[0].Id != rootID {
		return nil, &capture.Problem{Kind: capture.NotFound, Advice: adviceGone,
			Err: fmt.Errorf("mattermost capture of %s: the thread's root post is missing", ref)}
	}
	return posts, nil
}

// later reports whether a comes after b in thread order.
func later(a, b *model.Post) bool {
	return a.CreateAt > b.CreateAt || (a.CreateAt == b.CreateAt && a.Id > b.Id)
}

// fillMetadata fetches reactions and file infos for posts the thread
// answer did not carry them for (older servers, or metadata left out).
func (s *Source) fillMetadata(ctx context.Context, ref capture.Ref, posts []*model.Post) error {
	for _, p := range posts {
		if p.Metadata == nil {
			p.Metadata = &model.PostMetadata{}
		}
		if p.HasReactions && len(p.Metadata.Reactions) == 0 {
			rs, resp, err := s.api.GetReactions(ctx, p.Id)
			if err != nil {
				return s.apiError(ref, "read reactions", resp, err)
			}
			p.Metadata.Reactions = rs
		}
		if len(p.FileIds) > 0 && len(p.Metadata.Files) == 0 {
			fs, resp, err := s.api.GetFileInfosForPost(ctx, p.Id, "")
			if err != nil {
				return s.apiError(ref, "read file infos", resp, err)
			}
			p.Metadata.Files = fs
		}
	}
	return nil
}

// people resolves every author and reactor, in batches.
func (s *Source) people(ctx context.Context, ref capture.Ref, posts []*model.Post, requester capture.Person) (map[string]capture.Person, error) {
	var ids []string
	seen := make(map[string]bool)
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, p := range posts {
		add(p.UserId)
		if p.Metadata != nil {
			for _, r := range p.Metadata.Reactions {
				add(r.UserId)
			}
		}
	}
	out := make(map[string]capture.Person, len(ids))
	for batch := range slices.Chunk(ids, s.userBatch) {
		users, resp, err := s.api.GetUsersByIds(ctx, batch)
		if err != nil {
			return nil, s.apiError(ref, "resolve users", resp, err)
		}
		for _, u := range users {
			out[u.Id] = personOf(u)
		}
	}
	return out, nil
}

// personOf returns the capture form of a Mattermost user: the username as
// display name (it is what people see as @name) and the full name or
// nickname as real name.
func personOf(u *model.User) capture.Person {
	return capture.Person{
		ID:          u.Id,
		DisplayName: u.Username,
		RealName:    cmp.Or(strings.TrimSpace(u.FirstName+" "+u.LastName), u.Nickname),
		Bot:         u.IsBot,
	}
}

// reactions groups a post's reactions by emoji, in the order each emoji
// was first used.
func reactions(rs []*model.Reaction, person func(string) capture.Person) []capture.Reaction {
	rs = slices.Clone(rs)
	slices.SortStableFunc(rs, func(a, b *model.Reaction) int { return cmp.Compare(a.CreateAt, b.CreateAt) })
	var out []capture.Reaction
	idx := make(map[string]int)
	for _, r := range rs {
		if r == nil || r.DeleteAt != 0 {
			continue
		}
		i, ok := idx[r.EmojiName]
		if !ok {
			i = len(out)
			idx[r.EmojiName] = i
			out = append(out, capture.Reaction{Emoji: r.EmojiName})
		}
		out[i].Count++
		out[i].Users = append(out[i].Users, person(r.UserId))
	}
	return out
}

// files lists a post's files in the order of its file ids; a file whose
// info is gone is kept with an error instead of being dropped.
func (s *Source) files(p *model.Post) []capture.File {
	infos := make(map[string]*model.FileInfo)
	for _, fi := range p.Metadata.Files {
		if fi != nil {
			infos[fi.Id] = fi
		}
	}
	ids := slices.Clone([]string(p.FileIds))
	for _, fi := range p.Metadata.Files {
		if fi != nil && !slices.Contains(ids, fi.Id) {
			ids = append(ids, fi.Id)
		}
	}
	var out []capture.File
	for _, id := range ids {
		fi, ok := infos[id]
		if !ok || fi.DeleteAt != 0 {
			out = append(out, capture.File{ID: id, Name: id, Size: -1,
				Error: "the file was deleted from Mattermost or is not available to the bot"})
			continue
		}
		out = append(out, capture.File{
			ID:       fi.Id,
			Name:     cmp.Or(fi.Name, fi.Id),
			MIMEType: fi.MimeType,
			Size:     fi.Size,
			Source:   s.server + "/api/v4/files/" + fi.Id,
			Open:     s.opener(fi.Id),
		})
	}
	return out
}

// opener streams a file's content with an authenticated GET, never
// holding it whole in memory (model.Client4.GetFile would).
func (s *Source) opener(id string) capture.Opener {
	return func(ctx context.Context) (io.ReadCloser, error) {
		return s.OpenFile(ctx, id)
	}
}

// OpenFile streams the content of file id. The caller closes it.
func (s *Source) OpenFile(ctx context.Context, id string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.server+"/api/v4/files/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mattermost file %s: %w", id, err)
	}
	if resp.StatusCode != http.StatusOK {
		appErr := model.AppErrorFromJSON(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		err := fmt.Errorf("mattermost file %s: HTTP %d: %v", id, resp.StatusCode, appErr)
		if resp.StatusCode == http.StatusNotFound {
			err = fmt.Errorf("%w: %w", err, capture.ErrNotFound)
		}
		return nil, err
	}
	return resp.Body, nil
}

// readable returns a post's text with the text of its message attachments
// (integrations put their content there) appended.
func readable(p *model.Post) string {
	parts := []string{p.Message}
	for _, a := range p.Attachments() {
		if a == nil {
			continue
		}
		var b []string
		for _, s := range []string{a.Pretext, a.AuthorName, a.Title, a.Text} {
			if s = strings.TrimSpace(s); s != "" {
				b = append(b, s)
			}
		}
		for _, f := range a.Fields {
			if f == nil {
				continue
			}
			v := strings.TrimSpace(fmt.Sprint(f.Value))
			if f.Title != "" || v != "" {
				b = append(b, strings.TrimSpace(f.Title+": "+v))
			}
		}
		if a.Footer != "" {
			b = append(b, a.Footer)
		}
		if len(b) == 0 && a.Fallback != "" {
			b = append(b, a.Fallback)
		}
		if len(b) > 0 {
			parts = append(parts, strings.Join(b, "\n"))
		}
	}
	return strings.TrimSpace(strings.Join(parts, "\n\n"))
}

func channelKind(t model.ChannelType) string {
	switch t {
	case model.ChannelTypeOpen:
		return "channel"
	case model.ChannelTypePrivate:
		return "private"
	case model.ChannelTypeDirect:
		return "dm"
	case model.ChannelTypeGroup:
		return "group"
	}
	return string(t)
}

func millis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// httpStatus returns the HTTP status of a failed API call, or 0.
func httpStatus(resp *model.Response, err error) int {
	if resp != nil && resp.StatusCode != 0 {
		return resp.StatusCode
	}
	var ae *model.AppError
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

func appErrMessage(err error) string {
	var ae *model.AppError
	if errors.As(err, &ae) {
		return ae.Message + " " + ae.Id
	}
	return ""
}

// What a person is told, as capture.Problem advice.
const (
	adviceGone    = "the thread no longer exists, or recordbot cannot see it"
	adviceInvite  = "recordbot is not in that channel: add it to the channel, then file the thread again"
	adviceMembers = "only members of the channel can file its threads"
	adviceToken   = "the Mattermost server no longer accepts recordbot's access token: a system admin must run `bot mattermost install` again"
)

// apiError turns a failed API call into a capture.Problem a person can
// act on, when there is something they can do; the call and the server's
// answer stay in its chain, for the logs.
func (s *Source) apiError(ref capture.Ref, what string, resp *model.Response, err error) error {
	err = fmt.Errorf("mattermost capture of %s: %s: %w", ref, what, err)
	switch httpStatus(resp, err) {
	case http.StatusNotFound:
		return &capture.Problem{Kind: capture.NotFound, Advice: adviceGone, Err: err}
	case http.StatusForbidden:
		return &capture.Problem{Kind: capture.BotNotInChannel, Advice: adviceInvite, Err: err}
	case http.StatusUnauthorized:
		return &capture.Problem{Kind: capture.AppNeedsAdmin, Advice: adviceToken, Err: err}
	}
	return err
}
