package mattermost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	mmcapture "github.com/recordbot/recordbot/capture/mattermost"
	"github.com/recordbot/recordbot/filing"
)

// Installation is what `bot mattermost install` made on one server: the
// bot account, its access token and the /record command of each team. The
// tokens are sealed with the bot.Vault; the object lives at InstallKey.
type Installation struct {
	Server      string `json:"server"`
	BotUserID   string `json:"bot_user_id"`
	BotUsername string `json:"bot_username"`
	// CreatedBot is true when install created the bot account (so
	// uninstall disables it).
	CreatedBot bool `json:"created_bot"`
	// BotToken is the bot's access token, sealed; BotTokenID its id.
	BotToken   string                  `json:"bot_token"`
	BotTokenID string                  `json:"bot_token_id"`
	Teams      map[string]*TeamInstall `json:"teams"`
	UpdatedAt  time.Time               `json:"updated_at"`
}

// TeamInstall is the /record command on one team.
type TeamInstall struct {
	TeamID    string `json:"team_id"`
	TeamName  string `json:"team_name"`
	CommandID string `json:"command_id"`
	// CommandToken is the token Mattermost sends with the command, sealed.
	CommandToken string `json:"command_token"`
	URL          string `json:"url"`
}

// Trigger is the slash command recordbot registers.
const Trigger = "record"

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
	return filing.InstallationsPrefix + "mattermost/" + b.String() + ".json"
}

func botLabel(server string) string { return "mattermost:" + server + ":bot" }
func commandLabel(server, team string) string {
	return "mattermost:" + server + ":" + team + ":command"
}

// LoadInstallation reads the installation of server; nil, nil when there
// is none.
func LoadInstallation(ctx context.Context, st filing.Store, server string) (*Installation, string, error) {
	rc, info, err := st.Open(ctx, InstallKey(server))
	if errors.Is(err, filing.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read the Mattermost installation: %w", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return nil, "", fmt.Errorf("read the Mattermost installation: %w", err)
	}
	var in Installation
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, "", fmt.Errorf("the Mattermost installation at %s is damaged: %w", InstallKey(server), err)
	}
	return &in, info.ETag, nil
}

func saveInstallation(ctx context.Context, st filing.Store, in *Installation, etag string) error {
	data, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		return err
	}
	_, err = st.Put(ctx, InstallKey(in.Server), bytes.NewReader(data), int64(len(data)),
		filing.WriteOptions{ContentType: "application/json", IfMatch: etag})
	if errors.Is(err, filing.ErrConflict) {
		return errors.New("the installation changed while this ran (another install or uninstall?); run it again")
	}
	return err
}

// Installer installs recordbot on Mattermost teams with an admin token.
type Installer struct {
	Server string
	// AdminToken is a system admin's personal access token
	// (MATTERMOST_ADMIN_TOKEN). It is used for the run only, never stored.
	AdminToken string
	// PublicURL is where Mattermost reaches the bot (PUBLIC_URL).
	PublicURL string
	Store     filing.Store
	Vault     *bot.Vault
	// BotUsername is the bot account's username (default "recordbot").
	BotUsername string
	Transport   http.RoundTripper
	Logger      *slog.Logger
	Now         func() time.Time
	// Out receives one line per thing done, for the admin.
	Out io.Writer
}

func (in *Installer) client(token string) *model.Client4 {
	c := model.NewAPIv4Client(in.Server)
	c.HTTPClient = mmcapture.NewHTTPClient(in.Transport, 0, 0, nil)
	c.SetToken(token)
	return c
}

func (in *Installer) say(format string, args ...any) {
	if in.Out != nil {
		fmt.Fprintf(in.Out, format+"\n", args...)
	}
}

func (in *Installer) check() error {
	srv, err := mmcapture.NormalizeURL(in.Server)
	if err != nil {
		return fmt.Errorf("--url / MATTERMOST_URL: %w", err)
	}
	in.Server = srv
	if in.AdminToken == "" {
		return errors.New("MATTERMOST_ADMIN_TOKEN is not set: create a personal access token for a system admin (Profile > Security > Personal Access Tokens) and export it for this command only")
	}
	if in.Vault == nil {
		return bot.ErrNoKey
	}
	if in.Store == nil {
		return errors.New("no record store configured")
	}
	if in.BotUsername == "" {
		in.BotUsername = "recordbot"
	}
	if in.Now == nil {
		in.Now = time.Now
	}
	return nil
}

