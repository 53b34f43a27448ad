package main

import (
	"context"
	"errors"
)

// MattermostConfig configures the Mattermost front end (see README, "Mattermost").
type MattermostConfig struct{}

func (c *MattermostConfig) load(getenv func(string) string) error { return nil }

// setupMattermost starts the Mattermost front end when it is configured; it
// returns a line for the start-up banner.
func setupMattermost(w *wiring, c *MattermostConfig) (string, error) {
	return "Mattermost: not configured yet", nil
}

// runMattermost runs `bot mattermost install|uninstall ...`.
func (m *Main) runMattermost(ctx context.Context, args []string) error {
	return errors.New("bot mattermost: not built yet")
}
