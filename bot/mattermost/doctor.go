package mattermost

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/recordbot/recordbot/bot"
)

// SettingAdminToken is the configuration item of a system admin's
// personal access token, for Finding.Setting.
const SettingAdminToken = "Mattermost admin token"

// DoctorOptions say which server `bot mattermost doctor` examines.
type DoctorOptions struct {
	// Server is the Mattermost server's address.
	Server string
	// AdminToken is a system admin's personal access token: reading the
	// server's settings needs one.
	AdminToken string
	// PublicURL is where Mattermost is to reach the bot.
	PublicURL string
	// HTTPClient makes the calls; one with a 10 s timeout when nil.
	HTTPClient *http.Client
}

// serverConfig is the part of GET /api/v4/config that installing
// recordbot depends on.
type serverConfig struct {
	ServiceSettings struct {
		SiteURL                             *string `json:"SiteURL"`
		EnableBotAccountCreation            *bool   `json:"EnableBotAccountCreation"`
		EnableUserAccessTokens              *bool   `json:"EnableUserAccessTokens"`
		EnableCommands                      *bool   `json:"EnableCommands"`
		AllowedUntrustedInternalConnections *string `json:"AllowedUntrustedInternalConnections"`
	} `json:"ServiceSettings"`
}

// Doctor examines, before `bot mattermost install`, everything that
// install and the running bot need of a Mattermost server, and says where
// to change each: the server answers; the admin token works and is a
// system admin's; bot accounts, personal access tokens and custom slash
// commands are enabled (and the Site URL set: a warning); the public URL is HTTPS,
// answers, and, when it is on an internal network, is among the internal
// hosts the server may call.
func Doctor(ctx context.Context, o DoctorOptions) []bot.Finding {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	var out []bot.Finding
	add := func(name, status, format string, a ...any) {
		out = append(out, bot.Finding{Name: name, Status: status, Detail: fmt.Sprintf(format, a...)})
	}
	server := strings.TrimRight(o.Server, "/")
	h, err := getJSON(ctx, o.HTTPClient, server+"/api/v4/system/ping", "", nil)
	if err != nil {
		add("mattermost server", bot.StatusFail, "%s does not answer: %v", server, err)
		out[len(out)-1].Setting = bot.SettingMattermostURL
		return out
	}
	add("mattermost server", bot.StatusOK, "%s answers, version %s", server, serverVersion(h.Get("X-Version-Id")))

	if o.AdminToken == "" {
		add("admin token", bot.StatusFail, "no admin token is configured: create one as a system admin (Profile > Security > Personal Access Tokens); the server's settings can only be read with it")
		out[len(out)-1].Setting = SettingAdminToken
		return out
	}
	var me struct {
		Username string `json:"username"`
		Roles    string `json:"roles"`
	}
	if _, err := getJSON(ctx, o.HTTPClient, server+"/api/v4/users/me", o.AdminToken, &me); err != nil {
		add("admin token", bot.StatusFail, "the server refused the admin token (%v): create a new one (Profile > Security > Personal Access Tokens), with personal access tokens enabled (System Console > Integrations > Integration Management)", err)
		return out
	}
	if !slices.Contains(strings.Fields(me.Roles), "system_admin") {
		add("admin token", bot.StatusFail, "the token is @%s's, who is not a system admin: install needs a system admin's token", me.Username)
		return out
	}
	add("admin token", bot.StatusOK, "works, as system admin @%s", me.Username)

	var cfg serverConfig
	if _, err := getJSON(ctx, o.HTTPClient, server+"/api/v4/config", o.AdminToken, &cfg); err != nil {
		add("server settings", bot.StatusFail, "cannot read the server's settings (%v)", err)
		return out
	}
	s := cfg.ServiceSettings
	for _, b := range []struct {
		name, where, env string
		v                *bool
	}{
		{"bot accounts", "System Console > Integrations > Bot Accounts > Enable Bot Account Creation", "MM_SERVICESETTINGS_ENABLEBOTACCOUNTCREATION", s.EnableBotAccountCreation},
		{"access tokens", "System Console > Integrations > Integration Management > Enable Personal Access Tokens", "MM_SERVICESETTINGS_ENABLEUSERACCESSTOKENS", s.EnableUserAccessTokens},
		{"slash commands", "System Console > Integrations > Integration Management > Enable Custom Slash Commands", "MM_SERVICESETTINGS_ENABLECOMMANDS", s.EnableCommands},
	} {
		switch {
		case b.v == nil:
			add(b.name, bot.StatusWarn, "the server did not say whether it is on: check %s", b.where)
		case !*b.v:
			add(b.name, bot.StatusFail, "off: turn it on in %s (or %s=true)", b.where, b.env)
		default:
			add(b.name, bot.StatusOK, "on")
		}
	}
	if s.SiteURL == nil || *s.SiteURL == "" {
		add("site url", bot.StatusWarn, "not set: Mattermost's own docs ask for it, and links and several integration features depend on it; set it in System Console > Environment > Web Server > Site URL (or MM_SERVICESETTINGS_SITEURL)")
	} else {
		add("site url", bot.StatusOK, "%s", *s.SiteURL)
	}

	f := checkPublicURL(ctx, o.HTTPClient, o.PublicURL)
	out = append(out, f)
	if u, err := url.Parse(o.PublicURL); f.Status != bot.StatusFail && err == nil && u.Host != "" {
		out = append(out, checkInternal(ctx, u.Hostname(), s.AllowedUntrustedInternalConnections))
	}
	return out
}

// checkInternal says whether the server may call host: Mattermost refuses
// to call addresses on loopback, private and link-local networks unless
// the host is listed in AllowedUntrustedInternalConnections.
func checkInternal(ctx context.Context, host string, allowed *string) bot.Finding {
	f := bot.Finding{Name: "server reaches bot", Setting: bot.SettingPublicURL}
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else if addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host); err == nil {
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	} else {
		f.Status, f.Detail = bot.StatusWarn, fmt.Sprintf("%s does not resolve here (%v): the Mattermost server must resolve and reach it", host, err)
		return f
	}
	internal := false
	for _, ip := range ips {
		internal = internal || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()
	}
	if !internal {
		f.Status, f.Detail = bot.StatusOK, fmt.Sprintf("%s is a public address, which the server may call", host)
		return f
	}
	list := ""
	if allowed != nil {
		list = *allowed
	}
	for _, a := range strings.FieldsFunc(list, func(r rune) bool { return r == ' ' || r == ',' }) {
		if strings.EqualFold(a, host) {
			f.Status, f.Detail = bot.StatusOK, fmt.Sprintf("%s is internal and listed among the hosts the server may call", host)
			return f
		}
		if _, n, err := net.ParseCIDR(a); err == nil && slices.ContainsFunc(ips, n.Contains) {
			f.Status, f.Detail = bot.StatusOK, fmt.Sprintf("%s is internal and in %s, which the server may call", host, a)
			return f
		}
	}
	f.Status, f.Detail = bot.StatusFail, fmt.Sprintf("%s is on an internal network, and Mattermost will not call it: add %s to System Console > Environment > Developer > Allow untrusted internal connections to (or MM_SERVICESETTINGS_ALLOWEDUNTRUSTEDINTERNALCONNECTIONS)", host, host)
	return f
}
