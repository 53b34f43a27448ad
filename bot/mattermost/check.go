package mattermost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/filing"
)

// CheckOptions say what `bot check` checks of a Mattermost installation.
type CheckOptions struct {
	// Server is the Mattermost server's address.
	Server string
	// PublicURL is where Mattermost reaches the bot.
	PublicURL string
	// Store and Vault hold the sealed installation.
	Store filing.Store
	Vault *bot.Vault
	// HTTPClient makes the calls; one with a 10 s timeout when nil.
	HTTPClient *http.Client
}

// Check checks a Mattermost installation as an admin would before staff
// use it: the server answers and its version, the bot's token works, /record
// is registered on each installed team, and the public URL is HTTPS and
// answers.
func Check(ctx context.Context, o CheckOptions) []bot.Finding {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	var out []bot.Finding
	add := func(name, status, format string, a ...any) {
		out = append(out, bot.Finding{Name: name, Status: status, Detail: fmt.Sprintf(format, a...)})
	}
	setting := func(s string) { out[len(out)-1].Setting = s }
	server := strings.TrimRight(o.Server, "/")
	h, err := getJSON(ctx, o.HTTPClient, server+"/api/v4/system/ping", "", nil)
	if err != nil {
		add("mattermost server", bot.StatusFail, "%s does not answer: %v", server, err)
		setting(bot.SettingMattermostURL)
		return out
	}
	add("mattermost server", bot.StatusOK, "%s answers, version %s", server, serverVersion(h.Get("X-Version-Id")))

	inst, _, err := LoadInstallation(ctx, o.Store, server)
	switch {
	case err != nil:
		add("mattermost install", bot.StatusFail, "%v", err)
		return out
	case inst == nil || len(inst.Teams) == 0:
		add("mattermost install", bot.StatusFail, "recordbot is not installed on any team of %s: run `bot mattermost install --team TEAM` with a system admin's token", server)
		return out
	case o.Vault == nil:
		add("mattermost install", bot.StatusFail, "%v", bot.ErrNoKey)
		setting(bot.SettingSecretKey)
		return out
	}
	// The token is opened as the bot opens it, through the installations.
	installs, err := NewInstallations(o.Store, o.Vault, 0, nil)
	if err != nil {
		add("mattermost install", bot.StatusFail, "%v", err)
		return out
	}
	tok, err := BotToken(installs, server)(ctx)
	switch {
	case errors.Is(err, bot.ErrUnsealed):
		add("mattermost bot token", bot.StatusFail, "cannot unseal the bot token (%v): the secret key differs from the one used at install; restore it or run `bot mattermost install` again", err)
		setting(bot.SettingSecretKey)
		return out
	case err != nil:
		add("mattermost install", bot.StatusFail, "%v", err)
		return out
	}
	var me struct {
		Username string `json:"username"`
	}
	if _, err := getJSON(ctx, o.HTTPClient, server+"/api/v4/users/me", tok, &me); err != nil {
		add("mattermost bot token", bot.StatusFail, "the server refused the bot's token (%v): run `bot mattermost install` again to issue a new one", err)
		return out
	}
	add("mattermost bot token", bot.StatusOK, "works, as @%s", me.Username)
	for _, t := range inst.Teams {
		var cmds []struct {
			Trigger string `json:"trigger"`
		}
		_, err := getJSON(ctx, o.HTTPClient, server+"/api/v4/teams/"+url.PathEscape(t.TeamID)+"/commands/autocomplete", tok, &cmds)
		found := false
		for _, c := range cmds {
			found = found || c.Trigger == Trigger
		}
		switch {
		case err != nil:
			add("mattermost /"+Trigger, bot.StatusFail, "team %s: cannot list its commands (%v)", t.TeamName, err)
		case !found:
			add("mattermost /"+Trigger, bot.StatusFail, "team %s has no /%s command: run `bot mattermost install --team %s`", t.TeamName, Trigger, t.TeamName)
		default:
			add("mattermost /"+Trigger, bot.StatusOK, "registered on team %s", t.TeamName)
		}
	}
	out = append(out, checkPublicURL(ctx, o.HTTPClient, o.PublicURL))
	return out
}

// checkPublicURL checks that the public URL is HTTPS (plain HTTP only on this
// machine) and that the bot answers there.
func checkPublicURL(ctx context.Context, hc *http.Client, public string) bot.Finding {
	f := bot.Finding{Name: "public url", Setting: bot.SettingPublicURL}
	u, err := url.Parse(public)
	if public == "" || err != nil || u.Host == "" {
		f.Status, f.Detail = bot.StatusFail, "no public URL is set: Mattermost sends /record to it (https://recordbot.example.org)"
		return f
	}
	loopback := false
	if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() || u.Hostname() == "localhost" {
		loopback = true
	}
	if u.Scheme != "https" && !loopback {
		f.Status, f.Detail = bot.StatusFail, fmt.Sprintf("the public URL %s is not HTTPS: put the bot behind an HTTPS reverse proxy (docs/operating.md#https) and give its https:// address", public)
		return f
	}
	if _, err := getJSON(ctx, hc, strings.TrimRight(public, "/")+"/healthz", "", nil); err != nil {
		f.Status, f.Detail = bot.StatusWarn, fmt.Sprintf("nothing answers at %s/healthz yet (%v): start `bot serve` there, then check again", strings.TrimRight(public, "/"), err)
		return f
	}
	f.Status, f.Detail = bot.StatusOK, public+" answers"
	if u.Scheme != "https" {
		f.Status, f.Detail = bot.StatusWarn, public+" answers, over plain HTTP on this machine only"
	}
	return f
}

// getJSON GETs url (with a bearer token when given), fails on any status
// but 200, and decodes a JSON answer into v when v is not nil.
func getJSON(ctx context.Context, hc *http.Client, u, token string, v any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	if v != nil {
		if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(v); err != nil {
			return nil, err
		}
	}
	return resp.Header, nil
}

// serverVersion shortens X-Version-Id ("6.7.2.6.7.2.abc.false") to the
// release ("6.7.2").
func serverVersion(id string) string {
	parts := strings.Split(id, ".")
	if len(parts) >= 3 {
		return strings.Join(parts[:3], ".")
	}
	if id == "" {
		return "unknown"
	}
	return id
}
