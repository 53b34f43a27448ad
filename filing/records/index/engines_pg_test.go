//go:build pgserver

package index_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// With -tags pgserver every index test runs on a real PostgreSQL too, at
// RECORDBOT_TEST_POSTGRES (.ci/mattermost starts one and sets it), each in
// a schema of its own, dropped when it ends. Without the address the
// tests fail: they never pass by skipping.
func init() {
	engines["postgres"] = func(t *testing.T) string {
		base := os.Getenv("RECORDBOT_TEST_POSTGRES")
		if base == "" {
			t.Fatal("-tags pgserver needs RECORDBOT_TEST_POSTGRES=postgres://user:password@127.0.0.1:port/db (bash .ci/mattermost sets it)")
		}
		schema := fmt.Sprintf("t_%x", rand.Text()[:12])
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
			db.Close()
			t.Fatalf("PostgreSQL at RECORDBOT_TEST_POSTGRES: %v", err)
		}
		t.Cleanup(func() {
			db.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
			db.Close()
		})
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
}
