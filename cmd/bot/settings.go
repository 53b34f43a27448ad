package main

import (
	"errors"
	"fmt"

	"github.com/recordbot/recordbot/bot"
	mmbot "github.com/recordbot/recordbot/bot/mattermost"
	"github.com/recordbot/recordbot/filing/records"
	s3store "github.com/recordbot/recordbot/filing/s3"
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
	settingMattermostAdmin:   "MATTERMOST_ADMIN_TOKEN",
}

// settingMattermostAdmin is the admin token `bot mattermost install` and
// `uninstall` use for the run only.
const settingMattermostAdmin = mmbot.SettingAdminToken

// settingErrs are the libraries' configuration errors, with the setting
// each is about.
var settingErrs = []struct {
	err     error
	setting string
}{
	{bot.ErrNoKey, bot.SettingSecretKey},
	{bot.ErrBadKey, bot.SettingSecretKey},
	{bot.ErrWrongKey, bot.SettingSecretKey},
	{records.ErrNoSigner, bot.SettingSecretKey},
	{records.ErrNoKeys, bot.SettingSecretKey},
	{mmbot.ErrNoPublicURL, bot.SettingPublicURL},
	{mmbot.ErrNoAdminToken, settingMattermostAdmin},
	{mmbot.ErrBadAdminToken, settingMattermostAdmin},
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

// s3FieldEnv is the environment variable of each S3 configuration field.
var s3FieldEnv = map[string]string{
	"Endpoint": "S3_ENDPOINT", "Bucket": "S3_BUCKET", "AccessKey": "S3_ACCESS_KEY", "SecretKey": "S3_SECRET_KEY",
	"UseIAM": "S3_USE_IAM=true", "PathStyle": "S3_PATH_STYLE", "Prefix": "S3_PREFIX", "LockMode": "RECORD_LOCK_MODE",
	"Insecure": "S3_INSECURE",
}

// s3Setting says the S3 store's configuration and reach errors with the
// variables that set each field.
func s3Setting(err error) error {
	name := func(field string) string { return s3FieldEnv[field] }
	if re, ok := errors.AsType[*s3store.ReachError](err); ok {
		return &sayError{msg: re.Say(name), err: err}
	}
	var parts []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		parts = j.Unwrap()
	} else {
		parts = []error{err}
	}
	out := make([]error, 0, len(parts))
	for _, p := range parts {
		if ce, ok := errors.AsType[*s3store.ConfigError](p); ok {
			p = &sayError{msg: ce.Say(name), err: p}
		}
		out = append(out, p)
	}
	return errors.Join(out...)
}

// sayError is err said in other words, for the person who configures it.
type sayError struct {
	msg string
	err error
}

func (e *sayError) Error() string { return e.msg }
func (e *sayError) Unwrap() error { return e.err }
