package main

// SlackConfig configures the Slack front end (see README, "Slack").
type SlackConfig struct{}

func (c *SlackConfig) load(getenv func(string) string) error { return nil }

// setupSlack starts the Slack front end when it is configured; it returns a
// line for the start-up banner saying what runs or how to configure it.
func setupSlack(w *wiring, c *SlackConfig) (string, error) {
	return "Slack: not configured yet", nil
}
