package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	slackapi "github.com/slack-go/slack"
)

// Giving a token back to Slack (auth.revoke:
// https://docs.slack.dev/reference/methods/auth.revoke). The token is
// taken back only when Slack says so: {"ok":true,"revoked":true}. An
// answer of ok with revoked false (Slack's "testing mode") took nothing
// back. Slack's documented errors that say the token no longer works are
// as good as a revocation: invalid_auth ("the provided token is
// invalid"), account_inactive ("for a deleted user or workspace"),
// token_revoked ("for a deleted user or workspace or the app has been
// removed") and token_expired. Slack's own trouble (internal_error,
// fatal_error, service_unavailable, request_timeout, ratelimited,
// team_added_to_org: "intermittently unavailable"), an HTTP 5xx, 429 with
// Retry-After (https://api.slack.com/docs/rate-limits) and a network
// failure are tried again, a few times in a bounded time; anything else
// is final. (invalid_auth also answers a request from an IP address the
// workspace does not allow, with a token that still works; Slack's error
// does not tell the two apart, and recordbot takes Slack at its word.)

// revokeOutcome is what became of a token given back to Slack.
type revokeOutcome int

const (
	// tokenRevoked: auth.revoke answered ok and revoked.
	tokenRevoked revokeOutcome = iota
	// tokenDead: Slack answered that the token no longer works.
	tokenDead
	// tokenNotRevoked: Slack did not confirm; the token may still work.
	tokenNotRevoked
)

// The bounds of giving a token back: at most revokeAttempts calls, and
// at most revokeWaits of waiting between them in all (a Retry-After that
// would go beyond it ends the attempts at once). Each call is bounded by
// the HTTP client's timeout and the caller's context.
const (
	revokeAttempts = 4
	revokeWaits    = 15 * time.Second
)

// revokeBackoff is the wait before the second, third, ... attempt after
// a failure that came without a Retry-After.
var revokeBackoff = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}

var (
	deadTokenCodes = map[string]bool{"invalid_auth": true, "account_inactive": true, "token_revoked": true, "token_expired": true}
	transientCodes = map[string]bool{"internal_error": true, "fatal_error": true, "service_unavailable": true,
		"request_timeout": true, "ratelimited": true, "team_added_to_org": true}
)

// errNotRevoked is Slack answering ok without revoking the token.
var errNotRevoked = errors.New("auth.revoke answered ok but did not revoke the token")

// revokeToken gives tok back to Slack, trying again on transient
// failures within the bounds above. The error, for the log, is the last
// failure; it names no token.
func (a *App) revokeToken(ctx context.Context, tok string) (revokeOutcome, error) {
	api := slackapi.New(tok, slackapi.OptionAPIURL(a.o.APIURL), slackapi.OptionHTTPClient(a.o.HTTPClient))
	var waited time.Duration
	var last error
	for attempt := 0; attempt < revokeAttempts; attempt++ {
		res, err := api.SendAuthRevokeContext(ctx, tok)
		switch {
		case err == nil && res.Revoked:
			return tokenRevoked, nil
		case err == nil:
			return tokenNotRevoked, errNotRevoked
		}
		last = err
		wait, again := revokeRetry(err, attempt)
		if !again {
			if r, ok := errors.AsType[slackapi.SlackErrorResponse](err); ok && deadTokenCodes[r.Err] {
				return tokenDead, nil
			}
			return tokenNotRevoked, err
		}
		if attempt+1 == revokeAttempts || waited+wait > revokeWaits {
			break
		}
		if err := a.sleep(ctx, wait); err != nil {
			return tokenNotRevoked, fmt.Errorf("%w (then: %w)", last, err)
		}
		waited += wait
	}
	return tokenNotRevoked, last
}

// revokeRetry says whether err, met on attempt (0 for the first), is
// worth another attempt, and after how long.
func revokeRetry(err error, attempt int) (time.Duration, bool) {
	backoff := revokeBackoff[min(attempt, len(revokeBackoff)-1)]
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 0, false
	}
	if rl, ok := errors.AsType[*slackapi.RateLimitedError](err); ok {
		return max(rl.RetryAfter, time.Second), true
	}
	if r, ok := errors.AsType[slackapi.SlackErrorResponse](err); ok {
		return backoff, transientCodes[r.Err]
	}
	if sc, ok := errors.AsType[slackapi.StatusCodeError](err); ok {
		return backoff, sc.Code >= 500 || sc.Code == http.StatusTooManyRequests
	}
	// A network failure, or an answer that was not Slack's JSON.
	return backoff, true
}
