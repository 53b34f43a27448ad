package index_test

import (
	"path/filepath"
	"slices"
	"testing"
)

// engines are the index engines every test runs on, each giving a fresh,
// empty index's address. SQLite always; PostgreSQL with -tags pgserver
// (engines_pg_test.go), as CI runs it.
var engines = map[string]func(t *testing.T) string{
	"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "index.sqlite") },
}

// eachEngine runs fn on every engine.
func eachEngine(t *testing.T, fn func(t *testing.T, dsn func(t *testing.T) string)) {
	var names []string
	for n := range engines {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		t.Run(n, func(t *testing.T) { fn(t, engines[n]) })
	}
}
