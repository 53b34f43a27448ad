package teams

import (
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

	"github.com/jonboulle/clockwork"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/teams/entra"
)

// Delegated gives the token a person granted recordbot to read the files
// they can read (Microsoft Graph delegated permission Files.Read.All,
// granted through a sign-in card): files shared in Teams live in
// SharePoint or OneDrive, which resource-specific consent does not reach.
type Delegated interface {
	// FileToken returns the person's access token for Graph, or an error
	// wrapping ErrNoConsent when they have not granted one.
	FileToken(ctx context.Context, tenant, userAADID string) (string, error)
}

// DelegatedFunc is a function as a Delegated.
type DelegatedFunc func(ctx context.Context, tenant, userAADID string) (string, error)

// FileToken implements Delegated.
func (f DelegatedFunc) FileToken(ctx context.Context, tenant, userAADID string) (string, error) {
	return f(ctx, tenant, userAADID)
}

// Errors of this package, each also the cause of a *capture.Problem.
var (
	// ErrNoConsent: the person has not let recordbot read their files.
	ErrNoConsent = errors.New("the person has not consented to recordbot reading their files")
	// ErrOneOnOne: a one-to-one chat between people, which
	// resource-specific consent cannot cover
	// (https://learn.microsoft.com/microsoftteams/platform/graph-api/rsc/resource-specific-consent:
	// chat permissions apply to group and meeting chats the app is added
	// to); recordbot refuses it.
	ErrOneOnOne = errors.New("one-to-one chats cannot be filed")
	// ErrNotInstalled: Graph refused the app for the team or chat (403):
	// the app is not added there, or its consent was withdrawn or is
	// switched off by the tenant's admin.
	ErrNotInstalled = errors.New("recordbot is not added to the team or chat, or its permission there is missing")
	// ErrOtherTenant: the conversation is in another organisation than
	// the one recordbot is registered in.
	ErrOtherTenant = errors.New("the conversation is in another organisation")
)

// Limits are the request rates the source keeps to, in requests a second.
// Zero means Microsoft's documented figure; a negative rate is not paced
// (for tests).
type Limits struct {
	// ChannelMessages is per app and tenant for channel reads (5).
	ChannelMessages float64
	// ChatMessages is per app and tenant for chat reads (3).
	ChatMessages float64
	// PerTeam is per team for channel reads (4).
	PerTeam float64
}

// Config configures a Source for one organisation (an Entra tenant) and
// one app registration (a single-tenant Azure Bot).
type Config struct {
	// Tenant is the Entra tenant (directory) id. Required.
	Tenant string
	// AppID is the app's client id. Required.
	AppID string
	// Credential proves the app's identity at the login service (a
	// client secret or a certificate); AppSecret is a client secret's
	// shorthand for it. One is required.
	Credential entra.Credential
	AppSecret  string
	// LoginURL is the Entra login host; https://login.microsoftonline.com
	// when empty (government clouds use others).
	LoginURL string
	// GraphURL is the Graph host, without /v1.0;
	// https://graph.microsoft.com when empty.
	GraphURL string
	// HTTPClient makes every call; one with a 60-second timeout when nil.
	// Wrap its transport to count calls.
	HTTPClient *http.Client
	// Clock decides token expiry, pacing and waits; the system clock
	// when nil.
	Clock clockwork.Clock
	// Delegated gives people's file tokens; nil: shared files are kept
	// as links only.
	Delegated Delegated
	Logger    *slog.Logger
	// Limits pace the requests; Microsoft's figures when zero.
	Limits Limits
	// MaxRetries is how often one request is tried again after 429 or 503
	// (default 5); MaxWait the longest Retry-After waited out within one
	// attempt (default 1 minute). Beyond either the capture ends with a
	// *capture.RateLimitError and is tried again later.
	MaxRetries int
	MaxWait    time.Duration
}

// Source captures Teams conversations through Graph. It is safe for
// concurrent use.
type Source struct {
	cfg         Config
	login       *entra.Client
	graphRoot   string
	graphOrigin string
	http        *http.Client
	clock       clockwork.Clock
	log         *slog.Logger
	maxRetries  int
	maxWait     time.Duration

	channelEvery, chatEvery, scopeEvery time.Duration
	paceMu                              sync.Mutex
	pacers                              map[string]*pacer

	tokMu    sync.Mutex
	tok      string
	tokUntil time.Time

	throttled atomic.Int64
}

var (
	_ capture.Source   = (*Source)(nil)
	_ capture.Resolver = (*Source)(nil)
)

