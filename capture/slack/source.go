// Package slack captures Slack threads as platform-neutral snapshots
// (capture.Thread) through the Slack Web API, with the bot token of the
// workspace the thread is in, or, for a direct or group message the bot
// cannot join, with the user token its requester granted (delegate.go).
//
// It reads every reply with conversations.replies (cursor pagination),
// resolves people with users.info (cached per workspace), checks that the
// requester is a member of the channel, renders Slack markup for people and
// streams files from url_private. Calls are paced per workspace and method
// to Slack's rate-limit tiers, and a 429 answer is waited out as its
// Retry-After says. Slack SDK types do not leave this package.
package slack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/recordbot/recordbot/capture"
)

// TokenFunc returns the bot token of the workspace with the given team id.
type TokenFunc func(ctx context.Context, teamID string) (string, error)

// UserTokenFunc returns the user token a person granted recordbot in a
// workspace, or an error matching ErrNoUserToken when they have not.
type UserTokenFunc func(ctx context.Context, teamID, userID string) (string, error)

// Options configure a Source.
type Options struct {
	// Token returns a workspace's bot token. Required.
	Token TokenFunc
	// UserToken returns the token a person granted to read direct and
	// group messages the bot cannot join (delegated access). nil: the
	// bot reads only what its own token can.
	UserToken UserTokenFunc
	// UserTokenFailed is told when a person's user token no longer works
	// (revoked, or lacking a scope), so that it is forgotten and the
	// person asked again. May be nil.
	UserTokenFailed func(ctx context.Context, teamID, userID string)
	// APIURL is the Web API base URL, ending in "/"; Slack's when empty.
	APIURL string
	// HTTPClient makes the API calls and file downloads; a client with a
	// 60-second timeout when nil.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Sleep waits out a Retry-After; a context-aware timer when nil.
	Sleep func(ctx context.Context, d time.Duration) error
	// Limits pace the calls; DefaultLimits when zero.
	Limits Limits
	// MaxRetries is how often one call is retried after a 429 (default
	// 5); after that the call ends with a *capture.RateLimitError.
	MaxRetries int
	// MaxWait is the longest Retry-After the source waits out within one
	// attempt (default 1 minute); a longer one ends the call with a
	// *capture.RateLimitError, so the filing resumes later and the person
	// is told when.
	MaxWait time.Duration
	// FileOrigins are the only origins ("https://files.slack.com") the
	// workspace's token is sent to when downloading a file; a file whose
	// address is elsewhere is recorded as not downloaded. Default:
	// DefaultFileOrigins. Tests add their double's origin.
	FileOrigins []string
	// PageSize is the limit asked of conversations.replies (default 200,
	// as Slack recommends).
	PageSize int
	// NamesFor is how long a resolved person or channel name is reused
	// before it is asked again (default 1 hour).
	NamesFor time.Duration
}

// Source captures Slack threads. It is safe for concurrent use.
type Source struct {
	token      TokenFunc
	userToken  UserTokenFunc
	userFailed func(ctx context.Context, teamID, userID string)
	apiURL     string
	http       *http.Client
	log        *slog.Logger
	now        func() time.Time
	sleep      func(ctx context.Context, d time.Duration) error
	limits     Limits
	maxRetries int
	maxWait    time.Duration
	fileOrigin map[string]bool
	pageSize   int
	namesFor   time.Duration

	calls429 atomic.Int64

	mu sync.Mutex
	ws map[string]*workspace
}

var _ capture.Source = (*Source)(nil)

