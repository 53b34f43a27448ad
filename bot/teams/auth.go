package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/recordbot/recordbot/filing"
)

// How the Bot Connector service authenticates the requests it sends to a
// bot, from "Authenticate requests from the Bot Connector service to your
// bot" (https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-authentication#connector-to-bot):
//   - the token comes in the Authorization header with the Bearer scheme;
//   - its issuer is https://api.botframework.com (Issuer): the issuer the
//     OpenID metadata names, which in the US government clouds is
//     another;
//   - its audience is the bot's Microsoft App ID;
//   - it has not expired, nor is it used before its nbf, with the
//     industry-standard clock skew of 5 minutes (MaxSkew);
//   - it is signed with a key of the OpenID metadata's jwks_uri, by the
//     algorithm the metadata names (RS256);
//   - its serviceurl claim equals the activity's serviceUrl;
//   - the signing key's endorsements include the activity's channelId.
//
// The keys "may be cached for long periods of time (by default, 5 days
// within the Bot Builder SDK)"; recordbot keeps them a day (KeysFor), and
// fetches them again sooner only when a token names a key it does not
// know, at most once a RefetchEvery, so a flood of tokens with made-up key
// ids cannot make it fetch for each.
const (
	// Issuer is the issuer of the Bot Connector's tokens in the public
	// cloud, expected when the metadata names none.
	Issuer = "https://api.botframework.com"
	// DefaultOpenIDMetadataURL is the public cloud's OpenID metadata.
	DefaultOpenIDMetadataURL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
	// MaxSkew is the clock skew allowed on exp and nbf.
	MaxSkew = 5 * time.Minute
	// KeysFor is how long fetched keys are used before they are fetched
	// again.
	KeysFor = 24 * time.Hour
	// RefetchEvery is the least time between two fetches of the keys
	// made because a token named an unknown key.
	RefetchEvery = time.Minute
	// maxMetadata caps the metadata and key documents read.
	maxMetadata = 1 << 20
)

// ErrUnauthorized is the cause of every refusal of an incoming request:
// a request it matches is answered 401 and not acted on.
var ErrUnauthorized = errors.New("teams: request not authenticated")

// Verifier checks the Bot Connector's JWTs. It is safe for concurrent use.
type Verifier struct {
	appID       string
	metadataURL string
	hc          *http.Client
	clock       filing.Clock

	mu        sync.Mutex
	issuer    string                 // the metadata's, else Issuer
	keys      map[string]endorsedKey // by kid
	fetchedAt time.Time
	lastTry   time.Time
	fetches   int
}

// endorsedKey is a signing key with the channels it is endorsed for.
type endorsedKey struct {
	key          jose.JSONWebKey
	endorsements []string
}

// NewVerifier returns a Verifier of tokens for the bot appID, whose keys
// come from the OpenID metadata at metadataURL (the public cloud's when
// empty).
func NewVerifier(appID, metadataURL string, hc *http.Client, clock filing.Clock) (*Verifier, error) {
	if appID == "" {
		return nil, errors.New("teams: no app id to check tokens against")
	}
	if metadataURL == "" {
		metadataURL = DefaultOpenIDMetadataURL
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Verifier{appID: appID, metadataURL: metadataURL, hc: hc, clock: filing.ClockOr(clock)}, nil
}

// Token is what a verified token says: the claims recordbot uses.
type Token struct {
	// ServiceURL is the serviceurl claim: where the Bot Connector that
	// sent the request takes answers.
	ServiceURL string
	// Endorsements are the channels the signing key is endorsed for.
	Endorsements []string
}

// claims are the Bot Connector's own claims besides the registered ones.
type claims struct {
	ServiceURL string `json:"serviceurl"`
	// Some tokens spell it serviceUrl.
	ServiceURL2 string `json:"serviceUrl"`
}

// Verify checks the Authorization header's token: the Bearer scheme,
// RS256 signature by a known key, issuer, audience, exp and nbf. It does
// not look at the activity: Check does, with the token it returns.
func (v *Verifier) Verify(ctx context.Context, authorization string) (*Token, error) {
	raw, ok := strings.CutPrefix(authorization, "Bearer ")
	if !ok || strings.TrimSpace(raw) == "" {
		return nil, fmt.Errorf("%w: no Bearer token", ErrUnauthorized)
	}
	tok, err := jwt.ParseSigned(strings.TrimSpace(raw), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnauthorized, err)
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID == "" {
		return nil, fmt.Errorf("%w: token names no signing key", ErrUnauthorized)
	}
	key, issuer, err := v.key(ctx, tok.Headers[0].KeyID)
	if err != nil {
		return nil, err
	}
	var std jwt.Claims
	var own claims
	if err := tok.Claims(key.key.Key, &std, &own); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrUnauthorized, err)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: issuer, AnyAudience: jwt.Audience{v.appID}, Time: v.clock.Now()}, MaxSkew); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnauthorized, err)
	}
	if std.Expiry == nil {
		return nil, fmt.Errorf("%w: token has no expiry", ErrUnauthorized)
	}
	su := own.ServiceURL
	if su == "" {
		su = own.ServiceURL2
	}
	return &Token{ServiceURL: su, Endorsements: key.endorsements}, nil
}

