package mattermost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	mmcapture "github.com/recordbot/recordbot/capture/mattermost"
	"github.com/recordbot/recordbot/capture/mattermost/mmhttp"
	"github.com/recordbot/recordbot/filing"
)

// ErrNoAdminToken, ErrBadAdminToken and ErrNoPublicURL say what the
// Installer was not given, or given wrong, so the caller can name where
// it comes from.
var (
	ErrNoAdminToken  = errors.New("no admin token given: create a personal access token for a system admin (Profile > Security > Personal Access Tokens) and give it for this command only")
	ErrBadAdminToken = errors.New("bad admin token")
	ErrNoPublicURL   = errors.New("no public URL given: it is the https address where Mattermost reaches this bot (the slash command points at its " + CommandPath + ")")
)

// Installer installs recordbot on Mattermost teams with an admin token.
type Installer struct {
	Server string
	// AdminToken is a system admin's personal access token. It is used
	// for the run only, never stored.
	AdminToken string
	// PublicURL is where Mattermost reaches the bot.
	PublicURL string
	Store     filing.Store
	Vault     *bot.Vault
	// BotUsername is the bot account's username (default "recordbot").
	BotUsername string
	Transport   http.RoundTripper
	Logger      *slog.Logger
	// Clock dates the installation; the system clock when nil.
	Clock filing.Clock
	// Out receives one line per thing done, for the admin.
	Out io.Writer
}

func (in *Installer) client(token string) *model.Client4 {
	c := model.NewAPIv4Client(in.Server)
	c.HTTPClient = mmhttp.NewClient(in.Transport, 0, 0, nil)
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
		return fmt.Errorf("the server address: %w", err)
	}
	in.Server = srv
	if in.AdminToken == "" {
		return ErrNoAdminToken
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
	in.Clock = filing.ClockOr(in.Clock)
	return nil
}

// admin checks the admin token and returns a client with it.
func (in *Installer) admin(ctx context.Context) (*model.Client4, error) {
	c := in.client(in.AdminToken)
	me, resp, err := c.GetMe(ctx, "")
	if err != nil {
		if httpStatus(resp, err) == http.StatusUnauthorized {
			return nil, fmt.Errorf("%w: %s refused it (expired or revoked?)", ErrBadAdminToken, in.Server)
		}
		return nil, fmt.Errorf("reach %s with the admin token: %w", in.Server, err)
	}
	if !me.IsSystemAdmin() {
		return nil, fmt.Errorf("%w: it belongs to @%s, who is not a system admin: install needs a system admin's token (to create the bot account and slash commands)", ErrBadAdminToken, me.Username)
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
		return nil, ErrNoPublicURL
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
	installs, err := in.installations()
	if err != nil {
		return nil, err
	}
	inst, etag, err := in.load(ctx, installs)
	if err != nil {
		return nil, err
	}
	if inst == nil {
		inst = &Installation{Server: in.Server}
	}
	if inst.Teams == nil {
		inst.Teams = map[string]*TeamInstall{}
	}
	before := inst.fingerprint()

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
	if inst.fingerprint() == before && etag != "" {
		in.say("nothing to change: already installed")
		return inst, nil
	}
	inst.UpdatedAt = in.Clock.Now().UTC()
	if err := in.save(ctx, installs, inst, etag); err != nil {
		return nil, err
	}
	in.say("installation stored at %s (tokens sealed with the secret key)", in.Store.Where(InstallKey(in.Server)))
	return inst, nil
}

func (in *Installer) installations() (*Installations, error) {
	return NewInstallations(in.Store, in.Vault, 0, in.Clock)
}

// load reads the stored installation to change it; nil when there is
// none. Tokens that do not open (the secret key changed) are left empty,
// so install makes new ones.
func (in *Installer) load(ctx context.Context, installs *Installations) (*Installation, string, error) {
	inst, etag, err := installs.Load(ctx, in.Server)
	switch {
	case errors.Is(err, ErrNotInstalled):
		return nil, "", nil
	case errors.Is(err, bot.ErrUnsealed):
		in.say("the stored tokens do not open with this secret key: install makes new ones")
	case err != nil:
		return nil, "", err
	}
	return &inst, etag, nil
}

// save stores inst over the version with etag (create-only when "").
func (in *Installer) save(ctx context.Context, installs *Installations, inst *Installation, etag string) error {
	err := installs.Write(ctx, in.Server, *inst, etag)
	if errors.Is(err, filing.ErrConflict) {
		return errors.New("the installation changed while this ran (another install or uninstall?); run it again")
	}
	return err
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
				inst.BotToken, inst.botToken, inst.BotTokenID = "", "", ""
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
	inst.BotToken, inst.botToken, inst.BotTokenID = "", "", ""
	return nil
}

// ensureToken keeps the stored bot token when it still works, or makes a
// new one (revoking the stored one, if any).
func (in *Installer) ensureToken(ctx context.Context, admin *model.Client4, inst *Installation) error {
	if inst.botToken != "" {
		me, _, err := in.client(inst.botToken).GetMe(ctx, "")
		if err == nil && me.Id == inst.BotUserID {
			return nil
		}
	}
	if inst.BotToken != "" && inst.BotTokenID != "" {
		admin.RevokeUserAccessToken(ctx, inst.BotTokenID) // it no longer works anyway
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
	inst.botToken, inst.BotTokenID = t.Token, t.Id
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
			return fmt.Errorf("team %s already has a /%s command pointing at %s: remove it (Integrations > Slash Commands) or fix the public URL, then run install again", t.Name, Trigger, x.URL)
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
	if old != nil && old.CommandID == cmd.Id && old.URL == cmdURL && old.TeamName == t.Name && old.commandToken == cmd.Token {
		return nil
	}
	inst.Teams[t.Id] = &TeamInstall{TeamID: t.Id, TeamName: t.Name, CommandID: cmd.Id, URL: cmdURL, commandToken: cmd.Token}
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
	installs, err := in.installations()
	if err != nil {
		return err
	}
	inst, etag, err := in.load(ctx, installs)
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
		inst.UpdatedAt = in.Clock.Now().UTC()
		return in.save(ctx, installs, inst, etag)
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
	if err := installs.Delete(ctx, in.Server); err != nil {
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