// admin checks the admin token and returns a client with it.
func (in *Installer) admin(ctx context.Context) (*model.Client4, error) {
	c := in.client(in.AdminToken)
	me, resp, err := c.GetMe(ctx, "")
	if err != nil {
		if httpStatus(resp, err) == http.StatusUnauthorized {
			return nil, fmt.Errorf("%s refused MATTERMOST_ADMIN_TOKEN (expired or revoked?)", in.Server)
		}
		return nil, fmt.Errorf("reach %s with MATTERMOST_ADMIN_TOKEN: %w", in.Server, err)
	}
	if !me.IsSystemAdmin() {
		return nil, fmt.Errorf("MATTERMOST_ADMIN_TOKEN belongs to @%s, who is not a system admin: install needs a system admin's token (to create the bot account and slash commands)", me.Username)
	}
	return c, nil
}

// Install creates or reuses the bot account and its token, registers
// /record on each team (names or ids) and stores the installation. Running
// it again changes nothing.
func (in *Installer) Install(ctx context.Context, teams []string) (*Installation, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	if in.PublicURL == "" {
		return nil, errors.New("PUBLIC_URL is not set: it is the https address where Mattermost reaches this bot (the slash command points at PUBLIC_URL/mattermost/command)")
	}
	if len(teams) == 0 {
		return nil, errors.New("name at least one team: --team TEAM (the team's URL name, as in https://server/TEAM)")
	}
	admin, err := in.admin(ctx)
	if err != nil {
		return nil, err
	}
	var resolved []*model.Team
	for _, name := range teams {
		t, err := in.team(ctx, admin, name)
		if err != nil {
			return nil, err
		}
		resolved = append(resolved, t)
	}
	inst, etag, err := LoadInstallation(ctx, in.Store, in.Server)
	if err != nil {
		return nil, err
	}
	if inst == nil {
		inst = &Installation{Server: in.Server, Teams: map[string]*TeamInstall{}}
	}
	if inst.Teams == nil {
		inst.Teams = map[string]*TeamInstall{}
	}
	before, _ := json.Marshal(inst)

	if err := in.ensureBot(ctx, admin, inst); err != nil {
		return nil, err
	}
	if err := in.ensureToken(ctx, admin, inst); err != nil {
		return nil, err
	}
	cmdURL := strings.TrimRight(in.PublicURL, "/") + CommandPath
	for _, t := range resolved {
		if err := in.ensureCommand(ctx, admin, inst, t, cmdURL); err != nil {
			return nil, err
		}
	}
	in.removeOldClaims(ctx)
	after, _ := json.Marshal(inst)
	if bytes.Equal(before, after) && etag != "" {
		in.say("nothing to change: already installed")
		return inst, nil
	}
	inst.UpdatedAt = in.Now().UTC()
	if err := saveInstallation(ctx, in.Store, inst, etag); err != nil {
		return nil, err
	}
	in.say("installation stored at %s (tokens sealed with RECORDBOT_SECRET_KEY)", in.Store.Where(InstallKey(in.Server)))
	return inst, nil
}

// removeOldClaims deletes the claim objects recordbot before the filing
// key wrote under installations/mattermost/<server>/claims/ (one per form
// and reaction, never cleaned up). They hold a time and a nonce, nothing
// else; the filing key (requests/keys/) does their work now. On a
// versioned bucket the delete leaves a delete marker; the old versions go
// with the bucket's lifecycle rules.
func (in *Installer) removeOldClaims(ctx context.Context) {
	prefix := strings.TrimSuffix(InstallKey(in.Server), ".json") + "/claims/"
	n := 0
	for info, err := range in.Store.List(ctx, prefix) {
		if err != nil {
			in.say("could not list old claim objects under %s: %v", prefix, err)
			return
		}
		if err := in.Store.Delete(ctx, info.Key); err != nil {
			in.say("could not remove the old claim object %s: %v", info.Key, err)
			continue
		}
		n++
	}
	if n > 0 {
		in.say("removed %d claim objects an older recordbot left under %s (no longer used)", n, prefix)
	}
}

func (in *Installer) team(ctx context.Context, c *model.Client4, name string) (*model.Team, error) {
	name = strings.TrimSpace(name)
	t, resp, err := c.GetTeamByName(ctx, name, "")
	if err == nil {
		return t, nil
	}
	if httpStatus(resp, err) == http.StatusNotFound && model.IsValidId(name) {
		if t, _, err2 := c.GetTeam(ctx, name, ""); err2 == nil {
			return t, nil
		}
	}
	if httpStatus(resp, err) == http.StatusNotFound {
		return nil, fmt.Errorf("there is no team %q on %s (use the team's URL name, as in %s/TEAM)", name, in.Server, in.Server)
	}
	return nil, fmt.Errorf("look up team %q: %w", name, err)
}

