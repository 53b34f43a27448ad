package main

import (
	"errors"
	"log/slog"
	"net/http"
)

// newTeamsSource makes the Teams capture source (capture/teams), which
// reads conversations through Microsoft Graph as the app.
func newTeamsSource(c *TeamsConfig, hc *http.Client, log *slog.Logger) (teamsSource, error) {
	return nil, errors.New("the Teams capture source (capture/teams) is not in this build yet")
}