// New returns a Source.
func New(cfg Config) (*Source, error) {
	if cfg.Credential == nil && cfg.AppSecret != "" {
		cfg.Credential = entra.Secret(cfg.AppSecret)
	}
	if cfg.Tenant == "" || cfg.AppID == "" || cfg.Credential == nil {
		return nil, errors.New("teams capture: tenant, app id and the app's credential are required")
	}
	s := &Source{cfg: cfg, http: cfg.HTTPClient, clock: cfg.Clock, log: cfg.Logger,
		maxRetries: cfg.MaxRetries, maxWait: cfg.MaxWait, pacers: make(map[string]*pacer)}
	loginRoot, err := root(cfg.LoginURL, entra.DefaultLoginURL)
	if err != nil {
		return nil, fmt.Errorf("teams capture: login URL: %w", err)
	}
	if s.graphRoot, err = root(cfg.GraphURL, "https://graph.microsoft.com"); err != nil {
		return nil, fmt.Errorf("teams capture: Graph URL: %w", err)
	}
	u, _ := url.Parse(s.graphRoot)
	s.graphOrigin = u.Scheme + "://" + u.Host
	if s.http == nil {
		s.http = &http.Client{Timeout: 60 * time.Second}
	}
	s.login = &entra.Client{LoginURL: loginRoot, Tenant: cfg.Tenant, ClientID: cfg.AppID, Credential: cfg.Credential, HTTPClient: s.http}
	if s.clock == nil {
		s.clock = clockwork.NewRealClock()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxRetries <= 0 {
		s.maxRetries = 5
	}
	if s.maxWait <= 0 {
		s.maxWait = time.Minute
	}
	s.channelEvery = every(cfg.Limits.ChannelMessages, 5)
	s.chatEvery = every(cfg.Limits.ChatMessages, 3)
	s.scopeEvery = every(cfg.Limits.PerTeam, 4)
	return s, nil
}

func every(rps, def float64) time.Duration {
	switch {
	case rps < 0:
		return 0
	case rps == 0:
		rps = def
	}
	return time.Duration(float64(time.Second) / rps)
}

// root checks a base URL and returns it without a trailing slash.
func root(raw, def string) (string, error) {
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return "", fmt.Errorf("%q is not an http(s) base URL", raw)
	}
	return u.String(), nil
}

// RateLimited returns how many 429 and 503 answers Graph has given.
func (s *Source) RateLimited() int64 { return s.throttled.Load() }

func (s *Source) appTok(ctx context.Context, fresh bool) (string, error) {
	for attempt := 0; ; attempt++ {
		t, err := s.appToken(ctx, fresh)
		if err == nil || !errors.Is(err, errRetryable) || attempt >= 2 {
			return t, err
		}
		if err := s.sleep(ctx, time.Second); err != nil {
			return "", err
		}
	}
}

// convo is a target with what the access check learned of it.
type convo struct {
	t       Target
	channel capture.Channel
	names   map[string]string // Entra id -> display name, of the members
	webURL  string
}

// Member checks that requester may file the conversation ref names (a
// member of its team, of the channel for a private or shared channel, or
// of the chat), reading nothing of its messages. It fails with
// capture.ErrAccess when they are not, with ErrOneOnOne (in a Problem)
// for a one-to-one chat and with ErrNotInstalled when the app may not
// read the conversation.
func (s *Source) Member(ctx context.Context, ref capture.Ref, requester capture.Person) error {
	_, err := s.open(ctx, ref, requester)
	return err
}

// open decodes ref and checks the requester's membership before anything
// of the conversation's messages is read.
func (s *Source) open(ctx context.Context, ref capture.Ref, requester capture.Person) (*convo, error) {
	t, err := TargetOf(ref)
	if err != nil {
		return nil, fmt.Errorf("teams capture %s: %w", ref, err)
	}
	if !strings.EqualFold(t.Tenant, s.cfg.Tenant) {
		return nil, &capture.Problem{Kind: capture.NoAccess, Advice: "that conversation belongs to another organisation than the one recordbot serves",
			Err: fmt.Errorf("teams: tenant %s: %w", t.Tenant, ErrOtherTenant)}
	}
	if requester.ID == "" {
		return nil, &capture.Problem{Kind: capture.NoAccess, Advice: "only members of the conversation can file it",
			Err: errors.New("teams capture: no requester")}
	}
	if t.IsChat() {
		return s.openChat(ctx, t, requester.ID)
	}
	return s.openChannel(ctx, t, requester.ID)
}

