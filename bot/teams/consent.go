package teams

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/recordbot/recordbot/bot"
	teamscap "github.com/recordbot/recordbot/capture/teams"
	"github.com/recordbot/recordbot/capture/teams/entra"
	"github.com/recordbot/recordbot/filing"
)

// Files shared in Teams live in SharePoint or OneDrive, which the app's
// resource-specific consent does not reach. To keep them in a record,
// the person filing lets recordbot read the files they can read, once:
// the Microsoft identity platform's authorization code flow
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow)
// asking for the delegated permission Files.Read.All, with PKCE, at the
// organisation's tenant only. The sign-in starts from a button in the
// filing form (or "allow files" in the person's chat with the bot) and
// ends at CallbackPath, where the code is exchanged and the person's
// refresh token kept, sealed, per tenant and person. recordbot uses it
// only to read the files shared in a conversation that person files
// (capture/teams asks FileToken), and deletes it when they say
// "forget me".

// CallbackPath is where the Microsoft identity platform sends a person
// back after they allowed recordbot (a Web redirect URI of the app
// registration: the bot's public address + CallbackPath).
const CallbackPath = "/teams/oauth/callback"

// consentTTL is how long a sign-in link works; it is used once.
const consentTTL = 15 * time.Minute

// FileGrant is one person's permission for recordbot to read the files
// shared in the conversations they file. It is stored as JSON under
// filing.InstallationsPrefix + "teams/users/", its refresh token sealed.
type FileGrant struct {
	Tenant    string    `json:"tenant"`
	User      string    `json:"user"`
	Scopes    string    `json:"scopes"`
	GrantedAt time.Time `json:"granted_at"`
	// SealedRefresh is the refresh token sealed by bot.Vault.
	SealedRefresh string `json:"refresh_token_sealed"`
	// Refresh is the opened refresh token; never stored.
	Refresh string `json:"-"`
}

// ConsentOptions configure a Consent.
type ConsentOptions struct {
	Store filing.Store
	Vault *bot.Vault
	// Login is the organisation's token endpoint, as the app.
	Login *entra.Client
	// GraphURL is Graph's address (without /v1.0): the resource whose
	// Files.Read.All is asked.
	GraphURL string
	// RedirectURL is the bot's public address + CallbackPath.
	RedirectURL string
	// Key makes the sign-in links' states (a secret of this deployment).
	Key    []byte
	Clock  filing.Clock
	Logger *slog.Logger
}

// Consent keeps people's file grants and gives capture/teams their file
// tokens. It is safe for concurrent use.
type Consent struct {
	o      ConsentOptions
	grants *bot.Sealed[FileGrant]
	links  *bot.Links
	clock  filing.Clock
	log    *slog.Logger

	mu     sync.Mutex
	access map[string]accessToken // by tenant/user
	busy   map[string]*sync.Mutex // one refresh at a time per person
}

type accessToken struct {
	token string
	until time.Time
}

var _ teamscap.Delegated = (*Consent)(nil)

// usersPrefix holds the grants; statesPrefix a marker per used link.
const (
	usersPrefix  = filing.InstallationsPrefix + "teams/users/"
	statesPrefix = filing.InstallationsPrefix + "teams/oauth-states/"
)

// idRE is an Entra id as a key may hold it: tenants and people are
// named by GUIDs.
var idRE = regexp.MustCompile(`^[0-9A-Za-z-]{1,64}$`)

// NewConsent returns a Consent.
func NewConsent(o ConsentOptions) (*Consent, error) {
	switch {
	case o.Login == nil || o.Login.Tenant == "" || o.Login.ClientID == "":
		return nil, errors.New("teams file consent: no login service")
	case o.RedirectURL == "":
		return nil, errors.New("teams file consent: no redirect URL")
	case len(o.Key) < 16:
		return nil, errors.New("teams file consent: no key for the sign-in links")
	case o.GraphURL == "":
		o.GraphURL = "https://graph.microsoft.com"
	}
	o.GraphURL = strings.TrimRight(o.GraphURL, "/")
	clock := filing.ClockOr(o.Clock)
	g, err := bot.NewSealed(o.Store, o.Vault, bot.SealedOptions[FileGrant]{
		What:   "teams file grant",
		Prefix: usersPrefix,
		Valid: func(id string) bool {
			tenant, user, ok := strings.Cut(id, "/")
			return ok && idRE.MatchString(tenant) && idRE.MatchString(user)
		},
		Label: func(id string) string { return "teams:" + strings.Replace(id, "/", ":user:", 1) },
		Secrets: func(g *FileGrant) []bot.Secret {
			return []bot.Secret{{Plain: &g.Refresh, Sealed: &g.SealedRefresh}}
		},
		Check: func(id string, g *FileGrant) error {
			if g.Tenant+"/"+g.User != id {
				return fmt.Errorf("it names %s/%s", g.Tenant, g.User)
			}
			return nil
		},
		TTL: time.Minute, Missing: teamscap.ErrNoConsent, Clock: clock,
	})
	if err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Consent{o: o, grants: g, clock: clock, log: log,
		links:  &bot.Links{Key: o.Key, Store: o.Store, Prefix: statesPrefix, TTL: consentTTL, Clock: clock},
		access: map[string]accessToken{}, busy: map[string]*sync.Mutex{}}, nil
}

