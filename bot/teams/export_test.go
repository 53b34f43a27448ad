package teams

import "time"

// SetCheckTimeout sets the membership check's time limit until the
// returned function restores it.
func SetCheckTimeout(d time.Duration) (restore func()) {
	old := checkTimeout
	checkTimeout = d
	return func() { checkTimeout = old }
}
