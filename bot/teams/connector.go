package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/recordbot/recordbot/capture/teams/entra"
	"github.com/recordbot/recordbot/filing"
)

// The Bot Connector: where the bot sends its own messages. Its token comes
// from the organisation's tenant (a single-tenant bot) by client
// credentials with the Bot Framework's scope
// (https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-authentication#bot-to-connector),
// and it is sent only to a service URL an authenticated activity named
// (Trust) or to a host of Microsoft's own Bot Connector (ServiceHosts).
const (
	// DefaultLoginURL is the public cloud's login service.
	DefaultLoginURL = entra.DefaultLoginURL
	// DefaultBotScope is the scope of a token for the Bot Connector.
	DefaultBotScope = "https://api.botframework.com/.default"
	// maxAnswer caps what is read of the connector's and login's answers.
	maxAnswer = 1 << 20
)

// ServiceHosts are the hosts of the Bot Connector's service URLs for
// Teams in the public and government clouds, as the proactive messaging
// page lists them for creating a conversation
// (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/conversations/send-proactive-messages).
var ServiceHosts = []string{
	"smba.trafficmanager.net",
	"smba.infra.gcc.teams.microsoft.com",
	"smba.infra.gov.teams.microsoft.us",
	"smba.infra.dod.teams.microsoft.us",
}

// ConnectorOptions configure a Connector.
type ConnectorOptions struct {
	AppID string
	// Credential proves the app's identity (a client secret or a
	// certificate).
	Credential entra.Credential
	// Tenant is the organisation's tenant: the bot is single-tenant.
	Tenant string
	// LoginURL is the login service (DefaultLoginURL when empty).
	LoginURL string
	// Scope is the Bot Connector token's scope (DefaultBotScope when empty).
	Scope string
	// Hosts are the service URL hosts trusted without an authenticated
	// activity naming them (ServiceHosts when nil).
	Hosts      []string
	HTTPClient *http.Client
	Clock      filing.Clock
}

// Connector sends the bot's messages through the Bot Connector.
type Connector struct {
	o     ConnectorOptions
	login *entra.Client
	clock filing.Clock

	mu      sync.Mutex
	token   string
	expires time.Time
	trusted map[string]bool
	convs   map[string]string // personal conversation id by service URL and user
	groups  map[string]string // team group id by team thread id
}

// NewConnector returns a Connector.
func NewConnector(o ConnectorOptions) (*Connector, error) {
	if o.AppID == "" || o.Credential == nil || o.Tenant == "" {
		return nil, errors.New("teams: the Bot Connector needs the app id, its credential and the tenant")
	}
	if o.LoginURL == "" {
		o.LoginURL = DefaultLoginURL
	}
	o.LoginURL = strings.TrimRight(o.LoginURL, "/")
	if o.Scope == "" {
		o.Scope = DefaultBotScope
	}
	if o.Hosts == nil {
		o.Hosts = ServiceHosts
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	login := &entra.Client{LoginURL: o.LoginURL, Tenant: o.Tenant, ClientID: o.AppID, Credential: o.Credential, HTTPClient: o.HTTPClient}
	return &Connector{o: o, login: login, clock: filing.ClockOr(o.Clock), trusted: map[string]bool{}, convs: map[string]string{}, groups: map[string]string{}}, nil
}

// Trust records serviceURL as one an authenticated activity named.
func (c *Connector) Trust(serviceURL string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trusted[strings.TrimRight(serviceURL, "/")] = true
}

// ErrUntrustedService is returned for a service URL neither an
// authenticated activity nor the configured hosts name.
var ErrUntrustedService = errors.New("teams: service URL not trusted with the bot's token")

// trusts reports whether the bot's token may go to serviceURL.
func (c *Connector) trusts(serviceURL string) bool {
	c.mu.Lock()
	ok := c.trusted[strings.TrimRight(serviceURL, "/")]
	c.mu.Unlock()
	if ok {
		return true
	}
	u, err := url.Parse(serviceURL)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Port() != "" {
		return false
	}
	for _, h := range c.o.Hosts {
		if strings.EqualFold(u.Hostname(), h) {
			return true
		}
	}
	return false
}

// Token returns a token for the Bot Connector, fetched from the login
// service and kept until five minutes before it expires.
func (c *Connector) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	if c.token != "" && c.clock.Now().Before(c.expires) {
		t := c.token
		c.mu.Unlock()
		return t, nil
	}
	c.mu.Unlock()
	t, err := c.login.ClientCredentials(ctx, c.o.Scope)
	if err != nil {
		return "", fmt.Errorf("teams: the Bot Connector's token: %w", err)
	}
	life := max(t.Life(), 10*time.Minute)
	c.mu.Lock()
	c.token, c.expires = t.AccessToken, c.clock.Now().Add(life-5*time.Minute)
	c.mu.Unlock()
	return t.AccessToken, nil
}

