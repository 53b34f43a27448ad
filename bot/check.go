package bot

// Finding is one line of an installation check (`bot check`): what was
// checked, whether it passed, and what to do when it did not.
type Finding struct {
	// Name is what was checked ("slack token", "mattermost server").
	Name string
	// Status is StatusOK, StatusWarn or StatusFail.
	Status string
	// Detail says what was found, or what to fix.
	Detail string
	// Setting is the configuration item to look at when the check did
	// not pass (one of the Setting constants), or empty. It is named, not
	// spelled as an environment variable or flag: the program that reads
	// the configuration adds where it is set.
	Setting string
}

// The configuration items a Finding can point at.
const (
	SettingSecretKey     = "secret key"
	SettingPublicURL     = "public URL"
	SettingMattermostURL = "Mattermost server URL"
	SettingSlackBotToken = "Slack bot token"
	SettingSlackAppToken = "Slack app-level token"
)

// The statuses of a Finding.
const (
	StatusOK   = "ok"
	StatusWarn = "warn"
	StatusFail = "FAIL"
)