// Check checks what a verified token says of the activity it came with:
// its serviceurl claim is the activity's serviceUrl, and its key is
// endorsed for the activity's channel.
func (t *Token) Check(serviceURL, channelID string) error {
	if t.ServiceURL == "" || !sameServiceURL(t.ServiceURL, serviceURL) {
		return fmt.Errorf("%w: the token's serviceurl is not the activity's", ErrUnauthorized)
	}
	if channelID == "" || !slices.Contains(t.Endorsements, channelID) {
		return fmt.Errorf("%w: the signing key is not endorsed for channel %q", ErrUnauthorized, channelID)
	}
	return nil
}

// sameServiceURL compares service URLs as the Bot Framework SDKs do: but
// for a trailing slash, exactly.
func sameServiceURL(a, b string) bool {
	return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}

// key returns the key kid and the issuer its tokens must name, fetching
// the keys when they are older than KeysFor, or when kid is unknown and no
// fetch was made for RefetchEvery.
func (v *Verifier) key(ctx context.Context, kid string) (endorsedKey, string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	k, err := v.keyLocked(ctx, kid)
	issuer := v.issuer
	if issuer == "" {
		issuer = Issuer
	}
	return k, issuer, err
}

func (v *Verifier) keyLocked(ctx context.Context, kid string) (endorsedKey, error) {
	now := v.clock.Now()
	k, ok := v.keys[kid]
	stale := v.keys == nil || now.Sub(v.fetchedAt) > KeysFor
	if ok && !stale {
		return k, nil
	}
	if !v.lastTry.IsZero() && now.Sub(v.lastTry) < RefetchEvery {
		// Fetched (or tried to) a moment ago: an unknown key stays
		// unknown, and stale keys serve while the service is down.
		if ok && now.Sub(v.fetchedAt) <= 5*KeysFor {
			return k, nil
		}
		return endorsedKey{}, fmt.Errorf("%w: unknown signing key %q", ErrUnauthorized, kid)
	}
	v.lastTry = now
	v.fetches++
	keys, issuer, err := v.fetch(ctx)
	if err != nil {
		if v.keys == nil || now.Sub(v.fetchedAt) > 5*KeysFor {
			return endorsedKey{}, fmt.Errorf("%w: cannot fetch the Bot Connector's keys: %v", ErrUnauthorized, err)
		}
		// Keep using the keys we have while the service is down.
	} else {
		v.keys, v.fetchedAt, v.issuer = keys, now, issuer
	}
	k, ok = v.keys[kid]
	if !ok {
		return endorsedKey{}, fmt.Errorf("%w: unknown signing key %q", ErrUnauthorized, kid)
	}
	return k, nil
}

// Fetches is how many times the keys were fetched.
func (v *Verifier) Fetches() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.fetches
}

// fetch reads the OpenID metadata and the keys it names, and the issuer
// it names: https://api.botframework.com in the public cloud, another in
// the US government clouds, whose metadata is elsewhere.
func (v *Verifier) fetch(ctx context.Context) (map[string]endorsedKey, string, error) {
	var meta struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := v.getJSON(ctx, v.metadataURL, &meta); err != nil {
		return nil, "", fmt.Errorf("OpenID metadata: %w", err)
	}
	if meta.JWKSURI == "" {
		return nil, "", errors.New("OpenID metadata names no jwks_uri")
	}
	if len(meta.Algs) > 0 && !slices.Contains(meta.Algs, string(jose.RS256)) {
		return nil, "", fmt.Errorf("OpenID metadata does not sign with RS256 (%v)", meta.Algs)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := v.getJSON(ctx, meta.JWKSURI, &set); err != nil {
		return nil, "", fmt.Errorf("keys: %w", err)
	}
	keys := make(map[string]endorsedKey, len(set.Keys))
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		var e struct {
			Endorsements []string `json:"endorsements"`
		}
		if k.UnmarshalJSON(raw) != nil || json.Unmarshal(raw, &e) != nil || k.KeyID == "" || !k.IsPublic() || !k.Valid() {
			continue // a key we cannot use signs nothing we accept
		}
		keys[k.KeyID] = endorsedKey{key: k, endorsements: e.Endorsements}
	}
	if len(keys) == 0 {
		return nil, "", errors.New("the key set has no usable key")
	}
	if !strings.HasPrefix(meta.Issuer, "https://") {
		return nil, "", fmt.Errorf("OpenID metadata names issuer %q", meta.Issuer)
	}
	return keys, meta.Issuer, nil
}

func (v *Verifier) getJSON(ctx context.Context, url string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := v.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, maxMetadata)).Decode(dst)
}