// Personal is a person's personal chat with the bot, as a proactive
// message reaches it: the service URL and tenant of an activity they sent,
// and their Teams user id (29:…).
type Personal struct {
	ServiceURL string `json:"service_url"`
	Tenant     string `json:"tenant"`
	User       string `json:"user"`
}

// Send sends text (Teams' markdown) to the person's personal chat with the
// bot, creating the conversation first (proactive messaging: "Create the
// conversation", https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/conversations/send-proactive-messages).
func (c *Connector) Send(ctx context.Context, p Personal, text string) error {
	return c.send(ctx, p, map[string]any{"type": "message", "text": text, "textFormat": "markdown"})
}

// SendCard sends an Adaptive Card (its content: the "AdaptiveCard"
// object) to the person's personal chat with the bot, as a message's one
// attachment ("Send an Adaptive Card",
// https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/cards-reference#adaptive-card);
// summary is what a notification shows of it.
func (c *Connector) SendCard(ctx context.Context, p Personal, summary string, card any) error {
	return c.send(ctx, p, map[string]any{"type": "message", "summary": summary,
		"attachments": []any{map[string]any{"contentType": AdaptiveCard, "content": card}}})
}

// AdaptiveCard is an Adaptive Card attachment's content type.
const AdaptiveCard = "application/vnd.microsoft.card.adaptive"

// send sends the activity msg to the person's personal chat with the bot.
func (c *Connector) send(ctx context.Context, p Personal, msg map[string]any) error {
	if p.ServiceURL == "" || p.User == "" || p.Tenant == "" {
		return errors.New("teams: no personal chat to send to")
	}
	if !c.trusts(p.ServiceURL) {
		return ErrUntrustedService
	}
	base := strings.TrimRight(p.ServiceURL, "/")
	key := base + "\x00" + p.User
	c.mu.Lock()
	conv := c.convs[key]
	c.mu.Unlock()
	if conv == "" {
		var out struct {
			ID string `json:"id"`
		}
		body := map[string]any{
			"bot":         map[string]string{"id": "28:" + c.o.AppID},
			"members":     []map[string]string{{"id": p.User}},
			"channelData": map[string]any{"tenant": map[string]string{"id": p.Tenant}},
			"tenantId":    p.Tenant,
			"isGroup":     false,
		}
		if err := c.post(ctx, base+"/v3/conversations", body, &out); err != nil {
			return fmt.Errorf("teams: create the personal chat: %w", err)
		}
		if out.ID == "" {
			return errors.New("teams: the Bot Connector gave no conversation id")
		}
		conv = out.ID
		c.mu.Lock()
		c.convs[key] = conv
		c.mu.Unlock()
	}
	if err := c.post(ctx, base+"/v3/conversations/"+url.PathEscape(conv)+"/activities", msg, nil); err != nil {
		return fmt.Errorf("teams: send to the personal chat: %w", err)
	}
	return nil
}

// TeamGroupID returns the Microsoft 365 group id (which Graph names a
// team by) of the team whose thread id ("19:…@thread.tacv2") an activity
// named, as the Bot Connector's team details give it ("Get team details":
// GET /v3/teams/{teamId},
// https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/get-teams-context#get-team-details).
func (c *Connector) TeamGroupID(ctx context.Context, serviceURL, team string) (string, error) {
	if !c.trusts(serviceURL) {
		return "", ErrUntrustedService
	}
	c.mu.Lock()
	g := c.groups[team]
	c.mu.Unlock()
	if g != "" {
		return g, nil
	}
	var out struct {
		AADGroupID string `json:"aadGroupId"`
	}
	if err := c.do(ctx, http.MethodGet, strings.TrimRight(serviceURL, "/")+"/v3/teams/"+url.PathEscape(team), nil, &out); err != nil {
		return "", fmt.Errorf("teams: team details: %w", err)
	}
	if out.AADGroupID == "" {
		return "", errors.New("teams: the Bot Connector gave no group id for the team")
	}
	c.mu.Lock()
	c.groups[team] = out.AADGroupID
	c.mu.Unlock()
	return out.AADGroupID, nil
}

func (c *Connector) post(ctx context.Context, u string, body, dst any) error {
	return c.do(ctx, http.MethodPost, u, body, dst)
}

func (c *Connector) do(ctx context.Context, method, u string, body, dst any) error {
	tok, err := c.Token(ctx)
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.o.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		c.mu.Lock()
		c.token = "" // fetch a new one next time
		c.mu.Unlock()
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the Bot Connector answered %s", resp.Status)
	}
	if dst == nil {
		return nil
	}
	return json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(dst)
}
