package main

import (
	"log/slog"
	"net/http"

	teamscap "github.com/recordbot/recordbot/capture/teams"
)

// newTeamsSource makes the Teams capture source (capture/teams), which
// reads conversations through Microsoft Graph as the app, with the
// resource-specific consent of each team and chat. Shared files, which
// need each person's own consent, are recorded as links (no Delegated).
func newTeamsSource(c *TeamsConfig, hc *http.Client, log *slog.Logger) (teamsSource, error) {
	return teamscap.New(teamscap.Config{Tenant: c.Tenant, AppID: c.AppID, Credential: c.credential(),
		LoginURL: c.LoginURL, GraphURL: c.GraphURL, HTTPClient: hc, Logger: log})
}