// ensureBot finds the bot account by username (enabling it if it was
// disabled) or creates it.
func (in *Installer) ensureBot(ctx context.Context, c *model.Client4, inst *Installation) error {
	for page := 0; ; page++ {
		bots, resp, err := c.GetBotsIncludeDeleted(ctx, page, 200, "")
		if err != nil {
			if httpStatus(resp, err) == http.StatusForbidden {
				return errors.New("the admin token may not list bot accounts: it needs the system admin role")
			}
			return fmt.Errorf("list bot accounts: %w", err)
		}
		for _, b := range bots {
			if b.Username != in.BotUsername {
				continue
			}
			if b.DeleteAt != 0 {
				if _, _, err := c.EnableBot(ctx, b.UserId); err != nil {
					return fmt.Errorf("enable the disabled bot account @%s: %w", b.Username, err)
				}
				in.say("enabled the bot account @%s again", b.Username)
			} else if inst.BotUserID != b.UserId {
				in.say("using the existing bot account @%s", b.Username)
			}
			if inst.BotUserID != b.UserId {
				inst.BotToken, inst.BotTokenID = "", ""
			}
			inst.BotUserID, inst.BotUsername = b.UserId, b.Username
			return nil
		}
		if len(bots) < 200 {
			break
		}
	}
	b, resp, err := c.CreateBot(ctx, &model.Bot{
		Username:    in.BotUsername,
		DisplayName: "Records bot",
		Description: "Files threads as records (recordbot). Type /record in a thread.",
	})
	if err != nil {
		switch {
		case appErrID(err) == "api.bot.create_disabled" || (httpStatus(resp, err) == http.StatusForbidden && strings.Contains(appErrID(err), "disabled")):
			return errors.New("bot accounts are disabled on this server: turn on System Console > Integrations > Bot Accounts > Enable Bot Account Creation, then run install again")
		case httpStatus(resp, err) == http.StatusForbidden:
			return errors.New("the admin token may not create bot accounts: it needs the system admin role")
		case strings.Contains(appErrID(err), "username_exists"):
			return fmt.Errorf("a user called @%s exists and is not a bot: choose another name with --bot-username", in.BotUsername)
		}
		return fmt.Errorf("create the bot account @%s: %w", in.BotUsername, err)
	}
	in.say("created the bot account @%s", b.Username)
	inst.BotUserID, inst.BotUsername, inst.CreatedBot = b.UserId, b.Username, true
	inst.BotToken, inst.BotTokenID = "", ""
	return nil
}

// ensureToken keeps the stored bot token when it still works, or makes a
// new one (revoking the stored one, if any).
func (in *Installer) ensureToken(ctx context.Context, admin *model.Client4, inst *Installation) error {
	if inst.BotToken != "" {
		tok, err := in.Vault.Open(inst.BotToken, botLabel(inst.Server))
		if err == nil {
			me, _, err := in.client(tok).GetMe(ctx, "")
			if err == nil && me.Id == inst.BotUserID {
				return nil
			}
		}
		if inst.BotTokenID != "" {
			admin.RevokeUserAccessToken(ctx, inst.BotTokenID) // it no longer works anyway
		}
	}
	t, resp, err := admin.CreateUserAccessToken(ctx, inst.BotUserID, "recordbot "+in.PublicURL, 0)
	if err != nil {
		switch httpStatus(resp, err) {
		case http.StatusNotImplemented:
			return errors.New("personal access tokens are disabled on this server: turn on System Console > Integrations > Integration Management > Enable Personal Access Tokens, then run install again")
		case http.StatusForbidden:
			return errors.New("the admin token may not create access tokens for the bot: it needs the system admin role")
		}
		return fmt.Errorf("create the bot's access token: %w", err)
	}
	inst.BotToken = in.Vault.Seal(t.Token, botLabel(inst.Server))
	inst.BotTokenID = t.Id
	in.say("created an access token for @%s", inst.BotUsername)
	return nil
}

