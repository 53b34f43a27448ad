package main

import (
	"log/slog"
	"net/http"

	teamscap "github.com/recordbot/recordbot/capture/teams"
)

// newTeamsSource makes the Teams capture source (capture/teams), which
// reads conversations through Microsoft Graph as the app, with the
// resource-specific consent of each team and chat. Shared files need
// each person's own consent (delegated); with none they are recorded as
// links.
func newTeamsSource(c *TeamsConfig, hc *http.Client, log *slog.Logger, delegated teamscap.Delegated) (teamsSource, error) {
	return teamscap.New(teamscap.Config{Tenant: c.Tenant, AppID: c.AppID, Credential: c.credential(),
		LoginURL: c.LoginURL, GraphURL: c.GraphURL, HTTPClient: hc, Logger: log, Delegated: delegated})
}
