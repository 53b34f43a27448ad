package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/recordbot/recordbot/bot"
)

// CheckOptions say what `bot check` checks of a Slack installation.
type CheckOptions struct {
	// BotToken (xoxb-) is checked with auth.test when set.
	BotToken string
	// AppToken (xapp-) is checked by opening a Socket Mode connection.
	AppToken string
	// APIURL is the Web API base URL; Slack's when empty.
	APIURL string
	// HTTPClient makes the calls; http.DefaultClient when nil.
	HTTPClient *http.Client
}

// Check checks a Slack installation as an admin would before staff use it:
// the bot token works and names its workspace and bot, it holds every
// scope the manifest asks for, and Socket Mode connects.
func Check(ctx context.Context, o CheckOptions) []bot.Finding {
	if o.APIURL == "" {
		o.APIURL = "https://slack.com/api/"
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var out []bot.Finding
	add := func(name, status, format string, a ...any) {
		out = append(out, bot.Finding{Name: name, Status: status, Detail: fmt.Sprintf(format, a...)})
	}
	if o.BotToken != "" {
		var res struct {
			OK     bool   `json:"ok"`
			Error  string `json:"error"`
			URL    string `json:"url"`
			Team   string `json:"team"`
			TeamID string `json:"team_id"`
			User   string `json:"user"`
		}
		h, err := callSlack(ctx, o, "auth.test", o.BotToken, &res)
		switch {
		case err != nil:
			add("slack token", bot.StatusFail, "auth.test: %v", err)
		case !res.OK:
			add("slack token", bot.StatusFail, "Slack refused the bot token (%s): copy the Bot User OAuth Token from the app's OAuth & Permissions page", res.Error)
			out[len(out)-1].Setting = bot.SettingSlackBotToken
		default:
			add("slack token", bot.StatusOK, "workspace %q (%s, %s) as bot @%s", res.Team, res.TeamID, res.URL, res.User)
			// Every Web API response lists the token's scopes in the
			// x-oauth-scopes header (https://api.slack.com/web, "Basics").
			granted := strings.Split(strings.ReplaceAll(h.Get("X-OAuth-Scopes"), " ", ""), ",")
			var missing []string
			for _, s := range BotScopes {
				if !slices.Contains(granted, s) {
					missing = append(missing, s)
				}
			}
			if len(missing) > 0 {
				add("slack scopes", bot.StatusFail, "the token lacks %s: update the app from manifest.yml and reinstall it to the workspace", strings.Join(missing, ", "))
			} else {
				add("slack scopes", bot.StatusOK, "all %d scopes of manifest.yml granted", len(BotScopes))
			}
		}
	}
	if o.AppToken != "" {
		if err := checkSocket(ctx, o); err != nil {
			add("slack socket mode", bot.StatusFail, "%v", err)
			out[len(out)-1].Setting = bot.SettingSlackAppToken
		} else {
			add("slack socket mode", bot.StatusOK, "connected, and Slack said hello")
		}
	}
	return out
}

// callSlack calls a Web API method with token and decodes its JSON answer.
func callSlack(ctx context.Context, o CheckOptions, method, token string, v any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.APIURL+method, strings.NewReader(url.Values{}.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := o.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return nil, fmt.Errorf("%s answered something other than JSON: %w", method, err)
	}
	return resp.Header, nil
}

// checkSocket opens a Socket Mode connection with the app-level token and
// waits for Slack's "hello" (https://api.slack.com/apis/socket-mode).
func checkSocket(ctx context.Context, o CheckOptions) error {
	var res struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
		URL   string `json:"url"`
	}
	if _, err := callSlack(ctx, o, "apps.connections.open", o.AppToken, &res); err != nil {
		return fmt.Errorf("apps.connections.open: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("Slack refused the app-level token (%s): create an app-level token with connections:write on the app's Basic Information page, and turn Socket Mode on", res.Error)
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.DialContext(ctx, res.URL, nil)
	if err != nil {
		return fmt.Errorf("connect to Socket Mode: %w", err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(dl)
	}
	var hello struct {
		Type string `json:"type"`
	}
	if err := conn.ReadJSON(&hello); err != nil {
		return fmt.Errorf("read Socket Mode hello: %w", err)
	}
	if hello.Type != "hello" {
		return fmt.Errorf("Socket Mode said %q first, not hello", hello.Type)
	}
	return nil
}
