package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/teams/entra"
)

// maxJSON caps a Graph JSON answer read into memory: a page of 50 messages
// is far smaller; anything larger is not Graph's.
const maxJSON = 32 << 20

// appToken returns the app's token for Graph, by the OAuth 2.0 client
// credentials grant (entra) at {LoginURL}/{tenant}/oauth2/v2.0/token with scope
// {GraphURL}/.default (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow),
// cached until shortly before it expires. fresh drops the cached one
// first (after Graph refused it).
func (s *Source) appToken(ctx context.Context, fresh bool) (string, error) {
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	now := s.clock.Now()
	if !fresh && s.tok != "" && now.Before(s.tokUntil) {
		return s.tok, nil
	}
	t, err := s.login.ClientCredentials(ctx, s.graphRoot+"/.default")
	if err != nil {
		e, ok := errors.AsType[*entra.Error](err)
		switch {
		case ok && (e.AppRefused() || e.Code == "invalid_request" || e.Code == "invalid_scope"):
			return "", &capture.Problem{Kind: capture.AppNeedsAdmin,
				Advice: "Microsoft refuses recordbot's app id or credential (" + e.Code + "): an admin must check the Teams app id, its " +
					s.login.Credential.Kind() + " and the tenant id recordbot is configured with",
				Err: fmt.Errorf("teams login: %w", err)}
		case ok && e.Transient():
			return "", fmt.Errorf("teams login: %w: %w", err, errRetryable)
		}
		return "", fmt.Errorf("teams login: %w", err)
	}
	life := t.Life()
	// Renewed 5 minutes before it runs out, or at half its life if shorter.
	early := 5 * time.Minute
	if life < 2*early {
		early = life / 2
	}
	s.tok, s.tokUntil = t.AccessToken, now.Add(life-early)
	return s.tok, nil
}

var errRetryable = errors.New("retryable")

// class is a Graph rate-limit class: Microsoft limits channel message and
// chat message reads separately.
type class int

const (
	channelClass class = iota
	chatClass
)

// graphErr is a Graph answer other than success: its status and Graph's
// error code.
type graphErr struct {
	Status  int
	Code    string
	Message string
	Path    string
}

func (e *graphErr) Error() string {
	return fmt.Sprintf("graph %s: HTTP %d %s", e.Path, e.Status, e.Code)
}

func statusOf(err error) int {
	if ge, ok := errors.AsType[*graphErr](err); ok {
		return ge.Status
	}
	return 0
}

// tokenFunc gives the bearer token a request is sent with; fresh asks for
// a new one after a 401.
type tokenFunc func(ctx context.Context, fresh bool) (string, error)

// send makes one GET to Graph (path relative to {GraphURL}/v1.0, or a full
// @odata.nextLink on Graph's host) under the class's pacing, waits out 429
// and 503 as their Retry-After asks, and returns the successful answer.
// The caller closes its body.
//
// Microsoft documents the limits this keeps to and the answer to exceeding
// them at https://learn.microsoft.com/graph/throttling-limits#microsoft-teams-service-limits
// (per app per tenant: about 5 requests a second for channel messages, 3
// for chat messages; 4 per team or channel) and
// https://learn.microsoft.com/graph/throttling ("429 Too Many Requests ...
// Retry-After header"; 503 may carry one too).
func (s *Source) send(ctx context.Context, c class, scope, target string, tok tokenFunc) (*http.Response, error) {
	u, err := s.graphURL(target)
	if err != nil {
		return nil, err
	}
	label := pathLabel(u)
	refreshed := false
	for attempt := 0; ; attempt++ {
		if err := s.pace(ctx, c, scope); err != nil {
			return nil, err
		}
		t, err := tok(ctx, false)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+t)
		req.Header.Set("Accept", "application/json")
		// System event messages come as systemEventMessage, not
		// unknownFutureValue, only when asked for
		// (https://learn.microsoft.com/graph/api/chat-list-messages, example 2).
		req.Header.Set("Prefer", "include-unknown-enum-members")
		resp, err := s.http.Do(req)
		if err != nil {
			return nil, fmt.Errorf("graph %s: %w", label, err)
		}
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return resp, nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			wait := retryAfter(resp.Header, s.clock.Now())
			drain(resp)
			s.throttled.Add(1)
			if wait > s.maxWait || attempt >= s.maxRetries {
				s.log.LogAttrs(ctx, slog.LevelInfo, "graph throttled; filing to resume later",
					slog.String("path", label), slog.Int("status", resp.StatusCode), slog.Duration("retry_after", wait))
				return nil, &capture.RateLimitError{Platform: capture.Teams, RetryAfter: wait}
			}
			s.log.LogAttrs(ctx, slog.LevelInfo, "graph throttled; waiting as asked",
				slog.String("path", label), slog.Int("status", resp.StatusCode), slog.Duration("retry_after", wait))
			s.holdOff(c, wait)
			if err := s.sleep(ctx, wait); err != nil {
				return nil, err
			}
		case resp.StatusCode == http.StatusUnauthorized && !refreshed:
			// An expired or revoked token: one more try with a new one.
			drain(resp)
			refreshed = true
			if _, err := tok(ctx, true); err != nil {
				return nil, err
			}
		default:
			ge := &graphErr{Status: resp.StatusCode, Path: label}
			var body gError
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if json.Unmarshal(b, &body) == nil {
				ge.Code, ge.Message = body.Error.Code, body.Error.Message
			}
			return nil, ge
		}
	}
}

