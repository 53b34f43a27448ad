//go:build mmserver

package mattermost_test

import (
	"testing"

	"github.com/recordbot/recordbot/internal/mmserver"
)

// TestContractReal runs the contract tests against the real Mattermost
// server .ci/mattermost starts (CI runs it through .ci/run).
func TestContractReal(t *testing.T) {
	t.Parallel()
	runContract(t, func(t *testing.T) backend { return mmserver.Connect(t) })
}
