package main

import (
	"context"
	"errors"
)

// runRecords runs `bot records ...`, the records team's commands.
func (m *Main) runRecords(ctx context.Context, args []string) error {
	return errors.New("bot records: not built yet")
}