// getJSON sends a GET and decodes its JSON answer into out.
func (s *Source) getJSON(ctx context.Context, c class, scope, target string, tok tokenFunc, out any) error {
	resp, err := s.send(ctx, c, scope, target, tok)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJSON+1))
	if err != nil {
		return fmt.Errorf("graph %s: %w", pathLabel(target), err)
	}
	if len(b) > maxJSON {
		return fmt.Errorf("graph %s: answer larger than %d bytes", pathLabel(target), maxJSON)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("graph %s: %w", pathLabel(target), err)
	}
	return nil
}

// graphURL resolves a path or an @odata.nextLink. A next link must be on
// Graph's own origin: the app's token is sent nowhere else.
func (s *Source) graphURL(target string) (string, error) {
	if strings.HasPrefix(target, "/") {
		return s.graphRoot + "/v1.0" + target, nil
	}
	u, err := url.Parse(target)
	if err != nil || u.User != nil || !strings.EqualFold(u.Scheme+"://"+u.Host, s.graphOrigin) {
		return "", fmt.Errorf("graph: a next page link %q is not on Graph's host; not followed", pathLabel(target))
	}
	return target, nil
}

// pathLabel is a URL's path without its query, for logs and errors.
func pathLabel(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Path != "" {
		return u.Path
	}
	p, _, _ := strings.Cut(raw, "?")
	return p
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// retryAfter is how long a 429 or 503 from Graph asks us to wait: the
// Retry-After header, in seconds or as an HTTP date, read by the shared
// capture.RetryAfter, but never less than a second, so that "0", a date
// already past or no header at all does not send the request again at once.
func retryAfter(h http.Header, now time.Time) time.Duration {
	return max(capture.RetryAfter(h, now), time.Second)
}

// pacer spaces requests of one class at its rate, with x/time/rate's
// token bucket (burst 1) read on the source's clock, so tests drive it
// with a fake one; after a 429 it holds every request of the class back
// until the Retry-After has passed.
type pacer struct {
	lim   *rate.Limiter
	mu    sync.Mutex
	until time.Time
}

func (s *Source) pacerFor(c class, scope string) *pacer {
	s.paceMu.Lock()
	defer s.paceMu.Unlock()
	key := fmt.Sprintf("%d/%s", c, scope)
	p, ok := s.pacers[key]
	if !ok {
		every := s.channelEvery
		switch {
		case scope != "":
			every = s.scopeEvery
		case c == chatClass:
			every = s.chatEvery
		}
		lim := rate.NewLimiter(rate.Inf, 1)
		if every > 0 {
			lim = rate.NewLimiter(rate.Every(every), 1)
		}
		p = &pacer{lim: lim}
		s.pacers[key] = p
	}
	return p
}

// pace waits for the class's turn (per app and tenant) and, for a channel
// read, the team's turn.
func (s *Source) pace(ctx context.Context, c class, scope string) error {
	ps := []*pacer{s.pacerFor(c, "")}
	if scope != "" {
		ps = append(ps, s.pacerFor(c, scope))
	}
	for _, p := range ps {
		p.mu.Lock()
		hold := p.until.Sub(s.clock.Now())
		p.mu.Unlock()
		if hold > 0 {
			if err := s.sleep(ctx, hold); err != nil {
				return err
			}
		}
		now := s.clock.Now()
		r := p.lim.ReserveN(now, 1)
		if !r.OK() {
			return errors.New("graph: pacing refused a request")
		}
		if err := s.sleep(ctx, r.DelayFrom(now)); err != nil {
			r.CancelAt(s.clock.Now())
			return err
		}
	}
	return nil
}

// holdOff makes the class's next turn come after wait.
func (s *Source) holdOff(c class, wait time.Duration) {
	p := s.pacerFor(c, "")
	p.mu.Lock()
	if u := s.clock.Now().Add(wait); u.After(p.until) {
		p.until = u
	}
	p.mu.Unlock()
}

// sleep waits d on the source's clock, or until ctx is done.
func (s *Source) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := s.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.Chan():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