// filesScope is the delegated permission asked, named on the configured
// Graph (the resource differs in government clouds).
func (c *Consent) filesScope() string { return c.o.GraphURL + "/Files.Read.All" }

// scopes are what a sign-in asks: an ID token naming the person (openid,
// and profile for its oid claim: "ID token claims reference",
// https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference),
// a refresh token (offline_access) and the files.
func (c *Consent) scopes() string { return "openid profile offline_access " + c.filesScope() }

// Link returns the sign-in link that lets user (an Entra object id) of
// tenant allow recordbot to read the files shared in conversations they
// file. It works for 15 minutes, once, for that person only.
func (c *Consent) Link(tenant, user string) string {
	state, st := c.links.New(tenant, user)
	verifier := c.links.Derive(st, "pkce")
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id":             {c.o.Login.ClientID},
		"response_type":         {"code"},
		"redirect_uri":          {c.o.RedirectURL},
		"response_mode":         {"query"},
		"scope":                 {c.scopes()},
		"state":                 {state},
		"nonce":                 {c.links.Derive(st, "nonce")},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
		// The person may be signed in to the browser with another
		// account: let them choose.
		"prompt": {"select_account"},
	}
	return c.o.Login.AuthorizeURL() + "?" + q.Encode()
}

// Has reports whether user of tenant has a grant stored.
func (c *Consent) Has(ctx context.Context, tenant, user string) (bool, error) {
	_, err := c.grants.Get(ctx, tenant+"/"+user)
	if errors.Is(err, teamscap.ErrNoConsent) || errors.Is(err, bot.ErrUnsealed) {
		// A grant sealed with another key (the secret key was changed)
		// is of no use: the person is asked again.
		return false, nil
	}
	return err == nil, err
}

// FileToken implements teamscap.Delegated: an access token for Graph with
// the person's Files.Read.All, from their refresh token (kept until
// shortly before it expires). A person with no grant, or whose grant
// Microsoft no longer honours (they or an admin took it back, or it
// lapsed), gets an error wrapping teamscap.ErrNoConsent; such a grant is
// deleted.
func (c *Consent) FileToken(ctx context.Context, tenant, user string) (string, error) {
	id := tenant + "/" + user
	if tenant != c.o.Login.Tenant {
		return "", fmt.Errorf("teams file consent: tenant %s is not the organisation's: %w", tenant, teamscap.ErrNoConsent)
	}
	c.mu.Lock()
	lock := c.busy[id]
	if lock == nil {
		lock = &sync.Mutex{}
		c.busy[id] = lock
	}
	c.mu.Unlock()
	lock.Lock()
	defer lock.Unlock()
	c.mu.Lock()
	a, ok := c.access[id]
	c.mu.Unlock()
	if ok && c.clock.Now().Before(a.until) {
		return a.token, nil
	}
	g, etag, err := c.grants.Load(ctx, id)
	if errors.Is(err, bot.ErrUnsealed) {
		return "", fmt.Errorf("teams file consent: the stored permission does not open with this deployment's secret key: %w", teamscap.ErrNoConsent)
	}
	if err != nil {
		return "", err
	}
	t, err := c.o.Login.Request(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {g.Refresh}, "scope": {c.scopes()}})
	if err != nil {
		if e, ok := errors.AsType[*entra.Error](err); ok && (e.Code == "invalid_grant" || e.Code == "interaction_required") {
			// Taken back, lapsed, or the person's sign-in must be
			// renewed: the grant is of no use any more.
			c.log.Info("teams: a person's file permission no longer works; it is deleted", "tenant", tenant, "user", user, "err", err)
			c.forget(ctx, tenant, user)
			return "", fmt.Errorf("teams file consent: %w: %w", teamscap.ErrNoConsent, err)
		}
		return "", fmt.Errorf("teams file consent: %w", err)
	}
	if !t.Grants(c.filesScope()) {
		return "", fmt.Errorf("teams file consent: the token does not hold Files.Read.All: %w", teamscap.ErrNoConsent)
	}
	if t.RefreshToken != "" && t.RefreshToken != g.Refresh {
		// Refresh tokens replace themselves at each use; the old one
		// stays valid until it lapses, so losing a race to another
		// process's write costs nothing.
		g.Refresh = t.RefreshToken
		if err := c.grants.Write(ctx, id, g, etag); err != nil && !errors.Is(err, filing.ErrConflict) {
			c.log.Warn("teams: could not store a person's renewed file permission", "tenant", tenant, "user", user, "err", err)
		}
	}
	c.keep(id, t)
	return t.AccessToken, nil
}

