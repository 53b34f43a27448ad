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
}

// The statuses of a Finding.
const (
	StatusOK   = "ok"
	StatusWarn = "warn"
	StatusFail = "FAIL"
)