// ensureCommand adds the bot to the team and registers /record there, or
// finds the one registered before.
func (in *Installer) ensureCommand(ctx context.Context, c *model.Client4, inst *Installation, t *model.Team, cmdURL string) error {
	if _, resp, err := c.AddTeamMember(ctx, t.Id, inst.BotUserID); err != nil {
		if httpStatus(resp, err) == http.StatusForbidden {
			return fmt.Errorf("the admin token may not add @%s to team %s", inst.BotUsername, t.Name)
		}
		return fmt.Errorf("add @%s to team %s: %w", inst.BotUsername, t.Name, err)
	}
	cmds, resp, err := c.ListCommands(ctx, t.Id, true)
	if err != nil {
		if httpStatus(resp, err) == http.StatusNotImplemented {
			return errors.New("custom slash commands are disabled on this server: turn on System Console > Integrations > Integration Management > Enable Custom Slash Commands, then run install again")
		}
		return fmt.Errorf("list the slash commands of team %s: %w", t.Name, err)
	}
	var cmd *model.Command
	for _, x := range cmds {
		if x.Trigger != Trigger {
			continue
		}
		if x.URL != cmdURL {
			return fmt.Errorf("team %s already has a /%s command pointing at %s: remove it (Integrations > Slash Commands) or fix PUBLIC_URL, then run install again", t.Name, Trigger, x.URL)
		}
		cmd = x
	}
	if cmd == nil {
		cmd, resp, err = c.CreateCommand(ctx, &model.Command{
			TeamId: t.Id, Trigger: Trigger, Method: model.CommandMethodPost, URL: cmdURL,
			DisplayName: "File as record", Description: "File a thread as a record (recordbot)",
			AutoComplete: true, AutoCompleteDesc: "File this thread as a record; outside a thread, give a post link",
			AutoCompleteHint: "[post link] [title]", Username: inst.BotUsername,
		})
		if err != nil {
			switch httpStatus(resp, err) {
			case http.StatusNotImplemented:
				return errors.New("custom slash commands are disabled on this server: turn on System Console > Integrations > Integration Management > Enable Custom Slash Commands, then run install again")
			case http.StatusForbidden:
				return fmt.Errorf("the admin token may not create slash commands on team %s", t.Name)
			}
			return fmt.Errorf("create /%s on team %s: %w", Trigger, t.Name, err)
		}
		in.say("registered /%s on team %s -> %s", Trigger, t.Name, cmdURL)
	}
	if cmd.Token == "" {
		return fmt.Errorf("Mattermost did not show the token of /%s on team %s (is the admin token a system admin's?)", Trigger, t.Name)
	}
	old := inst.Teams[t.Id]
	if old != nil && old.CommandID == cmd.Id && old.URL == cmdURL && old.TeamName == t.Name {
		if tok, err := in.Vault.Open(old.CommandToken, commandLabel(inst.Server, t.Id)); err == nil && tok == cmd.Token {
			return nil
		}
	}
	inst.Teams[t.Id] = &TeamInstall{
		TeamID: t.Id, TeamName: t.Name, CommandID: cmd.Id, URL: cmdURL,
		CommandToken: in.Vault.Seal(cmd.Token, commandLabel(inst.Server, t.Id)),
	}
	return nil
}

// Uninstall removes /record from the named teams (every installed team
// when none is named). Once no team is left it revokes the bot's token,
// disables the bot account if install created it, and deletes the
// installation.
func (in *Installer) Uninstall(ctx context.Context, teams []string) error {
	if err := in.check(); err != nil {
		return err
	}
	admin, err := in.admin(ctx)
	if err != nil {
		return err
	}
	inst, etag, err := LoadInstallation(ctx, in.Store, in.Server)
	if err != nil {
		return err
	}
	if inst == nil {
		in.say("recordbot is not installed on %s: nothing to remove", in.Server)
		return nil
	}
	var remove []*TeamInstall
	if len(teams) == 0 {
		for _, t := range inst.Teams {
			remove = append(remove, t)
		}
	}
	for _, name := range teams {
		var found *TeamInstall
		for _, t := range inst.Teams {
			if t.TeamName == name || t.TeamID == name {
				found = t
			}
		}
		if found == nil {
			return fmt.Errorf("recordbot is not installed on team %q", name)
		}
		remove = append(remove, found)
	}
	for _, t := range remove {
		if resp, err := admin.DeleteCommand(ctx, t.CommandID); err != nil && httpStatus(resp, err) != http.StatusNotFound {
			return fmt.Errorf("remove /%s from team %s: %w", Trigger, t.TeamName, err)
		}
		delete(inst.Teams, t.TeamID)
		in.say("removed /%s from team %s", Trigger, t.TeamName)
	}
	if len(inst.Teams) > 0 {
		inst.UpdatedAt = in.Now().UTC()
		return saveInstallation(ctx, in.Store, inst, etag)
	}
	if inst.BotTokenID != "" {
		if resp, err := admin.RevokeUserAccessToken(ctx, inst.BotTokenID); err != nil && httpStatus(resp, err) != http.StatusNotFound {
			return fmt.Errorf("revoke the bot's access token: %w", err)
		}
		in.say("revoked the access token of @%s", inst.BotUsername)
	}
	if inst.CreatedBot {
		if _, resp, err := admin.DisableBot(ctx, inst.BotUserID); err != nil && httpStatus(resp, err) != http.StatusNotFound {
			return fmt.Errorf("disable the bot account @%s: %w", inst.BotUsername, err)
		}
		in.say("disabled the bot account @%s", inst.BotUsername)
	}
	if err := in.Store.Delete(ctx, InstallKey(inst.Server)); err != nil {
		return fmt.Errorf("delete the installation: %w", err)
	}
	in.say("uninstalled from %s", in.Server)
	return nil
}

func appErrID(err error) string {
	var ae *model.AppError
	if errors.As(err, &ae) {
		return ae.Id
	}
	return ""
}