// keep caches t's access token for id until shortly before it expires.
func (c *Consent) keep(id string, t *entra.Token) {
	life := t.Life()
	c.mu.Lock()
	c.access[id] = accessToken{token: t.AccessToken, until: c.clock.Now().Add(life - min(5*time.Minute, life/2))}
	c.mu.Unlock()
}

// forget deletes user's grant and the access token kept for it.
func (c *Consent) forget(ctx context.Context, tenant, user string) error {
	c.mu.Lock()
	delete(c.access, tenant+"/"+user)
	c.mu.Unlock()
	return c.grants.Delete(ctx, tenant+"/"+user)
}

// Forget deletes user's grant: recordbot reads none of their files from
// then on. It reports whether there was one.
func (c *Consent) Forget(ctx context.Context, tenant, user string) (bool, error) {
	_, _, err := c.grants.Load(ctx, tenant+"/"+user)
	found := err == nil || errors.Is(err, bot.ErrUnsealed)
	if err != nil && !found && !errors.Is(err, teamscap.ErrNoConsent) {
		return false, err
	}
	if err := c.forget(ctx, tenant, user); err != nil {
		return found, err
	}
	return found, nil
}

// idClaims are what recordbot reads of an ID token.
type idClaims struct {
	Audience string `json:"aud"`
	Tenant   string `json:"tid"`
	Object   string `json:"oid"`
	Nonce    string `json:"nonce"`
}

// readIDToken reads the claims of an ID token that came straight from
// the token endpoint over TLS: its signature need not be checked (OpenID
// Connect Core 1.0, 3.1.3.7, item 6), and Microsoft documents it as
// possibly unsigned ("An unsigned JSON Web Token", alg "none", in "Refresh
// the access token",
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow),
// so any algorithm is read; what it says is checked by the caller.
func readIDToken(raw string) (idClaims, error) {
	var c idClaims
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || len(raw) > 16<<10 {
		return c, errors.New("the ID token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return c, fmt.Errorf("the ID token is unreadable: %w", err)
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, fmt.Errorf("the ID token is unreadable: %w", err)
	}
	return c, nil
}

// Callback errors: what went wrong, for the page and the log.
var (
	errOtherPerson = errors.New("the sign-in was of another person or organisation than the link's")
	errNoFiles     = errors.New("the permission given does not include reading files")
	errNoRefresh   = errors.New("Microsoft gave no refresh token")
)

// redeem finishes a sign-in: it checks the state (made here, not
// expired, not used), exchanges the code (with the link's PKCE
// verifier), checks that the ID token names the person and tenant the
// link was made for (its nonce the link's), and that the permission is
// the one asked, and stores the grant.
func (c *Consent) redeem(ctx context.Context, state, code string) (FileGrant, error) {
	st, err := c.links.Check(state)
	if err != nil {
		return FileGrant{}, err
	}
	if err := c.links.Use(ctx, st); err != nil {
		return FileGrant{}, err
	}
	if code == "" {
		return FileGrant{}, bot.Unusable("Microsoft sent no code", nil)
	}
	t, err := c.o.Login.Request(ctx, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {c.o.RedirectURL}, "scope": {c.scopes()}, "code_verifier": {c.links.Derive(st, "pkce")}})
	if err != nil {
		return FileGrant{}, err
	}
	claims, err := readIDToken(t.IDToken)
	if err != nil {
		return FileGrant{}, err
	}
	if claims.Audience != c.o.Login.ClientID || claims.Tenant != st.Org || !strings.EqualFold(claims.Object, st.Person) ||
		claims.Nonce != c.links.Derive(st, "nonce") {
		c.log.Warn("teams: refused a sign-in of another person than the link's", "link_tenant", st.Org, "link_user", st.Person,
			"tenant", claims.Tenant, "user", claims.Object)
		return FileGrant{}, errOtherPerson
	}
	if !t.Grants(c.filesScope()) {
		return FileGrant{}, errNoFiles
	}
	if t.RefreshToken == "" {
		return FileGrant{}, errNoRefresh
	}
	g := FileGrant{Tenant: st.Org, User: st.Person, Scopes: t.Scope, GrantedAt: c.clock.Now().UTC(), Refresh: t.RefreshToken}
	if err := c.grants.Save(ctx, g.Tenant+"/"+g.User, g); err != nil {
		return FileGrant{}, err
	}
	c.keep(g.Tenant+"/"+g.User, t)
	return g, nil
}
