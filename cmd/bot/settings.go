package main

import (
	"errors"
	"fmt"

	"github.com/recordbot/recordbot/bot"
	mmbot "github.com/recordbot/recordbot/bot/mattermost"
)

// The libraries under bot/, capture/ and filing/ name no environment
// variable: their errors and check findings say which configuration item
// is wrong ("no secret key is configured"), and this program, which reads
// the environment, adds where it is set.

// settingEnv is the environment variable of each bot.Setting.
var settingEnv = map[string]string{
	bot.SettingSecretKey:     "RECORDBOT_SECRET_KEY",
	bot.SettingPublicURL:     "PUBLIC_URL",
	bot.SettingMattermostURL: "MATTERMOST_URL",
	bot.SettingSlackBotToken: "SLACK_BOT_TOKEN",
	bot.SettingSlackAppToken: "SLACK_APP_TOKEN",
}

// settingErrs are the libraries' configuration errors, with the setting
// each is about.
var settingErrs = []struct {
	err     error
	setting string
}{
	{bot.ErrNoKey, bot.SettingSecretKey},
	{bot.ErrBadKey, bot.SettingSecretKey},
	{bot.ErrWrongKey, bot.SettingSecretKey},
	{mmbot.ErrNoPublicURL, bot.SettingPublicURL},
}

// settingError is a library's configuration error with the environment
// variable that sets it.
type settingError struct {
	env string
	err error
}

func (e *settingError) Error() string { return fmt.Sprintf("%v (set by %s)", e.err, e.env) }
func (e *settingError) Unwrap() error { return e.err }

// withSetting adds to err the environment variable that configures what it
// is about, when it is one of the libraries' configuration errors.
func withSetting(err error) error {
	if err == nil {
		return nil
	}
	var se *settingError
	if errors.As(err, &se) {
		return err
	}
	for _, s := range settingErrs {
		if errors.Is(err, s.err) {
			return &settingError{env: settingEnv[s.setting], err: err}
		}
	}
	return err
}

// settingDetail is a finding's detail with the environment variable of
// its setting, when it did not pass.
func settingDetail(x bot.Finding) string {
	if env := settingEnv[x.Setting]; env != "" && x.Status != bot.StatusOK {
		return x.Detail + " (set by " + env + ")"
	}
	return x.Detail
}
