package mattermost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/recordbot/recordbot/bot"
	mmcapture "github.com/recordbot/recordbot/capture/mattermost"
	"github.com/recordbot/recordbot/filing"
)

// Installation is what `bot mattermost install` made on one server: the
// bot account, its access token and the /record command of each team. It
// is kept at InstallKey by the shared bot.Sealed store (Installations),
// its tokens sealed.
type Installation struct {
	Server      string `json:"server"`
	BotUserID   string `json:"bot_user_id"`
	BotUsername string `json:"bot_username"`
	// CreatedBot is true when install created the bot account (so
	// uninstall disables it).
	CreatedBot bool `json:"created_bot"`
	// BotToken is the bot's access token as stored, sealed; BotTokenID
	// its id. The opened token is botToken, never stored.
	BotToken   string                  `json:"bot_token"`
	BotTokenID string                  `json:"bot_token_id"`
	Teams      map[string]*TeamInstall `json:"teams"`
	UpdatedAt  time.Time               `json:"updated_at"`

	botToken string
}

// TeamInstall is the /record command on one team.
type TeamInstall struct {
	TeamID    string `json:"team_id"`
	TeamName  string `json:"team_name"`
	CommandID string `json:"command_id"`
	// CommandToken is the token Mattermost sends with the command, as
	// stored, sealed; the opened token is commandToken, never stored.
	CommandToken string `json:"command_token"`
	URL          string `json:"url"`

	commandToken string
}

// Trigger is the slash command recordbot registers.
const Trigger = "record"

// installPrefix holds one installation per server.
const installPrefix = filing.InstallationsPrefix + "mattermost/"

// InstallKey returns the store key of a server's installation.
func InstallKey(server string) string {
	u, err := url.Parse(server)
	host := server
	if err == nil && u.Host != "" {
		host = u.Host + strings.TrimRight(u.Path, "/")
	}
	var b strings.Builder
	for _, r := range strings.ToLower(host) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return installPrefix + b.String() + ".json"
}

// Installations keeps the installation of each server (its URL is the
// id), tokens sealed, cached for ttl.
type Installations = bot.Sealed[Installation]

// NewInstallations returns the installations kept in store, sealed with
// vault, cached for ttl. clock may be nil (the system clock).
func NewInstallations(store filing.Store, vault *bot.Vault, ttl time.Duration, clock filing.Clock) (*Installations, error) {
	return bot.NewSealed(store, vault, bot.SealedOptions[Installation]{
		What:   "Mattermost installation",
		Prefix: installPrefix,
		Name: func(server string) string {
			return strings.TrimSuffix(strings.TrimPrefix(InstallKey(server), installPrefix), ".json")
		},
		Label: func(server string) string { return "mattermost:" + server },
		Secrets: func(in *Installation) []bot.Secret {
			out := []bot.Secret{{Name: "bot", Plain: &in.botToken, Sealed: &in.BotToken}}
			for _, id := range slices.Sorted(maps.Keys(in.Teams)) {
				t := in.Teams[id]
				out = append(out, bot.Secret{Name: id + ":command", Plain: &t.commandToken, Sealed: &t.CommandToken})
			}
			return out
		},
		TTL: ttl, Missing: ErrNotInstalled, Clock: clock,
	})
}

// BotToken returns the lookup of server's bot token in installs, for the
// worker's capture source (mmcapture.NewTokened).
func BotToken(installs *Installations, server string) mmcapture.TokenFunc {
	return func(ctx context.Context) (string, error) { return installs.Secret(ctx, server, "bot") }
}

// LoadInstallation reads the installation of server as stored, its
// tokens sealed, for what needs no token; nil, nil when there is none.
func LoadInstallation(ctx context.Context, st filing.Store, server string) (*Installation, string, error) {
	data, etag, err := bot.ReadStored(ctx, st, InstallKey(server))
	if errors.Is(err, filing.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read the Mattermost installation: %w", err)
	}
	var in Installation
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, "", fmt.Errorf("the Mattermost installation at %s is damaged: %w", InstallKey(server), err)
	}
	return &in, etag, nil
}

// fingerprint is what install compares to tell whether it changed
// anything: the stored fields and the opened tokens.
func (in *Installation) fingerprint() string {
	b, _ := json.Marshal(in)
	s := string(b) + "\x00" + in.botToken
	for _, id := range slices.Sorted(maps.Keys(in.Teams)) {
		s += "\x00" + id + "=" + in.Teams[id].commandToken
	}
	return s
}