// New returns a Source.
func New(o Options) (*Source, error) {
	if o.Token == nil {
		return nil, errors.New("slack capture: no token lookup")
	}
	s := &Source{
		token: o.Token, userToken: o.UserToken, userFailed: o.UserTokenFailed, apiURL: o.APIURL, http: o.HTTPClient, log: o.Logger,
		now: o.Now, sleep: o.Sleep, limits: o.Limits, maxRetries: o.MaxRetries, maxWait: o.MaxWait,
		pageSize: o.PageSize, namesFor: o.NamesFor, ws: make(map[string]*workspace),
	}
	if s.apiURL == "" {
		s.apiURL = slackapi.APIURL
	}
	if !strings.HasSuffix(s.apiURL, "/") {
		s.apiURL += "/"
	}
	if s.http == nil {
		s.http = &http.Client{Timeout: 60 * time.Second}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.sleep == nil {
		s.sleep = capture.Sleep
	}
	if s.limits == (Limits{}) {
		s.limits = DefaultLimits()
	}
	if s.maxRetries <= 0 {
		s.maxRetries = 5
	}
	if s.maxWait <= 0 {
		s.maxWait = time.Minute
	}
	origins := o.FileOrigins
	if len(origins) == 0 {
		origins = DefaultFileOrigins
	}
	s.fileOrigin = make(map[string]bool, len(origins))
	for _, o := range origins {
		s.fileOrigin[strings.TrimSuffix(strings.ToLower(o), "/")] = true
	}
	if s.pageSize <= 0 {
		s.pageSize = 200
	}
	if s.namesFor <= 0 {
		s.namesFor = time.Hour
	}
	return s, nil
}

// RateLimited returns how many 429 answers the source has had.
func (s *Source) RateLimited() int64 { return s.calls429.Load() }

// workspace holds what the source keeps per Slack workspace: its limiters
// and the names it has resolved.
type workspace struct {
	id string

	mu       sync.Mutex
	limiters map[string]*limiter
	people   map[string]cached[capture.Person]
	channels map[string]cached[string]
	info     cached[capture.Workspace]
}

type cached[T any] struct {
	v  T
	at time.Time
}

func (s *Source) workspace(id string) *workspace {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.ws[id]
	if !ok {
		w = &workspace{id: id, limiters: make(map[string]*limiter),
			people: make(map[string]cached[capture.Person]), channels: make(map[string]cached[string])}
		s.ws[id] = w
	}
	return w
}

func (w *workspace) limiter(method string, l Limits) *limiter {
	w.mu.Lock()
	defer w.mu.Unlock()
	lim, ok := w.limiters[method]
	if !ok {
		lim = l.limiter(method)
		w.limiters[method] = lim
	}
	return lim
}

// session is one capture: the workspace, the client that reads the
// conversation and the bot's own client.
type session struct {
	s *Source
	w *workspace
	// api reads the conversation: with the bot token, or with the user
	// token of delegatedFor.
	api *slackapi.Client
	// bot is the bot's own session (ss itself when it is one): names,
	// the workspace and mentioned channels are read with the bot token.
	bot    *session
	teamID string
	// delegatedFor is the person whose user token api holds; "" for the bot.
	delegatedFor string
}

// readAs is the capture.Thread.ReadAs of what ss reads.
func (ss *session) readAs() string {
	if ss.delegatedFor != "" {
		return "delegated:" + ss.delegatedFor
	}
	return "bot"
}

// fileToken returns the token file downloads of ss use, asked again at
// download time so that a token revoked since the capture is not used.
func (ss *session) fileToken(ctx context.Context) (string, error) {
	if ss.delegatedFor != "" {
		return ss.s.userToken(ctx, ss.teamID, ss.delegatedFor)
	}
	return ss.s.token(ctx, ss.teamID)
}

func (s *Source) session(ctx context.Context, teamID string) (*session, error) {
	if teamID == "" {
		return nil, errors.New("slack: no workspace (team) id")
	}
	tok, err := s.token(ctx, teamID)
	if err != nil {
		return nil, fmt.Errorf("slack workspace %s: %w", teamID, err)
	}
	ss := &session{s: s, w: s.workspace(teamID), api: s.client(tok), teamID: teamID}
	ss.bot = ss
	return ss, nil
}

func (s *Source) client(tok string) *slackapi.Client {
	return slackapi.New(tok, slackapi.OptionAPIURL(s.apiURL), slackapi.OptionHTTPClient(s.http))
}

// Capture implements capture.Source: it snapshots the thread ref points
// at, for requester, who must be a member of the channel.
func (s *Source) Capture(ctx context.Context, ref capture.Ref, requester capture.Person) (*capture.Thread, error) {
	if ref.Platform != "" && ref.Platform != capture.Slack {
		return nil, fmt.Errorf("slack capture: ref %s is not a Slack thread", ref)
	}
	if ref.ChannelID == "" || ref.ThreadID == "" {
		return nil, fmt.Errorf("slack capture: ref %s lacks a channel or thread", ref)
	}
	ss, ch, err := s.reader(ctx, ref, requester)
	if err != nil {
		return nil, err
	}
	ws, err := ss.bot.workspaceInfo(ctx)
	if err != nil {
		return nil, err
	}
	if err := ss.checkMember(ctx, ch, requester.ID); err != nil {
		return nil, err
	}
	msgs, err := ss.replies(ctx, ch, ref.ThreadID)
	if err != nil {
		return nil, err
	}
	root := msgs[0].Timestamp
	var permalink string
	err = s.call(ctx, ss.w, "chat.getPermalink", func(ctx context.Context) error {
		p, err := ss.api.GetPermalinkContext(ctx, &slackapi.PermalinkParameters{Channel: ch.ID, Ts: root})
		permalink = p
		return err
	})
	if err != nil {
		return nil, ss.mapErr(err, ch)
	}
	t := &capture.Thread{
		SchemaVersion: capture.SchemaVersion,
		Platform:      capture.Slack,
		Workspace:     ws,
		Channel:       ch,
		ThreadID:      root,
		Permalink:     permalink,
		CapturedAt:    s.now().UTC(),
		ReadAs:        ss.readAs(),
	}
	if t.Messages, err = ss.convert(ctx, msgs, ch, permalink); err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// Member checks that requester is a member of the channel ref names
// (conversations.members), reading nothing of the thread. It fails with
// capture.ErrAccess when they are not, naming no private channel, and
// with a *ConsentError when the conversation is a direct or group
// message that only the requester's own permission lets recordbot read.
func (s *Source) Member(ctx context.Context, ref capture.Ref, requester capture.Person) error {
	if ref.ChannelID == "" {
		return fmt.Errorf("slack: ref %s lacks a channel", ref)
	}
	ss, ch, err := s.reader(ctx, ref, requester)
	if err != nil {
		return err
	}
	return ss.checkMember(ctx, ch, requester.ID)
}

var _ capture.Resolver = (*Source)(nil)

// Resolve implements capture.Resolver: it checks as Member does and only
// then reads the thread's root message (one conversations.replies call),
// so a person who may not file a thread never sees a word of it. The
// preview's Ref has the root as ThreadID, and the message ref named as
// MessageID when that was a reply. A front end that already has the
// root's text calls Member instead, which reads nothing of the thread.
func (s *Source) Resolve(ctx context.Context, ref capture.Ref, requester capture.Person) (capture.Preview, error) {
	if ref.ChannelID == "" || ref.ThreadID == "" {
		return capture.Preview{}, fmt.Errorf("slack: ref %s lacks a channel or thread", ref)
	}
	ss, ch, err := s.reader(ctx, ref, requester)
	if err != nil {
		return capture.Preview{}, err
	}
	if err := ss.checkMember(ctx, ch, requester.ID); err != nil {
		return capture.Preview{}, err
	}
	var msgs []slackapi.Message
	err = s.call(ctx, ss.w, "conversations.replies", func(ctx context.Context) (err error) {
		msgs, _, _, err = ss.api.GetConversationRepliesContext(ctx, &slackapi.GetConversationRepliesParameters{
			ChannelID: ch.ID, Timestamp: ref.ThreadID, Limit: 1, Inclusive: true})
		return err
	})
	if err != nil {
		return capture.Preview{}, ss.mapErr(err, ch)
	}
	if len(msgs) == 0 {
		return capture.Preview{}, &capture.Problem{Kind: capture.NotFound, Advice: "that message no longer exists",
			Err: fmt.Errorf("slack thread %s: no messages", ref.ThreadID)}
	}
	out := ref
	out.ThreadID = cmp.Or(msgs[0].ThreadTimestamp, msgs[0].Timestamp)
	if ref.ThreadID != out.ThreadID && out.MessageID == "" {
		out.MessageID = ref.ThreadID
	}
	return capture.Preview{Ref: out, Text: msgs[0].Text}, nil
}

// workspaceInfo returns the workspace's name and domain (auth.test: no
// scope needed), cached.
func (ss *session) workspaceInfo(ctx context.Context) (capture.Workspace, error) {
	w := ss.w
	w.mu.Lock()
	c := w.info
	w.mu.Unlock()
	if c.v.ID != "" && ss.s.now().Sub(c.at) < ss.s.namesFor {
		return c.v, nil
	}
	var res *slackapi.AuthTestResponse
	err := ss.s.call(ctx, w, "auth.test", func(ctx context.Context) (err error) {
		res, err = ss.api.AuthTestContext(ctx)
		return err
	})
	if err != nil {
		if code := slackCode(err); code == "invalid_auth" || code == "account_inactive" || code == "token_revoked" {
			return capture.Workspace{}, tokenRefused(code, err)
		}
		return capture.Workspace{}, ss.mapErr(err, capture.Channel{})
	}
	info := capture.Workspace{ID: ss.teamID, Name: res.Team}
	if res.TeamID != "" {
		info.ID = res.TeamID
	}
	if u, err := url.Parse(res.URL); err == nil {
		info.Domain = u.Host
	}
	w.mu.Lock()
	w.info = cached[capture.Workspace]{info, ss.s.now()}
	w.mu.Unlock()
	return info, nil
}

// channel describes the conversation (conversations.info).
func (ss *session) channel(ctx context.Context, id string) (capture.Channel, error) {
	var c *slackapi.Channel
	err := ss.s.call(ctx, ss.w, "conversations.info", func(ctx context.Context) (err error) {
		c, err = ss.api.GetConversationInfoContext(ctx, &slackapi.GetConversationInfoInput{ChannelID: id})
		return err
	})
	if err != nil {
		return capture.Channel{}, ss.mapErr(err, capture.Channel{ID: id})
	}
	ch := capture.Channel{ID: c.ID, Name: c.Name, Private: c.IsPrivate || c.IsIM || c.IsMpIM}
	if ch.ID == "" {
		ch.ID = id
	}
	switch {
	case c.IsIM:
		ch.Kind = "dm"
		ch.Private = true
	case c.IsMpIM:
		ch.Kind = "group"
		ch.Private = true
	case c.IsPrivate || c.IsGroup:
		ch.Kind = "private"
		ch.Private = true
	default:
		ch.Kind = "channel"
	}
	ss.w.mu.Lock()
	ss.w.channels[ch.ID] = cached[string]{ch.Name, ss.s.now()}
	ss.w.mu.Unlock()
	return ch, nil
}

// checkMember fails with capture.ErrAccess unless user is a member of ch.
// The refusal names no private channel: the person is not in it.
func (ss *session) checkMember(ctx context.Context, ch capture.Channel, user string) error {
	if user == "" {
		return &capture.Problem{Kind: capture.NoAccess, Advice: "only members of the channel can file its threads",
			Err: errors.New("slack capture: no requester")}
	}
	cursor := ""
	for {
		var members []string
		var next string
		err := ss.s.call(ctx, ss.w, "conversations.members", func(ctx context.Context) (err error) {
			members, next, err = ss.api.GetUsersInConversationContext(ctx,
				&slackapi.GetUsersInConversationParameters{ChannelID: ch.ID, Cursor: cursor, Limit: 1000})
			return err
		})
		if err != nil {
			return ss.mapErr(err, ch)
		}
		for _, m := range members {
			if m == user {
				return nil
			}
		}
		if next == "" {
			return notMember(ch)
		}
		cursor = next
	}
}

// replies reads the whole thread, root first. When ts is a reply, the
// thread is read again from its root.
func (ss *session) replies(ctx context.Context, ch capture.Channel, ts string) ([]slackapi.Message, error) {
	var all []slackapi.Message
	cursor := ""
	for {
		var msgs []slackapi.Message
		var more bool
		var next string
		err := ss.s.call(ctx, ss.w, "conversations.replies", func(ctx context.Context) (err error) {
			msgs, more, next, err = ss.api.GetConversationRepliesContext(ctx, &slackapi.GetConversationRepliesParameters{
				ChannelID: ch.ID, Timestamp: ts, Cursor: cursor, Limit: ss.s.pageSize, Inclusive: true,
			})
			return err
		})
		if err != nil {
			return nil, ss.mapErr(err, ch)
		}
		if cursor == "" && len(msgs) > 0 {
			if root := msgs[0].ThreadTimestamp; root != "" && root != ts && root != msgs[0].Timestamp {
				return ss.replies(ctx, ch, root)
			}
		}
		all = append(all, msgs...)
		if !more || next == "" {
			break
		}
		cursor = next
	}
	if len(all) == 0 {
		return nil, threadGone(fmt.Errorf("slack thread %s in %s: no messages", ts, channelLabel(ch)))
	}
	return all, nil
}
