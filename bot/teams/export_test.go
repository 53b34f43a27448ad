package teams

import "time"

// SetTimeouts sets the invoke's deadline, the membership check's and the
// store's time limits until the returned function restores them: tests on
// a loaded machine give them room, or make the check time out at once.
func SetTimeouts(invoke, check, store time.Duration) (restore func()) {
	oi, oc, os := invokeDeadline, checkTimeout, storeTimeout
	invokeDeadline, checkTimeout, storeTimeout = invoke, check, store
	return func() { invokeDeadline, checkTimeout, storeTimeout = oi, oc, os }
}
