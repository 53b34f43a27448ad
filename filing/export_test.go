package filing

import "time"

// SetTuning shortens the worker's timings for a test and restores them after.
func SetTuning(lease, scan time.Duration, attempts int) (restore func()) {
	l, s, a := leaseTime, scanEvery, maxAttempts
	leaseTime, scanEvery, maxAttempts = lease, scan, attempts
	return func() { leaseTime, scanEvery, maxAttempts = l, s, a }
}