// openChannel reads the channel's kind and checks membership: of the
// team for a standard channel, of the channel itself for a private or
// shared one (a shared channel's members need not be in its team).
func (s *Source) openChannel(ctx context.Context, t Target, user string) (*convo, error) {
	base := "/teams/" + seg(t.Team) + "/channels/" + seg(t.Channel)
	var ch gChannel
	if err := s.getJSON(ctx, channelClass, t.Team, base, s.appTok, &ch); err != nil {
		return nil, s.mapErr(err, t)
	}
	c := &convo{t: t, webURL: ch.WebURL,
		channel: capture.Channel{ID: t.Channel, Name: ch.DisplayName, Kind: "channel"}}
	membersOf := "/teams/" + seg(t.Team) + "/members"
	switch ch.MembershipType {
	case "private":
		c.channel.Kind, c.channel.Private = "private", true
		membersOf = base + "/members"
	case "shared":
		// A shared channel's people are its direct members and the
		// members of the teams it is shared with: allMembers lists both
		// (https://learn.microsoft.com/graph/api/channel-list-allmembers).
		c.channel.Kind, c.channel.Private = "private", true
		membersOf = base + "/allMembers"
	}
	names, ok, err := s.members(ctx, channelClass, t.Team, membersOf, user, t)
	if err != nil {
		return nil, err
	}
	if !ok {
		label := "the channel"
		if c.channel.Kind == "channel" && ch.DisplayName != "" {
			label = "the channel " + ch.DisplayName
		}
		return nil, &capture.Problem{Kind: capture.NoAccess, Advice: "only members of " + label + " can file its threads",
			Err: fmt.Errorf("the requester is not a member of %s", t.Channel)}
	}
	c.names = names
	return c, nil
}

// openChat refuses one-to-one chats, reads the chat's kind and checks
// membership.
func (s *Source) openChat(ctx context.Context, t Target, user string) (*convo, error) {
	// One-to-one chat ids are "19:{id}_{id}@unq.gbl.spaces" (example 1 of
	// https://learn.microsoft.com/graph/api/chatmessage-get); Graph would
	// refuse the app's token there anyway, and chatType says it below for
	// any other id.
	if strings.HasSuffix(strings.ToLower(t.Channel), "@unq.gbl.spaces") {
		return nil, oneOnOne(t)
	}
	var ch gChat
	if err := s.getJSON(ctx, chatClass, "", "/chats/"+seg(t.Channel), s.appTok, &ch); err != nil {
		return nil, s.mapErr(err, t)
	}
	if ch.ChatType == "oneOnOne" {
		return nil, oneOnOne(t)
	}
	names, ok, err := s.members(ctx, chatClass, "", "/chats/"+seg(t.Channel)+"/members", user, t)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &capture.Problem{Kind: capture.NoAccess, Advice: "only members of the chat can file its messages",
			Err: fmt.Errorf("the requester is not a member of %s", t.Channel)}
	}
	kind := "group"
	if ch.ChatType == "meeting" {
		kind = "meeting"
	}
	return &convo{t: t, names: names, webURL: ch.WebURL,
		channel: capture.Channel{ID: t.Channel, Name: ch.Topic, Kind: kind, Private: true}}, nil
}

func oneOnOne(t Target) error {
	return &capture.Problem{Kind: capture.NoAccess,
		Advice: "recordbot cannot file a one-to-one chat: Microsoft lets apps read only the group and meeting chats they are added to; start a group chat with recordbot in it, or keep the conversation another way",
		Err:    fmt.Errorf("teams chat %s: %w", t.Channel, ErrOneOnOne)}
}

// members lists a team's, channel's or chat's members (following
// @odata.nextLink) and says whether user is one of them
// (https://learn.microsoft.com/graph/api/team-list-members,
// https://learn.microsoft.com/graph/api/channel-list-members,
// https://learn.microsoft.com/graph/api/chat-list-members).
func (s *Source) members(ctx context.Context, c class, scope, path, user string, t Target) (map[string]string, bool, error) {
	names := make(map[string]string)
	found := false
	next := path
	var pg pages
	for next != "" {
		if err := pg.next(next); err != nil {
			return nil, false, err
		}
		var p page[gMember]
		if err := s.getJSON(ctx, c, scope, next, s.appTok, &p); err != nil {
			return nil, false, s.mapErr(err, t)
		}
		for _, m := range p.Value {
			if m.UserID == "" {
				continue
			}
			names[m.UserID] = m.DisplayName
			if strings.EqualFold(m.UserID, user) {
				found = true
			}
		}
		next = p.NextLink
	}
	return names, found, nil
}

// mapErr turns Graph's answers into problems a person can act on.
func (s *Source) mapErr(err error, t Target) error {
	where := "team"
	if t.IsChat() {
		where = "chat"
	}
	switch statusOf(err) {
	case http.StatusForbidden:
		return &capture.Problem{Kind: capture.BotNotInChannel,
			Advice: "recordbot is not added to that " + where + " (or its permission there was removed): add the app to the " + where + ", then file again",
			Err:    fmt.Errorf("%w: %w", ErrNotInstalled, err)}
	case http.StatusNotFound:
		return &capture.Problem{Kind: capture.NotFound, Advice: "the message or its conversation no longer exists", Err: err}
	case http.StatusUnauthorized:
		return &capture.Problem{Kind: capture.AppNeedsAdmin,
			Advice: "Microsoft Graph refuses recordbot's token: an admin must check the app registration", Err: err}
	}
	return err
}

// seg escapes one path segment of a Graph URL.
func seg(s string) string { return url.PathEscape(s) }
