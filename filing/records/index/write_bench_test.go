package index

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkWrite writes 5,000 synthetic records, in a catch-up's batches
// of 500, into a new index on SQLite and, with -index.postgres or
// RECORDBOT_TEST_POSTGRES, PostgreSQL (in a schema of its own, dropped
// after): the cost of a catch-up's writes, without its reads.
//
//	go test -run XXX -bench Write -benchtime 3x ./filing/records/index/
func BenchmarkWrite(b *testing.B) {
	const n = 5000
	ctx := context.Background()
	var rows []row
	rng := mrand.New(mrand.NewPCG(1, 2))
	for i := range n {
		e, text := synth(i, rng, time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC))
		raw, _ := json.Marshal(e)
		r := rowOf(e, raw)
		r.setText(text, false)
		rows = append(rows, r)
	}
	open := map[string]func(b *testing.B) backend{
		"sqlite": func(b *testing.B) backend {
			be, err := openSQLite(ctx, filepath.Join(b.TempDir(), "ix.sqlite"))
			if err != nil {
				b.Fatal(err)
			}
			return be
		},
	}
	if *benchPG != "" {
		open["postgres"] = func(b *testing.B) backend {
			db, err := sql.Open("pgx", *benchPG)
			if err != nil {
				b.Fatal(err)
			}
			schema := fmt.Sprintf("bench_%x", rand.Text()[:12])
			if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
				db.Close()
			})
			u, err := url.Parse(*benchPG)
			if err != nil {
				b.Fatal(err)
			}
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			be, err := openPostgres(ctx, u.String())
			if err != nil {
				b.Fatal(err)
			}
			return be
		}
	}
	for _, name := range []string{"sqlite", "postgres"} {
		if open[name] == nil {
			continue
		}
		b.Run(name, func(b *testing.B) {
			be := open[name](b)
			defer be.close()
			for b.Loop() {
				b.StopTimer()
				if err := be.reset(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for start := 0; start < n; start += batch {
					err := be.write(ctx, func(w writer) error { return putAll(w, rows[start:min(start+batch, n)]) })
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
